"""scikit-learn: linear regressors and MLPRegressor, alone or at the end of a Pipeline whose
earlier steps are a SimpleImputer and/or a StandardScaler / MinMaxScaler.

Only fitted attributes are read (coef_, coefs_, statistics_, mean_, ...); nothing is pickled.
"""

from __future__ import annotations

from typing import Any

from numerai_mcp.bundle.exporters.common import ModelParts, library_version
from numerai_mcp.bundle.fileformat import BundleError

# Regressors whose predict is exactly X @ coef_ + intercept_.
LINEAR_REGRESSORS = (
    "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV",
    "Lars", "LassoLars", "BayesianRidge", "ARDRegression", "HuberRegressor", "SGDRegressor",
)
_MLP_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
SUPPORTED = f"{', '.join(LINEAR_REGRESSORS)}, MLPRegressor (optionally in a Pipeline after SimpleImputer / StandardScaler / MinMaxScaler)"


def export_sklearn(model: Any) -> ModelParts:
    steps = _pipeline_steps(model)
    estimator = steps[-1]
    parts = _estimator_parts(estimator)
    names = [type(step).__name__ for step in steps]
    parts.description = f"scikit-learn {'Pipeline(' + ', '.join(names) + ')' if len(steps) > 1 else names[0]}"
    parts.libraries = {"scikit-learn": library_version("sklearn"), "numpy": library_version("numpy")}
    feature_names = getattr(steps[0], "feature_names_in_", None)
    parts.feature_names = [str(n) for n in feature_names] if feature_names is not None else None
    _apply_preprocessing(steps[:-1], parts)
    return parts


def _pipeline_steps(model: Any) -> list[Any]:
    if type(model).__name__ != "Pipeline":
        return [model]
    steps = [step for _, step in model.steps if step is not None and step != "passthrough"]
    if not steps:
        raise BundleError("the Pipeline has no steps.")
    return steps


def _fitted(estimator: Any, attribute: str) -> Any:
    value = getattr(estimator, attribute, None)
    if value is None:
        raise BundleError(f"{type(estimator).__name__} is not fitted (no {attribute}); fit it before exporting.")
    return value


def _estimator_parts(estimator: Any) -> ModelParts:
    import numpy as np

    name = type(estimator).__name__
    if name in LINEAR_REGRESSORS:
        coef = np.asarray(_fitted(estimator, "coef_"), dtype=np.float64)
        if coef.ndim == 2:
            if coef.shape[0] != 1:
                raise BundleError(f"{name} predicts {coef.shape[0]} targets; a Numerai model predicts one.")
            coef = coef[0]
        intercept = np.asarray(getattr(estimator, "intercept_", 0.0), dtype=np.float64).reshape(-1)
        if intercept.size != 1:
            raise BundleError(f"{name} has {intercept.size} intercepts; a Numerai model predicts one target.")
        return ModelParts(
            model={"kind": "linear", "coef": "model.coef", "intercept": "model.intercept"},
            arrays={"model.coef": coef, "model.intercept": intercept},
            n_features=coef.shape[0],
            description=name,
        )
    if name == "MLPRegressor":
        return _mlp_parts(estimator)
    raise BundleError(f"scikit-learn estimator {name} is not supported; supported: {SUPPORTED}.")


def _mlp_parts(estimator: Any) -> ModelParts:
    import numpy as np

    coefs = _fitted(estimator, "coefs_")
    intercepts = _fitted(estimator, "intercepts_")
    if getattr(estimator, "n_outputs_", 1) != 1:
        raise BundleError(f"MLPRegressor predicts {estimator.n_outputs_} targets; a Numerai model predicts one.")
    hidden = _MLP_ACTIVATIONS.get(estimator.activation)
    output = _MLP_ACTIVATIONS.get(getattr(estimator, "out_activation_", "identity"))
    if hidden is None or output is None:
        raise BundleError(f"MLPRegressor activation {estimator.activation!r} is not supported.")
    arrays: dict[str, Any] = {}
    layers = []
    for i, (weight, bias) in enumerate(zip(coefs, intercepts)):
        arrays[f"model.layers.{i}.weight"] = np.asarray(weight)
        arrays[f"model.layers.{i}.bias"] = np.asarray(bias).reshape(-1)
        layers.append({
            "weight": f"model.layers.{i}.weight",
            "bias": f"model.layers.{i}.bias",
            "activation": output if i == len(coefs) - 1 else hidden,
        })
    return ModelParts(model={"kind": "mlp", "layers": layers}, arrays=arrays,
                      n_features=np.asarray(coefs[0]).shape[0], description="MLPRegressor")


def _apply_preprocessing(steps: list[Any], parts: ModelParts) -> None:
    """Fold SimpleImputer / StandardScaler / MinMaxScaler into fill_values and scale, in that order."""
    import numpy as np

    for step in steps:
        name = type(step).__name__
        if name == "SimpleImputer":
            if parts.scale is not None:
                raise BundleError("the Pipeline scales before it imputes; put SimpleImputer before the scaler.")
            if parts.fill_values is not None:
                raise BundleError("the Pipeline has two imputers; keep one SimpleImputer.")
            parts.fill_values = _imputer_values(step)
        elif name == "StandardScaler":
            _set_scale(parts, name)
            n = parts.n_features
            mean = getattr(step, "mean_", None)
            scale = getattr(step, "scale_", None)
            if not hasattr(step, "n_features_in_"):
                raise BundleError("StandardScaler is not fitted; fit the Pipeline before exporting.")
            parts.scale = {
                "mean": np.zeros(n) if mean is None else np.asarray(mean, dtype=np.float64),
                "std": np.ones(n) if scale is None else np.asarray(scale, dtype=np.float64),
            }
        elif name == "MinMaxScaler":
            _set_scale(parts, name)
            parts.scale = {
                "min": np.asarray(_fitted(step, "data_min_"), dtype=np.float64),
                "max": np.asarray(_fitted(step, "data_max_"), dtype=np.float64),
                "feature_range": [float(v) for v in step.feature_range],
                "clip": bool(getattr(step, "clip", False)),
            }
        else:
            raise BundleError(f"Pipeline step {name} is not supported; supported steps before the model: "
                              "SimpleImputer, StandardScaler, MinMaxScaler.")


def _set_scale(parts: ModelParts, name: str) -> None:
    if parts.scale is not None:
        raise BundleError(f"the Pipeline has two scalers (second: {name}); keep one.")


def _imputer_values(imputer: Any) -> Any:
    import numpy as np

    statistics = np.asarray(_fitted(imputer, "statistics_"), dtype=np.float64)
    missing = imputer.missing_values
    if not (isinstance(missing, float) and np.isnan(missing)):
        raise BundleError(f"SimpleImputer(missing_values={missing!r}) is not supported; only NaN is treated as missing.")
    if getattr(imputer, "add_indicator", False):
        raise BundleError("SimpleImputer(add_indicator=True) adds columns; refit without it.")
    if np.isnan(statistics).any() and not getattr(imputer, "keep_empty_features", False):
        raise BundleError("SimpleImputer dropped all-missing features; refit with keep_empty_features=True.")
    return np.nan_to_num(statistics, nan=0.0)
