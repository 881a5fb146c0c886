"""Reproduction probes: export stores rows with the training environment's predictions; build_pickle replays them
on the built pickle in the target runtime's sandbox. Correct bundles reproduce (MLP, LightGBM trees, linear);
deliberately broken ones (features permuted, scaler removed, imputation changed) fail with the right cause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numerai_mcp.bundle import BundleError, export, load_bundle
from numerai_mcp.bundle.build import build_pickle
from numerai_mcp.bundle.fileformat import read_manifest
from tests.bundle.helpers import FEATURES, numerai_frame, target

pytestmark = pytest.mark.slow
CHECK = "reproduces the training model"


def validation_rows(seed: int, rows: int = 600, nan_share: float = 0.0):  # type: ignore[no-untyped-def]
    """Rows like a slice of validation data: `era`, then the features in the training order."""
    frame = numerai_frame(np.random.default_rng(seed), rows, eras=("0575", "0576", "0577"), nan_share=nan_share)
    return frame[["era", *FEATURES]]


def reproduction(bundle: Path, tmp_path: Path, cache: Path):  # type: ignore[no-untyped-def]
    result = build_pickle(bundle, tmp_path / f"{bundle.stem}.pkl", python_version="3.12", cache_dir=cache)
    assert result.verdict is not None
    found = result.verdict.check(CHECK)
    assert found is not None, [c.name for c in result.verdict.checks]
    return result, found


def test_the_probe_is_plain_arrays_in_the_bundle(cases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = cases["sklearn_mlp"].model
    auto = load_bundle(export(model, FEATURES, tmp_path / "auto.npz")).probe()
    assert auto is not None and auto["source"] == "sampled" and auto["features"].shape == (1000, len(FEATURES))
    assert sorted(set(auto["eras"])) == ["0001", "0002", "0003", "0004"]
    np.testing.assert_allclose(auto["predictions"], model.predict(_frame(auto["features"])), rtol=0, atol=1e-12)

    rows = validation_rows(1, rows=1500)
    given = load_bundle(export(model, FEATURES, tmp_path / "rows.npz", probe=rows)).probe()
    assert given["source"] == "caller rows" and given["features"].shape == (1000, len(FEATURES))
    assert set(given["eras"]) == {"0575", "0576", "0577"} and given["row_columns"] is None
    manifest = read_manifest(tmp_path / "rows.npz")  # the standard library alone reads it: no pickle inside
    assert manifest["probe"]["features"] == "probe.features" and manifest["probe"]["source"] == "caller rows"

    assert load_bundle(export(model, FEATURES, tmp_path / "none.npz", probe=None)).probe() is None
    with pytest.raises(BundleError, match="600 rows but 3 predictions"):
        export(model, FEATURES, tmp_path / "x.npz", probe=(validation_rows(2), [0.1, 0.2, 0.3]))
    with pytest.raises(BundleError, match="lack 1 of the model's features"):
        export(model, FEATURES, tmp_path / "x.npz", probe=validation_rows(2).drop(columns=[FEATURES[3]]))
    assert not (tmp_path / "x.npz").exists()


def _frame(values):  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame(values, columns=FEATURES)


@pytest.mark.parametrize("name", ["sklearn_mlp", "lightgbm", "sklearn_elasticnet"])
def test_a_correct_bundle_reproduces(name: str, cases, tmp_path: Path, test_cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    rows = validation_rows(3, nan_share=0.05 if name == "lightgbm" else 0.0)
    bundle = export(cases[name].model, FEATURES, tmp_path / f"{name}.npz", probe=rows)
    result, found = reproduction(bundle, tmp_path, test_cache_dir)
    assert found.status == "pass", found.message
    assert "600 probe rows (caller rows)" in found.message and "per-era order" in found.message
    assert result.verdict.passed and "it reproduces the training predictions" in result.summary


def test_a_correct_bundle_reproduces_raw_values_with_its_sampled_probe(cases, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                      test_cache_dir: Path) -> None:
    bundle = export(cases["sklearn_ridge_pipeline"].model, FEATURES, tmp_path / "ridge.npz", transform="none")
    _, found = reproduction(bundle, tmp_path, test_cache_dir)
    assert found.status == "pass" and "1000 probe rows (sampled)" in found.message and "relative 1e-06" in found.message


def test_features_in_another_order_fail_naming_the_column_order(tmp_path: Path, test_cache_dir: Path) -> None:
    from sklearn.linear_model import Ridge

    train = validation_rows(4, rows=2000)
    model = Ridge(alpha=1.0).fit(train[FEATURES].to_numpy(), target(train, np.random.default_rng(4)))
    rows = validation_rows(5)
    # trained on the columns in FEATURES order, exported with them sorted: nothing in the model knows names
    bundle = export(model, sorted(FEATURES), tmp_path / "permuted.npz",
                    probe=(rows, model.predict(rows[FEATURES].to_numpy())))
    result, found = reproduction(bundle, tmp_path, test_cache_dir)
    assert found.status == "fail" and "Likely cause: column order" in found.message
    assert "Largest rank differences: p" in found.message and "column order of the probe rows" in found.fix
    assert not result.verdict.passed and "VALIDATION FAILED, do not upload" in result.summary


def test_a_scaler_left_out_fails_naming_the_missing_preprocessing(cases, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                  test_cache_dir: Path) -> None:
    pipeline = cases["sklearn_mlp"].model
    rows = validation_rows(6)
    # the last step alone, but the training predictions come from the whole pipeline
    bundle = export(pipeline[-1], FEATURES, tmp_path / "noscaler.npz", probe=(rows, pipeline.predict(rows[FEATURES])))
    _, found = reproduction(bundle, tmp_path, test_cache_dir)
    assert found.status == "fail" and "Likely cause: missing preprocessing" in found.message
    assert "StandardScaler" in found.fix and "whole Pipeline" in found.fix


def test_other_fill_values_fail_naming_the_missing_values(cases, tmp_path: Path, test_cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    pipeline = cases["sklearn_ridge_pipeline"].model  # SimpleImputer(median) -> StandardScaler -> Ridge
    rows = validation_rows(7, nan_share=0.01)
    # the imputer replaced by fill values of 0: rows without missing values still match exactly
    from sklearn.pipeline import Pipeline

    bundle = export(Pipeline(pipeline.steps[1:]), FEATURES, tmp_path / "fill.npz", fill_values=0.0,
                    probe=(rows, pipeline.predict(rows[FEATURES])))
    _, found = reproduction(bundle, tmp_path, test_cache_dir)
    assert found.status == "fail" and "Likely cause: missing values" in found.message, found.message
    assert "only rows with missing features differ" in found.fix and "SimpleImputer" in found.fix
