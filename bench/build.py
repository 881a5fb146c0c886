"""Benchmark build_pickle's output where it matters: predict time at Numerai's size, 1 CPU.

Synthetic live data of 5,800 rows x 2,748 int8 features (Numerai's full feature set), one era.
Models: an MLP (PyTorch, 2748-256-64-1, float32) and a 2,000-tree LightGBM model trained with
Numerai's example parameters (lr 0.01, max_depth 5, num_leaves 31, colsample 0.1). Each is
exported, built into a pickle by Python 3.12 with Numerai's pins, and timed inside that runtime
pinned to one CPU (sched_setaffinity + OMP/OPENBLAS threads = 1), in the same run:
  - MLP pickle (numpy forward pass)
  - LightGBM as numpy trees (engine numpy) vs the native-LightGBM pickle (engine lightgbm)
  - the bare native baseline: Booster.predict on the float matrix, no pandas, no ranking.
Sizes of bundles and pickles are compared too.

    python bench/build.py [--repeat 5] [--cache-dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS, FEATURES, TREES = 5800, 2748, 2000
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_TIMER = r"""
import json, os, pickle, resource, statistics, sys, time
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
import numpy as np, pandas as pd
spec = json.load(open(sys.argv[1]))
live = pd.read_parquet(spec["live"])
out = {"python": "%d.%d" % sys.version_info[:2], "numpy": np.__version__, "pandas": pd.__version__, "cpus": len(os.sched_getaffinity(0))}

def timed(fn):
    times = []
    for _ in range(spec["repeat"]):
        start = time.perf_counter(); result = fn(); times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times)}, result

for name, path in spec["pickles"].items():
    start = time.perf_counter(); predict = pd.read_pickle(path); load_s = time.perf_counter() - start
    stats, frame = timed(lambda: predict(live, None))
    assert frame.shape == (len(live), 1) and frame["prediction"].between(0, 1).all()
    out[name] = {"load_s": load_s, **stats}
import lightgbm
booster = lightgbm.Booster(model_file=spec["model_file"]) if spec.get("model_file") else None
if booster is not None:
    features = [c for c in live.columns if c.startswith("feature_")]
    matrix = live[features].to_numpy(dtype=np.float32)
    out["native_booster_on_matrix"], _ = timed(lambda: booster.predict(matrix))
    out["native_booster_on_frame"], _ = timed(lambda: booster.predict(live[features]))
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump(out, open(spec["out"], "w"))
"""


def synthetic(rng, rows: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    names = [f"feature_{i:04d}" for i in range(FEATURES)]
    frame = pd.DataFrame(rng.integers(0, 5, size=(rows, FEATURES)).astype(np.int8), columns=names)
    frame.index = pd.Index([f"n{i:08d}" for i in range(rows)], name="id")
    frame.insert(0, "era", "X")
    frame["data_type"] = "live"
    return frame, names


def train(work: Path, seed: int = 0) -> dict[str, object]:
    import lightgbm as lgb
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    train_frame, names = synthetic(rng, 8000)
    x = train_frame[names].to_numpy(dtype=np.float32)
    y = x[:, :40] @ rng.normal(size=40) / 40 + rng.normal(scale=0.5, size=len(x))
    start = time.perf_counter()
    booster = lgb.LGBMRegressor(n_estimators=TREES, learning_rate=0.01, max_depth=5, num_leaves=31,
                                colsample_bytree=0.1, verbose=-1, n_jobs=os.cpu_count())
    booster.fit(x, y, feature_name=names)
    train_s = time.perf_counter() - start
    booster.booster_.save_model(str(work / "lightgbm.txt"))
    torch.manual_seed(seed)
    mlp = torch.nn.Sequential(torch.nn.Linear(FEATURES, 256), torch.nn.ReLU(), torch.nn.Linear(256, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, 1)).eval()
    return {"lightgbm": booster, "mlp": mlp, "names": names, "lightgbm_train_s": train_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=None, help="runtime cache (default: numerai-mcp's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import numpy as np

    from numerai_mcp.bundle import export
    from numerai_mcp.bundle.build import build_pickle
    from numerai_mcp.harness.runtime import ensure_runtime

    report: dict[str, object] = {"rows": ROWS, "features": FEATURES, "trees": TREES}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        work = Path(tmp)
        models = train(work)
        report["lightgbm_train_s"] = round(float(models["lightgbm_train_s"]), 1)
        names = models["names"]
        bundles = {
            "mlp": export(models["mlp"], names, work / "mlp.npz"),
            "lightgbm_numpy_trees": export(models["lightgbm"], names, work / "trees.npz"),
            "lightgbm_native": export(models["lightgbm"], names, work / "native.npz", native_lightgbm=True),
        }
        builds = {}
        for name, bundle in bundles.items():
            start = time.perf_counter()
            result = build_pickle(bundle, work / f"{name}.pkl", python_version="3.12", validate=False,
                                  cache_dir=args.cache_dir)
            builds[name] = {"engine": result.engine, "bundle_mb": round(bundle.stat().st_size / 1e6, 2),
                            "pickle_mb": round(result.size / 1e6, 2), "build_s": round(time.perf_counter() - start, 2)}
        live, _ = synthetic(np.random.default_rng(1), ROWS)
        live.to_parquet(work / "live.parquet")
        runtime = ensure_runtime("3.12", ["lightgbm"], cache_dir=args.cache_dir)
        spec = {"live": str(work / "live.parquet"), "repeat": args.repeat, "out": str(work / "timings.json"),
                "pickles": {name: str(work / f"{name}.pkl") for name in bundles},
                "model_file": str(work / "lightgbm.txt")}
        (work / "spec.json").write_text(json.dumps(spec))
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **runtime.env}
        subprocess.run([str(runtime.python), "-I", "-c", _TIMER, str(work / "spec.json")], env=env, check=True,
                       timeout=3600)
        timings = json.loads((work / "timings.json").read_text())
    for name in bundles:
        builds[name].update({k: round(v, 3) for k, v in timings[name].items()})
    report["pickles"] = builds
    report["native_booster_on_matrix_s"] = round(timings["native_booster_on_matrix"]["median_s"], 3)
    report["native_booster_on_frame_s"] = round(timings["native_booster_on_frame"]["median_s"], 3)
    report["numpy_trees_vs_native_pickle"] = round(
        timings["lightgbm_numpy_trees"]["median_s"] / timings["lightgbm_native"]["median_s"], 2)
    report["runtime"] = {k: timings[k] for k in ("python", "numpy", "pandas", "cpus")}
    report["peak_rss_mb"] = round(timings["peak_rss_mb"])
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"predict on {ROWS} x {FEATURES} int8 features, Python {report['runtime']['python']} "
          f"(numpy {report['runtime']['numpy']}, pandas {report['runtime']['pandas']}), 1 CPU, median of {args.repeat}")
    print(f"{'pickle':<22}{'engine':<10}{'predict s':>10}{'load s':>8}{'pickle MB':>11}{'bundle MB':>11}{'build s':>9}")
    for name, row in builds.items():
        print(f"{name:<22}{row['engine']:<10}{row['median_s']:>10.3f}{row['load_s']:>8.3f}{row['pickle_mb']:>11.2f}"
              f"{row['bundle_mb']:>11.2f}{row['build_s']:>9.2f}")
    print(f"native Booster.predict alone: {report['native_booster_on_matrix_s']:.3f} s on a float32 matrix, "
          f"{report['native_booster_on_frame_s']:.3f} s on the DataFrame")
    print(f"numpy trees / native pickle: {report['numpy_trees_vs_native_pickle']:.2f}x (goal <= 3x); "
          f"Numerai's limit is 600 s; peak RSS {report['peak_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
