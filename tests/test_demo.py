"""`numerai-mcp demo`, the README's first command: the whole story, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import isolated_env
from tests.support.secret_watch import WATCH

pytestmark = pytest.mark.slow


def _demo(tmp_path: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = isolated_env(tmp_path, NUMERAI_MCP_CACHE_DIR=str(cache))
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "demo", *args], env=env, capture_output=True,
                          text=True, timeout=900)
    WATCH.observe("demo output", done.stdout + done.stderr)
    return done


def test_demo_runs_every_step_and_exits_zero(tmp_path: Path, test_cache_dir: Path) -> None:
    done = _demo(tmp_path, test_cache_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for step in ("check_api_credentials", "create_model", "build_pickle", "validate_pickle", "operation='upload'",
                 "wait=true", "operation='assign'", "operation='trigger'", "operation='get_logs'"):
        assert step in out
    assert "All 11 steps passed" in out and "validationStatus: validated" in out and "PASS" in out
    assert "→ yes (the demo answers for you)" in out  # the confirmations went through elicitation


def test_demo_exits_non_zero_when_a_step_fails(tmp_path: Path, test_cache_dir: Path) -> None:
    done = _demo(tmp_path, test_cache_dir, "--python", "3.9")  # Numerai has no 3.9 runtime
    assert done.returncode == 1
    assert "FAILED" in done.stdout and "DEMO FAILED" in done.stdout and "All 11 steps passed" not in done.stdout
