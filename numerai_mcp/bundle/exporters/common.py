"""What every exporter produces, and the shared steps that turn it into a bundle file.

Exporters run in the user's training environment: they import their framework lazily and
turn a fitted model into `ModelParts` (the manifest's `model` section plus numpy arrays).
The rest (feature names, fill values, transform, benchmark column) is handled once, here.
"""

from __future__ import annotations

import datetime as _dt
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numerai_mcp.bundle.fileformat import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MISSING_FEATURE_POLICIES,
    TRANSFORMS,
    BundleError,
    check_arrays,
    check_manifest,
    write_bundle,
)

# Names a framework invents when it was fitted on a bare array: they say nothing about columns.
_GENERATED_NAMES = re.compile(r"^(Column_\d+|x\d+|f\d+|feature_\d+_auto)$")


@dataclass
class ModelParts:
    """A fitted model reduced to the bundle's terms."""

    model: dict[str, Any]                    # the manifest's "model" section, arrays referred to by name
    arrays: dict[str, Any]                   # name -> numpy array
    n_features: int
    description: str                         # e.g. "scikit-learn Pipeline(SimpleImputer, StandardScaler, Ridge)"
    feature_names: list[str] | None = None   # the names the model itself was fitted with, when it knows them
    fill_values: Any = None                  # per-feature imputation values from a pipeline step
    scale: dict[str, Any] | None = None      # {"mean","std"} or {"min","max",...} with arrays, from a pipeline step
    libraries: dict[str, str] = field(default_factory=dict)


def library_version(module_name: str) -> str:
    import importlib

    module = importlib.import_module(module_name)
    return str(getattr(module, "__version__", "unknown"))


def resolve_features(features: Any, parts: ModelParts) -> list[str]:
    """The training-order feature list: the caller's, checked against what the model knows."""
    known = parts.feature_names
    if known is not None and all(_GENERATED_NAMES.match(n) for n in known):
        known = None
    if features is None:
        if known is None:
            raise BundleError(
                f"features is None and the model ({parts.description}) was fitted without column names: "
                f"pass the {parts.n_features} feature names in training order."
            )
        return list(known)
    if isinstance(features, (str, bytes)) or not hasattr(features, "__iter__"):
        raise BundleError("features must be a list of column names in training order.")
    names = [str(f) if not isinstance(f, str) else f for f in features]
    if len(names) != parts.n_features:
        raise BundleError(
            f"features lists {len(names)} names but the model ({parts.description}) takes {parts.n_features} inputs; "
            "pass exactly the columns it was trained on, in training order."
        )
    if known is not None and names != list(known):
        first = next(i for i, (a, b) in enumerate(zip(names, known)) if a != b)
        raise BundleError(
            f"features differ from the names the model was fitted with: position {first} is {names[first]!r} "
            f"but the model has {known[first]!r}. Pass features in the model's training order (or features=None)."
        )
    return names


def normalise_fill_values(fill_values: Any, features: list[str], *, where: str = "fill_values") -> Any:
    """A scalar, a {feature: value} mapping, a pandas Series or a sequence -> float64 array aligned to features."""
    import numpy as np

    if fill_values is None:
        return None
    if isinstance(fill_values, (int, float)) and not isinstance(fill_values, bool):
        values = np.full(len(features), float(fill_values))
    elif isinstance(fill_values, Mapping) or hasattr(fill_values, "index") and hasattr(fill_values, "to_dict"):
        mapping = dict(fill_values.to_dict() if hasattr(fill_values, "to_dict") else fill_values)
        absent = [f for f in features if f not in mapping]
        if absent:
            raise BundleError(
                f"{where} has no value for {len(absent)} feature(s), e.g. {absent[:5]}; give one per feature "
                "(or a single number for all)."
            )
        values = np.array([mapping[f] for f in features], dtype=np.float64)
    else:
        values = np.asarray(fill_values, dtype=np.float64).reshape(-1)
        if values.shape[0] != len(features):
            raise BundleError(f"{where} has {values.shape[0]} values but there are {len(features)} features.")
    bad = ~np.isfinite(values)
    if bad.any():
        names = [features[i] for i in np.flatnonzero(bad)[:5]]
        raise BundleError(f"{where} must be finite numbers; NaN or infinite for {names}.")
    return values


def assemble(
    parts: ModelParts,
    features: Any,
    out_path: str | Path,
    *,
    fill_values: Any,
    transform: str,
    benchmark_column: str | None,
    missing_features: str,
    require_era: bool,
    era_column: str = "era",
    model: Any = None,
    probe: Any = None,
) -> Path:
    """Combine the model parts with the caller's options (and the reproduction probe), validate, write the bundle."""
    names = resolve_features(features, parts)
    if transform not in TRANSFORMS:
        raise BundleError(f"transform {transform!r} is unknown; use one of {', '.join(TRANSFORMS)}.")
    if missing_features not in MISSING_FEATURE_POLICIES:
        raise BundleError(f"missing_features {missing_features!r} is unknown; use 'error' or 'fill'.")
    if benchmark_column is not None and benchmark_column not in names:
        raise BundleError(
            f"benchmark_column {benchmark_column!r} is not among the features: a benchmark column is a model input, "
            "so it must be listed in features at the position the model was trained with."
        )
    if fill_values is not None and parts.fill_values is not None:
        raise BundleError("the model has its own imputer (a pipeline step); do not pass fill_values as well.")
    fill = normalise_fill_values(fill_values if fill_values is not None else parts.fill_values, names)
    arrays = dict(parts.arrays)
    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "features": names,
        "benchmark_column": benchmark_column,
        "fill_values": None,
        "missing_features": missing_features,
        "scale": None,
        "model": parts.model,
        "transform": transform,
        "era_column": era_column,
        "require_era": bool(require_era),
        "source": {
            "exporter": parts.description,
            "libraries": dict(parts.libraries),
            "python": platform.python_version(),
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
    }
    if fill is not None:
        arrays["fill_values"] = fill
        manifest["fill_values"] = "fill_values"
    if parts.scale is not None:
        scale: dict[str, Any] = {}
        for key, value in parts.scale.items():
            if key in ("mean", "std", "min", "max"):
                arrays[f"scale.{key}"] = value
                scale[key] = f"scale.{key}"
            else:
                scale[key] = value
        manifest["scale"] = scale
    import numpy as np

    check_manifest(manifest)  # a broken model fails with its own error before the probe runs it
    check_arrays(manifest, {name: np.asarray(value) for name, value in arrays.items()})
    _add_probe(model, parts, manifest, arrays, probe)
    target = Path(out_path).expanduser()
    if target.is_dir():
        raise BundleError(f"{target} is a directory; give the path of the bundle file to write (e.g. model.bundle.npz).")
    return Path(write_bundle(target, manifest, arrays))


def _add_probe(model: Any, parts: ModelParts, manifest: dict[str, Any], arrays: dict[str, Any], probe: Any) -> None:
    """Store the reproduction probe; an automatic one that cannot be made is left out with a warning."""
    from numerai_mcp.bundle.exporters.probe import make_probe

    try:
        made = make_probe(model, parts, manifest, arrays, probe)
    except BundleError as exc:
        if not (isinstance(probe, str) and probe == "auto"):
            raise
        import warnings

        warnings.warn(f"no reproduction probe stored: {exc}", stacklevel=4)
        return
    if made is not None:
        manifest["probe"], probe_arrays = made
        arrays.update(probe_arrays)
