"""Every exporter, in process: the bundle's template reproduces the original model's own predictions.

(The same bundles are built into pickles and run in clean pinned runtimes in test_build.py; these
fast checks pin down the exporters' arithmetic on their own.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from numerai_mcp.bundle import BundleError, export, load_bundle, predict_function
from tests.bundle.helpers import FEATURES, N_FEATURES, numerai_frame, per_era_ranks

CASE_NAMES = ["numpy_linear", "numpy_mlp", "sklearn_ridge_pipeline", "sklearn_lasso_minmax", "sklearn_elasticnet",
              "sklearn_linear_regression", "sklearn_mlp", "torch_sequential", "lightgbm", "lightgbm_native"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bundle_reproduces_the_model(name: str, cases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = cases[name]
    live = numerai_frame(np.random.default_rng(11), 700, nan_share=case.live_nan_share)
    expected = case.reference(live)
    raw = predict_function(load_bundle(export(case.model, FEATURES, tmp_path / "raw.npz", transform="none",
                                              **case.export_options)))(live)
    assert raw.index.equals(live.index) and list(raw.columns) == ["prediction"]
    np.testing.assert_allclose(raw["prediction"].to_numpy(), expected, rtol=0, atol=case.tolerance)
    ranked = predict_function(load_bundle(export(case.model, FEATURES, tmp_path / "ranked.npz", **case.export_options)))(live)
    np.testing.assert_array_equal(ranked["prediction"].to_numpy(), per_era_ranks(expected, live["era"]))


def test_float64_paths_are_exact_not_merely_close(cases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """LightGBM's sum is reproduced tree by tree, so the outputs are bit-identical."""
    live = numerai_frame(np.random.default_rng(5), 400, nan_share=0.1)
    for name in ("lightgbm", "sklearn_ridge_pipeline"):
        case = cases[name]
        out = predict_function(load_bundle(export(case.model, FEATURES, tmp_path / f"{name}.npz", transform="none")))(live)
        assert np.array_equal(out["prediction"].to_numpy(), case.reference(live)), name


def test_features_default_to_the_names_the_model_was_fitted_with(cases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = load_bundle(export(cases["sklearn_ridge_pipeline"].model, None, tmp_path / "b.npz"))
    assert bundle.features == FEATURES
    assert bundle.manifest["fill_values"] == "fill_values"  # the pipeline's imputer medians
    assert bundle.manifest["scale"] == {"mean": "scale.mean", "std": "scale.std"}
    assert "Pipeline(SimpleImputer, StandardScaler, Ridge)" in bundle.manifest["source"]["exporter"]


def test_feature_order_must_match_training(cases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    swapped = [FEATURES[1], FEATURES[0], *FEATURES[2:]]
    with pytest.raises(BundleError, match="position 0 is 'feature_beta' but the model has 'feature_alpha'"):
        export(cases["lightgbm"].model, swapped, tmp_path / "b.npz")
    with pytest.raises(BundleError, match="features lists 3 names but the model .* takes 24 inputs"):
        export(cases["torch_sequential"].model, FEATURES[:3], tmp_path / "b.npz")
    with pytest.raises(BundleError, match="fitted without column names: pass the 24 feature names"):
        export(cases["sklearn_lasso_minmax"].model, None, tmp_path / "b.npz")


def test_unsupported_models_name_what_is_supported(tmp_path: Path) -> None:
    import lightgbm as lgb
    import torch
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    x, y = np.random.default_rng(0).random((50, 3)), np.random.default_rng(1).random(50)
    out = tmp_path / "b.npz"
    with pytest.raises(BundleError, match="RandomForestRegressor is not supported; supported: LinearRegression, Ridge"):
        export(RandomForestRegressor(n_estimators=2).fit(x, y), None, out)
    with pytest.raises(BundleError, match="Pipeline step PolynomialFeatures is not supported"):
        export(make_pipeline(PolynomialFeatures(), Ridge()).fit(x, y), None, out)
    with pytest.raises(BundleError, match="LGBMClassifier is not supported"):
        export(lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(x, y > 0.5), None, out)
    with pytest.raises(BundleError, match="PyTorch layer BatchNorm1d is not supported; supported: Linear, ReLU"):
        export(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2), torch.nn.Linear(2, 1)), None, out)
    with pytest.raises(BundleError, match="PyTorch model Conv1d is not supported"):
        export(torch.nn.Conv1d(1, 1, 2), None, out)
    with pytest.raises(BundleError, match="cannot export a builtins.str; supported: a numpy dict"):
        export("model.pkl", None, out)
    with pytest.raises(BundleError, match="Ridge is not fitted"):
        export(Ridge(), ["a", "b", "c"], out)
    with pytest.raises(BundleError, match="native_lightgbm=True only applies to LightGBM models"):
        export({"coef": np.ones(3), "intercept": 0.0}, ["a", "b", "c"], out, native_lightgbm=True)
    assert not out.exists()


def test_lightgbm_categorical_and_linear_trees_are_refused(tmp_path: Path) -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": pd.Categorical(rng.integers(0, 4, 400)), "b": rng.random(400)})
    y = frame["a"].cat.codes.to_numpy() + rng.random(400)
    categorical = lgb.LGBMRegressor(n_estimators=3, verbose=-1, min_child_samples=5).fit(frame, y)
    with pytest.raises(BundleError, match="categorical split; categorical features are not supported"):
        export(categorical, None, tmp_path / "b.npz")
    linear = lgb.train({"linear_tree": True, "verbose": -1}, lgb.Dataset(rng.random((200, 2)), rng.random(200)), 2)
    with pytest.raises(BundleError, match="linear trees"):
        export(linear, ["a", "b"], tmp_path / "b.npz")


@pytest.mark.parametrize(
    ("params", "reference_objective"),
    [({"objective": "binary"}, "binary"), ({"objective": "poisson"}, "poisson"),
     ({"boosting": "rf", "bagging_fraction": 0.7, "bagging_freq": 1}, "rf"),
     ({"objective": "regression", "zero_as_missing": True}, "zero-missing")],
)
def test_lightgbm_output_conversions_and_missing_rules(params, reference_objective, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import lightgbm as lgb

    rng = np.random.default_rng(4)
    x = rng.integers(0, 5, size=(600, 5)).astype(np.float64)
    x[rng.random(x.shape) < 0.1] = np.nan
    y = (np.nan_to_num(x[:, 0], nan=3) + x[:, 1] > 4).astype(float) if reference_objective == "binary" \
        else np.abs(np.nan_to_num(x[:, 0]) + rng.random(600))
    booster = lgb.train({**params, "verbose": -1, "num_leaves": 7, "min_data_in_leaf": 5}, lgb.Dataset(x, y), 15)
    live = pd.DataFrame(x[:300], columns=list("abcde"))
    live.iloc[::7, 2] = 0.0
    live.iloc[::11, 3] = 1e-40  # LightGBM treats |v| <= 1e-35 as zero
    out = predict_function(load_bundle(export(booster, list("abcde"), tmp_path / "b.npz", transform="none")))(live)
    np.testing.assert_allclose(out["prediction"].to_numpy(), booster.predict(live.to_numpy()), rtol=0, atol=1e-12)


def test_deep_leaf_wise_trees_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unbalanced trees of different depths, evaluated a few trees at a time."""
    import lightgbm as lgb

    from numerai_mcp.bundle import template

    rng = np.random.default_rng(9)
    x = rng.normal(size=(3000, 8))
    y = np.sin(x[:, 0] * 3) + x[:, 1] ** 2 + rng.normal(scale=0.1, size=3000)
    booster = lgb.train({"num_leaves": 63, "min_data_in_leaf": 3, "verbose": -1}, lgb.Dataset(x, y), 40)
    depths = load_bundle(export(booster, [f"x{i}" for i in range(8)], tmp_path / "b.npz", transform="none")).arrays["model.depth"]
    assert depths.max() > 10 and depths.min() < depths.max()
    monkeypatch.setattr(template, "TREE_WORK", 3 * 500)  # 3 trees per chunk for 500 rows
    live = pd.DataFrame(rng.normal(size=(500, 8)), columns=[f"x{i}" for i in range(8)])
    out = predict_function(load_bundle(tmp_path / "b.npz"))(live)
    assert np.array_equal(out["prediction"].to_numpy(), booster.predict(live.to_numpy()))


def test_numpy_dict_forms_and_fill_value_forms(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    w0, w1 = rng.normal(size=(N_FEATURES, 4)), rng.normal(size=(4, 1))
    live = numerai_frame(rng, 50, nan_share=0.1)
    as_lists = {"weights": [w0, w1], "biases": [np.zeros(4), np.zeros(1)], "activation": "logistic"}
    as_layers = {"layers": [{"weight": w0, "bias": np.zeros(4), "activation": "sigmoid"},
                            {"weight": w1, "bias": np.zeros(1), "activation": "linear"}]}
    medians = {f: 2.0 for f in FEATURES}
    outputs = [
        predict_function(load_bundle(export(model, FEATURES, tmp_path / f"{i}.npz", fill_values=fill, transform="none")))(live)
        for i, (model, fill) in enumerate([(as_lists, 2.0), (as_layers, medians), (as_layers, pd.Series(medians)),
                                           (as_lists, [2.0] * N_FEATURES)])
    ]
    for other in outputs[1:]:
        np.testing.assert_array_equal(other["prediction"].to_numpy(), outputs[0]["prediction"].to_numpy())
    with pytest.raises(BundleError, match=r"fill_values has no value for 1 feature\(s\), e.g. \['feature_omega'\]"):
        export(as_lists, FEATURES, tmp_path / "x.npz", fill_values={f: 2.0 for f in FEATURES[:-1]})
    with pytest.raises(BundleError, match=r"looks like \(n_out, n_in\) \(PyTorch's layout\)"):
        export({"weights": [w0, w1.T], "biases": [np.zeros(4), np.zeros(1)]}, FEATURES, tmp_path / "x.npz")
    with pytest.raises(BundleError, match="the model has its own imputer"):
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline

        fitted = make_pipeline(SimpleImputer(), Ridge()).fit(rng.random((30, 3)), rng.random(30))
        export(fitted, ["a", "b", "c"], tmp_path / "x.npz", fill_values=1.0)


@pytest.mark.parametrize("activation", ["ReLU", "LeakyReLU", "ELU", "Tanh", "Sigmoid", "SiLU", "Softplus", "GELU",
                                        "GELU-tanh", "Softplus-beta"])
def test_every_torch_activation_matches_torch(activation: str, tmp_path: Path) -> None:
    import torch

    modules = {"LeakyReLU": lambda: torch.nn.LeakyReLU(0.2), "ELU": lambda: torch.nn.ELU(alpha=0.7),
               "GELU-tanh": lambda: torch.nn.GELU(approximate="tanh"),
               "Softplus-beta": lambda: torch.nn.Softplus(beta=2.0, threshold=3.0)}
    make = modules.get(activation, getattr(torch.nn, activation.split("-")[0]))
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 32), make(), torch.nn.Linear(32, 1)).eval()
    live = numerai_frame(np.random.default_rng(3), 500)
    with torch.no_grad():
        expected = net(torch.tensor(live[FEATURES].to_numpy(dtype=np.float32) - 2.0)).numpy()[:, 0]
    bundle = load_bundle(export(net, FEATURES, tmp_path / "b.npz", transform="none"))
    centred = live.assign(**{f: live[f] - 2.0 for f in FEATURES})  # every activation sees both signs
    out = predict_function(bundle)(centred)
    np.testing.assert_allclose(out["prediction"].to_numpy(), expected, rtol=0, atol=1e-6)
