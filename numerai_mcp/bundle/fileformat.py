"""The inference bundle file: a versioned JSON manifest plus plain numpy arrays in one zip.

Why not a pickle: the bundle travels from the user's training environment (any Python, any
numpy) into Numerai's pinned runtime, where the predict pickle is written. A zip holding
`manifest.json` and `arrays/<name>.npy` members (so `numpy.load` also opens it as an .npz) is
readable by every Python and numpy, and arrays are loaded with `allow_pickle=False`, so
opening a bundle never runs code.

This module is standalone on purpose: the build script copies it into the target runtime,
which does not have numerai_mcp installed. It uses only the standard library at import time
(numpy is imported inside functions, so the MCP server can read manifests without numpy),
and keeps to Python 3.10 syntax.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

FORMAT_NAME = "numerai-inference-bundle"
FORMAT_VERSION = 1
MANIFEST_MEMBER = "manifest.json"
ARRAY_PREFIX = "arrays/"

KINDS = ("linear", "mlp", "trees")
TRANSFORMS = ("rank_per_era", "clip", "sigmoid", "none")
MISSING_FEATURE_POLICIES = ("error", "fill")
ACTIVATIONS = ("identity", "relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus", "gelu", "gelu_tanh", "silu")
ACTIVATION_ALIASES = {"linear": "identity", "none": "identity", "logistic": "sigmoid", "swish": "silu"}
TREE_OBJECTIVES = ("identity", "sigmoid", "exp")

_TOP_KEYS = {
    "format", "format_version", "features", "benchmark_column", "fill_values", "missing_features",
    "scale", "model", "transform", "era_column", "require_era", "constants", "source", "probe",
}
_REQUIRED_TOP_KEYS = ("format", "format_version", "features", "model")
_ARRAY_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
_SHOW = 5  # how many offending names an error lists
MAX_PROBE_ROWS = 1000
PROBE_SOURCES = ("caller rows", "sampled")


class BundleError(ValueError):
    """The bundle is unreadable or inconsistent; the message says what is wrong and what to do."""


@dataclass
class Bundle:
    """A loaded, fully validated bundle: the manifest and the arrays it refers to by name."""

    manifest: dict[str, Any]
    arrays: dict[str, Any] = field(repr=False)
    path: str | None = None

    @property
    def features(self) -> list[str]:
        return list(self.manifest["features"])

    @property
    def kind(self) -> str:
        return str(self.manifest["model"]["kind"])

    @property
    def transform(self) -> str:
        return str(self.manifest.get("transform", "rank_per_era"))

    @property
    def benchmark_column(self) -> str | None:
        return self.manifest.get("benchmark_column")

    def spec(self) -> dict[str, Any]:
        """The manifest with every array name replaced by its array: what the predict template takes."""
        return resolve_spec(self.manifest, self.arrays)

    def probe(self) -> dict[str, Any] | None:
        """The reproduction probe: rows (features in manifest order), the training environment's predictions for
        them, each row's era label, and where they came from; None when the bundle has none."""
        probe = self.manifest.get("probe")
        if probe is None:
            return None
        labels = list(probe.get("era_labels") or ["X"])
        codes = self.arrays[probe["eras"]] if probe.get("eras") else None
        rows = self.arrays[probe["features"]].shape[0]
        return {"features": self.arrays[probe["features"]], "predictions": self.arrays[probe["predictions"]],
                "eras": [labels[int(c)] for c in codes] if codes is not None else [labels[0]] * rows,
                "source": probe.get("source", "sampled"), "row_columns": probe.get("row_columns")}


# ------------------------------------------------------------------------------------ reading


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check the manifest alone (standard library only; arrays are not opened)."""
    with _open_zip(path) as archive:
        manifest = _manifest_from(archive, path)
    check_manifest(manifest)
    return manifest


def read_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Open a bundle, load its arrays without pickle, and validate everything."""
    import numpy as np

    arrays: dict[str, Any] = {}
    with _open_zip(path) as archive:
        manifest = _manifest_from(archive, path)
        check_manifest(manifest)
        for member in archive.namelist():
            if not (member.startswith(ARRAY_PREFIX) and member.endswith(".npy")):
                continue
            name = member[len(ARRAY_PREFIX):-len(".npy")]
            try:
                with archive.open(member) as handle:
                    arrays[name] = np.lib.format.read_array(handle, allow_pickle=False)
            except ValueError as exc:
                raise BundleError(
                    f"array {name!r} cannot be loaded without pickle ({exc}). Bundles hold plain numeric "
                    "arrays only: re-export the model with numerai_mcp.bundle.export."
                ) from None
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise BundleError(f"array {name!r} is corrupt ({exc}); re-export the bundle.") from None
    check_arrays(manifest, arrays)
    return Bundle(manifest=manifest, arrays=arrays, path=os.fspath(path))


def _open_zip(path: str | os.PathLike[str]) -> zipfile.ZipFile:
    text = os.fspath(path)
    if not os.path.exists(text):
        raise BundleError(f"bundle not found: {text}. Export one with numerai_mcp.bundle.export(model, features, path).")
    if os.path.isdir(text):
        raise BundleError(f"{text} is a directory; a bundle is one file (a zip/.npz written by numerai_mcp.bundle.export).")
    try:
        return zipfile.ZipFile(text)
    except zipfile.BadZipFile:
        hint = " It looks like a pickle: pass the bundle, not the built model." if _looks_like_pickle(text) else ""
        raise BundleError(f"{text} is not an inference bundle (not a zip/.npz file).{hint}") from None


def _looks_like_pickle(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(1) == b"\x80"
    except OSError:
        return False


def _manifest_from(archive: zipfile.ZipFile, path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        raw = archive.read(MANIFEST_MEMBER)
    except KeyError:
        raise BundleError(
            f"{os.fspath(path)} has no {MANIFEST_MEMBER}: it is a zip/.npz but not an inference bundle. "
            "Write bundles with numerai_mcp.bundle.export."
        ) from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{MANIFEST_MEMBER} is not valid JSON ({exc}).") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{MANIFEST_MEMBER} must be a JSON object, got {type(manifest).__name__}.")
    return manifest


# ------------------------------------------------------------------------------------ writing


def write_bundle(path: str | os.PathLike[str], manifest: dict[str, Any], arrays: dict[str, Any]) -> str:
    """Validate, then write atomically (temp file + rename), so a failed export leaves nothing behind."""
    import numpy as np

    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    check_manifest(manifest)
    check_arrays(manifest, arrays)
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise BundleError(f"cannot write {target}: the directory {directory} does not exist.")
    fd, temp = tempfile.mkstemp(prefix=".bundle-", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST_MEMBER, json.dumps(manifest, indent=1, sort_keys=True))
            for name in sorted(arrays):
                with archive.open(f"{ARRAY_PREFIX}{name}.npy", "w", force_zip64=True) as handle:
                    np.lib.format.write_array(handle, np.ascontiguousarray(arrays[name]), allow_pickle=False)
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise
    return target


# ---------------------------------------------------------------------------- manifest checks


def _fail(where: str, problem: str) -> BundleError:
    return BundleError(f"{where}: {problem}")


def _number(value: Any, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, f"must be a finite number, got {value!r}.")
    if positive and value <= 0:
        raise _fail(where, f"must be > 0, got {value!r}.")
    return float(value)


def _array_ref(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ARRAY_NAME.match(value):
        raise _fail(where, f"must name an array (letters, digits, '_', '.', '-'), got {value!r}.")
    return value


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise _fail(where, f"unknown value {value!r}; use one of {', '.join(allowed)}.")
    return value


def canonical_activation(name: Any) -> str:
    """Canonical activation name (aliases like 'logistic' accepted), or BundleError naming the known ones."""
    if isinstance(name, str):
        key = name.strip().lower()
        key = ACTIVATION_ALIASES.get(key, key)
        if key in ACTIVATIONS:
            return key
    raise BundleError(
        f"unknown activation {name!r}; supported: {', '.join(ACTIVATIONS)} "
        f"(aliases: {', '.join(sorted(ACTIVATION_ALIASES))})."
    )


def check_manifest(manifest: dict[str, Any]) -> None:
    """Structural checks that need no arrays (stdlib only)."""
    if manifest.get("format") != FORMAT_NAME:
        raise BundleError(
            f"manifest 'format' is {manifest.get('format')!r}, expected {FORMAT_NAME!r}: "
            "this file was not written by numerai_mcp.bundle.export."
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail("format_version", f"must be a positive integer, got {version!r}.")
    if version > FORMAT_VERSION:
        raise BundleError(
            f"bundle format version {version} is newer than this reader understands ({FORMAT_VERSION}); "
            "upgrade numerai-mcp, or re-export with the installed version."
        )
    missing = [key for key in _REQUIRED_TOP_KEYS if key not in manifest]
    if missing:
        raise BundleError(f"manifest lacks required key(s): {', '.join(missing)}.")
    unknown = sorted(set(manifest) - _TOP_KEYS)
    if unknown:
        raise BundleError(
            f"manifest has unknown key(s) {', '.join(map(repr, unknown))}; known keys: {', '.join(sorted(_TOP_KEYS))}."
        )
    features = _check_features(manifest["features"])
    benchmark = manifest.get("benchmark_column")
    if benchmark is not None:
        if not isinstance(benchmark, str) or not benchmark:
            raise _fail("benchmark_column", f"must be a column name or null, got {benchmark!r}.")
        if benchmark not in features:
            raise _fail(
                "benchmark_column",
                f"{benchmark!r} is not in features; list it among the features at the position the model was "
                "trained with (its values come from live_benchmark_models, aligned by id).",
            )
    if manifest.get("fill_values") is not None:
        _array_ref(manifest["fill_values"], "fill_values")
    policy = _choice(manifest.get("missing_features", "error"), MISSING_FEATURE_POLICIES, "missing_features")
    if policy == "fill" and manifest.get("fill_values") is None:
        raise _fail("missing_features", "'fill' needs fill_values (one value per feature) to fill missing columns with.")
    _choice(manifest.get("transform", "rank_per_era"), TRANSFORMS, "transform")
    era = manifest.get("era_column", "era")
    if not isinstance(era, str) or not era:
        raise _fail("era_column", f"must be a column name, got {era!r}.")
    if era in features:
        raise _fail("era_column", f"{era!r} is also listed as a feature; eras are labels, not model inputs.")
    if not isinstance(manifest.get("require_era", False), bool):
        raise _fail("require_era", "must be true or false.")
    constants = manifest.get("constants", {})
    if not isinstance(constants, dict):
        raise _fail("constants", "must be an object of named numbers.")
    for name, value in constants.items():
        _number(value, f"constants.{name}")
    source = manifest.get("source", {})
    if not isinstance(source, dict):
        raise _fail("source", "must be an object describing where the bundle came from.")
    _check_scale(manifest.get("scale"))
    _check_model(manifest["model"])
    _check_probe(manifest.get("probe"), features)


def _check_features(features: Any) -> list[str]:
    if not isinstance(features, list) or not features:
        raise _fail("features", "must be a non-empty list of column names in training order.")
    bad = [f for f in features if not isinstance(f, str) or not f]
    if bad:
        raise _fail("features", f"every feature must be a non-empty string; bad entries: {bad[:_SHOW]!r}.")
    seen: set[str] = set()
    duplicates: list[str] = []
    for name in features:
        if name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        raise _fail(
            "features",
            f"duplicate feature names {duplicates[:_SHOW]!r}{' …' if len(duplicates) > _SHOW else ''}; "
            "each column must appear once, in training order.",
        )
    return features


def _check_scale(scale: Any) -> None:
    if scale is None:
        return
    if not isinstance(scale, dict):
        raise _fail("scale", "must be null, {mean, std} or {min, max[, feature_range, clip]}.")
    keys = set(scale)
    if keys == {"mean", "std"}:
        _array_ref(scale["mean"], "scale.mean")
        _array_ref(scale["std"], "scale.std")
        return
    if {"min", "max"} <= keys <= {"min", "max", "feature_range", "clip"}:
        _array_ref(scale["min"], "scale.min")
        _array_ref(scale["max"], "scale.max")
        low_high = scale.get("feature_range", [0.0, 1.0])
        if not isinstance(low_high, list) or len(low_high) != 2:
            raise _fail("scale.feature_range", "must be [low, high].")
        low = _number(low_high[0], "scale.feature_range[0]")
        high = _number(low_high[1], "scale.feature_range[1]")
        if not low < high:
            raise _fail("scale.feature_range", f"low must be < high, got {low_high!r}.")
        if not isinstance(scale.get("clip", False), bool):
            raise _fail("scale.clip", "must be true or false.")
        return
    raise _fail("scale", f"keys {sorted(keys)} are not a known scaling; use {{mean, std}} or {{min, max}}.")


def _check_probe(probe: Any, features: list[str]) -> None:
    if probe is None:
        return
    if not isinstance(probe, dict):
        raise _fail("probe", "must be an object {features, predictions, eras, era_labels, source, row_columns}.")
    _exact_keys(probe, {"features", "predictions"}, "probe", optional={"eras", "era_labels", "source", "row_columns"})
    _array_ref(probe["features"], "probe.features")
    _array_ref(probe["predictions"], "probe.predictions")
    if probe.get("eras") is not None:
        _array_ref(probe["eras"], "probe.eras")
        labels = probe.get("era_labels")
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
            raise _fail("probe.era_labels", "must be a non-empty list of era names (probe.eras indexes it).")
    _choice(probe.get("source", "sampled"), PROBE_SOURCES, "probe.source")
    columns = probe.get("row_columns")
    if columns is not None and (not isinstance(columns, list) or sorted(columns) != sorted(features)):
        raise _fail("probe.row_columns", "must list the features (in the order the probe rows had them).")


def _check_model(model: Any) -> None:
    if not isinstance(model, dict):
        raise _fail("model", "must be an object with a 'kind'.")
    kind = _choice(model.get("kind"), KINDS, "model.kind")
    if kind == "linear":
        _exact_keys(model, {"kind", "coef", "intercept"}, "model")
        _array_ref(model["coef"], "model.coef")
        _array_ref(model["intercept"], "model.intercept")
    elif kind == "mlp":
        _exact_keys(model, {"kind", "layers"}, "model")
        layers = model["layers"]
        if not isinstance(layers, list) or not layers:
            raise _fail("model.layers", "must be a non-empty list of {weight, bias, activation}.")
        for i, layer in enumerate(layers):
            where = f"model.layers[{i}]"
            if not isinstance(layer, dict):
                raise _fail(where, "must be an object {weight, bias, activation}.")
            _exact_keys(layer, {"weight", "bias", "activation"}, where, optional={"alpha", "beta", "threshold"})
            _array_ref(layer["weight"], f"{where}.weight")
            _array_ref(layer["bias"], f"{where}.bias")
            try:
                canonical_activation(layer["activation"])
            except BundleError as exc:
                raise _fail(f"{where}.activation", str(exc)) from None
            for key in ("alpha", "beta", "threshold"):
                if key in layer:
                    _number(layer[key], f"{where}.{key}", positive=(key == "beta"))
    else:
        _exact_keys(
            model,
            {"kind", "feature", "threshold", "left", "value", "default_left", "missing_type", "roots", "depth", "objective"},
            "model",
            optional={"sigmoid", "average_output", "native"},
        )
        for key in ("feature", "threshold", "left", "value", "default_left", "missing_type", "roots", "depth"):
            _array_ref(model[key], f"model.{key}")
        objective = _choice(model["objective"], TREE_OBJECTIVES, "model.objective")
        if objective == "sigmoid":
            _number(model.get("sigmoid"), "model.sigmoid", positive=True)
        if not isinstance(model.get("average_output", False), bool):
            raise _fail("model.average_output", "must be true or false.")
        native = model.get("native")
        if native is not None:
            if not isinstance(native, dict):
                raise _fail("model.native", "must be {model_string, lightgbm_version}.")
            _exact_keys(native, {"model_string", "lightgbm_version"}, "model.native")
            _array_ref(native["model_string"], "model.native.model_string")


def _exact_keys(obj: dict[str, Any], required: set[str], where: str, optional: set[str] = frozenset()) -> None:
    missing = sorted(required - set(obj))
    if missing:
        raise _fail(where, f"missing key(s) {', '.join(missing)}.")
    extra = sorted(set(obj) - required - set(optional))
    if extra:
        raise _fail(where, f"unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(required | set(optional)))}.")


# ------------------------------------------------------------------------------ array checks


def check_arrays(manifest: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Shapes agree with the features and with each other, numbers are finite, trees are well formed."""
    n_features = len(manifest["features"])
    checker = _ArrayChecker(arrays)
    if manifest.get("fill_values") is not None:
        checker.vector(manifest["fill_values"], "fill_values", n_features)
    scale = manifest.get("scale")
    if scale is not None:
        if "mean" in scale:
            checker.vector(scale["mean"], "scale.mean", n_features)
            std = checker.vector(scale["std"], "scale.std", n_features)
            if (std <= 0).any():
                raise _fail("scale.std", f"must be > 0 for every feature; {_list_where(std <= 0, manifest)}.")
        else:
            low = checker.vector(scale["min"], "scale.min", n_features)
            high = checker.vector(scale["max"], "scale.max", n_features)
            if (high < low).any():
                raise _fail("scale.max", f"is below scale.min for {_list_where(high < low, manifest)}.")
    _check_probe_arrays(checker, manifest.get("probe"), n_features)
    model = manifest["model"]
    kind = model["kind"]
    if kind == "linear":
        checker.vector(model["coef"], "model.coef", n_features)
        checker.scalar(model["intercept"], "model.intercept")
    elif kind == "mlp":
        _check_layers(checker, model["layers"], n_features)
    else:
        _check_trees(checker, model, n_features)


def _check_probe_arrays(checker: _ArrayChecker, probe: dict[str, Any] | None, n_features: int) -> None:
    if probe is None:
        return
    rows = checker.get(probe["features"], "probe.features", kinds="f")
    if rows.ndim != 2 or rows.shape[1] != n_features or not 1 <= rows.shape[0] <= MAX_PROBE_ROWS:
        raise _fail("probe.features", f"shape {rows.shape}: expected (rows, {n_features}) with 1 to "
                                      f"{MAX_PROBE_ROWS} rows, one column per feature.")
    if checker.arrays[probe["features"]].dtype.kind == "f" and (abs(rows) == float("inf")).any():
        raise _fail("probe.features", "holds infinite values; missing values are NaN.")
    predictions = checker.numbers(probe["predictions"], "probe.predictions")
    if predictions.shape != (rows.shape[0],):
        raise _fail("probe.predictions", f"shape {predictions.shape}: expected ({rows.shape[0]},), one per probe row.")
    if probe.get("eras") is not None:
        codes = checker.integers(probe["eras"], "probe.eras", rows.shape[0])
        if ((codes < 0) | (codes >= len(probe["era_labels"]))).any():
            raise _fail("probe.eras", "codes must index probe.era_labels.")


def _list_where(mask: Any, manifest: dict[str, Any]) -> str:
    import numpy as np

    names = [manifest["features"][i] for i in np.flatnonzero(mask)[:_SHOW]]
    return f"feature(s) {', '.join(names)}{' …' if int(mask.sum()) > _SHOW else ''}"


class _ArrayChecker:
    """Looks arrays up by name and checks dtype, shape and finiteness, naming the manifest key on failure."""

    def __init__(self, arrays: dict[str, Any]) -> None:
        self.arrays = arrays

    def get(self, name: str, where: str, *, kinds: str = "fiub") -> Any:
        if name not in self.arrays:
            raise _fail(where, f"refers to array {name!r}, which the bundle does not contain.")
        array = self.arrays[name]
        if array.dtype.kind not in kinds:
            raise _fail(where, f"array {name!r} has dtype {array.dtype}, expected a numeric array.")
        return array

    def numbers(self, name: str, where: str, *, allow_inf: bool = False) -> Any:
        import numpy as np

        array = self.get(name, where, kinds="fiub")
        if array.dtype.kind == "f":
            bad = np.isnan(array) if allow_inf else ~np.isfinite(array)
            if bad.any():
                what = "NaN" if allow_inf else "NaN or infinite"
                raise _fail(where, f"array {name!r} holds {int(bad.sum())} {what} value(s); the model's numbers must be finite.")
        return array

    def vector(self, name: str, where: str, length: int) -> Any:
        array = self.numbers(name, where)
        if array.ndim != 1 or array.shape[0] != length:
            raise _fail(where, f"shape mismatch: array {name!r} has shape {array.shape}, expected ({length},) (one per feature).")
        return array

    def scalar(self, name: str, where: str) -> float:
        array = self.numbers(name, where)
        if array.size != 1:
            raise _fail(where, f"shape mismatch: array {name!r} has shape {array.shape}, expected a single number.")
        return float(array.reshape(-1)[0])

    def integers(self, name: str, where: str, length: int | None = None) -> Any:
        array = self.get(name, where, kinds="iub")
        if array.ndim != 1 or (length is not None and array.shape[0] != length):
            expected = f"({length},)" if length is not None else "1-D"
            raise _fail(where, f"shape mismatch: array {name!r} has shape {array.shape}, expected {expected}.")
        return array.astype("int64")


def _check_layers(checker: _ArrayChecker, layers: list[dict[str, Any]], n_features: int) -> None:
    width = n_features
    for i, layer in enumerate(layers):
        where = f"model.layers[{i}]"
        weight = checker.numbers(layer["weight"], f"{where}.weight")
        bias = checker.numbers(layer["bias"], f"{where}.bias")
        if weight.ndim != 2 or weight.shape[0] != width:
            expected = f"({width}, n_out)"
            source = "the number of features" if i == 0 else f"the output width of layer {i - 1}"
            raise _fail(
                f"{where}.weight",
                f"shape mismatch: {weight.shape} but its input size must equal {source} ({width}); "
                f"expected {expected} (weights are stored input-major, x @ W + b).",
            )
        if bias.ndim != 1 or bias.shape[0] != weight.shape[1]:
            raise _fail(f"{where}.bias", f"shape mismatch: {bias.shape}, expected ({weight.shape[1]},) to match the weight.")
        width = weight.shape[1]
    if width != 1:
        raise _fail(f"model.layers[{len(layers) - 1}]", f"the last layer has {width} outputs; a Numerai model has exactly one.")


def _check_trees(checker: _ArrayChecker, model: dict[str, Any], n_features: int) -> None:
    import numpy as np

    feature = checker.integers(model["feature"], "model.feature")
    n_nodes = feature.shape[0]
    if n_nodes == 0:
        raise _fail("model.feature", "the ensemble has no nodes.")
    left = checker.integers(model["left"], "model.left", n_nodes)
    threshold = checker.numbers(model["threshold"], "model.threshold", allow_inf=True)
    value = checker.numbers(model["value"], "model.value")
    default_left = checker.integers(model["default_left"], "model.default_left", n_nodes)
    missing_type = checker.integers(model["missing_type"], "model.missing_type", n_nodes)
    roots = checker.integers(model["roots"], "model.roots")
    depth = checker.integers(model["depth"], "model.depth", roots.shape[0])
    for name, array in (("model.threshold", threshold), ("model.value", value)):
        if array.shape != (n_nodes,):
            raise _fail(name, f"shape mismatch: {array.shape}, expected ({n_nodes},) (one per node).")
    if roots.shape[0] == 0:
        raise _fail("model.roots", "the ensemble has no trees.")
    index = np.arange(n_nodes)
    leaf = left == index
    internal = ~leaf
    if ((roots < 0) | (roots >= n_nodes)).any():
        raise _fail("model.roots", f"root indices must lie in [0, {n_nodes}).")
    # Children are stored after their parent (right = left + 1): that makes every path finite.
    if (left[internal] <= index[internal]).any() or (left[internal] + 1 >= n_nodes).any():
        raise _fail("model.left", "child indices must point forward to a pair of nodes (right child = left + 1).")
    if ((feature[internal] < 0) | (feature[internal] >= n_features)).any():
        raise _fail("model.feature", f"split feature indices must lie in [0, {n_features}) (the number of features).")
    if np.isinf(threshold[internal]).any() or not np.isinf(threshold[leaf]).all():
        raise _fail("model.threshold", "internal nodes need finite thresholds and leaves +inf.")
    if not np.isin(missing_type, (0, 1, 2)).all():
        raise _fail("model.missing_type", "must be 0 (none), 1 (zero) or 2 (NaN) for every node.")
    if not np.isin(default_left, (0, 1)).all():
        raise _fail("model.default_left", "must be 0 or 1 for every node.")
    if (depth < 0).any() or (depth > 4096).any():
        raise _fail("model.depth", "tree depths must lie in [0, 4096].")
    _check_depths(roots, left, leaf, depth)
    native = model.get("native")
    if native is not None:
        text = checker.get(native["model_string"], "model.native.model_string", kinds="u")
        if text.dtype.itemsize != 1 or text.ndim != 1:
            raise _fail("model.native.model_string", "must be the LightGBM model text as a 1-D uint8 array.")


def _check_depths(roots: Any, left: Any, leaf: Any, depth: Any) -> None:
    """Walk every tree level by level: after `depth[t]` steps every path of tree t must be at a leaf."""
    import numpy as np

    frontier = roots.copy()
    owner = np.arange(roots.shape[0])
    for level in range(int(depth.max()) + 1):
        at_leaf = leaf[frontier]
        too_deep = (~at_leaf) & (depth[owner] <= level)
        if too_deep.any():
            tree = int(owner[np.flatnonzero(too_deep)[0]])
            raise _fail("model.depth", f"tree {tree} is deeper than its recorded depth {int(depth[tree])}.")
        keep = ~at_leaf
        if not keep.any():
            return
        parents, owner = frontier[keep], owner[keep]
        frontier = np.concatenate([left[parents], left[parents] + 1])
        owner = np.concatenate([owner, owner])


# ------------------------------------------------------------------------------ resolving


def resolve_spec(manifest: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    """Replace array names by arrays and fill defaults; the result holds only what predict needs."""
    def arr(name: Any) -> Any:
        return None if name is None else arrays[name]

    model = dict(manifest["model"])
    kind = model["kind"]
    if kind == "linear":
        model = {"kind": kind, "coef": arr(model["coef"]), "intercept": float(arr(model["intercept"]).reshape(-1)[0])}
    elif kind == "mlp":
        model = {"kind": kind, "layers": [
            {"weight": arr(layer["weight"]), "bias": arr(layer["bias"]), **activation_params(layer)}
            for layer in model["layers"]
        ]}
    else:
        resolved = {key: arr(model[key]) for key in
                    ("feature", "threshold", "left", "value", "default_left", "missing_type", "roots", "depth")}
        resolved.update(
            kind=kind,
            objective=model["objective"],
            sigmoid=float(model.get("sigmoid", 1.0)),
            average_output=bool(model.get("average_output", False)),
        )
        model = resolved
    scale = manifest.get("scale")
    if scale is not None:
        scale = {key: (arr(value) if key in ("mean", "std", "min", "max") else value) for key, value in scale.items()}
    return {
        "features": list(manifest["features"]),
        "benchmark_column": manifest.get("benchmark_column"),
        "fill_values": arr(manifest.get("fill_values")),
        "missing_features": manifest.get("missing_features", "error"),
        "scale": scale,
        "model": model,
        "transform": manifest.get("transform", "rank_per_era"),
        "era_column": manifest.get("era_column", "era"),
        "require_era": bool(manifest.get("require_era", False)),
    }


# PyTorch's defaults: LeakyReLU(negative_slope=0.01), ELU(alpha=1.0), Softplus(beta=1.0, threshold=20.0).
_ACTIVATION_DEFAULTS = {"leaky_relu": {"alpha": 0.01}, "elu": {"alpha": 1.0}, "softplus": {"beta": 1.0, "threshold": 20.0}}


def activation_params(layer: dict[str, Any]) -> dict[str, Any]:
    """{"activation": canonical name, plus its parameters with defaults filled in}."""
    name = canonical_activation(layer["activation"])
    params = {key: float(layer.get(key, default)) for key, default in _ACTIVATION_DEFAULTS.get(name, {}).items()}
    return {"activation": name, **params}


def native_model_string(manifest: dict[str, Any], arrays: dict[str, Any]) -> str | None:
    """The LightGBM model text kept for a native build, or None."""
    native = manifest["model"].get("native")
    if native is None:
        return None
    return bytes(arrays[native["model_string"]]).decode("utf-8")
