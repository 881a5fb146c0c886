"""`numerai-mcp serve --sandbox`: the embedded emulator starts with the server and dies with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.support.mcp_helpers import call
from tests.support.processes import isolated_env

pytestmark = pytest.mark.anyio


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_sandbox_server_authenticates_without_any_key(tmp_path: Path, test_cache_dir: Path) -> None:
    env = isolated_env(tmp_path, NUMERAI_MCP_CACHE_DIR=str(tmp_path / "cache"))
    params = StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve", "--sandbox"], env=env)
    async with Client(stdio_client(params, errlog=(tmp_path / "err").open("w"))) as client:
        report = await call(client, "check_api_credentials", {})
    assert report["authenticated"] and report["accountUsername"] == "demo" and report["apiUrl"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_the_sandbox_emulator_dies_with_the_server(tmp_path: Path, sig: signal.Signals) -> None:
    env = isolated_env(tmp_path, NUMERAI_MCP_CACHE_DIR=str(tmp_path / "cache"))
    server = subprocess.Popen([sys.executable, "-m", "numerai_mcp", "serve", "--sandbox"], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not (emulators := _children(server.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert emulators, "the sandbox emulator did not start"
        time.sleep(1.0)  # let it finish starting
        os.kill(server.pid, sig)
        server.wait(20)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in emulators) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in emulators), "the emulator outlived the server"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
