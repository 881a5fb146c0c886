"""Plain-HTTP helpers for talking to a running emulator in tests (no project client involved).

`Gql(url, auth)` posts GraphQL exactly as any client would; `set_clock` moves the emulator's
time (tests never depend on the wall clock); `set_jobs_paused` holds its validations and runs
(their pending states can be observed without racing them); `upload_pickle` walks the
presigned upload + registration; `wait_for_validation` polls `computePickles` until the
pickle's validation is terminal. Shared by the emulator tests and anyone who needs an
uploaded pickle without going through the MCP tools.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

UPLOAD_AUTH = """query($filename: String, $modelId: ID) {
  computePickleUploadAuth(filename: $filename, modelId: $modelId) { filename url accelerated countryCode } }"""
CREATE = """mutation($filename: String!, $tournament: Int!, $modelId: ID, $dockerImageId: ID, $dataVersionId: ID) {
  createComputePickleUpload(filename: $filename, tournament: $tournament, modelId: $modelId,
    dockerImageId: $dockerImageId, dataVersionId: $dataVersionId) {
    id filename modelId dockerImageId dockerImageName validationStatus triggerStatus } }"""
PICKLE = """query($id: ID) { computePickles(id: $id, unassigned: false) {
  id filename modelId assignedModelSlots dockerImageName dataVersion runtime version label
  validationStatus triggerStatus diagnosticsStatus diagnosticsStatusDescription insertedAt updatedAt
  triggers { id type status roundId submissionId statuses { status description insertedAt } } } }"""
TERMINAL_VALIDATION = ("validated", "failed")


class GraphQLFailed(AssertionError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.messages = [e.get("message", "") for e in errors]
        super().__init__("; ".join(self.messages))


class Gql:
    """POST GraphQL to the emulator with (or without) a `Token …` header."""

    def __init__(self, url: str, auth: str | None) -> None:
        self.url, self.auth = url.rstrip("/"), auth

    def post(self, query: str, variables: dict[str, Any] | None = None, *, auth: str | None | bool = True,
             timeout: float = 60.0) -> httpx.Response:
        header = self.auth if auth is True else (auth or None)
        headers = {"Authorization": header} if header else {}
        return httpx.post(f"{self.url}/", json={"query": query, "variables": variables or {}}, headers=headers,
                          timeout=timeout)

    def result(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.post(query, variables, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    def data(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """The `data` of a query that must succeed."""
        body = self.result(query, variables, **kwargs)
        if body.get("errors"):
            raise GraphQLFailed(body["errors"])
        return body["data"]

    def errors(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
        """The error messages of a query that must fail."""
        body = self.result(query, variables, **kwargs)
        assert body.get("errors"), f"expected errors, got {body}"
        return [e["message"] for e in body["errors"]]

    # -- common lookups -------------------------------------------------------------------------
    def model_id(self, name: str = "demo_model") -> str:
        models = self.data("{ account { models { id name } } }")["account"]["models"]
        return next(m["id"] for m in models if m["name"] == name)

    def image_id(self, python: str) -> str:
        images = self.data("{ computePickleDockerImages { id name } }")["computePickleDockerImages"]
        return next(i["id"] for i in images if i["name"] == f"Python {python}")


def set_clock(emulator_url: str, *, freeze: bool | None = None, at: float | None = None,
              advance_s: float = 0.0) -> dict[str, Any]:
    """Freeze, set or advance the emulator's clock (its reset goes back to the wall clock); returns its state."""
    body: dict[str, Any] = {"advance_s": advance_s}
    if freeze is not None:
        body["freeze"] = freeze
    if at is not None:
        body["at"] = at
    response = httpx.post(f"{emulator_url.rstrip('/')}/_emulator/clock", json=body, timeout=30.0)
    assert response.status_code == 200, response.text
    return response.json()


def set_jobs_paused(emulator_url: str, paused: bool) -> dict[str, Any]:
    """Hold (or release) the emulator's queued validations and runs, to observe their pending states."""
    response = httpx.post(f"{emulator_url.rstrip('/')}/_emulator/jobs", json={"paused": paused}, timeout=30.0)
    assert response.status_code == 200, response.text
    return response.json()


def upload_pickle(api: Gql, path: Path, *, model_id: str | None, python: str = "3.12") -> dict[str, Any]:
    """Presigned PUT of `path`, then createComputePickleUpload with that Python's image."""
    auth = api.data(UPLOAD_AUTH, {"filename": path.name, "modelId": model_id})["computePickleUploadAuth"]
    put = httpx.put(auth["url"], content=path.read_bytes(), timeout=120.0)
    assert put.status_code == 200, put.text
    return api.data(CREATE, {"filename": auth["filename"], "tournament": 8, "modelId": model_id,
                             "dockerImageId": api.image_id(python)})["createComputePickleUpload"]


def pickle_view(api: Gql, pickle_id: str) -> dict[str, Any]:
    return api.data(PICKLE, {"id": pickle_id})["computePickles"][0]


def wait_for_validation(api: Gql, pickle_id: str, timeout_s: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        pickle = pickle_view(api, pickle_id)
        if pickle["validationStatus"] in TERMINAL_VALIDATION:
            return pickle
        if time.monotonic() > deadline:
            raise AssertionError(f"validation of {pickle_id} not terminal after {timeout_s} s: {pickle}")
        time.sleep(0.2)


def wait_for_diagnostics(api: Gql, pickle_id: str, timeout_s: float = 300.0) -> dict[str, Any]:
    """The pickle once its diagnostics ended (they start after validation; a failed validation fails them)."""
    deadline = time.monotonic() + timeout_s
    while True:
        pickle = pickle_view(api, pickle_id)
        if pickle["diagnosticsStatus"] in ("succeeded", "failed"):
            return pickle
        if time.monotonic() > deadline:
            raise AssertionError(f"diagnostics of {pickle_id} not finished after {timeout_s} s: {pickle}")
        time.sleep(0.2)


def wait_for_trigger(api: Gql, pickle_id: str, trigger_id: str, timeout_s: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        trigger = next(t for t in pickle_view(api, pickle_id)["triggers"] if t["id"] == trigger_id)
        if trigger["status"] in ("succeeded", "failed"):
            return trigger
        if time.monotonic() > deadline:
            raise AssertionError(f"trigger {trigger_id} not finished after {timeout_s} s: {trigger}")
        time.sleep(0.2)
