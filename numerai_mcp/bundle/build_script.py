"""Write the predict pickle INSIDE the target runtime: `python -I build_script.py REQUEST.json`.

Run by the interpreter of Numerai's image version (a venv with its pins), never by the
server, because a cloudpickled function only runs on the Python minor version that wrote it.
That runtime has no numerai_mcp: the bundle reader and the predict template arrive as source
files (named in the request), are compiled under neutral module names, and the template is
registered with cloudpickle *by value*, so the pickle references only numpy and pandas.

Standard library + numpy/pandas/cloudpickle (+ lightgbm for a native build); Python >= 3.10.
Writes a JSON result file; exit status 0 whenever that file was written.
"""

import json
import os
import pickle
import platform
import subprocess
import sys
import time
import traceback
import types

FORMAT_MODULE = "numerai_bundle_format"
TEMPLATE_MODULE = "numerai_predict_template"
PROBE_ROWS = 257
PROBE_SEED = 20240501
NATIVE_TOLERANCE = 1e-9
NATIVE_CHECK_TIMEOUT_S = 300.0


def load_source(path, name):
    """Compile a copied source file as module `name` (a fixed filename keeps builds reproducible)."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, name + ".py", "exec"), module.__dict__)
    return module


def probe_frames(spec, rng, rows):
    """Synthetic live features (Numerai-like integers 0-4, some NaN, some values exactly on tree
    thresholds) and benchmark models, indexed by id, with an `era` column."""
    import numpy as np
    import pandas as pd

    features = spec["features"]
    values = rng.integers(0, 5, size=(rows, len(features))).astype(np.float64)
    model = spec["model"]
    if model["kind"] == "trees":
        internal = np.flatnonzero(np.asarray(model["left"]) != np.arange(len(model["left"])))
        if internal.size:
            picks = rng.choice(internal, size=min(rows * 4, internal.size * 4))
            values[rng.integers(0, rows, size=picks.size), np.asarray(model["feature"])[picks]] = \
                np.asarray(model["threshold"])[picks]
    if spec["fill_values"] is not None or model["kind"] == "trees":
        values[rng.random(values.shape) < 0.02] = np.nan
    ids = pd.Index([f"n{i:06d}" for i in range(rows)], name="id")
    live = pd.DataFrame(values, index=ids, columns=features)
    bench_column = spec["benchmark_column"]
    bench = None
    if bench_column is not None:
        live.pop(bench_column)
        bench = pd.DataFrame({bench_column: rng.random(rows)}, index=ids)
    live.insert(0, spec["era_column"], "X")
    return live, bench


def choose_booster(request, fileformat, bundle, spec, template, live, bench, notes):
    """A native LightGBM Booster when the bundle kept one and this runtime's LightGBM loads it and
    agrees with the numpy trees on the probe rows; otherwise None (numpy trees), reason in notes.

    The first load happens in a child process: LightGBM segfaults on some model texts it cannot
    parse (a truncated or foreign one), and that must cost the native option, not the build."""
    import numpy as np

    native = bundle.manifest["model"].get("native")
    if native is None:
        return None
    written_by = native["lightgbm_version"]
    try:
        import lightgbm
    except ImportError:
        notes.append("native LightGBM requested but this runtime has no lightgbm; using numpy trees.")
        return None
    here = f"LightGBM {lightgbm.__version__}"
    out = os.path.join(request["work_dir"], "native_raw.npy")
    try:
        child = subprocess.run([sys.executable, "-I", os.path.abspath(__file__), "--native-check", request["path"], out],
                               capture_output=True, encoding="utf-8", errors="replace", timeout=NATIVE_CHECK_TIMEOUT_S,
                               stdin=subprocess.DEVNULL)
        failure = None if child.returncode == 0 else (
            f"crashed (signal {-child.returncode})" if child.returncode < 0 else
            f"failed: {(child.stderr.strip().splitlines() or ['exit %d' % child.returncode])[-1]}")
    except subprocess.TimeoutExpired:
        failure = f"took over {NATIVE_CHECK_TIMEOUT_S:.0f} s"
    if failure is not None:
        notes.append(f"{here} here cannot load the model written by LightGBM {written_by} (loading it {failure}); "
                     "using numpy trees.")
        return None
    numpy_raw = template.make_predict(dict(spec, transform="none"))(live, bench)["prediction"].to_numpy()
    native_raw = np.load(out, allow_pickle=False)
    gap = float(np.max(np.abs(numpy_raw - native_raw))) if len(numpy_raw) else 0.0
    if not gap <= NATIVE_TOLERANCE:
        notes.append(f"{here} here disagrees with the exported trees by {gap:.3g} on the probe rows; using numpy trees.")
        return None
    notes.append(f"native {here} loads the model written by LightGBM {written_by} and matches the numpy trees "
                 f"(max gap {gap:.1e}).")
    return lightgbm.Booster(model_str=fileformat.native_model_string(bundle.manifest, bundle.arrays))


def native_check(request_path, out):
    """Child process: load the native model and write its raw predictions on the probe rows."""
    import lightgbm
    import numpy as np

    request, fileformat, template = load_request(request_path)
    bundle = fileformat.read_bundle(request["bundle"])
    spec = bundle.spec()
    live, bench = probe_frames(spec, np.random.default_rng(PROBE_SEED), PROBE_ROWS)
    booster = lightgbm.Booster(model_str=fileformat.native_model_string(bundle.manifest, bundle.arrays))
    raw = template.make_predict(dict(spec, transform="none"), booster)(live, bench)["prediction"].to_numpy()
    np.save(out, raw, allow_pickle=False)


def load_request(path):
    with open(path, encoding="utf-8") as handle:
        request = json.load(handle)
    request["path"] = path
    fileformat = load_source(request["sources"]["fileformat"], FORMAT_MODULE)
    template = load_source(request["sources"]["template"], TEMPLATE_MODULE)
    return request, fileformat, template


def check_output(spec, frame, live):
    import numpy as np
    import pandas as pd

    if type(frame) is not pd.DataFrame or list(frame.columns) != ["prediction"]:
        raise RuntimeError(f"the template returned {type(frame).__name__} {list(getattr(frame, 'columns', []))}")
    if not frame.index.equals(live.index):
        raise RuntimeError("the template's output is not indexed like live_features")
    values = frame["prediction"].to_numpy()
    if not np.isfinite(values).all():
        raise RuntimeError("the template returned non-finite predictions on the probe rows")
    inside = bool(((values >= 0) & (values <= 1)).all())
    if spec["transform"] != "none" and not inside:
        raise RuntimeError("the template returned predictions outside [0, 1] on the probe rows")
    return inside


def write_probe_files(directory, spec, rng, rows=5800):
    """Parquet files shaped like Numerai's live data (int8 features 0-4, one era), for validating a
    model whose benchmark column the harness would not synthesise."""
    import numpy as np
    import pandas as pd

    features = [f for f in spec["features"] if f != spec["benchmark_column"]]
    ids = pd.Index([f"n{i:06d}" for i in range(rows)], name="id")
    live = pd.DataFrame(rng.integers(0, 5, size=(rows, len(features))).astype(np.int8), index=ids, columns=features)
    live.insert(0, spec["era_column"], "X")
    live["data_type"] = "live"
    bench = pd.DataFrame({spec["benchmark_column"]: rng.random(rows)}, index=ids)
    paths = {"live": os.path.join(directory, "live.parquet"),
             "benchmarks": os.path.join(directory, "live_benchmark_models.parquet")}
    live.to_parquet(paths["live"])
    bench.to_parquet(paths["benchmarks"])
    return paths


def build(request_path):
    import cloudpickle
    import numpy as np
    import pandas as pd

    timings = {}
    mark = time.perf_counter()
    request, fileformat, template = load_request(request_path)
    try:
        bundle = fileformat.read_bundle(request["bundle"])
    except fileformat.BundleError as exc:
        return {"ok": False, "error": "bundle", "message": str(exc)}
    spec = bundle.spec()
    timings["load"] = time.perf_counter() - mark

    mark = time.perf_counter()
    rng = np.random.default_rng(PROBE_SEED)
    live, bench = probe_frames(spec, rng, PROBE_ROWS)
    notes = []
    booster = choose_booster(request, fileformat, bundle, spec, template, live, bench, notes)
    predict = template.make_predict(spec, booster)
    expected = predict(live, bench)
    in_unit_interval = check_output(spec, expected, live)
    timings["probe"] = time.perf_counter() - mark

    mark = time.perf_counter()
    cloudpickle.register_pickle_by_value(template)
    data = cloudpickle.dumps(predict)  # cloudpickle's default: protocol 5, like Numerai's own pickles
    del sys.modules[TEMPLATE_MODULE]
    reloaded = pickle.loads(data)
    again = reloaded(live, bench)
    if not np.array_equal(again["prediction"].to_numpy(), expected["prediction"].to_numpy()):
        raise RuntimeError("the unpickled predict disagrees with the original on the probe rows")
    with open(request["output"], "wb") as handle:
        handle.write(data)
    timings["pickle"] = time.perf_counter() - mark

    result = {
        "ok": True,
        "python": platform.python_version(),
        "libraries": {"numpy": np.__version__, "pandas": pd.__version__, "cloudpickle": cloudpickle.__version__},
        "kind": spec["model"]["kind"],
        "engine": "lightgbm" if booster is not None else "numpy",
        "features": len(spec["features"]),
        "benchmark_column": spec["benchmark_column"],
        "transform": spec["transform"],
        "probe_rows": PROBE_ROWS,
        "probe_in_unit_interval": in_unit_interval,
        "size": len(data),
        "notes": notes,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    if booster is not None:
        import lightgbm

        result["libraries"]["lightgbm"] = lightgbm.__version__
    if request.get("probe_dir") and spec["benchmark_column"] is not None:
        result["probe_files"] = write_probe_files(request["probe_dir"], spec, rng)
    probe = bundle.probe()
    if probe is not None:
        result["probe"] = reproduction_probe(request["work_dir"], spec, probe, template, booster)
    return result


def _agreement(values, reference, by_ranks):
    """How well `values` follow `reference`: Spearman for rank outputs, Pearson otherwise (NaN -> 0)."""
    import numpy as np
    import pandas as pd

    if len(values) < 2 or np.nanstd(values) == 0 or np.nanstd(reference) == 0:
        return 0.0
    found = pd.Series(values).corr(pd.Series(reference), method="spearman" if by_ranks else "pearson")
    return 0.0 if found != found else float(found)


def reproduction_probe(work_dir, spec, probe, template, booster):
    """Files to run the pickle on the bundle's probe rows (as live data), what it must return, and which of a
    few likely mistakes (another column order, a missing or extra scaler) would explain a mismatch: each
    alternative is tried with the template on the same rows and kept when it follows the training predictions
    closely (agreement > 0.99) where the bundle as exported does clearly worse."""
    import numpy as np
    import pandas as pd

    features, bench_column = spec["features"], spec["benchmark_column"]
    rows = probe["features"]
    ids = pd.Index(["p%04d" % i for i in range(len(rows))], name="id")
    frame = pd.DataFrame(rows, index=ids, columns=features)
    bench = pd.DataFrame({bench_column: frame.pop(bench_column)} if bench_column is not None else
                         {"v52_lgbm_ender20": np.linspace(0.001, 0.999, len(rows))}, index=ids)
    frame.insert(0, spec["era_column"], probe["eras"])
    frame["data_type"] = "live"
    paths = {"live": os.path.join(work_dir, "probe_live.parquet"),
             "benchmarks": os.path.join(work_dir, "probe_benchmark_models.parquet")}
    frame.to_parquet(paths["live"])
    bench.to_parquet(paths["benchmarks"])
    reference = np.asarray(probe["predictions"], dtype=np.float64)
    transform = spec["transform"]
    by_ranks = transform == "rank_per_era"
    expected = {"clip": lambda x: np.clip(x, 0.0, 1.0), "sigmoid": template._sigmoid}.get(transform, lambda x: x)(
        reference)

    def raw(alternative):
        predict = template.make_predict(dict(alternative, transform="none"), booster if alternative is spec else None)
        try:
            return predict(frame, bench)["prediction"].to_numpy()
        except Exception:
            return None

    base = raw(spec)
    base_agreement = _agreement(base, reference, by_ranks) if base is not None else 0.0
    alternatives = {}
    if probe.get("row_columns") and probe["row_columns"] != features:
        alternatives["row_columns"] = dict(spec, features=list(probe["row_columns"]))
    if sorted(features) != features:
        alternatives["sorted_columns"] = dict(spec, features=sorted(features))
    alternatives["reversed_columns"] = dict(spec, features=features[::-1])
    if spec["scale"] is None and spec["model"]["kind"] != "trees":
        values = frame[[f for f in features if f != bench_column]].to_numpy(dtype=np.float64)
        mean = np.zeros(len(features))
        std = np.ones(len(features))
        positions = [i for i, f in enumerate(features) if f != bench_column]
        mean[positions] = np.nan_to_num(np.nanmean(values, axis=0))
        spread = np.nan_to_num(np.nanstd(values, axis=0), nan=1.0)
        std[positions] = np.where(spread > 0, spread, 1.0)
        alternatives["standardize"] = dict(spec, scale={"mean": mean, "std": std})
    elif spec["scale"] is not None:
        alternatives["no_scale"] = dict(spec, scale=None)
    explains = []
    for name, alternative in alternatives.items():
        values = raw(alternative)
        if values is None:
            continue
        agreement = _agreement(values, reference, by_ranks)
        if agreement > 0.99 and agreement > base_agreement + 0.02:
            explains.append(name)
    nan_rows = [str(i) for i, row in zip(ids, rows) if np.isnan(row).any()]
    return {"rows": len(rows), "source": probe["source"], "live": paths["live"], "benchmarks": paths["benchmarks"],
            "ids": [str(i) for i in ids], "eras": [str(e) for e in probe["eras"]],
            "expected": [float(v) for v in expected], "by_ranks": by_ranks, "nan_rows": nan_rows,
            "explained_by": explains, "template_agreement": round(base_agreement, 6)}


def main(argv):
    if len(argv) == 4 and argv[1] == "--native-check":
        native_check(argv[2], argv[3])
        return 0
    if len(argv) != 2:
        print("usage: python -I build_script.py REQUEST.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        result_path = json.load(handle)["result"]
    try:
        result = build(argv[1])
    except Exception as exc:
        result = {"ok": False, "error": type(exc).__name__, "message": str(exc),
                  "traceback": traceback.format_exc(limit=8)}
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str)
    return 0


if __name__ == "__main__":
    status = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # skip interpreter teardown: pyarrow's thread pool sometimes aborts there (exit 134)
