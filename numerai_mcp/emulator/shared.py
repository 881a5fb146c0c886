"""One sandbox per user, shared by every server process.

Clients such as the MCP Inspector CLI start a new server process for every call, so an emulator
that lived and died with its server would take every presigned URL and every model with it.
`serve --sandbox`, `demo` and `doctor --sandbox` therefore attach to one emulator per sandbox home
(`<cache>/sandbox`, see home.py):

    emu = attach_shared_emulator(settings.cache_dir)      # a health check when it runs, a start otherwise
    Settings(api_url=emu.url, credentials=Credentials.parse(emu.auth))

- Started on demand as a detached process (own session: it outlives the server and its process
  group), on the port it had before when that port is free, so the recorded address and presigned
  URLs it issued stay valid across restarts; its state (models, pickles, triggers) is reloaded.
- Exactly one per home, however many processes attach at once: attaching happens under an
  exclusive lock, and the emulator itself holds `running` for its life.
- Each attached process holds a shared lock on `attached` until it exits; the emulator stops by
  itself once nobody is attached and it has been idle for the idle timeout (default 30 minutes,
  NUMERAI_MCP_SANDBOX_IDLE_TIMEOUT seconds, 0 = never). A long-lived server that sees its
  emulator die (killed, crashed) restarts it (`keep_running`).
- No secret is written anywhere new: the demo key and the control API's token are derived from the
  state's master key, exactly as the emulator derives them (state.json is 0600 in a 0700 directory).
  Its control API (reset, new keys, faults) is locked to that token: the emulator outlives any one
  server and keeps the user's state, so another local user must not be able to reset it or mint keys.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from numerai_mcp.emulator.control import EmulatorError, EmulatorHandle, control_call, emulator_command, emulator_env
from numerai_mcp.emulator.home import LockTimeout, SandboxHome, default_home, flock_within, lock_holders

log = logging.getLogger("numerai_mcp.sandbox")

IDLE_ENV = "NUMERAI_MCP_SANDBOX_IDLE_TIMEOUT"
DEFAULT_IDLE_TIMEOUT_S = 1800.0
LOCK_WAIT_S = 90.0  # another process may be starting it (at most two 20 s start-ups) or an idle stop finishing
HEALTH_TIMEOUT_S = 5.0
UNRESPONSIVE_GRACE_S = 10.0  # alive but not answering: maybe still starting or shutting down; then it is hung
STOP_WAIT_S = 15.0
RESTARTS_PER_MINUTE = 3  # a long-lived server gives up restarting an emulator that keeps dying

_REAL_CREDENTIALS = ("NUMERAI_MCP_AUTH", "NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY", "NUMERAI_API_URL")
_LEASES: dict[Path, int] = {}  # sandbox home -> descriptor holding `attached` shared for this process's life
_LEASES_LOCK = threading.Lock()


class SandboxInUse(EmulatorError):
    """The shared emulator was not stopped because server processes are attached to it."""


@dataclass(frozen=True)
class SharedEmulator:
    """The user's shared emulator, as one attach found it."""

    url: str
    pid: int
    home: SandboxHome
    how: str  # "running" (found it), "started" (fresh state), "restarted" (with its saved state)
    auth: str = field(repr=False)  # the demo account's `Token PUBLIC$SECRET`: never log it
    control_token: str = field(repr=False)  # bearer token of its (locked) control API
    idle_timeout_s: float | None = None

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def add_key(self, scopes: Sequence[str], username: str | None = None, name: str | None = None) -> str:
        """A new key (and a new account when `username` is new); returns its `Token …` value (a secret)."""
        body = {"scopes": list(scopes), "username": username, "name": name}
        return control_call(self.url, "POST", "keys", body, token=self.control_token)["auth"]

    def describe(self) -> str:
        how = {"running": "already running", "started": "started now, fresh state",
               "restarted": "restarted with its saved state"}.get(self.how, self.how)
        idle = (f"; stops after {_duration(self.idle_timeout_s)} idle with no server attached"
                if self.idle_timeout_s else "")
        return f"the shared sandbox emulator at {self.url} (pid {self.pid}, {how}; state in {self.home.root}{idle})"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 120 else f"{seconds:g} s"


def idle_timeout_from_env(env: Mapping[str, str] | None = None) -> float:
    text = (os.environ if env is None else env).get(IDLE_ENV, "").strip()
    if not text:
        return DEFAULT_IDLE_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise EmulatorError(f"{IDLE_ENV} must be a number of seconds (0: never stop), got {text!r}.")
    return value


def sandbox_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a sandbox-wired command reads its Settings from: the sandbox brings its own
    demo key, so a real key (or a malformed one) in the environment or the credentials file plays no part."""
    cleaned = {k: v for k, v in (os.environ if env is None else env).items() if k not in _REAL_CREDENTIALS}
    cleaned["NUMERAI_MCP_CREDENTIALS_FILE"] = os.devnull
    return cleaned


def attach_shared_emulator(cache_dir: Path, *, home: Path | None = None, idle_timeout_s: float | None = None,
                           hold: bool = True) -> SharedEmulator:
    """The running shared emulator, started (or restarted with its state) when needed.

    `cache_dir` holds the runtimes the emulator validates uploads with and, unless `home` is
    given, the sandbox home (`default_home`). With `hold`, this process stays attached until it
    exits (the emulator does not stop while anyone is attached); pass `hold=False` to look
    without keeping it alive. `idle_timeout_s` applies only when this call starts it
    (default: NUMERAI_MCP_SANDBOX_IDLE_TIMEOUT, else 30 minutes). Raises EmulatorError with the
    reason (and the emulator's stderr) when it cannot start.
    """
    place = SandboxHome(Path(home or default_home(cache_dir)).expanduser().resolve()).ensure()
    idle = idle_timeout_from_env() if idle_timeout_s is None else idle_timeout_s
    try:
        with place.locked(LOCK_WAIT_S):
            record, how = _find_or_start(place, cache_dir, idle)
            if hold:
                _hold(place)
    except LockTimeout:
        raise EmulatorError(f"Another process kept the shared sandbox in {place.root} locked for {LOCK_WAIT_S:.0f} s "
                            f"(pids {lock_holders(place.lock_file) or 'unknown'}); see {place.log_file}.") from None
    auth, token = _derived_credentials(place)
    return SharedEmulator(url=record["url"], pid=int(record["pid"]), home=place, how=how, auth=auth,
                          control_token=token, idle_timeout_s=record.get("idle_timeout_s"))


def release(home: SandboxHome) -> None:
    """Stop holding the shared emulator open from this process (it may then stop when idle)."""
    with _LEASES_LOCK:
        fd = _LEASES.pop(home.root, None)
    if fd is not None:
        os.close(fd)


def keep_running(emulator: SharedEmulator, cache_dir: Path,
                 on_restart: Callable[[SharedEmulator], None] | None = None) -> threading.Thread:
    """For a long-lived attached process: restart the shared emulator (with its state, on its port)
    whenever it dies. A daemon thread waits on the emulator's `running` lock, so nothing polls."""

    def watch() -> None:
        restarts: list[float] = []
        while True:
            fd = os.open(emulator.home.running_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)  # returns once no emulator holds it
            finally:
                os.close(fd)
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < 60] + [now]
            if len(restarts) > RESTARTS_PER_MINUTE:
                log.error("sandbox: the shared emulator died %d times within a minute; not restarting it again "
                          "(see %s)", len(restarts), emulator.home.log_file)
                return
            try:
                again = attach_shared_emulator(cache_dir, home=emulator.home.root)
            except EmulatorError as exc:
                log.error("sandbox: the shared emulator stopped and could not be restarted: %s", exc)
                return
            if on_restart is not None:
                on_restart(again)

    thread = threading.Thread(target=watch, name="sandbox-keeper", daemon=True)
    thread.start()
    return thread


# -- status and stop --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SandboxStatus:
    home: SandboxHome
    running: bool
    healthy: bool
    record: dict[str, Any] | None
    attached: list[int]

    def describe(self) -> str:
        where = f"state in {self.home.root}, log {self.home.log_file}"
        if not self.home.root.is_dir():
            return f"No shared sandbox yet in {self.home.root}; `numerai-mcp serve --sandbox` starts one when needed."
        record = self.record or {}
        if not self.running:
            last = f" (last at {record['url']})" if record.get("url") else ""
            return f"The shared sandbox emulator is not running{last}; {where}. The next `serve --sandbox` starts it."
        idle = record.get("idle_timeout_s")
        lines = [f"The shared sandbox emulator is running at {record.get('url', '?')} (pid {record.get('pid', '?')}, "
                 f"since {record.get('started_at', '?')}{'' if self.healthy else ', NOT answering its health check'}).",
                 f"  {where}",
                 f"  stops by itself after {_duration(idle)} idle with no server attached" if idle
                 else "  never stops by itself",
                 f"  attached server processes: {', '.join(map(str, self.attached)) or 'none'}"]
        return "\n".join(lines)


def shared_status(home: Path) -> SandboxStatus:
    place = SandboxHome(Path(home).expanduser().resolve())
    if not place.root.is_dir():
        return SandboxStatus(place, False, False, None, [])
    running = place.emulator_running()
    record = place.read_record()
    healthy = running and _answers(place, record)
    return SandboxStatus(place, running, healthy, record, place.attached_pids() if running else [])


def stop_shared_emulator(home: Path, *, timeout_s: float = STOP_WAIT_S) -> str:
    """Stop the shared emulator unless a server process is attached (SandboxInUse); its state stays on disk.
    Returns what was done, in a sentence."""
    place = SandboxHome(Path(home).expanduser().resolve())
    if not place.root.is_dir():
        return f"No shared sandbox in {place.root}: nothing to stop."
    with place.locked(LOCK_WAIT_S):
        if not place.emulator_running():
            return f"The shared sandbox emulator is not running (its state is kept in {place.root})."
        if place.anyone_attached():
            pids = place.attached_pids()
            raise SandboxInUse(
                f"The shared sandbox emulator is in use by {len(pids) or 'some'} server process(es)"
                f"{' (pids ' + ', '.join(map(str, pids)) + ')' if pids else ''}; they would restart it. Close the MCP "
                "client(s) using `numerai-mcp serve --sandbox` first; it then stops by itself when idle.")
        pid = _terminate(place, timeout_s)
    return f"Stopped the shared sandbox emulator (pid {pid}); its state stays in {place.root} for the next start."


# -- internals ---------------------------------------------------------------------------------------

def _find_or_start(home: SandboxHome, cache_dir: Path, idle_timeout_s: float) -> tuple[dict[str, Any], str]:
    """Under the attach lock: the healthy running emulator's record, else a new emulator's."""
    deadline = time.monotonic() + UNRESPONSIVE_GRACE_S
    while home.emulator_running():
        record = home.read_record()
        if _answers(home, record):
            assert record is not None
            return record, "running"
        if time.monotonic() >= deadline:
            log.warning("sandbox: the shared emulator holds its lock but does not answer; stopping it")
            _terminate(home, STOP_WAIT_S)
            break
        time.sleep(0.1)
    restored = home.state_file.exists()
    return _start(home, cache_dir, idle_timeout_s), "restarted" if restored else "started"


def _answers(home: SandboxHome, record: dict[str, Any] | None) -> bool:
    """True when the recorded address answers and the process answering is the recorded one (not a
    stranger that took the port)."""
    if record is None:
        return False
    try:
        response = httpx.get(f"{record['url']}/_emulator/health", timeout=HEALTH_TIMEOUT_S, trust_env=False)
        return response.status_code == 200 and response.json().get("pid") == record.get("pid")
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def _port_free(host: str, port: int) -> bool:
    from numerai_mcp.netutil import bind_tcp

    try:
        bind_tcp(host, port, backlog=1).close()
    except OSError:
        return False
    return True


def _start(home: SandboxHome, cache_dir: Path, idle_timeout_s: float) -> dict[str, Any]:
    """A detached emulator for `home`, on its previous port when that is free; returns its record."""
    home.rotate_log()
    previous = home.read_record() or {}
    host = str(previous.get("host") or "127.0.0.1")
    port = int(previous.get("port") or 0)
    if port and not _port_free(host, port):
        log.info("sandbox: port %d of the previous emulator is taken by another program; using a new port", port)
        port = 0
    args = emulator_command("--shared", str(home.root), "--cache-dir", str(Path(cache_dir).resolve()),
                            "--idle-timeout", f"{idle_timeout_s:g}")
    handle = EmulatorHandle(args, emulator_env(cache_dir), home.log_file, cwd=home.root)
    try:
        handle.start(port)
    except EmulatorError:
        if not port or _port_free(host, port):
            raise
        handle.start(0)  # someone took the port between the check and the bind
    process = handle.process
    assert process is not None
    if process.stdout is not None:
        process.stdout.close()
    # reap it if it ends while we live (it is our child until we exit, then init's)
    threading.Thread(target=process.wait, name="sandbox-reaper", daemon=True).start()
    record = home.read_record()
    if record is None or record.get("pid") != process.pid:
        raise EmulatorError(f"The shared emulator started but did not record its address in {home.record_file}.")
    return record


def _hold(home: SandboxHome) -> None:
    with _LEASES_LOCK:
        if home.root in _LEASES:
            return
        fd = os.open(home.attached_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_SH)  # exclusive holders are momentary probes
        _LEASES[home.root] = fd


def _derived_credentials(home: SandboxHome) -> tuple[str, str]:
    """The demo key and the control token, derived from the state's master key as the emulator derives them."""
    from numerai_mcp.emulator.auth import auth_header, control_token

    try:
        world = json.loads(home.state_file.read_text(encoding="utf-8"))
        return auth_header(world["master_key"], world["demo_public_id"]), control_token(world["master_key"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmulatorError(f"Cannot read the demo key from the sandbox state {home.state_file} "
                            f"({type(exc).__name__}).") from None


def _our_emulator(pid: int, home: SandboxHome) -> bool:
    """True when `pid` is a shared emulator serving `home` (never signal a stranger that reused a pid)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"--shared" in argv and str(home.root).encode() in argv


def _terminate(home: SandboxHome, timeout_s: float) -> int | None:
    """SIGTERM the emulator holding `running` (SIGKILL if it lingers); wait until it has let go."""
    candidates = lock_holders(home.running_file) or [int((home.read_record() or {}).get("pid") or 0)]
    pid = next((p for p in candidates if p and _our_emulator(p, home)), None)
    if pid is None:
        raise EmulatorError(f"A process holds {home.running_file} but is not a recognisable sandbox emulator "
                            f"(pids {candidates}); stop it yourself.")
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
            os.kill(pid, signal.SIGCONT)  # a stopped (^Z, SIGSTOP) emulator must wake up to act on it
        except ProcessLookupError:
            return pid
        try:
            os.close(flock_within(home.running_file, fcntl.LOCK_SH, wait_s))
            return pid
        except LockTimeout:
            continue
    raise EmulatorError(f"The shared sandbox emulator (pid {pid}) did not stop.")
