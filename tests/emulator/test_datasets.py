"""listDatasets / dataset (no key needed): small synthetic live files shaped like Numerai's,
downloaded through presigned GET URLs."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx

from tests.support.emulator_api import Gql, set_clock

DATASET = "query($f: String!) { dataset(filename: $f) }"


def _download(api: Gql, filename: str) -> httpx.Response:
    url = api.data(DATASET, {"f": filename}, auth=False)["dataset"]
    assert url.startswith(f"{api.url}/_store/datasets/{filename}?")
    return httpx.get(url)


def _fixture_features(fixture_pickle: Any) -> set[str]:
    """The columns the fixture's model predicts from, as the static scan reads them."""
    from numerai_mcp.harness.scan import scan_pickle

    return set(scan_pickle(fixture_pickle).features)


def test_list_datasets_names_files_like_numerai(api: Gql) -> None:
    files = api.data("{ listDatasets }", auth=False)["listDatasets"]
    for name in ("v5.2/features.json", "v5.2/live.parquet", "v5.2/live_benchmark_models.parquet",
                 "v5.2/live_example_preds.parquet", "v5.0/live.parquet"):
        assert name in files
    assert api.data("{ listDatasets(round: 1, tournament: 8) }")["listDatasets"] == files
    assert api.data("{ listDatasets(tournament: 11) }")["listDatasets"] == []


def test_live_parquet_is_shaped_like_numerais_and_covers_the_fixture_features(api: Gql, fixture_pickle: Any) -> None:
    import pandas as pd

    live = pd.read_parquet(io.BytesIO(_download(api, "v5.2/live.parquet").content))
    assert live.index.name == "id" and live.index.is_unique and 100 <= len(live) <= 1000
    assert set(live["era"]) == {"X"} and set(live["data_type"]) == {"live"}
    features = [c for c in live.columns if c.startswith("feature_")]
    assert _fixture_features(fixture_pickle) == set(features) and len(features) == 42
    assert all(str(live[c].dtype) == "int8" for c in features)
    assert live[features].min().min() == 0 and live[features].max().max() == 4

    bench = pd.read_parquet(io.BytesIO(_download(api, "v5.2/live_benchmark_models.parquet").content))
    assert bench.index.equals(live.index) and "v52_lgbm_ender20" in bench.columns
    assert ((bench > 0) & (bench < 1)).all().all()


def test_features_json_has_feature_sets(api: Gql) -> None:
    document = json.loads(_download(api, "v5.2/features.json").content)
    sets = document["feature_sets"]
    assert set(sets) >= {"small", "medium", "all"} and len(sets["all"]) == 42
    assert set(sets["small"]) <= set(sets["medium"]) <= set(sets["all"])


def test_unknown_or_escaping_names_are_errors(api: Gql) -> None:
    for name in ("v5.2/nope.parquet", "../state.json", "v5.2/../../x", "/etc/passwd", "v9.9/live.parquet"):
        assert api.errors(DATASET, {"f": name}, auth=False) == [
            f"Dataset file '{name}' not found; listDatasets gives the available files."], name


def test_dataset_urls_expire(emulator: Any, api: Gql) -> None:
    emulator.set_faults(url_lifetime_s=60)
    url = api.data(DATASET, {"f": "v5.2/features.json"})["dataset"]
    set_clock(emulator.url, advance_s=61)
    response = httpx.get(url)
    assert response.status_code == 403 and "Request has expired" in response.text


def test_validation_files_are_synthetic_with_a_planted_signal(api: Gql) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    files = api.data("{ listDatasets }", auth=False)["listDatasets"]
    assert {"v5.2/validation.parquet", "v5.2/validation_benchmark_models.parquet"} <= set(files)
    raw = _download(api, "v5.2/validation.parquet").content
    parquet = pq.ParquetFile(io.BytesIO(raw))
    assert parquet.schema_arrow.metadata[b"numerai_mcp_synthetic"] == b"1"
    validation = pd.read_parquet(io.BytesIO(raw))
    eras = sorted(set(validation["era"]))
    assert 20 <= len(eras) <= 50 and eras[0] == "0575" and parquet.metadata.num_row_groups == len(eras)
    assert validation.index.name == "id" and validation.index.is_unique and set(validation["data_type"]) == {"validation"}
    assert set(validation["target"].unique()) == {0.0, 0.25, 0.5, 0.75, 1.0}
    features = [c for c in validation.columns if c.startswith("feature_")]
    signal = validation[features[0]] + 0.7 * validation[features[1]] - 0.5 * validation[features[2]]
    per_era = validation.assign(signal=signal).groupby("era")[["signal", "target"]].corr(method="spearman")
    assert per_era.xs("signal", level=1)["target"].mean() > 0.08  # the planted signal
    noise = validation[features[-1]].groupby(validation["era"]).corr(validation["target"], method="spearman")
    assert abs(noise.mean()) < 0.05  # other features carry none

    bench = pd.read_parquet(io.BytesIO(_download(api, "v5.2/validation_benchmark_models.parquet").content))
    assert bench.index.equals(validation.index) and "v52_lgbm_ender20" in bench.columns
    assert bench["v52_lgbm_ender20"].corr(validation["target"], method="spearman") > 0.05
