"""upload_model operation='diagnostics': Numerai's diagnostics of an uploaded pickle, read and waited for through the
real server against the sandbox (whose jobs are held, so the pending state is observed, not raced)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from numerai_mcp.api.operations import DIAGNOSTICS
from tests.support.emulator_api import Gql, set_jobs_paused, upload_pickle, wait_for_validation
from tests.support.mcp_helpers import call, error_of, fast_settings, in_process
from tests.support.pickles import build_pickle
from tests.support.slots import OUT_OF_RANGE

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
RANGE = "Pickle function returned invalid predictions. Ensure values are between 0 and 1."


@pytest.fixture
def settings(emulator: Any, test_cache_dir: Path):  # type: ignore[no-untyped-def]
    return fast_settings(emulator.url, emulator.auth, test_cache_dir)


async def test_wait_follows_the_diagnostics_from_pending_to_succeeded(settings: Any, emulator: Any,
                                                                      fixture_pickle: Path, tmp_path: Path) -> None:
    api = Gql(emulator.url, emulator.auth)
    model_id = api.model_id()
    path = Path(shutil.copy(fixture_pickle, tmp_path / "neutral.pkl"))
    messages: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")
        if len(messages) == 1:  # the wait has seen the pending state: let the sandbox run the diagnostics
            await anyio.to_thread.run_sync(set_jobs_paused, emulator.url, False)

    async with in_process(settings) as client:
        set_jobs_paused(emulator.url, True)
        uploaded = await call(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                       "localPath": str(path)})
        pickle_id = uploaded["pickle"]["id"]
        pending = await call(client, "upload_model", {"operation": "diagnostics", "pickleId": pickle_id})
        done = await call(client, "upload_model", {"operation": "diagnostics", "pickleId": pickle_id, "wait": True,
                                                   "waitSeconds": 300}, progress_callback=on_progress)
        by_model = await call(client, "upload_model", {"operation": "diagnostics", "modelId": model_id})

    report = pending["diagnostics"]
    assert (report["status"], report["finished"], report["succeeded"]) == ("pending", False, None)
    assert pending["summary"].endswith("are pending.")
    assert pending["nextStep"].startswith(f"Wait for them: upload_model operation='diagnostics' pickleId='{pickle_id}' "
                                          "wait=true")
    assert messages[0].startswith("diagnosticsStatus=pending")

    report = done["diagnostics"]
    assert (report["status"], report["finished"], report["succeeded"]) == ("succeeded", True, True)
    assert report["diagnosticsId"] == done["pickle"]["diagnosticsId"] == report["diagnostics"]["id"]
    assert report["diagnostics"]["computePickleUploadId"] == pickle_id
    assert report["description"].startswith("Validation succeeded")
    numerai = api.data(DIAGNOSTICS, {"id": report["diagnosticsId"], "modelId": None})["diagnostics"][0]
    assert report["diagnostics"]["perEraDiagnostics"] == numerai["perEraDiagnostics"]  # as the sandbox computed them
    assert report["diagnostics"]["validationCorrMean"] == numerai["validationCorrMean"]
    assert done["summary"].startswith(f"Numerai's diagnostics of pickle {pickle_id} (") and "succeeded" in done["summary"]
    assert f"operation='assign' modelId='{model_id}' pickleId='{pickle_id}'" in done["nextStep"]
    assert done["localFile"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert done["localFile"]["localPath"] == str(path) and done["localFile"]["python"] == "3.12"
    assert by_model["pickle"]["id"] == pickle_id and by_model["diagnostics"]["status"] == "succeeded"


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
