"""upload_model operation='diagnostics': Numerai's diagnostics of an uploaded pickle, read and waited for through the
real server against the sandbox (whose jobs are held, so the pending state is observed, not raced)."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from mcp.types import ImageContent

from numerai_mcp.api.operations import DIAGNOSTICS
from tests.support.emulator_api import Gql, set_jobs_paused, upload_pickle, wait_for_validation
from tests.support.mcp_helpers import call, error_of, fast_settings, in_process
from tests.support.pickles import build_pickle
from tests.support.slots import OUT_OF_RANGE

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
RANGE = "Pickle function returned invalid predictions. Ensure values are between 0 and 1."


@pytest.fixture
def settings(emulator: Any, private_cache: Path):  # type: ignore[no-untyped-def]
    """A cache of this test's own: which local evaluation is the newest for a file must not depend on other tests."""
    return fast_settings(emulator.url, emulator.auth, private_cache)


def _pngs(result: Any) -> list[bytes]:
    return [base64.b64decode(block.data) for block in result.content if isinstance(block, ImageContent)]


async def test_wait_follows_the_diagnostics_from_pending_to_succeeded(settings: Any, emulator: Any,
                                                                      fixture_pickle: Path, tmp_path: Path) -> None:
    api = Gql(emulator.url, emulator.auth)
    model_id = api.model_id()
    path = Path(shutil.copy(fixture_pickle, tmp_path / "neutral.pkl"))
    messages: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")
        if len(messages) == 1:  # the wait has seen the pending state: let the sandbox run validation and diagnostics
            await anyio.to_thread.run_sync(set_jobs_paused, emulator.url, False)

    async with in_process(settings) as client:
        set_jobs_paused(emulator.url, True)
        evaluated = await call(client, "evaluate_pickle", {"localPath": str(path), "includePlots": False})
        uploaded = await call(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                       "localPath": str(path)})
        pickle_id = uploaded["pickle"]["id"]
        pending = await call(client, "upload_model", {"operation": "diagnostics", "pickleId": pickle_id})
        raw = await client.call_tool("upload_model", {"operation": "diagnostics", "pickleId": pickle_id, "wait": True,
                                                      "waitSeconds": 300}, progress_callback=on_progress)
        drawn = {name: Path(path).stat().st_mtime_ns for name, path in raw.structured_content["plots"].items()}
        by_model = await call(client, "upload_model", {"operation": "diagnostics", "modelId": model_id})
    assert not raw.is_error and raw.structured_content is not None
    done = raw.structured_content

    report = pending["diagnostics"]
    assert (report["status"], report["finished"], report["succeeded"]) == ("pending", False, None)
    assert pending["summary"].endswith("are pending.") and pending["plots"] is None
    assert pending["localEvaluation"] is None  # nothing to compare yet
    assert pending["nextStep"].startswith(f"Wait for them: upload_model operation='diagnostics' pickleId='{pickle_id}' "
                                          "wait=true")
    assert messages[0].startswith("diagnosticsStatus=pending")

    report = done["diagnostics"]
    assert (report["status"], report["finished"], report["succeeded"]) == ("succeeded", True, True)
    assert report["diagnosticsId"] == done["pickle"]["diagnosticsId"] == report["diagnostics"]["id"]
    assert report["diagnostics"]["computePickleUploadId"] == pickle_id
    assert report["description"].startswith("Diagnostics computed on 40 eras of synthetic validation data")
    numerai = api.data(DIAGNOSTICS, {"id": report["diagnosticsId"], "modelId": None})["diagnostics"][0]
    assert report["diagnostics"]["perEraDiagnostics"] == numerai["perEraDiagnostics"]  # as the sandbox computed them
    assert report["diagnostics"]["validationCorrMean"] == numerai["validationCorrMean"]
    assert numerai["erasAcceptedCount"] == 40 and numerai["processSecs"] > 0

    # The sandbox scored the file as evaluate_pickle does, on the same synthetic data: the same numbers, era by era.
    local = {row["era"]: row for row in evaluated["perEra"]}
    eras = numerai["perEraDiagnostics"]
    assert [e["era"] for e in eras] == sorted(local) and len(eras) == 40
    for era in eras:
        assert era["validationCorr"] == pytest.approx(local[era["era"]]["corr"], abs=1e-12)
        assert era["examplePredsCorr"] == pytest.approx(local[era["era"]]["benchmarkCorr"], abs=1e-12)
        assert era["validationBmc"] == pytest.approx(local[era["era"]]["bmc"], abs=1e-12)
    assert numerai["validationCorrSharpe"] == pytest.approx(evaluated["validationCorrSharpe"], abs=1e-12)
    assert numerai["validationMaxDrawdown"] == pytest.approx(evaluated["validationMaxDrawdown"], abs=1e-12)

    beside = done["localEvaluation"]
    assert beside["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and beside["synthetic"] is True
    assert (beside["erasCompared"], beside["agree"]) == (40, True)
    assert beside["largestDifference"] < 1e-9 and beside["verdict"].startswith("Agrees with Numerai on 40 eras")
    assert beside["localCorrMean"] == pytest.approx(evaluated["validationCorrMean"], abs=1e-12)
    assert "Local evaluation: Agrees with Numerai" in done["summary"]

    pngs = _pngs(raw)
    assert len(pngs) == 2 and all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in pngs)
    assert sorted(done["plots"]) == ["cumulative", "per_era"]
    assert [Path(done["plots"][name]).read_bytes() for name in ("per_era", "cumulative")] == pngs
    assert done["summary"].startswith(f"Numerai's diagnostics of pickle {pickle_id} (") and "succeeded" in done["summary"]
    assert f"operation='assign' modelId='{model_id}' pickleId='{pickle_id}'" in done["nextStep"]
    assert done["localFile"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert done["localFile"]["localPath"] == str(path) and done["localFile"]["python"] == "3.12"
    assert by_model["pickle"]["id"] == pickle_id and by_model["diagnostics"]["status"] == "succeeded"
    assert by_model["plots"] == done["plots"]  # the same numbers: the pictures drawn before, not drawn again
    assert {name: Path(path).stat().st_mtime_ns for name, path in by_model["plots"].items()} == drawn


async def test_a_local_evaluation_on_other_data_is_flagged_as_disagreeing(settings: Any, emulator: Any,
                                                                         fixture_pickle: Path, tmp_path: Path) -> None:
    """The same file evaluated locally on validation data whose features differ from the sandbox's: Numerai's
    numbers then disagree, and the result says so instead of showing two unrelated sets of numbers as one."""
    import pandas as pd

    api = Gql(emulator.url, emulator.auth)
    path = Path(shutil.copy(fixture_pickle, tmp_path / "neutral.pkl"))
    url = api.data('query { dataset(filename: "v5.2/validation.parquet") }')["dataset"]
    served = tmp_path / "validation.parquet"
    served.write_bytes(httpx.get(url, timeout=60).raise_for_status().content)
    frame = pd.read_parquet(served)
    features = [c for c in frame.columns if c.startswith("feature")]
    frame[features] = frame[features].sample(frac=1.0, random_state=7).to_numpy()  # rows' features shuffled
    other = tmp_path / "other_validation.parquet"
    frame.to_parquet(other)
    async with in_process(settings) as client:
        evaluated = await call(client, "evaluate_pickle", {"localPath": str(path), "validationData": str(other),
                                                           "includePlots": False})
        uploaded = await call(client, "upload_model", {"operation": "upload", "modelId": api.model_id(),
                                                       "localPath": str(path)})
        done = await call(client, "upload_model", {"operation": "diagnostics", "pickleId": uploaded["pickle"]["id"],
                                                   "wait": True, "waitSeconds": 300})
    assert evaluated["passed"] and evaluated["eraCount"] == 40
    beside = done["localEvaluation"]
    assert (beside["erasCompared"], beside["agree"]) == (40, False)
    assert beside["largestDifference"] > 0.002
    assert beside["verdict"].startswith("DISAGREES with Numerai beyond rounding noise")
    assert f"era {beside['largestDifferenceEra']} differs by" in beside["verdict"]
    assert "Local evaluation: DISAGREES" in done["summary"]


async def test_failed_diagnostics_say_why_and_what_to_do(settings: Any, emulator: Any, test_cache_dir: Path,
                                                         tmp_path: Path) -> None:
    api = Gql(emulator.url, emulator.auth)
    model_id = api.model_id()
    bad = build_pickle("3.12", OUT_OF_RANGE, tmp_path / "out_of_range.pkl", cache_dir=test_cache_dir)
    created = upload_pickle(api, bad, model_id=model_id)
    await anyio.to_thread.run_sync(wait_for_validation, api, created["id"])
    async with in_process(settings) as client:
        failed = await call(client, "upload_model", {"operation": "diagnostics", "modelId": model_id, "wait": True})
        missing = await error_of(client, "upload_model", {"operation": "diagnostics"})
        other = (await call(client, "create_model", {"name": "empty_slot", "confirm": True}))["id"]
        empty = await error_of(client, "upload_model", {"operation": "diagnostics", "modelId": other})
        unknown = await error_of(client, "upload_model", {"operation": "diagnostics", "pickleId": "nope"})
    report = failed["diagnostics"]
    assert (report["status"], report["finished"], report["succeeded"]) == ("failed", True, False)
    assert report["description"] == RANGE and failed["pickle"]["id"] == created["id"]
    assert failed["summary"] == f"Numerai's diagnostics of pickle {created['id']} ({created['filename']}) failed: {RANGE}."
    assert "rank them per era" in failed["nextStep"] and "operation='get_logs'" in failed["nextStep"]
    assert failed["localFile"] is None  # uploaded by another client: numerai-mcp knows no local file
    assert "needs pickleId, or modelId" in missing
    assert "has no pickle: upload one with upload_model operation='upload'" in empty
    assert "No pickle with id 'nope'" in unknown
