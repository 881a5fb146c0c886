"""`numerai-mcp serve --sandbox` attaches to one shared emulator per user.

Clients like the MCP Inspector CLI start a new server process for every call; these tests do the
same (a new `serve --sandbox` process per call, over real stdio) and check that what one process did
(a slot, a presigned URL, an uploaded pickle) is there for the next one, that a killed emulator comes
back with its state, that concurrent starts give one emulator, that a server leaving does not take the
emulator with it, and that the emulator stops by itself once idle.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from numerai_mcp.emulator.home import SandboxHome
from tests.support.mcp_helpers import call, copy_pickle
from tests.support.shared_sandbox import (
    emulator_processes,
    one_call,
    sandbox_home,  # noqa: F401 - fixture
    serve_env,
    serve_params,
    server_stderr,
    wait_for,
    wait_until_stopped,
)

pytestmark = pytest.mark.anyio

MODELS = "query { account { username models { id name } } }"


def _record(home: Path) -> dict[str, Any]:
    record = SandboxHome(home).read_record()
    assert record is not None, f"no emulator record in {home}"
    return record


async def _model_names(env: dict[str, str], tmp_path: Path) -> list[str]:
    found = await one_call(env, tmp_path, "graphql_query", {"query": MODELS})
    return [m["name"] for m in found["data"]["account"]["models"]]


async def test_sandbox_server_authenticates_without_any_key(tmp_path: Path, sandbox_home: Path) -> None:
    # a malformed real key in the environment plays no part in sandbox mode
    env = serve_env(tmp_path, sandbox_home, tmp_path / "cache", NUMERAI_MCP_AUTH="not-a-key")
    report = await one_call(env, tmp_path, "check_api_credentials", {})
    assert report["authenticated"] and report["accountUsername"] == "demo"
    assert report["apiUrl"] == _record(sandbox_home)["url"]
    assert "attached to the shared sandbox emulator" in server_stderr(tmp_path)


async def test_each_server_process_sees_what_the_previous_one_did(tmp_path: Path, sandbox_home: Path,
                                                                  test_cache_dir: Path) -> None:
    env = serve_env(tmp_path, sandbox_home, test_cache_dir)
    first = await one_call(env, tmp_path, "check_api_credentials", {})
    created = await one_call(env, tmp_path, "create_model", {"name": "shared_slot", "confirm": True})
    second = await one_call(env, tmp_path, "check_api_credentials", {})
    assert first["apiUrl"] == second["apiUrl"]
    assert "shared_slot" in await _model_names(env, tmp_path)
    assert created["id"]
    assert len(emulator_processes(sandbox_home)) == 1
    stderr = server_stderr(tmp_path)
    assert stderr.count("started now, fresh state") == 1 and stderr.count("already running") == 3


async def test_a_presigned_url_issued_in_one_process_is_put_by_another(tmp_path: Path, sandbox_home: Path,
                                                                     test_cache_dir: Path, fixture_pickle: Path) -> None:
    env = serve_env(tmp_path, sandbox_home, test_cache_dir)
    pickle_path = copy_pickle(fixture_pickle, tmp_path, "shared.pkl")
    model_id = (await one_call(env, tmp_path, "create_model", {"name": "url_slot", "confirm": True}))["id"]
    auth = (await one_call(env, tmp_path, "upload_model", {"operation": "get_upload_auth", "modelId": model_id,
                                                           "filename": "shared.pkl"}))["uploadAuth"]
    put = await one_call(env, tmp_path, "upload_model", {"operation": "put_file", "presignedUrl": auth["url"],
                                                         "localPath": str(pickle_path), "skipValidation": True})
    assert put["put"]["size"] == pickle_path.stat().st_size and put["put"]["attempts"] == 1
    created = await one_call(env, tmp_path, "upload_model", {"operation": "create", "modelId": model_id,
                                                             "filename": auth["filename"], "localPath": str(pickle_path)})
    assert created["dockerImage"]["pythonVersion"] == "3.12"
    listed = await one_call(env, tmp_path, "upload_model", {"operation": "list", "modelId": model_id})
    assert [p["id"] for p in listed["pickles"]] == [created["pickle"]["id"]]


async def _presigned_url_then_kill(env: dict[str, str], tmp_path: Path, home: Path,
                                   slot: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A slot and a presigned URL for it, then the emulator that issued them is SIGKILLed; returns the
    URL's uploadAuth and the dead emulator's record."""
    model_id = (await one_call(env, tmp_path, "create_model", {"name": slot, "confirm": True}))["id"]
    auth = (await one_call(env, tmp_path, "upload_model", {"operation": "get_upload_auth", "modelId": model_id,
                                                           "filename": f"{slot}.pkl"}))["uploadAuth"]
    record = _record(home)
    os.kill(record["pid"], signal.SIGKILL)
    wait_until_stopped(home)
    return auth, record


async def test_a_killed_emulator_is_restarted_with_its_state_on_its_port(tmp_path: Path, sandbox_home: Path,
                                                                        test_cache_dir: Path, fixture_pickle: Path) -> None:
    env = serve_env(tmp_path, sandbox_home, test_cache_dir)
    auth, before = await _presigned_url_then_kill(env, tmp_path, sandbox_home, "survivor")

    assert "survivor" in await _model_names(env, tmp_path)
    after = _record(sandbox_home)
    assert after["pid"] != before["pid"] and after["url"] == before["url"]
    assert "restarted with its saved state" in server_stderr(tmp_path)
    # the URL issued before the crash still works: same address, same signing key, not expired
    put = await one_call(env, tmp_path, "upload_model", {"operation": "put_file", "presignedUrl": auth["url"],
                                                         "localPath": str(copy_pickle(fixture_pickle, tmp_path)),
                                                         "skipValidation": True})
    assert put["put"]["attempts"] == 1


async def test_a_presigned_url_whose_emulator_is_gone_fails_fast_and_says_why(tmp_path: Path, sandbox_home: Path,
                                                                            test_cache_dir: Path, fixture_pickle: Path) -> None:
    env = serve_env(tmp_path, sandbox_home, test_cache_dir)
    auth, record = await _presigned_url_then_kill(env, tmp_path, sandbox_home, "gone_slot")
    # something else now holds the port without listening: connections to the old URL are refused and
    # the next emulator has to move to a new port
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", record["port"]))
    try:
        with (tmp_path / "server-stderr.log").open("a") as errlog:
            async with Client(stdio_client(serve_params(env), errlog=errlog)) as client:
                began = time.monotonic()
                result = await client.call_tool("upload_model", {
                    "operation": "put_file", "presignedUrl": auth["url"], "skipValidation": True,
                    "localPath": str(copy_pickle(fixture_pickle, tmp_path))})
                elapsed = time.monotonic() - began
    finally:
        squatter.close()
    message = " ".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error
    assert f"Nothing is listening at 127.0.0.1:{record['port']}" in message and "has stopped" in message
    assert "get_upload_auth" in message
    assert elapsed < 3.0, f"put_file took {elapsed:.1f} s to say the URL's emulator is gone"
    assert _record(sandbox_home)["port"] != record["port"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_server_that_leaves_leaves_the_emulator_running(tmp_path: Path, sandbox_home: Path, sig: signal.Signals) -> None:
    env = serve_env(tmp_path, sandbox_home, tmp_path / "cache")
    server = subprocess.Popen([sys.executable, "-m", "numerai_mcp", "serve", "--sandbox"], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        wait_for(lambda: SandboxHome(sandbox_home).attached_pids() == [server.pid], "the server to attach")
        emulator = _record(sandbox_home)["pid"]
        os.killpg(server.pid, sig)  # clients may signal the server's whole process group
        server.wait(20)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for stream in (server.stdin, server.stdout, server.stderr):
            stream.close()  # type: ignore[union-attr]
    assert emulator_processes(sandbox_home) == [emulator]
    assert SandboxHome(sandbox_home).emulator_running() and not SandboxHome(sandbox_home).anyone_attached()


async def test_the_emulator_stops_when_idle_and_comes_back_with_its_state(tmp_path: Path, sandbox_home: Path,
                                                                          test_cache_dir: Path) -> None:
    env = serve_env(tmp_path, sandbox_home, test_cache_dir, idle_s=1)
    with (tmp_path / "server-stderr.log").open("a") as errlog:
        async with Client(stdio_client(serve_params(env), errlog=errlog)) as client:
            await call(client, "create_model", {"name": "idle_slot", "confirm": True})
            log = SandboxHome(sandbox_home).log_file
            # idle past the timeout, yet attached: it must stay up and say why
            wait_for(lambda: "server processes are attached" in log.read_text(), "the emulator to notice its idle time")
            assert SandboxHome(sandbox_home).emulator_running()
            again = await call(client, "check_api_credentials", {})
            assert again["authenticated"]
    wait_until_stopped(sandbox_home)  # the server left: idle and alone, it stops by itself
    assert "stopping; the state stays on disk" in SandboxHome(sandbox_home).log_file.read_text()
    assert "idle_slot" in await _model_names(env, tmp_path)
    assert "restarted with its saved state" in server_stderr(tmp_path)


async def test_concurrent_server_processes_share_exactly_one_emulator(tmp_path: Path, sandbox_home: Path) -> None:
    env = serve_env(tmp_path, sandbox_home, tmp_path / "cache")
    urls: list[str] = []

    async def one() -> None:
        urls.append((await one_call(env, tmp_path, "check_api_credentials", {}))["apiUrl"])

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)
    assert len(urls) == 5 and len(set(urls)) == 1
    assert len(emulator_processes(sandbox_home)) == 1
    assert server_stderr(tmp_path).count("started now, fresh state") == 1


async def test_a_long_lived_server_restarts_an_emulator_that_died(tmp_path: Path, sandbox_home: Path) -> None:
    env = serve_env(tmp_path, sandbox_home, tmp_path / "cache")
    with (tmp_path / "server-stderr.log").open("a") as errlog:
        async with Client(stdio_client(serve_params(env), errlog=errlog)) as client:
            first = await call(client, "create_model", {"name": "kept_slot", "confirm": True})
            before = _record(sandbox_home)
            os.kill(before["pid"], signal.SIGKILL)
            wait_for(lambda: (r := SandboxHome(sandbox_home).read_record()) and r["pid"] != before["pid"]
                     and SandboxHome(sandbox_home).emulator_running(), "the server to restart its emulator")
            found = await call(client, "graphql_query", {"query": MODELS})
    assert first["id"] in [m["id"] for m in found["data"]["account"]["models"]]
    assert _record(sandbox_home)["url"] == before["url"]
    assert "it runs again at the same address with its state" in server_stderr(tmp_path)
