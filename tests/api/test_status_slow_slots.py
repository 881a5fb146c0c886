"""The overview is read in one query; only slots that need more (a failed upload's reason) make their own request,
in parallel and each within its own timeout. Against a scripted HTTP server standing in for Numerai: one slot's
request never answers and another's fails, and the overview still comes back with every slot judged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.credentials import Credentials
from numerai_mcp.api.status import overview
from numerai_mcp.config import Settings
from tests.support.scripted_http import scripted_server

pytestmark = pytest.mark.anyio
RANGE = "Pickle function returned invalid predictions. Ensure values are between 0 and 1."


def _slot(slot_id: str, assigned: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": slot_id, "name": slot_id, "tournament": 8, "submissionWebhook": None,
            "latestSubmissions": [{"id": "s", "roundNumber": 1200}] if assigned else [],
            "computePickleUpload": assigned}


def _upload(pickle_id: str, slot_id: str) -> dict[str, Any]:
    return {"id": pickle_id, "filename": f"{pickle_id}.pkl", "modelId": slot_id, "validationStatus": "failed",
            "diagnosticsStatus": "failed", "diagnosticsStatusDescription": RANGE, "insertedAt": "2026-01-01T00:00:00Z"}


HEALTHY = {"id": "p-ok", "filename": "ok.pkl", "modelId": "fast", "validationStatus": "validated",
           "dockerImageName": "Python 3.12", "insertedAt": "2026-01-01T00:00:00Z",
           "triggers": [{"id": "t", "type": "manual", "status": "succeeded", "insertedAt": "2026-01-02T00:00:00Z",
                         "statuses": [{"status": "succeeded", "description": "Submission uploaded"}]}]}


@pytest.fixture
def numerai() -> Iterator[str]:
    release = threading.Event()

    def answer(body: dict[str, Any], _headers: dict[str, str]) -> tuple[int, Any] | None:
        query, variables = body["query"], body.get("variables") or {}
        if "rounds(" in query:
            return 200, {"data": {"rounds": [{"number": 1200}]}}
        if "account" in query:
            return 200, {"data": {"account": {"username": "u", "models": [
                _slot("slow"), _slot("broken"), _slot("fast", HEALTHY)]},
                "computePickles": [_upload("p-slow", "slow"), _upload("p-broken", "broken")]}}
        if variables.get("id") == "p-slow":
            release.wait(60)  # never answers while the test runs (the client has long gone when it is released)
            return None
        return 200, {"errors": [{"message": "Internal error reading triggers"}], "data": None}

    try:
        with scripted_server(answer) as url:
            yield url
    finally:
        release.set()


async def test_a_slow_and_a_failing_slot_hold_up_nothing(numerai: str) -> None:
    url = numerai
    credentials = Credentials.parse("Token SCRIPTEDPUBLICIDSCRIPTEDPUBLICID$scriptedSecretValue0123456789")
    async with NumeraiClient(Settings(api_url=url, credentials=credentials, retry_backoff=0.01)) as client:
        found = await overview(client, slot_timeout_s=0.5)
    slots = {s.name: s for s in found.slots}
    assert found.current_round == 1200 and set(slots) == {"slow", "broken", "fast"}
    assert slots["fast"].health == "healthy" and slots["fast"].read_error is None
    assert slots["slow"].read_error == ("Details of this slot were not read within 0.5 s (the rest of the overview "
                                        "was).")
    assert slots["broken"].read_error == "Details of this slot could not be read: Internal error reading triggers"
    for name in ("slow", "broken"):  # still judged, from what the one query said
        assert (slots[name].health, slots[name].problem) == ("unhealthy", "validation_failed")
        assert RANGE in slots[name].verdict
