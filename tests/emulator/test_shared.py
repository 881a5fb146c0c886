"""The shared sandbox emulator as a library and a command: one per home however many attach at once,
stale records replaced, a stranger on the recorded port never mistaken for it, files without
secrets, `numerai-mcp sandbox --status/--stop`, and the idle stop of a foreground emulator."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from numerai_mcp.emulator.control import start_emulator
from numerai_mcp.emulator.home import SandboxHome
from numerai_mcp.emulator.shared import attach_shared_emulator, release
from tests.support.processes import isolated_env
from tests.support.secret_watch import WATCH
from tests.support.shared_sandbox import (
    emulator_processes,
    sandbox_home,  # noqa: F401 - fixture
    wait_for,
    wait_until_stopped,
)

_ATTACH = """
import json, sys
from pathlib import Path
from numerai_mcp.emulator.shared import attach_shared_emulator
emulator = attach_shared_emulator(Path(sys.argv[1]), home=Path(sys.argv[2]), hold=sys.argv[3] == "hold")
print(json.dumps({"url": emulator.url, "pid": emulator.pid, "how": emulator.how}), flush=True)
sys.stdin.read()  # stay attached until told to go
"""


def _attacher(tmp_path: Path, home: Path, *, hold: bool) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _ATTACH, str(tmp_path / "cache"), str(home), "hold" if hold else "look"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=isolated_env(tmp_path))


def _finish(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate("", timeout=120)
    assert process.returncode == 0, err
    return json.loads(out)


def _sandbox(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "numerai_mcp", "sandbox", "--shared", str(home), *args],
                          capture_output=True, text=True, timeout=120, env=isolated_env(home.parent))


def test_attach_starts_it_once_and_records_where_it_is_without_secrets(tmp_path: Path, sandbox_home: Path) -> None:
    first = attach_shared_emulator(tmp_path / "cache", home=sandbox_home, hold=False)
    WATCH.add_secret_from_auth(first.auth)
    again = attach_shared_emulator(tmp_path / "cache", home=sandbox_home, hold=False)
    assert (first.how, again.how) == ("started", "running")
    assert (again.url, again.pid, again.auth) == (first.url, first.pid, first.auth)
    assert first.auth not in repr(first)
    home = SandboxHome(sandbox_home.resolve())
    record = home.read_record()
    assert record is not None and record["url"] == first.url and record["pid"] == first.pid
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700 and stat.S_IMODE(home.state_file.stat().st_mode) == 0o600
    secret = first.auth.rsplit("$", 1)[1]
    for path in home.root.rglob("*"):
        assert not path.is_file() or secret.encode() not in path.read_bytes(), path
    info = httpx.post(first.url, json={"query": "{ apiTokenInfo { accountUsername } }"},
                      headers={"Authorization": first.auth}).json()
    assert info["data"]["apiTokenInfo"]["accountUsername"] == "demo"


def test_five_processes_attaching_at_once_get_one_emulator(tmp_path: Path, sandbox_home: Path) -> None:
    attachers = [_attacher(tmp_path, sandbox_home, hold=False) for _ in range(5)]
    seen = [_finish(p) for p in attachers]
    assert len({(s["url"], s["pid"]) for s in seen}) == 1
    assert sorted(s["how"] for s in seen) == ["running"] * 4 + ["started"]
    assert emulator_processes(sandbox_home.resolve()) == [seen[0]["pid"]]


def test_a_stranger_on_the_recorded_port_is_not_taken_for_the_sandbox(tmp_path: Path, sandbox_home: Path) -> None:
    """A dead emulator's record whose port now belongs to another program (here another emulator, which
    even answers the health check): attach starts a new emulator elsewhere and rewrites the record."""
    home = SandboxHome(sandbox_home.resolve()).ensure()
    with start_emulator(data_dir=tmp_path / "stranger") as stranger:
        home.write_record({"url": stranger.url, "host": "127.0.0.1", "port": stranger.port, "pid": 999999999})
        emulator = attach_shared_emulator(tmp_path / "cache", home=home.root, hold=False)
        assert emulator.how == "started" and emulator.port != stranger.port
        assert stranger.process is not None and emulator.pid != stranger.process.pid
    assert home.read_record()["pid"] == emulator.pid  # type: ignore[index]


@pytest.mark.slow
def test_an_emulator_that_stopped_answering_is_replaced(tmp_path: Path, sandbox_home: Path) -> None:
    frozen = attach_shared_emulator(tmp_path / "cache", home=sandbox_home, hold=False)
    os.kill(frozen.pid, signal.SIGSTOP)  # alive, holding its lock, answering nothing
    try:
        fresh = attach_shared_emulator(tmp_path / "cache", home=sandbox_home, hold=False)
    finally:
        try:
            os.kill(frozen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert fresh.pid != frozen.pid and fresh.how == "restarted" and fresh.url == frozen.url
    assert emulator_processes(sandbox_home.resolve()) == [fresh.pid]


def test_status_and_stop_from_the_command_line(tmp_path: Path, sandbox_home: Path) -> None:
    absent = _sandbox(sandbox_home, "--status")
    assert absent.returncode == 3 and "No shared sandbox yet" in absent.stdout
    holder = _attacher(tmp_path, sandbox_home, hold=True)
    try:
        started = json.loads(holder.stdout.readline())  # type: ignore[union-attr]
        status = _sandbox(sandbox_home, "--status")
        assert status.returncode == 0 and started["url"] in status.stdout and f"pid {started['pid']}" in status.stdout
        assert f"attached server processes: {holder.pid}" in status.stdout
        refused = _sandbox(sandbox_home, "--stop")
        assert refused.returncode == 1 and "in use by 1 server process" in refused.stderr
        assert emulator_processes(sandbox_home.resolve()) == [started["pid"]]
    finally:
        holder.communicate("", timeout=120)
    stopped = _sandbox(sandbox_home, "--stop")
    assert stopped.returncode == 0 and f"Stopped the shared sandbox emulator (pid {started['pid']})" in stopped.stdout
    assert not emulator_processes(sandbox_home.resolve())
    gone = _sandbox(sandbox_home, "--status")
    assert gone.returncode == 3 and "is not running" in gone.stdout and started["url"] in gone.stdout
    assert (sandbox_home / "state.json").is_file()
    for done in (absent, status, refused, stopped, gone):
        WATCH.observe("sandbox --status/--stop", done.stdout + done.stderr)


def test_a_second_emulator_for_the_same_home_refuses_to_start(tmp_path: Path, sandbox_home: Path) -> None:
    running = attach_shared_emulator(tmp_path / "cache", home=sandbox_home, hold=False)
    second = _sandbox(sandbox_home.resolve(), "--port", "0")
    assert second.returncode == 3 and "another emulator already serves" in second.stderr and second.stdout == ""
    assert SandboxHome(sandbox_home.resolve()).read_record()["pid"] == running.pid  # type: ignore[index]


def test_an_attached_process_keeps_it_up_past_its_idle_time_then_it_stops(tmp_path: Path, sandbox_home: Path) -> None:
    emulator = attach_shared_emulator(tmp_path / "cache", home=sandbox_home, idle_timeout_s=0.5)
    log = emulator.home.log_file
    try:
        wait_for(lambda: "server processes are attached" in log.read_text(), "the emulator to notice it is idle")
        assert emulator.home.emulator_running()
    finally:
        release(emulator.home)
    wait_until_stopped(emulator.home.root)
    assert "stopping; the state stays on disk" in log.read_text()


def test_a_foreground_sandbox_with_an_idle_timeout_exits_by_itself(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "sandbox", "--port", "0", "--idle-timeout", "0.5"],
                          capture_output=True, text=True, timeout=120, env=isolated_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("export NUMERAI_API_URL=") and "stopping; the state stays on disk" in done.stderr
    WATCH.add_secret_from_auth(done.stdout.splitlines()[1].split("'")[1])
    WATCH.observe("foreground sandbox stderr", done.stderr)


def test_its_control_api_is_locked_to_the_owner(tmp_path: Path, sandbox_home: Path) -> None:
    """It outlives any one server and holds the user's work: another local process must not reset it, mint
    keys, inject faults or read it without the token only the state's owner can derive."""
    emulator = attach_shared_emulator(tmp_path / "cache", home=sandbox_home, hold=False)
    WATCH.add_secret_from_auth(emulator.auth)
    attacks = [("POST", "reset", None), ("POST", "keys", {"scopes": ["upload_submission"]}),
               ("POST", "faults", {"error_rate": 1}), ("POST", "round", {"open": False}), ("GET", "state", None)]
    for token in (None, "Bearer " + "0" * 64, f"Token {emulator.control_token}"):
        for method, path, body in attacks:
            headers = {"Authorization": token} if token else {}
            refused = httpx.request(method, f"{emulator.url}/_emulator/{path}", json=body, headers=headers)
            assert refused.status_code == 401, (path, token, refused.text)
            assert emulator.control_token not in refused.text
    assert httpx.get(f"{emulator.url}/_emulator/health").json()["pid"] == emulator.pid
    owner = {"Authorization": f"Bearer {emulator.control_token}"}
    state = httpx.get(f"{emulator.url}/_emulator/state", headers=owner).json()
    assert [a["username"] for a in state["accounts"]] == ["demo"] and state["faults"]["error_rate"] == 0
    assert emulator.add_key(["read_user_info"], username="second").startswith("Token ")
    assert emulator.control_token not in repr(emulator)
