"""Read validation data and score predictions with numerai-tools, in the target runtime (trusted code).

Run as `python -I scoring_script.py MODE REQUEST.json` by the runtime's interpreter (which has
pandas, pyarrow and Numerai's pinned numerai-tools), never imported by the server. It never
loads a pickle: what it reads is the validation data and the predictions CSV the sandbox
produced (untrusted text, parsed here with fixed columns and dtypes; its size was capped by the
server). Everything is read era by era, so memory stays at one era's worth of features.

Modes (each writes one JSON object to request["out"]; {"error": "..."} for bad input):
- index: the file's eras (rows, rows with a target, in order), its feature columns, the columns a
  live call gets, the benchmark file's columns, and whether the data is the sandbox's synthetic set;
- score: per-era numbers for the predictions: CORR (numerai_corr) against the target, the
  benchmark model's own CORR, the correlation with the benchmark's predictions, the contribution to
  the benchmark (correlation_contribution), the max feature exposure (max_feature_correlation),
  and what was wrong with the rows (missing ids, NaN, outside [0, 1]).

Python 3.10 compatible; standard library plus numpy/pandas/pyarrow/numerai-tools.
"""

import json
import math
import os
import re
import sys

SYNTHETIC_KEY = b"numerai_mcp_synthetic"
NOT_LIVE = ("target",)  # column prefixes a live call never sees


def _finite(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _era_key(era):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(era))]


def _index_column_names(schema):
    try:
        pandas_meta = json.loads((schema.metadata or {}).get(b"pandas", b"{}"))
    except ValueError:
        return []
    return [c for c in pandas_meta.get("index_columns", []) if isinstance(c, str)]


def index(request):
    import pyarrow.parquet as pq

    path, target = request["validation"], request["target"]
    schema = pq.read_schema(path)
    names = list(schema.names)
    if "id" not in _index_column_names(schema):
        return {"error": "%s is not indexed by id: write it with the ids as the index "
                         "(df.set_index('id').to_parquet(...)), as Numerai's validation.parquet is" % path}
    if "era" not in names:
        return {"error": "%s has no 'era' column; evaluation scores era by era" % path}
    if target not in names:
        targets = [n for n in names if n.startswith("target")][:8]
        return {"error": "%s has no %r column (target columns there: %s)" % (path, target, targets or "none")}
    features = [n for n in names if n.startswith("feature")]
    if not features:
        return {"error": "%s has no feature columns (names starting with 'feature')" % path}
    table = pq.read_table(path, columns=["era", target])
    frame = table.to_pandas()
    frame["era"] = frame["era"].astype(str)
    grouped = frame.groupby("era", sort=False)[target]
    counts = grouped.size()
    with_target = grouped.count()
    eras = sorted(counts.index, key=_era_key)
    result = {
        "eras": [[era, int(counts[era]), int(with_target[era])] for era in eras],
        "rows": int(len(frame)),
        "features": features,
        "columns": ["era"] + (["data_type"] if "data_type" in names else []) + features,
        "synthetic": SYNTHETIC_KEY in (schema.metadata or {}),
        "benchmarks": None,
    }
    if request.get("benchmarks"):
        result["benchmarks"] = _bench_index(request["benchmarks"])
        if "error" in result["benchmarks"]:
            return {"error": result["benchmarks"]["error"]}
    return result


def _bench_index(path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    index_names = _index_column_names(schema)
    if "id" not in index_names:
        return {"error": "%s is not indexed by id (write it with the ids as the index)" % path}
    columns = [field.name for field in schema if field.name not in ("era", "data_type", *index_names)
               and (pa.types.is_floating(field.type) or pa.types.is_integer(field.type))]
    if not columns:
        return {"error": "%s has no numeric benchmark columns" % path}
    return {"columns": columns, "by": "era" if "era" in schema.names else "id",
            "synthetic": SYNTHETIC_KEY in (schema.metadata or {})}


# ------------------------------------------------------------------ scoring


def _read_predictions(pd, path):
    """The untrusted CSV as a float Series indexed by id (text that is no number becomes NaN)."""
    frame = pd.read_csv(path, header=0, names=["id", "prediction"], usecols=[0, 1],
                        dtype={"id": str, "prediction": str}, keep_default_na=False, engine="c")
    values = pd.to_numeric(frame["prediction"].replace("", "nan"), errors="coerce")
    series = pd.Series(values.to_numpy(dtype="float64"), index=pd.Index(frame["id"], name="id"), name="prediction")
    duplicated = int(series.index.duplicated().sum())
    return series[~series.index.duplicated()], duplicated


def _era_reader():
    """era_reader.py from this script's folder (the reader the sandboxed runner uses too)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "era_reader.py")
    spec = importlib.util.spec_from_file_location("numerai_mcp_era_reader", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EraReader


def _score_era(tools, pd, request, era, predictions, bench_frame, validation):
    frame = validation.read(era)
    frame = frame.sort_index()
    ids = frame.index
    known = ids.isin(predictions.index)
    values = predictions.reindex(ids)
    row = {"era": era, "rows": int(len(ids)), "missing": int((~known).sum()),
           "nan": int((known & values.isna().to_numpy()).sum()),
           "out_of_range": int(((values < 0) | (values > 1)).sum())}
    target = frame[request["target"]].astype("float64")
    usable = (values.notna() & target.notna()).to_numpy()
    row["scored"] = int(usable.sum())
    p = values[usable].rename("prediction")
    if row["scored"] < 2 or p.nunique() < 2:
        return row  # nothing to correlate: every number of this era is undefined
    t = target[usable].rename("target")
    row["corr"] = _finite(tools.numerai_corr(p.to_frame(), t).iloc[0])
    if request.get("exposure", True):
        name, value = _max_feature_correlation(frame[request["features"]][usable], p)
        row["feature_corr_max"] = _finite(value)
        row["feature_corr_max_feature"] = str(name)[:200] if row["feature_corr_max"] is not None else None
    if bench_frame is not None:
        bench = bench_frame.reindex(ids)[request["benchmark"]][usable].astype("float64")
        ok = bench.notna().to_numpy()
        if ok.sum() >= 2:
            b, pb, tb = bench[ok].rename(request["benchmark"]), p[ok], t[ok]
            row["benchmark_corr"] = _finite(tools.numerai_corr(b.to_frame(), tb).iloc[0])
            row["corr_with_benchmark"] = _finite(tools.spearman_correlation(b, pb))
            if request.get("contribution", True):
                row["bmc"] = _finite(tools.correlation_contribution(pb.to_frame(), b, tb.copy()).iloc[0])
    return row


def _max_feature_correlation(features, predictions):
    """numerai-tools' max_feature_correlation (the largest |Pearson correlation| with one feature, and its name),
    computed in one vectorised pass: numerai-tools checks the indexes once per feature, which takes ~0.6 s per era
    at 500 features and minutes per 100 eras at Numerai's 2,748 (tests compare both on the same data)."""
    import numpy as np

    x = features.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)  # ours to change in place
    missing = np.isnan(x)
    if missing.any():  # a missing feature value counts as the feature's median in that era
        x = np.where(missing, np.nan_to_num(np.nanmedian(x, axis=0))[None, :], x)
    y = predictions.to_numpy(dtype=np.float64)
    x -= x.mean(axis=0)  # in place, and the squares without a temporary: one era's floats in memory, once
    y = y - y.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        correlations = np.abs(x.T @ y) / (np.sqrt(np.einsum("ij,ij->j", x, x)) * np.sqrt(y @ y))
    if not np.isfinite(correlations).any():
        return None, None
    best = int(np.nanargmax(np.where(np.isfinite(correlations), correlations, np.nan)))
    return features.columns[best], float(correlations[best])


def _bench_for(pd, request, era, ids, reader):
    if not request.get("benchmarks"):
        return None
    if reader is not None:
        frame = reader.read(era)
    else:  # a benchmark file without eras: its rows by id
        frame = pd.read_parquet(request["benchmarks"], columns=[request["benchmark"]],
                                filters=[("id", "in", [str(i) for i in ids])])
    return frame[~frame.index.duplicated()]


def score(request):
    import numerai_tools
    import pandas as pd
    from numerai_tools import scoring as tools

    try:
        predictions, duplicated = _read_predictions(pd, request["predictions"])
    except (ValueError, pd.errors.ParserError) as exc:
        return {"error": "the predictions the pickle returned are not readable: %s" % str(exc)[:300]}
    reader = _era_reader()
    validation = reader(request["validation"], request["features"] + [request["target"]])
    by_era = request.get("benchmarks") and request["bench_by"] == "era"
    bench_reader = reader(request["benchmarks"], [request["benchmark"]]) if by_era else None
    ids_reader = reader(request["validation"], ["era"]) if request.get("benchmarks") and not by_era else None
    rows = []
    for era in request["eras"]:
        ids = ids_reader.read(era).index if ids_reader is not None else None
        bench = _bench_for(pd, request, era, ids, bench_reader)
        rows.append(_score_era(tools, pd, request, era, predictions, bench, validation))
    expected = sum(row["rows"] for row in rows)
    return {"eras": rows, "duplicated": duplicated, "extra": max(0, len(predictions) - (expected - sum(
        row["missing"] for row in rows))), "numerai_tools": getattr(numerai_tools, "__version__", None)
        or _version("numerai-tools")}


def _version(name):
    from importlib import metadata

    try:
        return metadata.version(name)
    except Exception:
        return None


MODES = {"index": index, "score": score}


def main(argv):
    if len(argv) != 3 or argv[1] not in MODES:
        print("usage: python -I scoring_script.py index|score REQUEST.json", file=sys.stderr)
        return 2
    with open(argv[2], encoding="utf-8") as handle:
        request = json.load(handle)
    try:
        result = MODES[argv[1]](request)
    except MemoryError:
        result = {"error": "ran out of memory reading the validation data"}
    except Exception as exc:  # the server turns this into a clear error; the traceback goes to stderr
        import traceback

        traceback.print_exc()
        result = {"error": "%s: %s" % (type(exc).__name__, str(exc)[:500])}
    tmp = request["out"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(tmp, request["out"])
    return 0


if __name__ == "__main__":
    status = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # skip interpreter teardown: pyarrow's thread pool sometimes aborts there (exit 134)
