"""Driving the shared sandbox in tests: one sandbox home per test, a new server process per call, and a
check at the end that nothing was left running.

Each test gets its own sandbox home (NUMERAI_MCP_SANDBOX_HOME) while the runtime cache stays the
session's test cache, so the emulator validates uploads with runtimes that are already provisioned.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from numerai_mcp.emulator.home import SandboxHome
from numerai_mcp.emulator.shared import SandboxInUse, stop_shared_emulator
from tests.support.mcp_helpers import call
from tests.support.processes import isolated_env
from tests.support.secret_watch import WATCH


def serve_env(tmp_path: Path, home: Path, cache_dir: Path, *, idle_s: float | None = None, **extra: str) -> dict[str, str]:
    env = isolated_env(tmp_path, NUMERAI_MCP_CACHE_DIR=str(cache_dir), NUMERAI_MCP_SANDBOX_HOME=str(home), **extra)
    if idle_s is not None:
        env["NUMERAI_MCP_SANDBOX_IDLE_TIMEOUT"] = f"{idle_s:g}"
    return env


def serve_params(env: dict[str, str], *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve", "--sandbox", *args], env=env)


@contextmanager
def _errlog(tmp_path: Path) -> Iterator[Any]:
    with (tmp_path / "server-stderr.log").open("a") as handle:
        yield handle


async def one_call(env: dict[str, str], tmp_path: Path, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Start a server process, make one tool call, let the process go: what the Inspector CLI does."""
    with _errlog(tmp_path) as errlog:
        async with Client(stdio_client(serve_params(env), errlog=errlog)) as client:
            return await call(client, tool, arguments)


def server_stderr(tmp_path: Path) -> str:
    path = tmp_path / "server-stderr.log"
    text = path.read_text() if path.exists() else ""
    WATCH.observe("server stderr", text)
    return text


def emulator_processes(home: Path) -> list[int]:
    """Live (non-zombie) shared emulators serving `home`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and b"--shared" in argv and str(home).encode() in argv:
            found.append(int(entry.name))
    return found


def wait_until_stopped(home: Path, timeout_s: float = 60.0) -> None:
    """Block until no emulator holds the home's `running` lock (a blocking flock in a thread, no polling)."""
    done = threading.Event()

    def wait() -> None:
        fd = os.open(SandboxHome(home).running_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        finally:
            os.close(fd)
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    assert done.wait(timeout_s), f"the shared emulator of {home} still runs after {timeout_s:.0f} s"


def wait_for(predicate: Any, what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def register_secrets(home: Path) -> None:
    """Every key the sandbox ever issued and its control token (all derived from its master key) go on the
    session's secret watch."""
    import json

    from numerai_mcp.emulator.auth import auth_header, control_token

    state = SandboxHome(home).state_file
    if state.is_file():
        world = json.loads(state.read_text())
        for public_id in world.get("keys", {}):
            WATCH.add_secret_from_auth(auth_header(world["master_key"], public_id))
        WATCH.secrets.add(control_token(world["master_key"]))


def leaks_in(home: Path) -> list[str]:
    """Secrets found in any file of the sandbox home (state.json holds the master key, never a secret)."""
    from tests.support.secret_watch import small_files_we_wrote

    register_secrets(home)
    return WATCH.leaks(small_files_we_wrote(home))


@pytest.fixture
def sandbox_home(tmp_path: Path) -> Iterator[Path]:
    """A sandbox home of this test's own; at the end its emulator must be stoppable (no server process
    left attached) and is stopped, and no file in it may hold a secret."""
    home = tmp_path / "sandbox"
    yield home
    try:
        stop_shared_emulator(home)
    except SandboxInUse as exc:
        for pid in emulator_processes(home):  # ours to end: this test started it
            os.kill(pid, 9)
        pytest.fail(f"a server process outlived its test: {exc}")
    finally:
        leaks = leaks_in(home)
    assert not emulator_processes(home), "a shared emulator outlived its test"
    assert not leaks, leaks
