"""The predict template's contract with Numerai's runner, in process: inputs in any column order,
missing columns and values, the benchmark frame aligned by id, per-era ranks, transforms, output shape."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from numerai_mcp.bundle import export, load_bundle, predict_function
from tests.bundle.helpers import FEATURES, N_FEATURES, numerai_frame

COEF = np.linspace(-1.0, 1.0, N_FEATURES)
BENCH = "v52_lgbm_ender20"


def linear_predict(tmp_path: Path, **options):  # type: ignore[no-untyped-def]
    features = options.pop("features", FEATURES)
    coef = options.pop("coef", COEF)
    return predict_function(load_bundle(export({"coef": coef, "intercept": 0.5}, features, tmp_path / "b.npz", **options)))


def raw_linear(frame: pd.DataFrame, features=FEATURES, coef=COEF) -> np.ndarray:  # type: ignore[no-untyped-def]
    return frame[features].to_numpy(dtype=np.float64) @ coef + 0.5


def test_signature_and_output_shape(tmp_path: Path) -> None:
    predict = linear_predict(tmp_path)
    assert list(inspect.signature(predict).parameters) == ["live_features", "live_benchmark_models"]
    live = numerai_frame(np.random.default_rng(0), 300)
    out = predict(live, None)
    assert type(out) is pd.DataFrame and list(out.columns) == ["prediction"]
    assert out.index.equals(live.index) and out.index.name == "id"
    values = out["prediction"].to_numpy()
    assert values.min() > 0 and values.max() == 1.0  # ranks in (0, 1]


def test_columns_are_selected_by_name_in_training_order(tmp_path: Path) -> None:
    predict = linear_predict(tmp_path, transform="none")
    live = numerai_frame(np.random.default_rng(1), 200)
    shuffled = live[list(reversed(live.columns))].assign(feature_extra=7)
    np.testing.assert_array_equal(predict(shuffled)["prediction"].to_numpy(), raw_linear(live))


def test_ranks_are_per_era(tmp_path: Path) -> None:
    predict = linear_predict(tmp_path)
    live = numerai_frame(np.random.default_rng(2), 600, eras=("0100", "0101", "0102"))
    out = predict(live)["prediction"]
    for era, rows in live.groupby("era").groups.items():
        expected = pd.Series(raw_linear(live.loc[rows])).rank(pct=True).to_numpy()
        np.testing.assert_array_equal(out.loc[rows].to_numpy(), expected, err_msg=str(era))
        assert out.loc[rows].max() == 1.0


def test_without_era_the_frame_is_one_era_unless_the_bundle_requires_it(tmp_path: Path) -> None:
    live = numerai_frame(np.random.default_rng(3), 100).drop(columns="era")
    out = linear_predict(tmp_path)(live)["prediction"].to_numpy()
    np.testing.assert_array_equal(out, pd.Series(raw_linear(live)).rank(pct=True).to_numpy())
    strict = linear_predict(tmp_path, require_era=True)
    with pytest.raises(ValueError, match="live_features has no 'era' column, which this model needs to rank"):
        strict(live)


def test_missing_feature_columns_fail_loudly_by_default(tmp_path: Path) -> None:
    live = numerai_frame(np.random.default_rng(4), 50).drop(columns=[FEATURES[3], FEATURES[9]])
    with pytest.raises(ValueError, match=r"lacks 2 of the model's 24 features, e.g. \['feature_delta', 'feature_kappa'\]"
                                         r".*missing_features='fill'"):
        linear_predict(tmp_path)(live)


def test_missing_feature_columns_can_be_filled(tmp_path: Path) -> None:
    full = numerai_frame(np.random.default_rng(5), 50)
    predict = linear_predict(tmp_path, missing_features="fill", fill_values=2.0, transform="none")
    expected = raw_linear(full.assign(**{FEATURES[3]: 2}))
    np.testing.assert_allclose(predict(full.drop(columns=FEATURES[3]))["prediction"].to_numpy(), expected, atol=1e-12)


def test_missing_values_are_filled_or_explained(tmp_path: Path) -> None:
    live = numerai_frame(np.random.default_rng(6), 80, nan_share=0.1)
    filled = linear_predict(tmp_path, fill_values={f: 1.0 + i / 10 for i, f in enumerate(FEATURES)}, transform="none")
    expected = raw_linear(live.fillna({f: 1.0 + i / 10 for i, f in enumerate(FEATURES)}))
    np.testing.assert_allclose(filled(live)["prediction"].to_numpy(), expected, atol=1e-12)
    with pytest.raises(ValueError, match="missing value.*the bundle has no fill_values; re-export with fill_values"):
        linear_predict(tmp_path)(live)


def test_benchmark_column_is_a_feature_aligned_by_id(tmp_path: Path) -> None:
    features = FEATURES[:5] + [BENCH] + FEATURES[5:]
    coef = np.linspace(-1, 1, len(features))
    predict = linear_predict(tmp_path, features=features, coef=coef, benchmark_column=BENCH, transform="none")
    rng = np.random.default_rng(7)
    live = numerai_frame(rng, 120)
    bench = pd.DataFrame({BENCH: rng.random(120), "v52_other": rng.random(120)}, index=live.index)
    expected = raw_linear(live.join(bench), features, coef)
    shuffled_bench = bench.sample(frac=1.0, random_state=1)  # another order: alignment must be by id
    np.testing.assert_allclose(predict(live, shuffled_bench)["prediction"].to_numpy(), expected, atol=1e-12)
    as_column = shuffled_bench.reset_index()  # ids as a column, as some files have them
    np.testing.assert_allclose(predict(live, as_column)["prediction"].to_numpy(), expected, atol=1e-12)
    with pytest.raises(ValueError, match="uses the benchmark column 'v52_lgbm_ender20' as a feature but live_benchmark_models is None"):
        predict(live)
    with pytest.raises(ValueError, match="live_benchmark_models has no column 'v52_lgbm_ender20'"):
        predict(live, bench.drop(columns=BENCH))
    with pytest.raises(ValueError, match=r"has no 'v52_lgbm_ender20' value for 20 live id\(s\).*export the bundle with fill_values"):
        predict(live, bench.iloc[20:])
    filled = linear_predict(tmp_path, features=features, coef=coef, benchmark_column=BENCH, transform="none", fill_values=0.5)
    partial = filled(live, bench.iloc[20:])["prediction"].to_numpy()
    np.testing.assert_allclose(partial, raw_linear(live.join(bench.iloc[20:]).fillna({BENCH: 0.5}), features, coef), atol=1e-12)


@pytest.mark.parametrize(
    ("transform", "expected"),
    [("clip", lambda r: np.clip(r, 0, 1)), ("sigmoid", lambda r: 1 / (1 + np.exp(-r))), ("none", lambda r: r)],
)
def test_transforms(tmp_path: Path, transform: str, expected) -> None:  # type: ignore[no-untyped-def]
    live = numerai_frame(np.random.default_rng(8), 100)
    out = linear_predict(tmp_path, transform=transform)(live)["prediction"].to_numpy()
    np.testing.assert_allclose(out, expected(raw_linear(live)), rtol=1e-12, atol=1e-15)


def test_bad_inputs_get_clear_errors(tmp_path: Path) -> None:
    predict = linear_predict(tmp_path)
    live = numerai_frame(np.random.default_rng(9), 30)
    with pytest.raises(ValueError, match="live_features must be a pandas DataFrame, got ndarray"):
        predict(live[FEATURES].to_numpy())
    with pytest.raises(ValueError, match=r"feature column\(s\) \['feature_alpha'\] are not numeric"):
        predict(live.assign(feature_alpha="x"))
    doubled = pd.concat([live, live[[FEATURES[0]]]], axis=1)
    with pytest.raises(ValueError, match="duplicate column names"):
        predict(doubled)
    huge = live.astype({FEATURES[0]: np.float64})
    huge.iloc[3, huge.columns.get_loc(FEATURES[0])] = np.inf
    with pytest.raises(ValueError, match=r"produced 1 non-finite output\(s\)"):
        predict(huge)


def test_nullable_and_float32_columns(tmp_path: Path) -> None:
    live = numerai_frame(np.random.default_rng(10), 60)
    mixed = live.astype({FEATURES[0]: "Int64", FEATURES[1]: np.float32, FEATURES[2]: bool})
    mixed[FEATURES[2]] = live[FEATURES[2]] > 2
    predict = linear_predict(tmp_path, transform="none")
    expected = raw_linear(live.assign(**{FEATURES[2]: (live[FEATURES[2]] > 2).astype(float)}))
    np.testing.assert_allclose(predict(mixed)["prediction"].to_numpy(), expected, atol=1e-12)


def test_large_frames_are_processed_in_row_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from numerai_mcp.bundle import template

    live = numerai_frame(np.random.default_rng(12), 1000)
    predict = linear_predict(tmp_path, transform="none")
    whole = predict(live)["prediction"].to_numpy()
    monkeypatch.setattr(template, "ROW_BLOCK", 37)
    blocks: list[int] = []
    original = template._input_block
    monkeypatch.setattr(template, "_input_block", lambda plan, live, pos, bench, start, stop:
                        blocks.append(stop - start) or original(plan, live, pos, bench, start, stop))
    blocked = predict(live)["prediction"].to_numpy()
    np.testing.assert_allclose(blocked, whole, rtol=0, atol=1e-12)  # BLAS may sum a row differently by block size
    np.testing.assert_allclose(whole, raw_linear(live), rtol=0, atol=1e-12)
    assert len(blocks) == 28 and max(blocks) == 37 and sum(blocks) == 1000


def test_minmax_scaling_with_range_and_clip(tmp_path: Path) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.default_rng(13)
    train = numerai_frame(rng, 200)
    model = make_pipeline(MinMaxScaler(feature_range=(-1, 2), clip=True), Ridge()).fit(train[FEATURES], rng.random(200))
    live = numerai_frame(rng, 100).astype({FEATURES[0]: np.float64})
    live.iloc[:5, live.columns.get_loc(FEATURES[0])] = 9.0  # outside the training range: clipped
    out = predict_function(load_bundle(export(model, FEATURES, tmp_path / "b.npz", transform="none")))(live)
    np.testing.assert_allclose(out["prediction"].to_numpy(), model.predict(live[FEATURES]), atol=1e-12)
