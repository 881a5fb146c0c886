"""`numerai-mcp sandbox` as a user runs it: two export lines on stdout, refusal of remote
binds, clean stop on SIGTERM; and start_emulator's error when the process cannot start."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from numerai_mcp.emulator.control import EmulatorError, start_emulator


def _sandbox(data_dir: Path | None, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMERAI")}
    where = ["--data-dir", str(data_dir)] if data_dir else []
    return subprocess.Popen([sys.executable, "-m", "numerai_mcp", "sandbox", *where, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def _healthy(url: str, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return httpx.get(f"{url}/_emulator/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            time.sleep(0.05)
    return False


def test_stdout_is_exactly_two_eval_able_export_lines() -> None:
    proc = _sandbox(None, "--port", "0")
    try:
        first, second = proc.stdout.readline(), proc.stdout.readline()  # type: ignore[union-attr]
        assert first.startswith("export NUMERAI_API_URL=http://127.0.0.1:")
        assert second.startswith("export NUMERAI_MCP_AUTH='Token ") and second.endswith("'\n")
        port = int(first.strip().rsplit(":", 1)[1])
        assert port > 0
        shell = subprocess.run(["sh", "-c", f'{first}{second}printf "%s\\n%s" "$NUMERAI_API_URL" "$NUMERAI_MCP_AUTH"'],
                               capture_output=True, text=True, check=True)
        url, auth = shell.stdout.splitlines()
        assert _healthy(url)
        info = httpx.post(f"{url}/", json={"query": "{ apiTokenInfo { accountUsername } }"},
                          headers={"Authorization": auth}).json()
        assert info["data"]["apiTokenInfo"]["accountUsername"] == "demo"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == "", "nothing but the two export lines may go to stdout"
    assert "Application shutdown complete" in err
    temp_data = re.search(r"\(data (\S+), state in memory\)", err)
    assert temp_data and not Path(temp_data.group(1)).exists(), "the temp data dir must be removed at exit"


def test_non_loopback_host_is_refused_unless_allowed(tmp_path: Path) -> None:
    proc = _sandbox(tmp_path / "data", "--host", "0.0.0.0", "--port", "0")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == ""
    assert "refusing to bind 0.0.0.0" in err and "--allow-remote" in err


@pytest.mark.parametrize("args", [["--error-rate", "2"], ["--python", "nonsense"], ["--url-lifetime", "0"]])
def test_bad_flags_exit_2_with_the_reason(tmp_path: Path, args: list[str]) -> None:
    proc = _sandbox(tmp_path / "data", *args)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == "" and "error: argument" in err


def test_start_emulator_reports_the_processs_own_error(tmp_path: Path) -> None:
    with pytest.raises(EmulatorError) as failure:
        with start_emulator(data_dir=tmp_path, extra_args=["--host", "192.0.2.1"]):
            pass
    message = str(failure.value)
    assert "did not print its two export lines" in message and "refusing to bind 192.0.2.1" in message


def test_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    with start_emulator(data_dir=tmp_path) as emulator:
        pid = emulator.process.pid
        emulator.stop()
        emulator.stop()  # idempotent
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_stopping_during_a_validation_leaves_no_sandbox_behind(tmp_path: Path, test_cache_dir: Path) -> None:
    """The harness sandbox runs in its own session; stopping the emulator must still end it."""
    from numerai_mcp.emulator.reaper import descendants
    from tests.support.emulator_api import Gql, pickle_view, upload_pickle
    from tests.support.pickles import build_pickle

    sleeper = """
import time
import pandas as pd
def predict(live_features):
    time.sleep(300)
    return pd.DataFrame({"prediction": 0.5}, index=live_features.index)
"""
    path = build_pickle("3.12", sleeper, tmp_path / "sleeper.pkl", cache_dir=test_cache_dir)
    with start_emulator(data_dir=tmp_path / "data", cache_dir=test_cache_dir) as emulator:
        api = Gql(emulator.url, emulator.auth)
        created = upload_pickle(api, path, model_id=None, python="3.12")
        deadline = time.monotonic() + 120
        while not any("runner" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
                      for p in descendants(emulator.process.pid) if _alive(p)):
            assert time.monotonic() < deadline, pickle_view(api, created["id"])
            time.sleep(0.2)
        started = descendants(emulator.process.pid)
        emulator.stop()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in started if _alive(p)]
