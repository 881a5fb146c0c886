"""numerapi, Numerai's own Python client, against the sandbox, unchanged but for its API URL.

numerapi posts to the module constant `numerapi.base_api.API_TOURNAMENT_URL`; pointing that
at the emulator is the only change. Its documents are sent as they are, with the leniency
Numerai's API grants them (String variables for ID arguments, `apiTokens { public_id }`).
"""

from __future__ import annotations

import decimal
import json
import logging
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numerapi  # a test dependency (the `test` extra): a missing install fails here, it is never skipped
import pytest
from numerapi import base_api

from tests.support.emulator_api import Gql, pickle_view, wait_for_validation
from tests.support.mcp_helpers import call, fast_settings, in_process


@pytest.fixture
def napi(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(base_api, "API_TOURNAMENT_URL", f"{emulator.url}/")
    public_id, secret_key = emulator.auth.removeprefix("Token ").split("$")
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield numerapi.NumerAPI(public_id, secret_key, verbosity="WARNING", show_progress_bars=False)
    root.setLevel(level)  # numerapi calls logging.basicConfig: leave the session's logging as it was
    root.handlers[:] = handlers


@pytest.fixture
def pickle_file(fixture_pickle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(fixture_pickle, tmp_path / "model.pkl"))


def test_get_models_and_modelid_to_modelname(napi: Any, api: Gql) -> None:
    models = napi.get_models()
    assert models == {"demo_model": api.model_id()}
    assert napi.modelid_to_modelname(models["demo_model"]) == "demo_model"  # `$modelid: String!` for `ID`


def test_get_account_with_snake_case_public_id(napi: Any, emulator: Any) -> None:
    account = napi.get_account()
    public_id = emulator.auth.removeprefix("Token ").split("$")[0]
    assert account["username"] == "demo" and account["status"] == "VERIFIED"
    assert [t["public_id"] for t in account["apiTokens"]] == [public_id]
    assert "publicId" not in account["apiTokens"][0]  # answered under the name numerapi asked for
    assert isinstance(account["insertedAt"], datetime) and account["availableNmr"] == decimal.Decimal(0)
    [model] = account["models"]
    assert model["name"] == "demo_model" and model["submissions"] == []
    assert model["v2Stake"] == {"status": None, "txHash": None}


def test_current_round_and_list_rounds(napi: Any, emulator: Any) -> None:
    number = emulator.state()["round"]["number"]
    assert napi.get_current_round() == number
    rounds = napi.list_rounds()
    assert [r["number"] for r in rounds] == [number - i for i in range(5)]
    assert all(isinstance(r["closeStakingTime"], datetime) for r in rounds)
    configs = rounds[0]["roundScoreConfigs"]
    assert configs and all(isinstance(c["scoringStart"], datetime) for c in configs)
    assert [c["displayName"] for c in configs if c["isPayout"]]
    assert [r["number"] for r in napi.list_rounds(status="open")] == [number]
    assert [r["number"] for r in napi.list_rounds(number=number - 2)] == [number - 2]


def test_docker_images_and_data_versions(napi: Any, api: Gql) -> None:
    images = napi.model_upload_docker_images()
    assert images["Python 3.12"] == api.image_id("3.12") and set(images) >= {"Python 3.11", "Python 3.12"}
    assert set(napi.model_upload_data_versions()) == {"v5.0", "v5.1", "v5.2"}


def test_set_submission_webhook_sets_and_clears(napi: Any, api: Gql) -> None:
    model_id = api.model_id()
    hook = "query($m: ID) { model(modelId: $m) { submissionWebhook } }"
    assert napi.set_submission_webhook(model_id, "https://example.com/hook") is True
    assert api.data(hook, {"m": model_id})["model"]["submissionWebhook"] == "https://example.com/hook"
    assert napi.set_submission_webhook(model_id, None) is True
    assert api.data(hook, {"m": model_id})["model"]["submissionWebhook"] is None


@pytest.mark.parametrize(("options", "image", "version"), [
    ({}, "Python 3.12", "v5.2"),  # the server's defaults
    ({"docker_image": "Python 3.11"}, "Python 3.11", "v5.2"),
    ({"data_version": "v5.1"}, "Python 3.12", "v5.1"),
])
def test_model_upload_registers_the_pickle(napi: Any, api: Gql, emulator: Any, pickle_file: Path,
                                           options: dict[str, str], image: str, version: str) -> None:
    model_id = api.model_id()
    pickle_id = napi.model_upload(str(pickle_file), model_id=model_id, **options)
    pickle = pickle_view(api, pickle_id)
    assert (pickle["dockerImageName"], pickle["dataVersion"], pickle["modelId"]) == (image, version, model_id)
    assert pickle["filename"].startswith("model-") and pickle["filename"] != "model.pkl"
    [stored] = [o for o in emulator.state()["objects"] if o["key"] == f"pickles/{pickle['filename']}"]
    assert stored["size"] == pickle_file.stat().st_size  # numerapi's PUT (no Content-Type) arrived whole


def test_model_upload_rejects_an_unknown_image_name_before_uploading(napi: Any, api: Gql, emulator: Any,
                                                                    pickle_file: Path) -> None:
    with pytest.raises(ValueError, match="'docker_image' needs to be one of"):
        napi.model_upload(str(pickle_file), model_id=api.model_id(), docker_image="Python 2.7")
    assert emulator.state()["objects"] == []


def test_list_and_download_datasets(napi: Any, tmp_path: Path) -> None:
    files = napi.list_datasets()
    assert {"v5.2/live.parquet", "v5.2/live_benchmark_models.parquet", "v5.2/features.json"} <= set(files)
    features = napi.download_dataset("v5.2/features.json", str(tmp_path / "features.json"))
    assert set(json.loads(Path(features).read_text())["feature_sets"]) >= {"small", "medium", "all"}
    import pandas as pd

    live = pd.read_parquet(napi.download_dataset("v5.2/live.parquet", str(tmp_path / "live.parquet")))
    assert len(live) > 0 and any(c.startswith("feature_") for c in live.columns)
    # with filters, numerapi reads the URL through fsspec (HTTP HEAD and range requests)
    filtered = pd.read_parquet(napi.download_dataset("v5.2/live.parquet", str(tmp_path / "some.parquet"),
                                                     filters=[("era", "==", "X")]))
    assert len(filtered) == (live["era"] == "X").sum() > 0


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_numerapi_upload_is_listed_assigned_and_run_by_our_tools(
        napi: Any, api: Gql, emulator: Any, pickle_file: Path, test_cache_dir: Path) -> None:
    model_id = api.model_id()
    pickle_id = napi.model_upload(str(pickle_file), model_id=model_id, docker_image="Python 3.12")
    async with in_process(fast_settings(emulator.url, emulator.auth, test_cache_dir)) as client:
        listed = await call(client, "upload_model", {"operation": "list", "pickleId": pickle_id, "wait": True,
                                                     "waitSeconds": 300})
        assert listed["pickle"]["validationStatus"] == "validated", listed["summary"]
        assigned = await call(client, "upload_model", {"operation": "assign", "modelId": model_id,
                                                       "pickleId": pickle_id, "confirm": True})
        assert assigned["model"]["computePickleUpload"]["id"] == pickle_id
        triggered = await call(client, "upload_model", {"operation": "trigger", "pickleId": pickle_id,
                                                        "wait": True, "waitSeconds": 300})
        assert triggered["trigger"]["status"] == "succeeded", triggered
    # the run's submission is what numerapi's get_account lists for the slot
    [model] = napi.get_account()["models"]
    [submission] = model["submissions"]
    assert submission["id"] == triggered["trigger"]["submissionId"]
    assert submission["filename"].startswith("live_predictions-") and submission["filename"].endswith(".csv")
    assert wait_for_validation(api, pickle_id)["validationStatus"] == "validated"
