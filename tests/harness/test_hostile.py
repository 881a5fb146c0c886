"""Hostile pickles against the whole validation, run as root and as an ordinary user (uid 65534).

Each attack is a real pickle validated by a new `numerai-mcp validate --json` process started with
a client's minimal environment, as that user, whose HOME holds marker credentials, an ssh key, an
agent config, a shell rc file and a project. For every attack: the verdict is what it must be, no
marker appears in any output, nothing in HOME (or /run/lock, or a host listener) was touched,
nothing is left running, and the validating process's own memory stays bounded.

Limits are scaled where the attack is about the limit, not its size (1 GiB instead of 4 GiB for
memory across processes): the code path is the same.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import unprivileged
from tests.support.pickles import build_pickle, malicious_pickle

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bubblewrap sandbox: Linux only")]

USERS = ["root", "uid65534"]
PARENT_RSS_LIMIT_MB = 400
GOOD = "return pd.DataFrame({'prediction': live.iloc[:, 2].rank(pct=True)}, index=live.index)"


@dataclass(frozen=True)
class Attack:
    source: str                      # predict's body; HOME, PORT, SOCKET and ROOT_MARKER are filled in
    timeout_s: float = 60.0
    memory_mb: float | None = None
    allow_unsafe: bool = False
    reduce_marker: bool = False      # a __reduce__ payload instead of a predict function


ATTACKS: dict[str, Attack] = {
    # the rows, one pickle each
    "read_and_raise_secrets": Attack(
        "parts = [open(HOME + name).read() for name in ('/.config/numerai-mcp/credentials', '/.ssh/id_rsa',"
        " '/.codex/config.toml')]\n    raise RuntimeError('stolen: ' + ' | '.join(parts))"),
    "probe_everything": Attack("""escaped = []
    def attempt(label, action):
        try:
            result = action()
        except Exception:
            return
        if result is not False:
            escaped.append(label + ': ' + repr(result)[:200])
    for path in [HOME + '/.config/numerai-mcp/credentials', HOME + '/.ssh/id_rsa', HOME + '/.codex/config.toml',
                 HOME + '/project/model.py', '/root/.ssh/id_rsa', '/etc/shadow', '/root/.bash_history',
                 '/run/user/0/bus']:
        attempt('read ' + path, lambda p=path: open(p).read())
    for path in [HOME + '/.bashrc', HOME + '/.ssh/authorized_keys', HOME + '/project/model.py']:
        attempt('append ' + path, lambda p=path: open(p, 'a').write('PWNED'))
    attempt('tcp to the host', lambda: socket.create_connection(('127.0.0.1', PORT), timeout=2))
    attempt('tcp to the internet', lambda: socket.create_connection(('1.1.1.1', 53), timeout=2))
    attempt('unix socket under /run', lambda: socket.socket(socket.AF_UNIX).connect(SOCKET))
    libc = ctypes.CDLL(None, use_errno=True)
    attempt('session keyring', lambda: libc.syscall(250, 6, ctypes.c_long(-3), ctypes.create_string_buffer(64), 64)
            >= 0 or False)
    def host_processes():
        seen = []
        for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
            try:
                if ROOT_MARKER.encode() in open('/proc/%s/environ' % pid, 'rb').read():
                    seen.append(pid)
            except OSError:
                pass
        return seen or False
    attempt('host processes', host_processes)
    os.makedirs('/run/lock', exist_ok=True)
    open('/run/lock/numerai-mcp-pwned', 'w').write('x')  # lands in the sandbox's own /run
    if escaped:
        raise RuntimeError('ESCAPED ' + ' ; '.join(escaped))
    """ + GOOD),
    "forged_result_then_exit": Attack("""claim = {'version': 2, 'stage': 'done', 'error_kind': None, 'returned': 'DataFrame',
             'ok': True, 'checks': [{'name': 'numerai: range', 'status': 'pass', 'message': 'ok'}]}
    os.write(int(os.environ['NUMERAI_MCP_FD_STATUS']), (json.dumps(claim) + '\\n').encode())
    for path in ['result.json', '/tmp/result.json', HOME + '/result.json']:
        try:
            open(path, 'w').write(json.dumps(claim))
        except OSError:
            pass
    os._exit(0)"""),
    "fifo_results_then_exit": Attack("""for name in ('NUMERAI_MCP_FD_STATUS', 'NUMERAI_MCP_FD_PREDICTIONS'):
        path = '/tmp/fifo-' + name
        os.mkfifo(path)
        os.dup2(os.open(path, os.O_RDWR), int(os.environ[name]))
    for path in ['/tmp/result.json', 'result.json']:
        os.mkfifo(path)
    os._exit(0)""", timeout_s=20.0),
    "huge_results": Attack("""chunk = b'{' + b'x' * (1024 * 1024 - 2) + b'\\n'
    for name in ('NUMERAI_MCP_FD_STATUS', 'NUMERAI_MCP_FD_PREDICTIONS'):
        fd = int(os.environ[name])
        for _ in range(480):
            os.write(fd, chunk)
    os._exit(0)"""),
    "nested_and_oversized_results": Attack("""status = int(os.environ['NUMERAI_MCP_FD_STATUS'])
    os.write(status, b'{"version": 2, "stage": "done", "x": ' + b'[' * 60000 + b']' * 60000 + b'}\\n')
    os.write(status, b'[' * (8 * 1024 * 1024) + b'\\n')
    predictions = int(os.environ['NUMERAI_MCP_FD_PREDICTIONS'])
    os.write(predictions, b'id,prediction\\n' + b'n1,' + b'9' * (10 * 1024 * 1024) + b'\\n')
    os._exit(0)"""),
    "memory_in_three_processes": Attack("""code = "x = bytes(range(256)) * (400 * 1024**2 // 256); import time; time.sleep(120)  # hold-400"
    children = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(3)]
    time.sleep(120)""", memory_mb=1024),
    "widened_cpu_affinity": Attack("""os.sched_setaffinity(0, range(os.cpu_count()))
    import threading
    def spin():
        while True:
            pass
    for _ in range(2):
        threading.Thread(target=spin, daemon=True).start()
    time.sleep(120)"""),
    "fork_bomb": Attack("""while True:
        try:
            os.fork()
        except OSError:
            pass""", timeout_s=10.0),
    "six_gigabytes": Attack("big = np.ones(6 * 1024**3 // 8)\n    return big"),
    "infinite_loop": Attack("while True:\n        pass", timeout_s=5.0),
    "detached_daemon": Attack("""if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv('/bin/sleep', ['sleep', '31415'])
        os._exit(0)
    """ + GOOD),
    "five_gigabyte_file": Attack("""with open('/tmp/big', 'wb') as handle:
        for _ in range(5 * 1024):
            handle.write(b'z' * 1024 * 1024)
    """ + GOOD),
    "one_gigabyte_stdout": Attack("""chunk = b'o' * (1024 * 1024)
    for _ in range(1024):
        sys.stdout.buffer.write(chunk)
    sys.stdout.flush()
    """ + GOOD),
    "kill_parent": Attack("os.kill(os.getppid(), signal.SIGKILL)\n    time.sleep(60)"),
    "reduce_payload": Attack("", allow_unsafe=True, reduce_marker=True),
}

# what each attack's verdict must be: (passes?, failed check, text in its message)
EXPECTED: dict[str, tuple[bool, str | None, str | None]] = {
    "read_and_raise_secrets": (False, "numerai: run predict", "No such file or directory"),
    "probe_everything": (True, None, None),
    "forged_result_then_exit": (False, "numerai: run predict", "predict returned no predictions"),
    "fifo_results_then_exit": (False, "numerai: run predict", "predict returned no predictions"),
    "huge_results": (False, "numerai: run predict", "wrote more than 64 MiB of predictions"),
    "nested_and_oversized_results": (False, "numerai: run predict", "not valid CSV"),
    "memory_in_three_processes": (False, "numerai: run predict", "used more than 1 GB of memory across"),
    "widened_cpu_affinity": (False, "numerai: run predict", "used more than 1 CPU"),
    "fork_bomb": (False, "numerai: run predict", None),
    "six_gigabytes": (False, "numerai: run predict", "Unable to allocate 6.00 GiB"),
    "infinite_loop": (False, "numerai: run predict", "Stopped after 5 s"),
    "detached_daemon": (True, None, None),
    # ENOSPC from the capped /tmp or EFBIG from the file size limit, whichever comes first
    "five_gigabyte_file": (False, "numerai: run predict", "[Errno 2"),
    "one_gigabyte_stdout": (True, None, None),
    "kill_parent": (False, "numerai: run predict", "exit status 137"),
    "reduce_payload": (False, None, None),
}

HEADER = """import ctypes, json, os, signal, socket, subprocess, sys, time
import numpy as np
import pandas as pd
HOME = {home!r}
PORT = {port!r}
SOCKET = {socket!r}
ROOT_MARKER = {root_marker!r}
def predict(live):
    """


@dataclass
class Outcome:
    verdict: dict[str, Any]
    stdout: str
    stderr: str
    exit_status: int
    wall_s: float
    maxrss_mb: float


@dataclass
class Victim:
    name: str
    user: unprivileged.User
    files: dict[str, Path]
    secret: str
    outcomes: dict[str, Outcome]
    home_before: dict[str, str]
    home_after: dict[str, str]
    reduce_marker: Path
    accepted: int
    env: dict[str, str]


def _host_listeners() -> tuple[socket.socket, socket.socket, Path]:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    tcp.settimeout(0.2)
    path = Path("/run") / f"numerai-mcp-hostile-{os.getpid()}.sock" if os.geteuid() == 0 else None
    unix = socket.socket(socket.AF_UNIX)
    if path is None:
        path = Path(f"/tmp/numerai-mcp-hostile-{os.getpid()}.sock")
    unix.bind(str(path))
    path.chmod(0o777)
    unix.listen()
    unix.settimeout(0.2)
    return tcp, unix, path


def _accepted(*listeners: socket.socket) -> int:
    count = 0
    for listener in listeners:
        try:
            listener.accept()[0].close()
            count += 1
        except OSError:
            pass
    return count


def _validate(user: unprivileged.User, pickle: Path, attack: Attack, env: dict[str, str]) -> Outcome:
    """One `numerai-mcp validate --json` process as `user`; its own peak memory is read from /proc (VmHWM)."""
    argv = [str(user.python), "-m", "numerai_mcp", "validate", str(pickle), "--json", "--backend", "local",
            "--timeout", str(attack.timeout_s)]
    if attack.memory_mb:
        argv += ["--memory-mb", str(attack.memory_mb)]
    if attack.allow_unsafe:
        argv.append("--allow-unsafe")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(user.command(argv), env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   cwd="/")
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(process.pid))
            if time.monotonic() - started > attack.timeout_s + 240:
                process.kill()
                process.wait()
                raise AssertionError(f"the validation of {pickle.name} never ended")
            time.sleep(0.05)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    try:
        verdict = json.loads(stdout)
    except ValueError:
        raise AssertionError(f"no verdict JSON (exit {process.returncode}):\n{stdout[-2000:]}\n{stderr[-3000:]}") from None
    return Outcome(verdict, stdout, stderr, process.returncode, wall, peak_kb / 1024)


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _pickles(victim_home: Path, port: int, sock: Path, root_marker: str, reduce_marker: Path,
             cache: Path, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    built = {}
    for name, attack in ATTACKS.items():
        target = folder / f"{name}.pkl"
        if attack.reduce_marker:
            target.write_bytes(malicious_pickle("os_system", reduce_marker))
        else:
            source = HEADER.format(home=str(victim_home), port=port, socket=str(sock), root_marker=root_marker)
            shutil.copyfile(build_pickle("3.12", source + attack.source + "\n", folder / "tmp.pkl", cache_dir=cache),
                            target)
        target.chmod(0o644)
        built[name] = target
    return built


@pytest.fixture(scope="module", params=USERS)
def victim(request: pytest.FixtureRequest, test_cache_dir: Path, runtime312) -> Victim:  # type: ignore[no-untyped-def]
    name = request.param
    uid = 0 if name == "root" else unprivileged.NOBODY
    if name == "root" and os.geteuid() != 0:
        pytest.skip("the root run needs root")
    if name != "root" and os.geteuid() != 0:
        pytest.skip("switching to uid 65534 needs root")
    area = unprivileged.area(test_cache_dir) / f"victim-{uid}"
    area.mkdir(parents=True, exist_ok=True)
    area.chmod(0o755)
    home = area / "home"
    secret = "SECRETMARKER" + secrets.token_hex(12)
    files = unprivileged.write_home(home, uid, secret)
    if uid == 0:
        user = unprivileged.User(0, area, home, Path(sys.executable), test_cache_dir)
        env = {**user.env(), "PYENV_ROOT": os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))}
        env.pop("UV_CACHE_DIR")
    else:
        user = unprivileged.provision(test_cache_dir, home, uid)
        env = user.env()
    root_marker = "HOSTMARKER" + secrets.token_hex(8)
    env.update(NUMERAI_MCP_TEST_HOST_MARKER=root_marker,  # in the validating process's environment only
               NUMERAI_API_URL="http://127.0.0.1:9",      # no live-data download: synthetic data
               NUMERAI_MCP_CREDENTIALS_FILE=str(area / "no-credentials"))  # the marker file is loot, not config
    tcp, unix, sock = _host_listeners()
    reduce_marker = Path("/tmp") / f"numerai-mcp-reduce-{uid}-{os.getpid()}"
    pickles = _pickles(home, tcp.getsockname()[1], sock, root_marker, reduce_marker, test_cache_dir,
                       area / "pickles")
    lock_before = sorted(os.listdir("/run/lock")) if os.path.isdir("/run/lock") else []
    before = unprivileged.tree_digest(home)
    outcomes = {}
    from numerai_mcp.harness.sandbox import kernel_caps_processes

    try:
        for attack_name, attack in ATTACKS.items():
            if attack_name == "fork_bomb" and uid == 0 and not kernel_caps_processes():
                continue  # root without a pids cgroup: a fork bomb would fill a shared host's PID space first
            outcomes[attack_name] = _validate(user, pickles[attack_name], attack, env)
        accepted = _accepted(tcp, unix)
    finally:
        tcp.close()
        unix.close()
        sock.unlink(missing_ok=True)
    assert sorted(os.listdir("/run/lock")) == lock_before if os.path.isdir("/run/lock") else True
    return Victim(name, user, files, secret, outcomes, before, unprivileged.tree_digest(home), reduce_marker,
                  accepted, env)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_is_contained(victim: Victim, attack: str) -> None:
    if attack not in victim.outcomes:
        pytest.skip("root without a pids cgroup: the fork bomb is not run on a shared host")
    outcome = victim.outcomes[attack]
    verdict = outcome.verdict
    passes, check, text = EXPECTED[attack]
    assert verdict["passed"] is passes, (attack, verdict["summary"], verdict["log_tail"][-5:])
    if check is not None:
        failed = next(c for c in verdict["checks"] if c["name"] == check)
        assert failed["status"] == "fail" and failed["fix"], failed
        if text is not None:
            assert text in failed["message"], failed["message"]
    everything = outcome.stdout + outcome.stderr
    assert victim.secret not in everything and "SECRETMARKER" not in everything
    assert "ESCAPED" not in everything and "HOSTMARKER" not in everything
    assert outcome.wall_s < ATTACKS[attack].timeout_s + 60, outcome.wall_s
    assert outcome.maxrss_mb < PARENT_RSS_LIMIT_MB, f"the validating process grew to {outcome.maxrss_mb:.0f} MB"


def test_nothing_of_the_users_changed_and_nothing_was_reached(victim: Victim) -> None:
    assert victim.home_after == victim.home_before
    assert victim.accepted == 0, "a sandboxed pickle reached a listener on the host"
    assert not victim.reduce_marker.exists()


def test_limit_failures_finish_within_the_timeout(victim: Victim) -> None:
    """A run that hangs on a FIFO or loops forever ends within its timeout plus a few seconds."""
    for name in ("fifo_results_then_exit", "infinite_loop", "fork_bomb"):
        if name not in victim.outcomes:
            continue
        total = victim.outcomes[name].verdict["timings"]["total"]
        assert total < ATTACKS[name].timeout_s + 10, (name, total)


def test_nothing_is_left_running(victim: Victim) -> None:
    for needle in ("sleep 31415", "hold-400", "numerai-mcp-sandbox"):
        for _ in range(50):
            ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
            if needle not in ps:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"'{needle}' is still running after the {victim.name} run")


def test_the_daemon_was_reported_and_the_users_pickles_still_pass(victim: Victim, fixture_pickle: Path) -> None:
    leftover = next(c for c in victim.outcomes["detached_daemon"].verdict["checks"]
                    if c["name"] == "sandbox: leftover processes")
    assert leftover["status"] == "warn"
    fixture = victim.user.base / "fixture.pkl" if victim.name != "root" else fixture_pickle
    if victim.name != "root":
        shutil.copyfile(fixture_pickle, fixture)
        fixture.chmod(0o644)
    outcome = _validate(victim.user, fixture, Attack(""), victim.env)
    assert outcome.verdict["passed"], outcome.verdict["summary"]
    isolation = next(c for c in outcome.verdict["checks"] if c["name"] == "sandbox: isolation")
    assert isolation["status"] == "pass" and "bubblewrap" in isolation["message"]
