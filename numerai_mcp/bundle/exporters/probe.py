"""The reproduction probe: rows plus the training environment's own predictions for them, stored in the bundle.

build_pickle later runs the built pickle on these rows in the target runtime's sandbox and compares, so a bundle
that is not the trained model (features in another order, a scaler left out, other fill values, a stale export)
fails before anything is uploaded. The rows are the caller's (e.g. validation rows; up to 1,000 are kept) or,
when none are given, sampled in the features' value range. The predictions are the model's own (its framework's
predict) unless the caller passes them, e.g. from the whole training pipeline: `probe=(rows, predictions)`.
Arrays only, never a pickle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from numerai_mcp.bundle.exporters.common import ModelParts
from numerai_mcp.bundle.fileformat import MAX_PROBE_ROWS, BundleError, resolve_spec

PROBE_SEED = 20240611
SAMPLED_ERAS = 4
NAN_SHARE = 0.02


def make_probe(model: Any, parts: ModelParts, manifest: dict[str, Any], arrays: dict[str, Any],
               probe: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(manifest "probe" section, its arrays), or None for probe=None/False."""
    import numpy as np

    if probe is None or probe is False:
        return None
    names = list(manifest["features"])
    given = None
    if isinstance(probe, tuple):
        if len(probe) != 2:
            raise BundleError("probe=(rows, predictions) takes exactly two items: the rows and the training "
                              "environment's predictions for them.")
        probe, given = probe
    if isinstance(probe, str) and probe == "auto":
        if given is not None:
            raise BundleError("probe predictions need the rows they were made for: probe=(rows, predictions).")
        rows, eras, row_columns = _sampled_rows(parts, manifest, np.random.default_rng(PROBE_SEED))
        source = "sampled"
    else:
        rows, eras, row_columns = _caller_rows(probe, names)
        source = "caller rows"
    keep = _subsample(len(rows))
    if given is not None:
        reference = _given_predictions(given, probe, len(rows))[keep]
        rows, eras = rows[keep], [eras[i] for i in keep]
    else:
        rows, eras = rows[keep], [eras[i] for i in keep]
        reference = _model_predictions(model, parts, manifest, arrays, rows)
    if not np.isfinite(reference).all():
        raise BundleError("the probe predictions hold NaN or infinite values; give finite predictions (or probe=None).")
    labels = sorted(set(eras))
    section = {"features": "probe.features", "predictions": "probe.predictions", "eras": "probe.eras",
               "era_labels": labels, "source": source, "row_columns": row_columns}
    probe_arrays = {"probe.features": np.ascontiguousarray(rows, dtype=np.float64),
                    "probe.predictions": np.ascontiguousarray(reference, dtype=np.float64),
                    "probe.eras": np.array([labels.index(e) for e in eras], dtype=np.int64)}
    return section, probe_arrays


def _subsample(count: int) -> Any:
    import numpy as np

    if count <= MAX_PROBE_ROWS:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, MAX_PROBE_ROWS).round().astype(np.int64))


def _caller_rows(rows: Any, names: list[str]) -> tuple[Any, list[str], list[str] | None]:
    import numpy as np

    if hasattr(rows, "columns") and hasattr(rows, "to_numpy"):
        columns = [str(c) for c in rows.columns]
        absent = [n for n in names if n not in columns]
        if absent:
            raise BundleError(f"the probe rows lack {len(absent)} of the model's features, e.g. {absent[:5]}; pass rows "
                              "with every feature column (e.g. a slice of the validation data).")
        values = rows[names].to_numpy(dtype=np.float64, na_value=np.nan)
        eras = [str(e) for e in rows["era"]] if "era" in columns else ["X"] * len(values)
        own_order = [c for c in columns if c in set(names)]
        return values, eras, own_order if own_order != names else None
    try:
        values = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise BundleError("probe must be 'auto', None, rows (a DataFrame with the feature columns, or an array of "
                          "shape (rows, features)), or (rows, predictions).") from None
    if values.ndim != 2 or values.shape[1] != len(names) or len(values) == 0:
        raise BundleError(f"probe rows as an array must have shape (rows, {len(names)}) in the features' order; got "
                          f"{values.shape}.")
    return values, ["X"] * len(values), None


def _given_predictions(given: Any, rows: Any, count: int) -> Any:
    import numpy as np

    if hasattr(given, "index") and hasattr(rows, "index") and hasattr(given, "reindex") and \
            not isinstance(given, np.ndarray):
        given = given.reindex(rows.index)  # a Series aligned by id
        if hasattr(given, "iloc") and getattr(given, "ndim", 1) == 2:
            given = given.iloc[:, 0]
    values = np.asarray(given, dtype=np.float64).reshape(-1)
    if values.shape[0] != count:
        raise BundleError(f"probe has {count} rows but {values.shape[0]} predictions; give one prediction per row.")
    return values


def _sampled_rows(parts: ModelParts, manifest: dict[str, Any], rng: Any) -> tuple[Any, list[str], None]:
    """Rows in the features' value range: the scaler's range when the model has one, else Numerai's 0-4."""
    import numpy as np

    names = manifest["features"]
    scale = parts.scale or {}
    if "min" in scale:
        values = rng.uniform(np.asarray(scale["min"]), np.asarray(scale["max"]), size=(MAX_PROBE_ROWS, len(names)))
    elif "mean" in scale:
        values = rng.normal(np.asarray(scale["mean"]), np.asarray(scale["std"]), size=(MAX_PROBE_ROWS, len(names)))
    else:
        values = rng.integers(0, 5, size=(MAX_PROBE_ROWS, len(names))).astype(np.float64)
    bench = manifest.get("benchmark_column")
    if bench is not None:
        values[:, names.index(bench)] = rng.random(MAX_PROBE_ROWS)
    if parts.fill_values is not None or parts.model["kind"] == "trees":  # the model itself handles NaN
        values[rng.random(values.shape) < NAN_SHARE] = np.nan
    eras = [f"{1 + i * SAMPLED_ERAS // MAX_PROBE_ROWS:04d}" for i in range(MAX_PROBE_ROWS)]
    return values, eras, None


def _model_predictions(model: Any, parts: ModelParts, manifest: dict[str, Any], arrays: dict[str, Any],
                       rows: Any) -> Any:
    """What the model itself predicts for the rows, with its own framework (the training environment's answer)."""
    import numpy as np

    framework = type(model).__module__.split(".", 1)[0]
    try:
        if isinstance(model, Mapping):  # plain weights: their own math is the bundle's (numpy, no framework)
            from numerai_mcp.bundle.template import make_predict

            spec = resolve_spec(manifest, arrays)
            frame = _frame(rows, manifest["features"])
            bench = None
            if spec["benchmark_column"] is not None:
                bench = frame[[spec["benchmark_column"]]]
            raw = make_predict(dict(spec, transform="none", require_era=False))(frame, bench)["prediction"].to_numpy()
        elif framework == "torch":
            import torch

            dtype = next(model.parameters()).dtype
            with torch.no_grad():
                raw = model(torch.as_tensor(rows, dtype=dtype)).detach().cpu().numpy()
        else:
            named = parts.feature_names is not None and not all(n.startswith("Column_") for n in parts.feature_names)
            raw = model.predict(_frame(rows, manifest["features"]) if named else rows)
    except BundleError:
        raise
    except Exception as exc:
        raise BundleError(f"the model could not predict the probe rows ({type(exc).__name__}: {exc}); pass "
                          "probe=(rows, predictions) with your own predictions, or probe=None.") from None
    return np.asarray(raw, dtype=np.float64).reshape(-1)


def _frame(rows: Any, names: list[str]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise BundleError("this probe needs pandas in the training environment (pip install pandas), or pass "
                          "probe=(rows, predictions).") from None
    return pd.DataFrame(rows, columns=names)
