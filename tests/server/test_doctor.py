"""`numerai-mcp doctor` says what works and how to fix what does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from numerai_mcp.emulator.home import SandboxHome
from tests.support.processes import isolated_env
from tests.support.secret_watch import WATCH
from tests.support.shared_sandbox import register_secrets, sandbox_home  # noqa: F401 - fixture


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with a HOME of its own (doctor reads the client configs under HOME), where the pyenv
    interpreters are still found."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    return isolated_env(tmp_path, HOME=str(home), PYENV_ROOT=pyenv, **extra)


def _doctor(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "doctor", "--json", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    WATCH.observe("doctor output", done.stdout + done.stderr)
    return done.returncode, json.loads(done.stdout)


def test_doctor_passes_against_a_working_api_and_key(emulator: Any, tmp_path: Path, test_cache_dir: Path) -> None:
    env = _env(tmp_path, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth,
                       NUMERAI_MCP_CACHE_DIR=str(test_cache_dir))
    code, report = _doctor(env)
    areas = {f["area"]: f for f in report["findings"]}
    assert code == 0 and report["ok"] is True
    assert areas["api"]["ok"] and areas["credentials"]["ok"] and areas["python 3.12"]["ok"] and areas["uv"]["ok"]
    assert emulator.auth.split("$")[1] not in json.dumps(report)


def test_doctor_fails_with_fixes_when_the_api_is_unreachable_or_the_key_missing(emulator: Any, tmp_path: Path) -> None:
    code, report = _doctor(_env(tmp_path, NUMERAI_API_URL="http://127.0.0.1:9"))
    api = next(f for f in report["findings"] if f["area"] == "api")
    assert code == 1 and not api["ok"] and "NUMERAI_API_URL" in api["fix"]
    code, report = _doctor(_env(tmp_path, NUMERAI_API_URL=emulator.url))
    creds = next(f for f in report["findings"] if f["area"] == "credentials")
    assert code == 1 and not creds["ok"] and "numerai-mcp install" in creds["fix"]


def test_doctor_sandbox_checks_the_shared_emulator_and_not_the_real_api(tmp_path: Path, test_cache_dir: Path,
                                                                         sandbox_home: Path) -> None:
    """Wired to the sandbox: an unreachable real API and a missing (or malformed) real key are not problems."""
    env = _env(tmp_path, NUMERAI_API_URL="http://127.0.0.1:9", NUMERAI_MCP_AUTH="malformed",
                       NUMERAI_MCP_CACHE_DIR=str(test_cache_dir), NUMERAI_MCP_SANDBOX_HOME=str(sandbox_home))
    code, report = _doctor(env, "--sandbox")
    register_secrets(sandbox_home)
    areas = {f["area"]: f for f in report["findings"]}
    url = SandboxHome(sandbox_home).read_record()["url"]  # type: ignore[index]
    assert code == 0 and report["ok"] is True, report
    assert areas["sandbox"]["ok"] and url in areas["sandbox"]["detail"] and "started now" in areas["sandbox"]["detail"]
    assert areas["api"]["ok"] and areas["api"]["detail"].startswith(url) and "127.0.0.1:9" not in json.dumps(report)
    assert areas["credentials"]["ok"] and "'demo'" in areas["credentials"]["detail"]

    again_code, again = _doctor(env, "--sandbox")  # the next check finds it running
    assert again_code == 0 and "already running" in {f["area"]: f for f in again["findings"]}["sandbox"]["detail"]
