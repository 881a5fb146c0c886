"""The bundle file: round trip, and every kind of bad bundle rejected with a message that names the problem."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from numerai_mcp.bundle import BundleError, export, load_bundle
from numerai_mcp.bundle.fileformat import FORMAT_VERSION, read_manifest
from tests.bundle.helpers import FEATURES, N_FEATURES, read_raw_bundle, write_raw_bundle

RNG = np.random.default_rng(3)
MLP = {
    "layers": [
        {"weight": RNG.normal(size=(N_FEATURES, 6)), "bias": RNG.normal(size=6), "activation": "relu"},
        {"weight": RNG.normal(size=(6, 1)), "bias": RNG.normal(size=1), "activation": "identity"},
    ],
    "scale": {"mean": np.full(N_FEATURES, 2.0), "std": np.full(N_FEATURES, 1.4)},
}


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return export(MLP, FEATURES, tmp_path / "good.npz", fill_values=2.0)


def mutated(good: Path, tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    manifest, arrays = read_raw_bundle(good)
    change(manifest, arrays)
    return write_raw_bundle(tmp_path / "bad.npz", manifest, arrays)


def test_round_trip_keeps_every_number(good: Path) -> None:
    bundle = load_bundle(good)
    assert bundle.features == FEATURES and bundle.kind == "mlp" and bundle.transform == "rank_per_era"
    assert bundle.manifest["format_version"] == FORMAT_VERSION
    np.testing.assert_array_equal(bundle.arrays["model.layers.0.weight"], MLP["layers"][0]["weight"])
    np.testing.assert_array_equal(bundle.arrays["fill_values"], np.full(N_FEATURES, 2.0))
    assert bundle.manifest["source"]["exporter"].startswith("numpy dict")


def test_bundle_is_a_plain_npz_any_numpy_can_open(good: Path) -> None:
    with np.load(good, allow_pickle=False) as archive:
        assert "arrays/model.layers.1.bias.npy" in archive.files or "arrays/model.layers.1.bias" in archive.files
    assert read_manifest(good)["features"] == FEATURES  # the manifest alone, no numpy needed


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(lambda m, a: a.__setitem__("model.layers.0.weight", a["model.layers.0.weight"][:-1]),
                     r"model.layers\[0\].weight: shape mismatch: \(23, 6\).*number of features \(24\)", id="shape-first-layer"),
        pytest.param(lambda m, a: a.__setitem__("model.layers.1.weight", np.ones((5, 1))),
                     r"model.layers\[1\].weight: shape mismatch.*output width of layer 0 \(6\)", id="shape-chain"),
        pytest.param(lambda m, a: a.__setitem__("model.layers.1.bias", np.ones(2)),
                     r"model.layers\[1\].bias: shape mismatch", id="shape-bias"),
        pytest.param(lambda m, a: a.__setitem__("scale.std", np.ones(3)),
                     r"scale.std: shape mismatch.*expected \(24,\)", id="shape-scale"),
        pytest.param(lambda m, a: a["model.layers.0.weight"].__setitem__((3, 2), np.nan),
                     r"model.layers\[0\].weight: array 'model.layers.0.weight' holds 1 NaN or infinite value", id="nan-weight"),
        pytest.param(lambda m, a: a["model.layers.1.bias"].__setitem__(0, np.inf),
                     r"model.layers\[1\].bias: .*1 NaN or infinite", id="inf-bias"),
        pytest.param(lambda m, a: a["fill_values"].__setitem__(4, np.nan),
                     r"fill_values: .*NaN", id="nan-fill"),
        pytest.param(lambda m, a: a["scale.std"].__setitem__(1, 0.0),
                     r"scale.std: must be > 0 for every feature; feature\(s\) feature_beta", id="zero-std"),
        pytest.param(lambda m, a: m["features"].__setitem__(5, m["features"][2]),
                     r"features: duplicate feature names \['feature_gamma'\]", id="duplicate-features"),
        pytest.param(lambda m, a: m["model"]["layers"][0].__setitem__("activation", "swishy"),
                     r"model.layers\[0\].activation: unknown activation 'swishy'; supported: identity, relu", id="unknown-activation"),
        pytest.param(lambda m, a: m.__setitem__("transform", "rank"),
                     r"transform: unknown value 'rank'; use one of rank_per_era, clip, sigmoid, none", id="unknown-transform"),
        pytest.param(lambda m, a: m.__setitem__("format_version", FORMAT_VERSION + 1),
                     r"newer than this reader understands.*upgrade numerai-mcp", id="newer-format"),
        pytest.param(lambda m, a: m.__setitem__("fill_value", 1),
                     r"unknown key\(s\) 'fill_value'", id="typo-key"),
        pytest.param(lambda m, a: a.pop("model.layers.1.bias"),
                     r"refers to array 'model.layers.1.bias', which the bundle does not contain", id="missing-array"),
        pytest.param(lambda m, a: m.__setitem__("benchmark_column", "v52_lgbm_ender20"),
                     r"benchmark_column: 'v52_lgbm_ender20' is not in features", id="benchmark-not-feature"),
        pytest.param(lambda m, a: (m.__setitem__("missing_features", "fill"), m.__setitem__("fill_values", None)),
                     r"missing_features: 'fill' needs fill_values", id="fill-without-values"),
        pytest.param(lambda m, a: m["features"].append("era"),
                     r"era_column: 'era' is also listed as a feature; eras are labels", id="era-as-feature"),
        pytest.param(lambda m, a: a.__setitem__("model.layers.1.weight", np.ones((6, 2))) or a.__setitem__("model.layers.1.bias", np.ones(2)),
                     r"the last layer has 2 outputs; a Numerai model has exactly one", id="two-outputs"),
        pytest.param(lambda m, a: a.__setitem__("model.layers.0.bias", np.array(["a"] * 6)),
                     r"dtype <U1, expected a numeric array", id="string-array"),
        pytest.param(lambda m, a: m.__setitem__("format", "something-else"),
                     r"not written by numerai_mcp.bundle.export", id="wrong-format"),
    ],
)
def test_bad_bundles_fail_with_a_message_that_names_the_problem(good: Path, tmp_path: Path, change, expected) -> None:  # type: ignore[no-untyped-def]
    bad = mutated(good, tmp_path, change)
    with pytest.raises(BundleError, match=expected):
        load_bundle(bad)


def test_object_arrays_are_never_unpickled(good: Path, tmp_path: Path) -> None:
    bad = mutated(good, tmp_path, lambda m, a: a.__setitem__("model.layers.0.bias", np.array([object()] * 6, dtype=object)))
    with pytest.raises(BundleError, match="cannot be loaded without pickle"):
        load_bundle(bad)


def trees_manifest(good: Path) -> tuple[dict, dict]:
    """A one-tree ensemble: root splits feature 2 at 1.5 into two leaves."""
    manifest, arrays = read_raw_bundle(good)
    manifest["model"] = {"kind": "trees", **{k: f"t.{k}" for k in
                         ("feature", "threshold", "left", "value", "default_left", "missing_type", "roots", "depth")},
                         "objective": "identity"}
    arrays.update({"t.feature": np.array([2, 0, 0]), "t.threshold": np.array([1.5, np.inf, np.inf]),
              "t.left": np.array([1, 1, 2]), "t.value": np.array([0.0, -1.0, 1.0]),
              "t.default_left": np.array([1, 1, 1], dtype=np.uint8), "t.missing_type": np.zeros(3, dtype=np.int8),
              "t.roots": np.array([0]), "t.depth": np.array([1])})
    return manifest, arrays


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda a: a.__setitem__("t.left", np.array([0, 1, 2])), r"internal nodes need finite thresholds and leaves \+inf"),
        (lambda a: a.__setitem__("t.left", np.array([2, 1, 2])), r"child indices must point forward to a pair of nodes"),
        (lambda a: a.__setitem__("t.feature", np.array([99, 0, 0])), r"split feature indices must lie in \[0, 24\)"),
        (lambda a: a.__setitem__("t.depth", np.array([0])), r"tree 0 is deeper than its recorded depth 0"),
        (lambda a: a.__setitem__("t.roots", np.array([7])), r"root indices must lie in \[0, 3\)"),
        (lambda a: a["t.value"].__setitem__(1, np.nan), r"model.value: .*NaN or infinite"),
        (lambda a: a.__setitem__("t.missing_type", np.array([5, 0, 0], dtype=np.int8)), r"must be 0 \(none\), 1 \(zero\) or 2"),
    ],
)
def test_malformed_tree_ensembles_are_rejected(good: Path, tmp_path: Path, change, expected) -> None:  # type: ignore[no-untyped-def]
    manifest, arrays = trees_manifest(good)
    load_bundle(write_raw_bundle(tmp_path / "ok.npz", manifest, arrays))  # the unmodified one is fine
    change(arrays)
    with pytest.raises(BundleError, match=expected):
        load_bundle(write_raw_bundle(tmp_path / "bad.npz", manifest, arrays))


def test_files_that_are_not_bundles(tmp_path: Path, good: Path) -> None:
    with pytest.raises(BundleError, match="bundle not found"):
        load_bundle(tmp_path / "nope.npz")
    with pytest.raises(BundleError, match="is a directory"):
        load_bundle(tmp_path)
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(b"\x80\x05N.")
    with pytest.raises(BundleError, match="not an inference bundle.*looks like a pickle: pass the bundle"):
        load_bundle(pickled)
    plain_zip = tmp_path / "plain.npz"
    np.savez(plain_zip, w=np.ones(3))
    with pytest.raises(BundleError, match="has no manifest.json"):
        load_bundle(plain_zip)
    with zipfile.ZipFile(tmp_path / "badjson.npz", "w") as archive:
        archive.writestr("manifest.json", "{not json")
    with pytest.raises(BundleError, match="manifest.json is not valid JSON"):
        load_bundle(tmp_path / "badjson.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(BundleError):
        load_bundle(truncated)


def test_export_refuses_bad_models_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never.npz"
    bad = {"layers": [{"weight": np.full((N_FEATURES, 1), np.nan), "bias": np.zeros(1), "activation": "relu"}]}
    with pytest.raises(BundleError, match="NaN or infinite"):
        export(bad, FEATURES, out)
    with pytest.raises(BundleError, match="unknown activation 'softmaxx'"):
        export({"weights": [np.ones((N_FEATURES, 1))], "biases": [np.zeros(1)], "activations": ["softmaxx"]}, FEATURES, out)
    with pytest.raises(BundleError, match=r"duplicate feature names \['feature_alpha'\]"):
        export({"coef": np.ones(N_FEATURES), "intercept": 0.0}, ["feature_alpha"] + FEATURES[:-1], out)
    assert list(tmp_path.iterdir()) == []  # no file, no temp file left behind


def test_manifest_is_human_readable_json(good: Path) -> None:
    with zipfile.ZipFile(good) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["model"]["layers"][0] == {"activation": "relu", "bias": "model.layers.0.bias",
                                              "weight": "model.layers.0.weight"}
    assert manifest["scale"] == {"mean": "scale.mean", "std": "scale.std"}
