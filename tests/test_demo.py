"""`numerai-mcp demo`, the README's first command: the whole story, as a user runs it, on the user's shared
sandbox without touching what the user keeps there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from numerai_mcp.emulator.home import SandboxHome
from tests.support.processes import isolated_env
from tests.support.secret_watch import WATCH
from tests.support.shared_sandbox import (
    emulator_processes,
    one_call,
    register_secrets,
    sandbox_home,  # noqa: F401 - fixture
    serve_env,
)

pytestmark = pytest.mark.slow


def _demo(tmp_path: Path, cache: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = isolated_env(tmp_path, NUMERAI_MCP_CACHE_DIR=str(cache), NUMERAI_MCP_SANDBOX_HOME=str(home))
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "demo", *args], env=env, capture_output=True,
                          text=True, timeout=900)
    register_secrets(home)  # the walkthrough's own key, derived from the sandbox's master key
    WATCH.observe("demo output", done.stdout + done.stderr)
    return done


def _models_by_account(home: Path) -> dict[str, list[str]]:
    world = json.loads(SandboxHome(home).state_file.read_text())
    names = {a["id"]: a["username"] for a in world["accounts"].values()}
    found: dict[str, list[str]] = {}
    for model in world["models"].values():
        found.setdefault(names[model["account_id"]], []).append(model["name"])
    return found


@pytest.mark.anyio
async def test_demo_runs_every_step_on_the_users_sandbox_and_leaves_it_as_it_was(
        tmp_path: Path, test_cache_dir: Path, sandbox_home: Path) -> None:
    # the user's own sandbox, running, with a slot of theirs in the demo account
    await one_call(serve_env(tmp_path, sandbox_home, test_cache_dir), tmp_path, "create_model",
                   {"name": "users_slot", "confirm": True})
    running = SandboxHome(sandbox_home).read_record()
    before = _models_by_account(sandbox_home)

    done = _demo(tmp_path, test_cache_dir, sandbox_home)
    assert done.returncode == 0, done.stdout + done.stderr
    after = _models_by_account(sandbox_home)
    assert after["demo"] == before["demo"] == ["demo_model", "users_slot"]
    walkthroughs = [name for name in after if name.startswith("walkthrough_")]
    assert len(walkthroughs) == 1 and len(after[walkthroughs[0]]) == 1
    assert emulator_processes(sandbox_home.resolve()) == [running["pid"]]  # type: ignore[index]
    assert "already running" in done.stdout and walkthroughs[0] in done.stdout
    out = done.stdout
    for step in ("check_api_credentials", "create_model", "build_pickle", "validate_pickle", "operation='upload'",
                 "wait=true", "operation='assign'", "operation='trigger'", "operation='get_logs'"):
        assert step in out
    assert "All 13 steps passed" in out and "validationStatus: validated" in out and "PASS" in out
    assert "→ yes (the demo answers for you)" in out  # the confirmations went through elicitation


def test_demo_exits_non_zero_when_a_step_fails_and_stops_the_emulator_it_started(
        tmp_path: Path, test_cache_dir: Path, sandbox_home: Path) -> None:
    done = _demo(tmp_path, test_cache_dir, sandbox_home, "--python", "3.9")  # Numerai has no 3.9 runtime
    assert done.returncode == 1
    assert "FAILED" in done.stdout and "DEMO FAILED" in done.stdout and "All 13 steps passed" not in done.stdout
    assert "started now, fresh state" in done.stdout and "Stopped the sandbox emulator this demo started" in done.stdout
    assert not emulator_processes(sandbox_home.resolve())
