"""Plain numpy dicts: the hand-rolled form the seed workflow writes.

Accepted shapes (weights are input-major: x @ W + b):
    {"coef": (n_features,), "intercept": number}                               -> linear
    {"layers": [{"weight": (n_in, n_out), "bias": (n_out,), "activation": "relu"[, "alpha": 0.01]}, ...]}
    {"weights": [W0, W1, ...], "biases": [b0, b1, ...], "activation": "relu"}  -> mlp; hidden layers
        use `activation` (or per layer: "activations": [...]), the output layer is linear
plus optional "scale": {"mean", "std"} or {"min", "max"} and "fill_values" (one per feature).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from numerai_mcp.bundle.exporters.common import ModelParts, library_version
from numerai_mcp.bundle.fileformat import BundleError, canonical_activation

_KNOWN_KEYS = {"kind", "coef", "intercept", "layers", "weights", "biases", "activation", "activations",
               "scale", "fill_values"}
_LAYER_KEYS = {"weight", "bias", "activation", "alpha", "beta", "threshold"}


def export_numpy_dict(model: Mapping[str, Any]) -> ModelParts:
    unknown = sorted(set(model) - _KNOWN_KEYS)
    if unknown:
        raise BundleError(f"numpy dict has unknown key(s) {unknown}; known keys: {sorted(_KNOWN_KEYS)}.")
    if "coef" in model:
        parts = _linear(model)
    elif "layers" in model or "weights" in model:
        parts = _mlp(model)
    else:
        raise BundleError(
            "numpy dict needs either 'coef' and 'intercept' (linear) or 'layers' / 'weights'+'biases' (MLP)."
        )
    parts.scale = _scale(model.get("scale"), parts.n_features)
    parts.fill_values = model.get("fill_values")
    return parts


def _array(value: Any, where: str) -> Any:
    import numpy as np

    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise BundleError(f"{where} is not an array: {exc}") from None
    if array.dtype.kind not in "fiub":
        raise BundleError(f"{where} must hold numbers, got dtype {array.dtype}.")
    return array if array.dtype.kind == "f" else array.astype("float64")


def _linear(model: Mapping[str, Any]) -> ModelParts:
    coef = _array(model["coef"], "coef")
    if coef.ndim == 2 and 1 in coef.shape:
        coef = coef.reshape(-1)
    if coef.ndim != 1:
        raise BundleError(f"coef must be one weight per feature, got shape {coef.shape}.")
    if "intercept" not in model:
        raise BundleError("a linear numpy dict needs 'intercept' (use 0.0 for none).")
    intercept = _array(model["intercept"], "intercept").reshape(-1)
    return ModelParts(
        model={"kind": "linear", "coef": "model.coef", "intercept": "model.intercept"},
        arrays={"model.coef": coef, "model.intercept": intercept},
        n_features=coef.shape[0],
        description="numpy dict (linear)",
        libraries={"numpy": library_version("numpy")},
    )


def _mlp(model: Mapping[str, Any]) -> ModelParts:
    if "layers" in model:
        layers = list(model["layers"])
    else:
        layers = _layers_from_lists(model)
    if not layers:
        raise BundleError("numpy dict 'layers' is empty.")
    arrays: dict[str, Any] = {}
    manifest_layers = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or not {"weight", "bias"} <= set(layer):
            raise BundleError(f"layers[{i}] must be a dict with 'weight', 'bias' and 'activation'.")
        extra = sorted(set(layer) - _LAYER_KEYS)
        if extra:
            raise BundleError(f"layers[{i}] has unknown key(s) {extra}; allowed: {sorted(_LAYER_KEYS)}.")
        weight = _array(layer["weight"], f"layers[{i}].weight")
        bias = _array(layer["bias"], f"layers[{i}].bias").reshape(-1)
        if weight.ndim != 2:
            raise BundleError(f"layers[{i}].weight must be 2-D (n_in, n_out), got shape {weight.shape}.")
        previous_out = arrays[f"model.layers.{i - 1}.weight"].shape[1] if i else None
        if previous_out is not None and weight.shape[0] != previous_out and weight.shape[1] == previous_out:
            raise BundleError(
                f"layers[{i}].weight has shape {weight.shape}: it looks like (n_out, n_in) (PyTorch's layout). "
                "Store weights input-major: pass weight.T."
            )
        entry: dict[str, Any] = {
            "weight": f"model.layers.{i}.weight",
            "bias": f"model.layers.{i}.bias",
            "activation": canonical_activation(layer.get("activation", "identity")),
        }
        for key in ("alpha", "beta", "threshold"):
            if key in layer:
                entry[key] = float(layer[key])
        arrays[entry["weight"]] = weight
        arrays[entry["bias"]] = bias
        manifest_layers.append(entry)
    return ModelParts(
        model={"kind": "mlp", "layers": manifest_layers},
        arrays=arrays,
        n_features=arrays["model.layers.0.weight"].shape[0],
        description=f"numpy dict (MLP, {len(manifest_layers)} layers)",
        libraries={"numpy": library_version("numpy")},
    )


def _layers_from_lists(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    weights, biases = list(model.get("weights") or []), list(model.get("biases") or [])
    if len(weights) != len(biases):
        raise BundleError(f"'weights' has {len(weights)} entries but 'biases' has {len(biases)}; give one bias per layer.")
    if "activations" in model:
        activations = list(model["activations"])
        if len(activations) != len(weights):
            raise BundleError(f"'activations' has {len(activations)} entries for {len(weights)} layers.")
    else:
        hidden = model.get("activation", "relu")
        activations = [hidden] * (len(weights) - 1) + ["identity"]
    return [{"weight": w, "bias": b, "activation": a} for w, b, a in zip(weights, biases, activations)]


def _scale(scale: Any, n_features: int) -> dict[str, Any] | None:
    if scale is None:
        return None
    if not isinstance(scale, Mapping):
        raise BundleError("scale must be a dict: {'mean', 'std'} or {'min', 'max'}.")
    keys = set(scale)
    if keys == {"mean", "std"}:
        return {"mean": _array(scale["mean"], "scale.mean").reshape(-1), "std": _array(scale["std"], "scale.std").reshape(-1)}
    if {"min", "max"} <= keys <= {"min", "max", "feature_range", "clip"}:
        out: dict[str, Any] = {"min": _array(scale["min"], "scale.min").reshape(-1),
                               "max": _array(scale["max"], "scale.max").reshape(-1)}
        if "feature_range" in scale:
            out["feature_range"] = [float(v) for v in scale["feature_range"]]
        if "clip" in scale:
            out["clip"] = bool(scale["clip"])
        return out
    raise BundleError(f"scale keys {sorted(keys)} are not a known scaling; use {{'mean', 'std'}} or {{'min', 'max'}}.")
