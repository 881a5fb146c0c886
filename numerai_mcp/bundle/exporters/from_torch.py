"""PyTorch: an `nn.Sequential` (nested ones are flattened) of `nn.Linear` layers and common
activations, or a single `nn.Linear`. Weights are moved to CPU and stored as numpy, input-major.

Dropout, Identity and Flatten are no-ops at inference on 2-D input and are skipped.
"""

from __future__ import annotations

from typing import Any

from numerai_mcp.bundle.exporters.common import ModelParts, library_version
from numerai_mcp.bundle.fileformat import BundleError

_SKIPPED = {"Dropout", "AlphaDropout", "Identity", "Flatten"}
SUPPORTED = ("Linear, ReLU, LeakyReLU, ELU, Tanh, Sigmoid, SiLU, Softplus, GELU (exact or tanh), "
             "and the no-ops Dropout, Identity, Flatten, inside nn.Sequential")


def _activation(module: Any) -> dict[str, Any] | None:
    """The bundle's activation entry for a torch activation module, or None if it is not one."""
    name = type(module).__name__
    simple = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "SiLU": "silu"}
    if name in simple:
        return {"activation": simple[name]}
    if name == "LeakyReLU":
        return {"activation": "leaky_relu", "alpha": float(module.negative_slope)}
    if name == "ELU":
        return {"activation": "elu", "alpha": float(module.alpha)}
    if name == "Softplus":
        return {"activation": "softplus", "beta": float(module.beta), "threshold": float(module.threshold)}
    if name == "GELU":
        return {"activation": "gelu_tanh" if getattr(module, "approximate", "none") == "tanh" else "gelu"}
    return None


def _flatten(module: Any) -> list[Any]:
    if type(module).__name__ == "Sequential":
        return [leaf for child in module.children() for leaf in _flatten(child)]
    return [module]


def _numpy(tensor: Any) -> Any:
    import torch

    tensor = tensor.detach().to("cpu")
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.float()
    return tensor.numpy().copy()


def export_torch(model: Any) -> ModelParts:
    import numpy as np

    name = type(model).__name__
    if name not in ("Sequential", "Linear"):
        raise BundleError(f"PyTorch model {name} is not supported: export an nn.Sequential of {SUPPORTED}.")
    arrays: dict[str, Any] = {}
    layers: list[dict[str, Any]] = []
    for module in _flatten(model):
        kind = type(module).__name__
        if kind in _SKIPPED:
            continue
        if kind == "Linear":
            i = len(layers)
            arrays[f"model.layers.{i}.weight"] = _numpy(module.weight).T.copy()
            out_features = module.weight.shape[0]
            if module.bias is not None:
                arrays[f"model.layers.{i}.bias"] = _numpy(module.bias).reshape(out_features)
            else:
                arrays[f"model.layers.{i}.bias"] = np.zeros(out_features, dtype=arrays[f"model.layers.{i}.weight"].dtype)
            layers.append({"weight": f"model.layers.{i}.weight", "bias": f"model.layers.{i}.bias", "activation": "identity"})
            continue
        activation = _activation(module)
        if activation is None:
            raise BundleError(f"PyTorch layer {kind} is not supported; supported: {SUPPORTED}.")
        if not layers:
            raise BundleError(f"PyTorch model starts with {kind}; the first layer must be nn.Linear.")
        if layers[-1]["activation"] != "identity":
            raise BundleError(f"two activations in a row ({layers[-1]['activation']}, then {kind}) are not supported.")
        layers[-1].update(activation)
    if not layers:
        raise BundleError("the PyTorch model has no nn.Linear layer.")
    return ModelParts(
        model={"kind": "mlp", "layers": layers},
        arrays=arrays,
        n_features=arrays["model.layers.0.weight"].shape[0],
        description=f"PyTorch {name} ({len(layers)} linear layers)",
        libraries={"torch": library_version("torch"), "numpy": library_version("numpy")},
    )
