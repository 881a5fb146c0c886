"""`numerai-mcp doctor` says what works and how to fix what does not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.processes import isolated_env


def _doctor(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "doctor", "--json"], env=env, capture_output=True,
                          text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


def test_doctor_passes_against_a_working_api_and_key(emulator: Any, tmp_path: Path, test_cache_dir: Path) -> None:
    env = isolated_env(tmp_path, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth,
                       NUMERAI_MCP_CACHE_DIR=str(test_cache_dir))
    code, report = _doctor(env)
    areas = {f["area"]: f for f in report["findings"]}
    assert code == 0 and report["ok"] is True
    assert areas["api"]["ok"] and areas["credentials"]["ok"] and areas["python 3.12"]["ok"] and areas["uv"]["ok"]
    assert emulator.auth.split("$")[1] not in json.dumps(report)


def test_doctor_fails_with_fixes_when_the_api_is_unreachable_or_the_key_missing(emulator: Any, tmp_path: Path) -> None:
    code, report = _doctor(isolated_env(tmp_path, NUMERAI_API_URL="http://127.0.0.1:9"))
    api = next(f for f in report["findings"] if f["area"] == "api")
    assert code == 1 and not api["ok"] and "NUMERAI_API_URL" in api["fix"]
    code, report = _doctor(isolated_env(tmp_path, NUMERAI_API_URL=emulator.url))
    creds = next(f for f in report["findings"] if f["area"] == "credentials")
    assert code == 1 and not creds["ok"] and "install-mcp.sh" in creds["fix"]
