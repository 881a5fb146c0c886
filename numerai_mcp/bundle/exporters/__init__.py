"""Exporters: a fitted model -> an inference bundle. Each framework is imported only when its
model is exported, so exporting a scikit-learn model never needs torch or LightGBM installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from numerai_mcp.bundle.exporters.common import ModelParts, assemble
from numerai_mcp.bundle.fileformat import BundleError

SUPPORTED_MODELS = (
    "a numpy dict ({'coef', 'intercept'} or {'layers': [...]} / {'weights', 'biases', 'activation'}); "
    "scikit-learn LinearRegression, Ridge, Lasso, ElasticNet (and other linear regressors) or MLPRegressor, "
    "alone or in a Pipeline after SimpleImputer / StandardScaler / MinMaxScaler; "
    "a PyTorch nn.Sequential of Linear layers and common activations; "
    "a LightGBM Booster or LGBMRegressor"
)


def model_parts(model: Any, *, native_lightgbm: bool = False) -> ModelParts:
    """Detect the model's framework by its module and reduce it to bundle parts."""
    framework = type(model).__module__.split(".", 1)[0]
    if native_lightgbm and framework != "lightgbm":
        raise BundleError("native_lightgbm=True only applies to LightGBM models.")
    if isinstance(model, Mapping):
        from numerai_mcp.bundle.exporters.from_numpy import export_numpy_dict

        return export_numpy_dict(model)
    if framework == "sklearn":
        from numerai_mcp.bundle.exporters.from_sklearn import export_sklearn

        return export_sklearn(model)
    if framework == "torch":
        from numerai_mcp.bundle.exporters.from_torch import export_torch

        return export_torch(model)
    if framework == "lightgbm":
        from numerai_mcp.bundle.exporters.from_lightgbm import export_lightgbm

        return export_lightgbm(model, native=native_lightgbm)
    raise BundleError(f"cannot export a {type(model).__module__}.{type(model).__qualname__}; supported: {SUPPORTED_MODELS}.")


def export(
    model: Any,
    features: Any,
    out_path: str | Path,
    *,
    fill_values: Any = None,
    transform: str = "rank_per_era",
    benchmark_column: str | None = None,
    missing_features: str = "error",
    require_era: bool = False,
    native_lightgbm: bool = False,
    probe: Any = "auto",
) -> Path:
    """Write `model` as an inference bundle at `out_path` and return its absolute path.

    features: training-order column names (None: the names the model was fitted with).
    fill_values: imputation values: a number, {feature: value}, a Series or one value per feature.
    transform: rank_per_era (default) | clip | sigmoid | none, applied to the model's raw output.
    benchmark_column: a live_benchmark_models column the model takes as a feature (it must be in features).
    missing_features: "error" (default: fail loudly on absent columns) or "fill" (use fill_values).
    require_era: fail when live_features has no era column (else one frame is ranked as one era).
    native_lightgbm: also keep the LightGBM model text, so a build can use a native Booster when the
        target runtime's LightGBM loads it.
    probe: rows build_pickle replays to prove the pickle is this model: "auto" (default: 1,000 rows sampled
        in the features' value range, predicted by the model itself), your rows (a DataFrame with the feature
        columns and optionally `era`, e.g. validation rows; up to 1,000 are kept), (rows, predictions) with the
        predictions your whole training pipeline made for them (catches a scaler or imputer left out of
        `model`), or None.
    """
    parts = model_parts(model, native_lightgbm=native_lightgbm)
    return assemble(parts, features, out_path, fill_values=fill_values, transform=transform,
                    benchmark_column=benchmark_column, missing_features=missing_features, require_era=require_era,
                    model=model, probe=probe)
