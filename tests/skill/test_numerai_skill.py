"""An agent that follows Numerai's own upload skill word for word, with its exact argument names.

numerai/example-scripts `numerai/agents/skills/numerai-model-upload/SKILL.md`: query the runtime images, check the
key, create the slot, list the models, get_upload_auth(modelId, filename="model.pkl"), put_file(presignedUrl,
localPath), create(modelId, filename="model.pkl"), list, assign(modelId, pickleId), trigger(pickleId,
triggerValidation=true), get_logs(pickleId, triggerId), then the skill's debugging query. Clients that cannot ask
the user need confirm=true where the server asks for it (after a refusal that says so).

Most agents' clients start a new server process for every call, so each walk runs (mostly) that way, with the real
MCP Inspector CLI or the SDK's stdio client, against the real emulator started by `numerai-mcp sandbox`. The walk
with a Python 3.11 pickle is the disaster the product exists to prevent: it must end registered with the 3.11
image and validated, not on the 3.12 default where it segfaults.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.support.per_call import (
    CallResult,
    InspectorClient,
    SessionClient,
    StdioPerCallClient,
    install_inspector,
    minimal_env,
)
from tests.support.pickles import GOOD_ONE_ARG, build_pickle
from tests.support.shared_sandbox import emulator_processes, sandbox_home  # noqa: F401 - fixture

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

IMAGES = "query { computePickleDockerImages { id name image tag default } }"
MODELS = "query { account { models { id name } } }"
DEBUG = """query { account { models { username computePickleUpload { filename validationStatus triggerStatus
  triggers { id status statuses { status description insertedAt } } } } } }"""
POLL_LIMIT_S = 300.0


class Agent(Protocol):
    async def call(self, tool: str, arguments: dict[str, Any]) -> CallResult: ...


def _ok(result: CallResult, step: str) -> dict[str, Any]:
    assert not result.is_error, f"{step} failed: {result.text}"
    return result.data


def _no_placeholders(text: str | None) -> None:
    assert text and "…" not in text and text.count("Fix:") <= 1, text


async def walk_the_skill(agent: Agent, pickle: Path, *, model_name: str) -> dict[str, Any]:
    """The skill's twelve steps; returns what the agent saw at the end (for the caller's assertions)."""
    images = _ok(await agent.call("graphql_query", {"query": IMAGES}), "1 computePickleDockerImages")
    assert any(i["default"] for i in images["data"]["computePickleDockerImages"])
    assert _ok(await agent.call("check_api_credentials", {}), "2 check_api_credentials")["readyForUpload"]

    refused = await agent.call("create_model", {"name": model_name, "tournament": 8})
    assert refused.is_error and "confirm=true" in refused.text  # this client cannot ask the user: the agent must
    created = _ok(await agent.call("create_model", {"name": model_name, "tournament": 8, "confirm": True}),
                  "3 create_model")
    models = _ok(await agent.call("graphql_query", {"query": MODELS}), "4 account.models")["data"]
    model_id = next(m["id"] for m in models["account"]["models"] if m["name"] == model_name)
    assert model_id == created["id"]

    auth = _ok(await agent.call("upload_model", {"operation": "get_upload_auth", "modelId": model_id,
                                                 "filename": "model.pkl"}), "5 get_upload_auth")
    put = _ok(await agent.call("upload_model", {"operation": "put_file", "presignedUrl": auth["uploadAuth"]["url"],
                                                "localPath": str(pickle)}), "6 put_file")
    _no_placeholders(put["nextStep"])
    registered = _ok(await agent.call("upload_model", {"operation": "create", "modelId": model_id,
                                                       "filename": "model.pkl"}), "7 create")
    pickle_id = registered["pickle"]["id"]
    assert registered["pickle"]["filename"] == auth["uploadAuth"]["filename"]

    deadline = time.monotonic() + POLL_LIMIT_S
    while True:  # the skill: "list ... wait for validation to complete"; an agent polls
        listed = _ok(await agent.call("upload_model", {"operation": "list"}), "8 list")
        ours = next(p for p in listed["pickles"] if p["id"] == pickle_id)
        if ours["validationStatus"] in ("validated", "failed"):
            break
        assert time.monotonic() < deadline, f"validation did not finish: {ours}"
        await anyio.sleep(1.0)
    assert ours["validationStatus"] == "validated", listed["summary"]
    _no_placeholders(listed["nextStep"])
    assert f"operation='assign' modelId={model_id!r} pickleId={pickle_id!r}" in listed["nextStep"]

    unconfirmed = await agent.call("upload_model", {"operation": "assign", "modelId": model_id, "pickleId": pickle_id})
    assert unconfirmed.is_error and "confirm=true" in unconfirmed.text
    assigned = _ok(await agent.call("upload_model", {"operation": "assign", "modelId": model_id, "pickleId": pickle_id,
                                                     "confirm": True}), "9 assign")
    assert assigned["model"]["computePickleUpload"]["id"] == pickle_id

    triggered = _ok(await agent.call("upload_model", {"operation": "trigger", "pickleId": pickle_id,
                                                      "triggerValidation": True}), "10 trigger")
    trigger_id = triggered["triggerId"]
    while True:
        logs = _ok(await agent.call("upload_model", {"operation": "get_logs", "pickleId": pickle_id,
                                                     "triggerId": trigger_id}), "11 get_logs")
        _no_placeholders(logs["nextStep"])
        if logs["runFinished"]:
            break
        assert "still" in logs["summary"] and "get_logs" in logs["nextStep"]
        assert time.monotonic() < deadline, f"the run did not finish: {logs['summary']}"
        await anyio.sleep(1.0)
    assert logs["runSucceeded"] is True and logs["logs"], logs["summary"]

    debug = _ok(await agent.call("graphql_query", {"query": DEBUG}), "12 debugging query")["data"]
    assigned_pickles = [m["computePickleUpload"] for m in debug["account"]["models"] if m["computePickleUpload"]]
    ours_debug = next(p for p in assigned_pickles if p["filename"] == auth["uploadAuth"]["filename"])
    assert ours_debug["validationStatus"] == "validated" and ours_debug["triggers"]
    return {"model_id": model_id, "pickle_id": pickle_id, "registered": registered, "put": put}


@pytest.fixture(scope="session")
def pickles(test_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A good 1-argument predict built by each Python's pinned runtime (written by that Python, as users do)."""
    folder = tmp_path_factory.mktemp("skill-pickles")
    return {python: build_pickle(python, GOOD_ONE_ARG, folder / f"model_{python}.pkl", cache_dir=test_cache_dir)
            for python in ("3.11", "3.12")}


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _check_registration(walked: dict[str, Any], python: str, emulator: Any | None) -> None:
    registered = walked["registered"]
    assert walked["put"]["pythonVersion"] == python
    assert registered["dockerImage"]["pythonVersion"] == python, registered["summary"]
    assert registered["dockerImage"]["chosenBecause"] == f"matched to the pickle's Python {python}"
    if emulator is not None:  # what the emulator itself recorded
        stored = next(p for p in emulator.state()["pickles"] if p["id"] == walked["pickle_id"])
        assert re.search(rf"py_?{python.replace('.', '_')}|Python {python}", str(stored)), stored


@pytest.mark.parametrize("python", ["3.11", "3.12"])
async def test_the_skill_against_serve_sandbox_with_a_new_server_per_call(
        python: str, pickles: dict[str, Path], test_cache_dir: Path, tmp_path: Path, sandbox_home: Path) -> None:
    """`serve --sandbox` per call: every process attaches to the user's one shared emulator, so the presigned URL,
    the slot and the upload carry from call to call. 3.11 through the Inspector CLI, 3.12 through the SDK."""
    home = tmp_path / "home"
    home.mkdir()
    env = minimal_env(home, NUMERAI_MCP_CACHE_DIR=str(test_cache_dir), NUMERAI_MCP_SANDBOX_HOME=str(sandbox_home))
    agent: Agent
    if python == "3.11":
        agent = InspectorClient(install_inspector(test_cache_dir), env, server_args=["--sandbox"])
    else:
        agent = StdioPerCallClient(env, server_args=["--sandbox"], errlog=tmp_path / "servers.stderr")
    walked = await walk_the_skill(agent, pickles[python], model_name=_name("sbx"))
    _check_registration(walked, python, None)
    assert len(emulator_processes(sandbox_home.resolve())) == 1  # one emulator served every process


@pytest.mark.parametrize("python", ["3.11", "3.12"])
async def test_the_skill_with_the_inspector_and_a_new_server_per_call(
        python: str, pickles: dict[str, Path], emulator: Any, test_cache_dir: Path, tmp_path: Path) -> None:
    """`numerai-mcp sandbox` + plain `serve`, one Inspector CLI process (and one server) per call."""
    home = tmp_path / "home"
    home.mkdir()
    agent = InspectorClient(install_inspector(test_cache_dir),
                            minimal_env(home, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth,
                                        NUMERAI_MCP_CACHE_DIR=str(test_cache_dir)))
    walked = await walk_the_skill(agent, pickles[python], model_name=_name("insp"))
    _check_registration(walked, python, emulator)
    assert len(agent.calls) >= 14  # every one of them a new server process


async def test_the_skill_in_one_long_lived_session(pickles: dict[str, Path], emulator: Any, test_cache_dir: Path,
                                                   tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = minimal_env(home, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth,
                      NUMERAI_MCP_CACHE_DIR=str(test_cache_dir))
    params = StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve"], env=env)
    with (tmp_path / "server.stderr").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            walked = await walk_the_skill(SessionClient(client), pickles["3.11"], model_name=_name("session"))
    _check_registration(walked, "3.11", emulator)


async def test_the_skill_with_the_sdk_stdio_client_and_a_new_server_per_call(
        pickles: dict[str, Path], emulator: Any, test_cache_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    agent = StdioPerCallClient(minimal_env(home, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth,
                                           NUMERAI_MCP_CACHE_DIR=str(test_cache_dir)),
                               errlog=tmp_path / "servers.stderr")
    walked = await walk_the_skill(agent, pickles["3.11"], model_name=_name("stdio"))
    _check_registration(walked, "3.11", emulator)
