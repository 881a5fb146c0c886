"""LightGBM: a Booster or a fitted LGBMRegressor/LGBMRanker, as a numpy tree ensemble.

The trees come from `Booster.dump_model()` (thresholds printed with 17 significant digits,
so they round-trip exactly) and are laid out flat: parents before children, right child =
left child + 1, leaves pointing to themselves with threshold +inf. The template walks them
with LightGBM's own rules for missing values, so predictions match to the last bit and the
pickle does not depend on the LightGBM version in Numerai's container.

With `native=True` the LightGBM model text is kept too: the build then uses a real Booster
when the target runtime's LightGBM loads it and agrees with the numpy trees.
"""

from __future__ import annotations

from typing import Any

from numerai_mcp.bundle.exporters.common import ModelParts, library_version
from numerai_mcp.bundle.fileformat import BundleError

_IDENTITY_OBJECTIVES = {
    "regression", "regression_l2", "l2", "mse", "mean_squared_error", "rmse", "l2_root", "root_mean_squared_error",
    "regression_l1", "l1", "mae", "mean_absolute_error", "huber", "fair", "quantile", "mape",
    "mean_absolute_percentage_error", "lambdarank", "rank_xendcg", "xendcg", "custom", "none",
}
_EXP_OBJECTIVES = {"poisson", "gamma", "tweedie"}
_MISSING_TYPES = {"None": 0, "Zero": 1, "NaN": 2}


def export_lightgbm(model: Any, *, native: bool = False) -> ModelParts:
    import numpy as np

    booster = _booster(model)
    dump = booster.dump_model()
    if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("num_class", 1) != 1:
        raise BundleError("multiclass LightGBM models are not supported; a Numerai model predicts one number per row.")
    objective, sigmoid = _objective(dump.get("objective"))
    trees = _FlatTrees()
    for info in dump["tree_info"]:
        trees.add(info["tree_structure"], int(info.get("tree_index", len(trees.roots))))
    if not trees.roots:
        raise BundleError("the LightGBM model has no trees; train it first.")
    model_section: dict[str, Any] = {
        "kind": "trees",
        **{key: f"model.{key}" for key in ("feature", "threshold", "left", "value", "default_left", "missing_type",
                                           "roots", "depth")},
        "objective": objective,
        "average_output": bool(dump.get("average_output", False)),
    }
    if sigmoid is not None:
        model_section["sigmoid"] = sigmoid
    arrays = trees.arrays()
    version = library_version("lightgbm")
    if native:
        arrays["model.native"] = np.frombuffer(booster.model_to_string().encode("utf-8"), dtype=np.uint8).copy()
        model_section["native"] = {"model_string": "model.native", "lightgbm_version": version}
    return ModelParts(
        model=model_section,
        arrays=arrays,
        n_features=int(dump.get("max_feature_idx", -1)) + 1,
        description=f"LightGBM {type(model).__name__} ({len(trees.roots)} trees, objective {dump.get('objective')})",
        feature_names=list(dump.get("feature_names") or []) or None,
        libraries={"lightgbm": version, "numpy": library_version("numpy")},
    )


def _booster(model: Any) -> Any:
    name = type(model).__name__
    if name == "Booster":
        return model
    if name == "LGBMClassifier":
        raise BundleError("LGBMClassifier is not supported: Numerai targets are regression targets; use LGBMRegressor.")
    booster = getattr(model, "_Booster", None)
    if booster is None:
        raise BundleError(f"{name} is not fitted; fit it before exporting.")
    return booster


def _objective(text: str | None) -> tuple[str, float | None]:
    """LightGBM's output conversion for an objective string like 'binary sigmoid:1'."""
    if not text:
        return "identity", None
    name, *params = text.split()
    name = name.lower()
    options = dict(p.split(":", 1) for p in params if ":" in p)
    if name in _IDENTITY_OBJECTIVES:
        if "sqrt" in params:
            raise BundleError("LightGBM regression with sqrt=True is not supported; retrain without reg_sqrt.")
        return "identity", None
    if name == "binary":
        return "sigmoid", float(options.get("sigmoid", 1.0))
    if name in ("cross_entropy", "xentropy"):
        return "sigmoid", 1.0
    if name in _EXP_OBJECTIVES:
        return "exp", None
    raise BundleError(f"LightGBM objective {text!r} is not supported; use a regression objective.")


class _FlatTrees:
    """Accumulates trees into flat node arrays (see the module docstring for the layout)."""

    def __init__(self) -> None:
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.left: list[int] = []
        self.value: list[float] = []
        self.default_left: list[int] = []
        self.missing_type: list[int] = []
        self.roots: list[int] = []
        self.depth: list[int] = []

    def _new(self, count: int) -> int:
        first = len(self.feature)
        for _ in range(count):
            self.feature.append(0)
            self.threshold.append(float("inf"))
            self.left.append(first)
            self.value.append(0.0)
            self.default_left.append(1)
            self.missing_type.append(0)
        return first

    def add(self, root: dict[str, Any], tree_index: int) -> None:
        root_index = self._new(1)
        deepest = 0
        stack = [(root, root_index, 0)]
        while stack:
            node, index, depth = stack.pop()
            if "leaf_coeff" in node or "leaf_const" in node:
                raise BundleError("LightGBM linear trees (linear_tree=True) are not supported.")
            if "split_feature" not in node:
                self.left[index] = index
                self.value[index] = float(node["leaf_value"])
                deepest = max(deepest, depth)
                continue
            if node.get("decision_type", "<=") != "<=":
                raise BundleError(
                    f"tree {tree_index} has a categorical split; categorical features are not supported by the "
                    "numpy trees. Train with numeric features (Numerai's are integers 0-4)."
                )
            children = self._new(2)
            self.feature[index] = int(node["split_feature"])
            self.threshold[index] = float(node["threshold"])
            self.left[index] = children
            self.default_left[index] = int(bool(node.get("default_left", True)))
            self.missing_type[index] = _MISSING_TYPES[node.get("missing_type", "None")]
            stack.append((node["right_child"], children + 1, depth + 1))
            stack.append((node["left_child"], children, depth + 1))
        self.roots.append(root_index)
        self.depth.append(deepest)

    def arrays(self) -> dict[str, Any]:
        import numpy as np

        index_type = np.int32 if len(self.feature) < 2**31 else np.int64
        return {
            "model.feature": np.asarray(self.feature, dtype=np.int32),
            "model.threshold": np.asarray(self.threshold, dtype=np.float64),
            "model.left": np.asarray(self.left, dtype=index_type),
            "model.value": np.asarray(self.value, dtype=np.float64),
            "model.default_left": np.asarray(self.default_left, dtype=np.uint8),
            "model.missing_type": np.asarray(self.missing_type, dtype=np.int8),
            "model.roots": np.asarray(self.roots, dtype=index_type),
            "model.depth": np.asarray(self.depth, dtype=np.int32),
        }
