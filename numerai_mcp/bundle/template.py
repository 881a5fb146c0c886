"""The predict function that goes into a Numerai model-upload pickle.

It is pickled *by value* inside the target runtime (Numerai's container has no numerai_mcp),
so this module references only numpy, pandas and the standard library, keeps to Python 3.10
and numpy 1.26 / pandas 2.2 APIs (the oldest pinned image), and holds no classes: every
function here travels inside the pickle.

`make_predict(spec)` takes a resolved bundle spec (fileformat.Bundle.spec()) and returns
`predict(live_features, live_benchmark_models=None)`: select features in training order,
fill missing values, scale, run the forward pass (linear, MLP or a vectorised tree ensemble
that reproduces LightGBM's decisions exactly), then rank per era into (0, 1] (or clip,
sigmoid, none), and return one `prediction` column indexed like the input.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

ROW_BLOCK = 16384        # rows converted and evaluated at once: bounds memory for big frames
TREE_WORK = 500_000      # (trees x rows) node cursors advanced together by the tree evaluator
LGBM_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold: smaller magnitudes count as 0
SHOW = 5                 # how many offending names an error message lists


def make_predict(spec, booster=None):
    """Return `predict` closing over a compact copy of `spec` (and a native LightGBM booster, if given)."""
    plan = {
        "features": list(spec["features"]),
        "benchmark_column": spec.get("benchmark_column"),
        "fill_values": _optional_array(spec.get("fill_values")),
        "missing_features": spec.get("missing_features", "error"),
        "scale": _scale_plan(spec.get("scale")),
        "model": {"kind": "trees"} if booster is not None else spec["model"],  # the booster replaces the arrays
        "booster": booster,
        "transform": spec.get("transform", "rank_per_era"),
        "era_column": spec.get("era_column", "era"),
        "require_era": bool(spec.get("require_era", False)),
    }

    def predict(live_features, live_benchmark_models=None):
        """Numerai model upload: one `prediction` column, indexed like live_features."""
        return run_plan(plan, live_features, live_benchmark_models)

    return predict


def _optional_array(value):
    return None if value is None else np.ascontiguousarray(value, dtype=np.float64)


def _scale_plan(scale):
    """Turn {mean, std} or {min, max, feature_range, clip} into x * factor + offset (+ clip bounds)."""
    if scale is None:
        return None
    if "mean" in scale:
        return {"mean": np.asarray(scale["mean"], dtype=np.float64), "std": np.asarray(scale["std"], dtype=np.float64)}
    low, high = scale.get("feature_range", (0.0, 1.0))
    data_min = np.asarray(scale["min"], dtype=np.float64)
    span = np.asarray(scale["max"], dtype=np.float64) - data_min
    span[span == 0.0] = 1.0  # a constant column maps to `low`, as scikit-learn's MinMaxScaler does
    factor = (high - low) / span
    return {"factor": factor, "offset": low - data_min * factor,
            "clip": (float(low), float(high)) if scale.get("clip", False) else None}


def run_plan(plan, live_features, live_benchmark_models):
    """Inputs -> raw model output -> transformed predictions, with clear errors for bad inputs."""
    if not isinstance(live_features, pd.DataFrame):
        raise ValueError(f"live_features must be a pandas DataFrame, got {type(live_features).__name__}.")
    if not live_features.columns.is_unique:
        dup = list(live_features.columns[live_features.columns.duplicated()].unique()[:SHOW])
        raise ValueError(f"live_features has duplicate column names {dup}; each column must appear once.")
    eras = _era_keys(plan, live_features)
    benchmark = _aligned_benchmark(plan, live_features, live_benchmark_models)
    positions = _feature_positions(plan, live_features)
    n = len(live_features)
    raw = np.empty(n, dtype=np.float64)
    for start in range(0, n, ROW_BLOCK):
        stop = min(n, start + ROW_BLOCK)
        block = _input_block(plan, live_features, positions, benchmark, start, stop)
        raw[start:stop] = _forward(plan, block)
    bad = ~np.isfinite(raw)
    if bad.any():
        ids = list(live_features.index[bad][:SHOW])
        raise ValueError(
            f"the model produced {int(bad.sum())} non-finite output(s) (ids {ids}); check those rows for "
            "infinite or extreme feature values."
        )
    values = _transform(plan, raw, eras)
    return pd.DataFrame({"prediction": values}, index=live_features.index)


# --------------------------------------------------------------------------------- inputs


def _era_keys(plan, live_features):
    era = plan["era_column"]
    if era in live_features.columns:
        return live_features[era].astype(str).to_numpy()
    if plan["require_era"]:
        raise ValueError(
            f"live_features has no {era!r} column, which this model needs to rank predictions per era. "
            "Numerai's live data has it: pass the whole live frame, not only the feature columns."
        )
    return None


def _aligned_benchmark(plan, live_features, live_benchmark_models):
    """The benchmark column used as a feature, reindexed to the live ids (NaN where an id is absent)."""
    column = plan["benchmark_column"]
    if column is None:
        return None
    if live_benchmark_models is None:
        raise ValueError(
            f"this model uses the benchmark column {column!r} as a feature but live_benchmark_models is None: "
            "call predict(live_features, live_benchmark_models), as Numerai does for a 2-argument predict."
        )
    if not isinstance(live_benchmark_models, pd.DataFrame):
        raise ValueError(f"live_benchmark_models must be a pandas DataFrame, got {type(live_benchmark_models).__name__}.")
    frame = live_benchmark_models
    if column not in frame.columns:
        shown = list(frame.columns[:SHOW])
        raise ValueError(
            f"live_benchmark_models has no column {column!r} (it has {len(frame.columns)} columns, e.g. {shown}); "
            "the model was trained with it as a feature."
        )
    if "id" in frame.columns and frame.index.name != "id":
        frame = frame.set_index("id")
    if not frame.index.is_unique:
        raise ValueError("live_benchmark_models has duplicate ids in its index; it cannot be aligned to live_features.")
    aligned = frame[column].reindex(live_features.index)
    return pd.to_numeric(aligned, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _feature_positions(plan, live_features):
    """Column positions of the model's features in live_features (-1 for absent or benchmark)."""
    features = plan["features"]
    positions = live_features.columns.get_indexer(features)
    bench = plan["benchmark_column"]
    if bench is not None:
        positions[features.index(bench)] = -1
    missing = [f for f, p in zip(features, positions) if p < 0 and f != bench]
    if missing and plan["missing_features"] != "fill":
        raise ValueError(
            f"live_features lacks {len(missing)} of the model's {len(features)} features, e.g. "
            f"{missing[:SHOW]}. Numerai's live data should hold every training feature (feature drift?); "
            "re-export the bundle with missing_features='fill' to fill absent columns with fill_values instead."
        )
    present = positions[positions >= 0]
    frame_dtypes = live_features.dtypes.iloc[present]
    bad = [str(name) for name, dtype in frame_dtypes.items()
           if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))]
    if bad:
        raise ValueError(f"feature column(s) {bad[:SHOW]} are not numeric; the model needs numbers.")
    return positions


def _input_block(plan, live_features, positions, benchmark, start, stop):
    """Rows [start, stop) as a float64 matrix in training order, missing values filled, scaled."""
    present = positions >= 0
    frame = live_features.iloc[start:stop, positions[present]]
    extension = any(not isinstance(dtype, np.dtype) for dtype in frame.dtypes)
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan) if extension else frame.to_numpy(dtype=np.float64)
    if present.all():
        block = np.require(values, np.float64, ["W", "O"])
    else:
        block = np.full((stop - start, len(positions)), np.nan)
        block[:, present] = values
        if benchmark is not None:
            block[:, plan["features"].index(plan["benchmark_column"])] = benchmark[start:stop]
    _fill_missing(plan, block, live_features.index[start:stop])
    _apply_scale(plan["scale"], block)
    return block


def _fill_missing(plan, block, ids):
    nan = np.isnan(block)
    if not nan.any():
        return
    fill = plan["fill_values"]
    if fill is not None:
        np.copyto(block, np.broadcast_to(fill, block.shape), where=nan)
        return
    bench = plan["benchmark_column"]
    if bench is not None and nan[:, plan["features"].index(bench)].any():
        rows = np.flatnonzero(nan[:, plan["features"].index(bench)])
        raise ValueError(
            f"live_benchmark_models has no {bench!r} value for {rows.size} live id(s), e.g. {list(ids[rows[:SHOW]])}; "
            "export the bundle with fill_values to fill them."
        )
    if plan["model"]["kind"] == "trees":
        return  # trees route missing values the way LightGBM does
    columns = np.flatnonzero(nan.any(axis=0))
    names = [plan["features"][i] for i in columns[:SHOW]]
    raise ValueError(
        f"{int(nan.sum())} missing value(s) in {columns.size} feature(s), e.g. {names}, and the bundle has no "
        "fill_values; re-export with fill_values (e.g. the training medians) so they can be imputed."
    )


def _apply_scale(scale, block):
    if scale is None:
        return
    if "mean" in scale:
        block -= scale["mean"]
        block /= scale["std"]
        return
    block *= scale["factor"]
    block += scale["offset"]
    if scale["clip"] is not None:
        np.clip(block, scale["clip"][0], scale["clip"][1], out=block)


# -------------------------------------------------------------------------------- forward


def _forward(plan, block):
    model = plan["model"]
    if plan["booster"] is not None:
        return np.asarray(plan["booster"].predict(block), dtype=np.float64).reshape(-1)
    if model["kind"] == "linear":
        return block @ np.asarray(model["coef"], dtype=np.float64) + model["intercept"]
    if model["kind"] == "mlp":
        hidden = block
        for layer in model["layers"]:
            hidden = hidden @ np.asarray(layer["weight"], dtype=np.float64) + np.asarray(layer["bias"], dtype=np.float64)
            hidden = activate(hidden, layer)
        return hidden[:, 0]
    return _trees(model, block)


def activate(x, layer):
    """Elementwise activation, matching scikit-learn's and PyTorch's definitions."""
    name = layer["activation"]
    if name == "identity":
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x >= 0.0, x, x * layer["alpha"])
    if name == "elu":
        return np.where(x > 0.0, x, layer["alpha"] * np.expm1(np.minimum(x, 0.0)))
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "silu":
        return x * _sigmoid(x)
    if name == "softplus":
        beta, threshold = layer["beta"], layer["threshold"]
        scaled = x * beta
        return np.where(scaled > threshold, x, np.logaddexp(0.0, scaled) / beta)
    if name == "gelu":
        erf = np.frompyfunc(math.erf, 1, 1)
        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)).astype(np.float64))
    if name == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    raise ValueError(f"unknown activation {name!r}")


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _trees(model, block):
    """Sum of leaf values over the ensemble, taking exactly LightGBM's branch at every node.

    All rows advance through a chunk of consecutive trees together: one gather per level
    (feature value at the current node), one compare, one child step (right = left + 1).
    Leaves point to themselves with threshold +inf, so finished paths stay put.
    """
    n = block.shape[0]
    values_t = np.ascontiguousarray(block.T)  # (features, rows): node feature f, row r -> f * n + r
    tiny = (values_t != 0.0) & (np.abs(values_t) <= LGBM_ZERO)
    if tiny.any():
        values_t[tiny] = 0.0  # LightGBM drops such values from a row, so they read as 0
    flat = values_t.reshape(-1)
    offsets = np.asarray(model["feature"], dtype=np.int64) * n
    threshold = np.asarray(model["threshold"], dtype=np.float64)
    left = np.asarray(model["left"], dtype=np.int64)
    leaf_value = np.asarray(model["value"], dtype=np.float64)
    missing_type = np.asarray(model["missing_type"], dtype=np.int8)
    default_right = np.asarray(model["default_left"]) == 0
    roots = np.asarray(model["roots"], dtype=np.int64)
    depth = np.asarray(model["depth"], dtype=np.int64)
    exact_missing = bool(np.isnan(flat).any()) or bool((missing_type == 1).any())
    rows = np.arange(n, dtype=np.int64)
    out = np.zeros(n, dtype=np.float64)
    per_chunk = max(1, TREE_WORK // max(n, 1))
    for start in range(0, roots.shape[0], per_chunk):
        stop = min(roots.shape[0], start + per_chunk)
        node = np.repeat(roots[start:stop, None], n, axis=1)
        for _ in range(int(depth[start:stop].max())):
            value = flat[offsets[node] + rows]
            if exact_missing:
                right = _missing_aware_right(value, node, threshold, missing_type, default_right)
            else:
                right = value > threshold[node]
            node = left[node] + right
        for tree_values in leaf_value[node]:
            out += tree_values  # tree by tree, in order, like LightGBM's own sum
    if model.get("average_output", False):
        out /= roots.shape[0]
    objective = model.get("objective", "identity")
    if objective == "sigmoid":
        with np.errstate(over="ignore"):
            out = 1.0 / (1.0 + np.exp(-model.get("sigmoid", 1.0) * out))
    elif objective == "exp":
        out = np.exp(out)
    return out


def _missing_aware_right(value, node, threshold, missing_type, default_right):
    """LightGBM's NumericalDecision: NaN reads as 0 unless the node routes NaN; 'missing' goes the default way."""
    node_type = missing_type[node]
    nan = np.isnan(value)
    value = np.where(nan & (node_type != 2), 0.0, value)
    missing = (nan & (node_type == 2)) | ((node_type == 1) & (value == 0.0))
    return np.where(missing, default_right[node], value > threshold[node])


# ------------------------------------------------------------------------------ transform


def _transform(plan, raw, eras):
    transform = plan["transform"]
    if transform == "rank_per_era":
        series = pd.Series(raw)
        ranked = series.rank(method="average", pct=True) if eras is None else \
            series.groupby(eras).rank(method="average", pct=True)
        return ranked.to_numpy(dtype=np.float64)
    if transform == "clip":
        return np.clip(raw, 0.0, 1.0)
    if transform == "sigmoid":
        return _sigmoid(raw)
    return raw
