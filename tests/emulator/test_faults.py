"""Fault injection: 5xx and cut connections, before and after the request was processed;
latency; determinism by seed; the control API is never faulted."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.support.emulator_api import UPLOAD_AUTH, Gql

ADD = "mutation($n: String!) { addModel(name: $n, tournament: 8) { id } }"
N = 24


@pytest.fixture
def roomy(emulator: Any) -> Gql:
    """A key of an account with room for every model these tests create."""
    body = {"scopes": ["upload_submission", "read_user_info"], "username": "roomy", "max_model_slots": 100}
    return Gql(emulator.url, httpx.post(f"{emulator.url}/_emulator/keys", json=body).json()["auth"])


def _models_named(emulator: Any, prefix: str) -> int:
    return len([m for m in emulator.state()["models"] if m["name"].startswith(prefix)])


def test_error_rate_one_answers_5xx_and_half_the_mutations_still_happened(emulator: Any, roomy: Gql) -> None:
    emulator.set_faults(error_rate=1.0, seed=3)
    statuses = [roomy.post(ADD, {"n": f"err_{i}"}).status_code for i in range(N)]
    faults = emulator.state()["faults"]["injected"]
    assert set(statuses) == {502, 503}, statuses
    assert faults["error_before"] == statuses.count(503) and faults["error_after"] == statuses.count(502)
    assert faults["error_before"] > 0 and faults["error_after"] > 0
    # "after" means processed: the client saw 502 but the model exists (re-read state before retrying!)
    assert _models_named(emulator, "err_") == faults["error_after"]


def test_drop_rate_one_cuts_connections_so_httpx_raises(emulator: Any, roomy: Gql) -> None:
    emulator.set_faults(drop_rate=1.0, seed=4)
    for i in range(N):
        with pytest.raises(httpx.RemoteProtocolError):
            roomy.post(ADD, {"n": f"drop_{i}"})
    faults = emulator.state()["faults"]["injected"]
    assert faults["drop_before"] > 0 and faults["drop_after"] > 0
    assert faults["drop_before"] + faults["drop_after"] == N
    assert _models_named(emulator, "drop_") == faults["drop_after"]


def test_store_puts_are_faulted_too_and_after_faults_keep_the_file(emulator: Any, api: Gql) -> None:
    urls = [api.data(UPLOAD_AUTH, {"filename": f"f{i}.pkl", "modelId": None})["computePickleUploadAuth"]["url"]
            for i in range(12)]
    emulator.set_faults(error_rate=1.0, seed=5)
    responses = [httpx.put(url, content=b"bytes of a pickle") for url in urls]
    assert {r.status_code for r in responses} == {500, 503}
    assert all(r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>') for r in responses)
    stored = len(emulator.state()["objects"])
    assert stored == sum(r.status_code == 500 for r in responses) > 0


def test_the_control_api_is_never_faulted(emulator: Any) -> None:
    emulator.set_faults(error_rate=0.5, drop_rate=0.5, seed=1)
    for _ in range(10):
        assert emulator.state()["faults"]["error_rate"] == 0.5
        assert emulator.health()["ok"]


def test_the_same_seed_gives_the_same_faults(emulator: Any, api: Gql) -> None:
    def run() -> list[int]:
        emulator.set_faults(error_rate=0.5, seed=42)
        return [api.post("{ rounds(number: 0) { number } }").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second and {200, 502, 503} & set(first) == set(first) and 200 in first and len(set(first)) > 1


def test_latency_delays_api_calls_but_not_the_control_api(emulator: Any, api: Gql) -> None:
    emulator.set_faults(latency_ms=1000)
    started = time.perf_counter()
    api.data("{ rounds(number: 0) { number } }", auth=False)
    assert time.perf_counter() - started >= 1.0
    started = time.perf_counter()
    emulator.health()
    assert time.perf_counter() - started < 1.0


def test_bad_fault_settings_are_refused(emulator: Any) -> None:
    for body, problem in [({"error_rate": 1.5}, "error_rate must be between 0 and 1"),
                          ({"error_rate": 0.7, "drop_rate": 0.7}, "must not exceed 1"),
                          ({"url_lifetime_s": 0}, "url_lifetime_s must be > 0"),
                          ({"typo_rate": 0.1}, "unknown fault setting")]:
        response = httpx.post(f"{emulator.url}/_emulator/faults", json=body)
        assert response.status_code == 400 and problem in response.json()["error"], body
    assert emulator.state()["faults"]["error_rate"] == 0
