"""Benchmark evaluate_pickle: eras per second and peak memory, era by era in the sandbox, scored by numerai-tools.

    python bench/evaluate.py [--eras 100] [--rows 5000] [--features 500] [--cache DIR] [--json]

Writes a synthetic validation set with the emulator's own script (planted signal, one row group per era) of
ERAS x ROWS rows and FEATURES int8 features (Numerai's v5.2: ~5,000-6,000 rows per era, 2,748 features), then
evaluates a pickle that ranks the planted signal, once with and once without the max-feature-exposure pass.
Reports: the sandboxed era-by-era run (eras/s, the sandbox's peak memory: it must stay far below the 4 GB
Numerai allows, whatever the number of eras), scoring (eras/s), plots, end to end; and the same at a tenth of the
eras, to show that the sandbox's memory does not grow with the number of eras.
Goals (not tests): sandbox peak memory < 1 GB and independent of the era count; >= 5 eras/s sandboxed at 500
features x 5,000 rows; the default 100 eras evaluated in < 2 minutes end to end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from numerai_mcp.harness.evaluate import ValidationData, evaluate_pickle  # noqa: E402
from numerai_mcp.harness.runtime import ensure_runtime  # noqa: E402

GOALS = {"peak_memory_mb": 1024.0, "sandbox_eras_per_s": 5.0, "total_s_100_eras": 120.0,
         "overhead_ms_per_era": 20.0, "peak_memory_mb_full_width": 1536.0}
SIGNAL = """
import pandas as pd
def predict(live_features, live_benchmark_models):
    f = [c for c in live_features.columns if c.startswith("feature_")]
    score = live_features[f[0]] + 0.7 * live_features[f[1]] - 0.5 * live_features[f[2]]
    return pd.DataFrame({"prediction": score.rank(pct=True)}, index=live_features.index)
"""


def write_data(folder: Path, python: Path, eras: int, rows: int, features: int) -> ValidationData:
    names = folder / "feature_names.txt"
    names.write_text("".join(f"feature_bench_{i:04d}\n" for i in range(features)))
    subprocess.run([str(python), "-I", str(REPO / "numerai_mcp" / "emulator" / "make_live_data.py"), str(folder),
                    str(names), "10", "0", str(eras), str(rows)], check=True, timeout=3600)
    return ValidationData(folder / "validation.parquet", folder / "validation_benchmark_models.parquet", "bench data")


def run(pickle: Path, data: ValidationData, cache: Path, eras: int) -> dict:
    started = time.perf_counter()
    result = evaluate_pickle(pickle, data, eras=eras, cache_dir=cache, use_cache=False)
    total = time.perf_counter() - started
    assert result.passed, result.summary
    timings = result.timings
    return {"eras": result.era_count, "rows": result.rows, "total_s": round(total, 2),
            "sandbox_s": timings.get("sandbox"), "sandbox_eras_per_s": round(result.era_count / timings["sandbox"], 1),
            "load_s": timings.get("load"), "predict_s": timings.get("predict_reported"),
            # the sandbox's wall time beyond loading the pickle and its own predict calls, per era
            "overhead_ms_per_era": round(1000 * (timings["sandbox"] - (timings.get("load") or 0.0)
                                                 - timings.get("predict_reported", 0.0)) / result.era_count, 1),
            "score_s": timings.get("score"), "score_eras_per_s": round(result.era_count / timings["score"], 1),
            "plot_s": timings.get("plot"), "peak_memory_mb": result.peak_memory_mb,
            "corr_mean": round(result.validation_corr_mean or 0.0, 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eras", type=int, default=100)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--features", type=int, default=500)
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "test")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from tests.support.pickles import build_pickle

    runtime = ensure_runtime("3.12", cache_dir=args.cache)
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as work:
        folder = Path(work)
        started = time.perf_counter()
        data = write_data(folder, runtime.python, args.eras, args.rows, args.features)
        written = time.perf_counter() - started
        pickle = build_pickle("3.12", SIGNAL, folder / "signal.pkl", cache_dir=args.cache)
        report = {"data": {"eras": args.eras, "rows_per_era": args.rows, "features": args.features,
                           "file_mb": round(data.validation.stat().st_size / 1024**2, 1), "written_s": round(written, 1)},
                  "all_eras": run(pickle, data, args.cache, args.eras),
                  "tenth_of_the_eras": run(pickle, data, args.cache, max(1, args.eras // 10)),
                  "goals": GOALS}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, values in report.items():
            print(f"{name:>18}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
