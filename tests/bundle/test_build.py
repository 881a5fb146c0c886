"""build_pickle end to end, with real pinned runtimes (provisioned once into the session cache):
every exporter's bundle becomes a pickle written by Python 3.12 + Numerai's pins, which a clean
runtime without numerai_mcp loads with pandas.read_pickle and runs; its outputs match the original
model's. Each pickle's static scan shows nothing but the target's pins. Pickles built for 3.12 and
3.11 pass validate_pickle in their own runtimes; bad bundles fail before anything is written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from numerai_mcp.bundle import BundleError, export
from numerai_mcp.bundle.build import BuildResult, _build_env, build_pickle, resolve_target
from tests.bundle.helpers import (
    FEATURES,
    numerai_frame,
    per_era_ranks,
    read_raw_bundle,
    run_pickles_in_runtime,
    write_raw_bundle,
)
from tests.bundle.test_exporters import CASE_NAMES

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def assert_clean_scan(result: BuildResult, cache: Path, *, native: bool = False) -> None:
    """No numerai_mcp anywhere, nothing outside the target's pins, built by the target's Python."""
    from numerai_mcp.harness.catalogue import distribution_for_module, is_stdlib, load_catalogue
    from numerai_mcp.harness.scan import check_against_runtime, scan_pickle

    data = Path(result.path).read_bytes()
    assert b"numerai_mcp" not in data
    report = scan_pickle(Path(result.path))
    assert report.readable and report.protocol == 5 and not report.dangerous and not report.errors
    assert report.python_versions == [result.python_version]
    assert report.function_arg_count == 2
    target = load_catalogue(cache).get(result.python_version)
    assert check_against_runtime(report, target) == []
    outside = [m for m in report.modules if not is_stdlib(m, target.python)
               and target.pin(distribution_for_module(m) or m.split(".")[0]) is None]
    assert outside == [], f"modules outside the pins: {outside}"
    tops = {m.split(".")[0] for m in report.modules}
    assert tops <= {"cloudpickle", "numpy", "pandas", "math", "builtins", "copyreg", "lightgbm", "collections"}, tops
    assert ("lightgbm" in tops) == native


@pytest.mark.parametrize("name", CASE_NAMES)
def test_built_pickle_matches_the_model_in_a_clean_runtime(name: str, cases, runtime312, test_cache_dir: Path,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path) -> None:
    case = cases[name]
    live = numerai_frame(np.random.default_rng(21), 900, nan_share=case.live_nan_share)
    built = {}
    for transform in ("none", "rank_per_era"):
        bundle = export(case.model, FEATURES, tmp_path / f"{transform}.npz", transform=transform, **case.export_options)
        built[transform] = build_pickle(bundle, tmp_path / f"{transform}.pkl", python_version="3.12", validate=False,
                                        cache_dir=test_cache_dir)
    raw = built["none"]
    assert raw.python_version == "3.12" and raw.python_version_source == "requested" and raw.verdict is None
    assert raw.engine == ("lightgbm" if case.export_options.get("native_lightgbm") else "numpy")
    assert raw.features == len(FEATURES) and raw.libraries["numpy"] == "2.1.3" and raw.libraries["pandas"] == "2.3.1"
    out = run_pickles_in_runtime(runtime312, {k: Path(v.path) for k, v in built.items()}, live, tmp_path / "run")
    assert out["numerai_mcp_importable"] is False and out["python"] == "3.12"
    expected = case.reference(live)
    np.testing.assert_allclose(out["none"], expected, rtol=0, atol=case.tolerance)
    np.testing.assert_array_equal(out["rank_per_era"], per_era_ranks(expected, live["era"]))
    for result in built.values():
        assert_clean_scan(result, test_cache_dir, native=result.engine == "lightgbm")


def test_builds_are_reproducible(test_cache_dir: Path, tmp_path: Path) -> None:
    """The same bundle gives the same bytes, so a verdict remembered by sha256 applies to a rebuild."""
    bundle = export({"coef": np.arange(len(FEATURES), dtype=float), "intercept": 1.0}, FEATURES, tmp_path / "b.npz")
    first, second = (build_pickle(bundle, tmp_path / f"{i}.pkl", python_version="3.12", validate=False,
                                  cache_dir=test_cache_dir) for i in (1, 2))
    assert first.sha256 == second.sha256 and (tmp_path / "1.pkl").read_bytes() == (tmp_path / "2.pkl").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.pkl", "2.pkl", "b.npz"]  # no temp files left


def test_pickles_built_for_312_and_311_pass_validation_in_their_own_runtime(cases, runtime312, runtime311,  # type: ignore[no-untyped-def]
                                                                            test_cache_dir: Path, tmp_path: Path) -> None:
    ridge = export(cases["sklearn_ridge_pipeline"].model, FEATURES, tmp_path / "ridge.npz")
    trees = export(cases["lightgbm"].model, FEATURES, tmp_path / "trees.npz")
    for bundle, python in ((ridge, "3.12"), (trees, "3.11")):
        result = build_pickle(bundle, tmp_path / f"model-{python}.pkl", python_version=python, cache_dir=test_cache_dir)
        assert result.python_version == python and result.runtime.startswith(f"numerai_predict_py_{python.replace('.', '_')}:")
        assert result.verdict is not None and result.verdict.passed, result.verdict.model_dump_json(indent=1)
        assert result.verdict.python_version_used == python and result.verdict.python_version_detected == python
        assert result.verdict.sha256 == result.sha256 and result.verdict.rows == 5800
        assert result.summary.startswith(f"Built model-{python}.pkl") and "validation passed" in result.summary
        assert set(result.timings) == {"provision", "build", "validate", "total"}
        assert_clean_scan(result, test_cache_dir)
    live = numerai_frame(np.random.default_rng(2), 300, nan_share=0.05)
    out = run_pickles_in_runtime(runtime311, {"trees": tmp_path / "model-3.11.pkl"}, live, tmp_path / "run311")
    assert out["python"] == "3.11" and out["numpy"] == "2.1.3" and out["pandas"] == "2.3.1"
    np.testing.assert_array_equal(out["trees"], per_era_ranks(cases["lightgbm"].reference(live), live["era"]))


def test_benchmark_feature_bundle_validates_with_the_benchmark_frame(test_cache_dir: Path, tmp_path: Path) -> None:
    """A benchmark column the harness does not synthesise: build_pickle writes matching live files."""
    features = FEATURES[:10] + ["v5_custom_bench"]
    model = {"coef": np.linspace(-1, 1, len(features)), "intercept": 0.0}
    bundle = export(model, features, tmp_path / "b.npz", benchmark_column="v5_custom_bench")
    result = build_pickle(bundle, tmp_path / "b.pkl", python_version="3.12", cache_dir=test_cache_dir)
    assert result.benchmark_column == "v5_custom_bench"
    assert result.verdict is not None and result.verdict.passed, result.verdict.summary
    assert result.verdict.live_data_source.startswith("user file")


def test_native_lightgbm_kept_when_the_target_loads_it(cases, runtime310, test_cache_dir: Path,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    """Model text from the dev venv's LightGBM 4.7 loads (as a string) in 4.5 (py3.12) and 4.0 (py3.10)."""
    case = cases["lightgbm_native"]
    bundle = export(case.model, FEATURES, tmp_path / "native.npz", native_lightgbm=True)
    native = build_pickle(bundle, tmp_path / "native312.pkl", python_version="3.12", cache_dir=test_cache_dir)
    assert native.engine == "lightgbm" and native.libraries["lightgbm"] == "4.5.0"
    assert any("native LightGBM 4.5.0 loads the model written by LightGBM 4.7" in note for note in native.notes)
    assert native.verdict is not None and native.verdict.passed, native.verdict.summary
    old = build_pickle(bundle, tmp_path / "native310.pkl", python_version="3.10", validate=False, cache_dir=test_cache_dir)
    assert old.engine == "lightgbm" and old.libraries == {"numpy": "1.26.4", "pandas": "2.2.1", "cloudpickle": "2.2.1",
                                                          "lightgbm": "4.0.0"}
    assert_clean_scan(old, test_cache_dir, native=True)
    ridge = cases["sklearn_ridge_pipeline"]  # and the dense path on the oldest pins (numpy 1.26, pandas 2.2)
    dense = build_pickle(export(ridge.model, FEATURES, tmp_path / "ridge.npz", transform="none"), tmp_path / "ridge310.pkl",
                         python_version="3.10", validate=False, cache_dir=test_cache_dir)
    assert_clean_scan(dense, test_cache_dir)
    live = numerai_frame(np.random.default_rng(4), 400, nan_share=0.05)
    out = run_pickles_in_runtime(runtime310, {"trees": Path(old.path), "ridge": Path(dense.path)}, live, tmp_path / "run310")
    assert out["python"] == "3.10" and out["numpy"] == "1.26.4" and out["numerai_mcp_importable"] is False
    np.testing.assert_array_equal(out["trees"], per_era_ranks(case.reference(live), live["era"]))
    np.testing.assert_allclose(out["ridge"], ridge.reference(live), rtol=0, atol=1e-9)


def shift_first_leaf(model_text: str) -> str:
    """The same model text with one digit of the first leaf value changed. Same length, because the
    header's tree_sizes must still match, so the text stays valid and only the value differs."""
    start = model_text.index("leaf_value=") + len("leaf_value=")
    digit = next(i for i in range(start, start + 30) if model_text[i].isdigit())
    return model_text[:digit] + str((int(model_text[digit]) + 5) % 10) + model_text[digit + 1:]


@pytest.mark.parametrize(
    ("tamper", "note"),
    [
        pytest.param(lambda text: shift_first_leaf(text), "here disagrees with the exported trees by", id="disagrees"),
        pytest.param(lambda text: text[: len(text) // 2], "here cannot load the model written by LightGBM 4.7.0 (loading "
                     "it crashed (signal", id="crashes"),
    ],
)
def test_native_lightgbm_falls_back_to_numpy_trees(cases, runtime312, test_cache_dir: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   tamper, note: str) -> None:
    """A model text the target's LightGBM mis-reads, or crashes on (a truncated one segfaults 4.5),
    costs the native option, never the build."""
    case = cases["lightgbm_native"]
    manifest, arrays = read_raw_bundle(export(case.model, FEATURES, tmp_path / "native.npz", native_lightgbm=True))
    text = tamper(bytes(arrays["model.native"]).decode())
    arrays["model.native"] = np.frombuffer(text.encode(), dtype=np.uint8)
    bundle = write_raw_bundle(tmp_path / "tampered.npz", manifest, arrays)
    result = build_pickle(bundle, tmp_path / "m.pkl", python_version="3.12", validate=False, cache_dir=test_cache_dir)
    assert result.engine == "numpy" and any(note in n for n in result.notes), result.notes
    assert_clean_scan(result, test_cache_dir)
    live = numerai_frame(np.random.default_rng(8), 300, nan_share=0.05)
    out = run_pickles_in_runtime(runtime312, {"trees": Path(result.path)}, live, tmp_path / "run")
    np.testing.assert_array_equal(out["trees"], per_era_ranks(case.reference(live), live["era"]))


def test_bad_bundles_fail_before_anything_is_written(test_cache_dir: Path, tmp_path: Path) -> None:
    good = export({"coef": np.ones(len(FEATURES)), "intercept": 0.0}, FEATURES, tmp_path / "good.npz")
    manifest, arrays = read_raw_bundle(good)
    arrays["model.coef"][5] = np.nan
    nan_weights = write_raw_bundle(tmp_path / "nan.npz", manifest, arrays)
    out = tmp_path / "out.pkl"
    # array problems are found by the reader inside the target runtime and come back as BundleError
    with pytest.raises(BundleError, match=r"model.coef: array 'model.coef' holds 1 NaN or infinite value"):
        build_pickle(nan_weights, out, python_version="3.12", cache_dir=test_cache_dir)
    manifest, arrays = read_raw_bundle(good)
    manifest["model"]["kind"] = "forest"
    with pytest.raises(BundleError, match="model.kind: unknown value 'forest'; use one of linear, mlp, trees"):
        build_pickle(write_raw_bundle(tmp_path / "kind.npz", manifest, arrays), out, cache_dir=test_cache_dir)
    with pytest.raises(BundleError, match="bundle not found"):
        build_pickle(tmp_path / "missing.npz", out, cache_dir=test_cache_dir)
    with pytest.raises(ValueError, match=r"output path must end in .pkl"):
        build_pickle(good, tmp_path / "out.pickle", cache_dir=test_cache_dir)
    with pytest.raises(ValueError, match="does not exist"):
        build_pickle(good, tmp_path / "no" / "out.pkl", cache_dir=test_cache_dir)
    with pytest.raises(ValueError, match="no numerai_predict runtime for Python 3.9"):
        build_pickle(good, out, python_version="3.9", cache_dir=test_cache_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.npz", "kind.npz", "nan.npz"]


def test_paths_outside_the_allowed_roots_are_refused(tmp_path: Path) -> None:
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir(), outside.mkdir()
    bundle = export({"coef": np.ones(len(FEATURES)), "intercept": 0.0}, FEATURES, outside / "b.npz")
    roots, cache = (inside.resolve(),), tmp_path / "unused-cache"
    with pytest.raises(ValueError, match="the bundle path .* lies outside the allowed roots"):
        build_pickle(bundle, inside / "m.pkl", allowed_roots=roots, cache_dir=cache)
    with pytest.raises(ValueError, match="the output path .* lies outside the allowed roots"):
        build_pickle(bundle.rename(inside / "b.npz"), outside / "m.pkl", allowed_roots=roots, cache_dir=cache)
    assert not (tmp_path / "unused-cache").exists()  # refused before anything was provisioned


def test_native_build_needs_lightgbm_only_when_the_image_pins_it(test_cache_dir: Path) -> None:
    from dataclasses import replace

    from numerai_mcp.bundle.build import packages_for
    from numerai_mcp.harness.catalogue import load_catalogue

    target = load_catalogue(test_cache_dir).get("3.12")
    native = {"model": {"kind": "trees", "native": {"model_string": "m", "lightgbm_version": "4.7.0"}}}
    assert packages_for(native, target) == ["lightgbm"]
    assert packages_for({"model": {"kind": "trees"}}, target) == []
    without = replace(target, pins={k: v for k, v in target.pins.items() if k != "lightgbm"})
    assert packages_for(native, without) == []


def test_auto_version_is_numerai_live_default_or_the_catalogue_default(emulator, test_cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from numerai_mcp.api.credentials import Credentials
    from numerai_mcp.config import Settings

    from numerai_mcp.facts import gather_facts_blocking

    live_settings = Settings(api_url=emulator.url, credentials=Credentials.parse(emulator.auth), cache_dir=test_cache_dir)
    live = gather_facts_blocking(live_settings, images=True, live=False)
    target, source = resolve_target("auto", test_cache_dir, live)
    assert target.python == "3.12" and "live API" in source
    target, source = resolve_target("auto", test_cache_dir)
    assert target.python == "3.12" and source == "default from catalogue"
    target, source = resolve_target("py3.11", test_cache_dir, live)
    assert target.python == "3.11" and source == "requested"


def test_build_process_gets_no_secrets(monkeypatch: pytest.MonkeyPatch, runtime312) -> None:  # type: ignore[no-untyped-def]
    secret = "ABCDEFGHIJKLMNOP$SECRETSECRETSECRET"
    monkeypatch.setenv("NUMERAI_MCP_AUTH", secret)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 20)
    env = _build_env(runtime312, Path("/tmp/work"))
    assert not any(k.startswith("NUMERAI") or "SECRET" in k for k in env) and secret not in json.dumps(env)


def test_cli_builds_and_reports_json(test_cache_dir: Path, tmp_path: Path) -> None:
    from tests.support.processes import isolated_env

    bundle = export({"coef": np.ones(len(FEATURES)), "intercept": 0.0}, FEATURES, tmp_path / "b.npz")
    env = isolated_env(tmp_path, NUMERAI_MCP_CACHE_DIR=str(test_cache_dir))
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "build", str(bundle), "-o", str(tmp_path / "m.pkl"),
                           "--python", "3.12", "--json"], env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["path"] == str(tmp_path / "m.pkl") and result["verdict"]["passed"] is True
    assert result["python_version"] == "3.12" and len(result["sha256"]) == 64
    assert (tmp_path / "m.pkl").stat().st_size == result["size"]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "build", str(bad), "-o", str(tmp_path / "x.pkl")],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "bad bundle" in done.stderr and "not an inference bundle" in done.stderr
    assert not (tmp_path / "x.pkl").exists()
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "build", str(bundle)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "-o/--output" in done.stderr
