"""Run untrusted code in a separate process with Numerai's limits, isolated the same way for everyone.

Isolation ("bwrap", harness.bwrap): namespaces and a read-only minimal root; the process
sees its inputs read-only under /sandbox/in and writes only to size-capped tmpfs. Nothing it
writes reaches the host's disk: results come back through pipes the parent reads with
bounds (stdout/stderr tails, a status stream, a predictions stream spooled to a capped
file the sandbox cannot see). When bubblewrap cannot isolate on this machine, callers get
`SandboxUnavailableError` with the reason, unless they explicitly accept "none" (limits and
a new session only).

Limits for the whole sandbox, not per process: a delegated cgroup v2 when the machine has
one (harness.cgroups), else the /proc watchdog (harness.watchdog) that sums memory and CPU
over the process tree (with, for root on cgroup v1 hosts, a pids cgroup: the kernel exempts
uid 0 from RLIMIT_NPROC); plus, per process, an address-space cap (a big allocation gets
Numerai's MemoryError), CPU seconds, file size, open files and a process cap set inside the
sandbox's own user namespace (so they count only its processes). One CPU is given by
affinity at spawn, from the spawning thread (the server's other threads are untouched).

Every wait has a deadline; a run ends by SIGKILL to bwrap, whose PID namespace takes every
process of the sandbox with it (also when the server itself dies: --die-with-parent).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from numerai_mcp.errors import SetupError
from numerai_mcp.harness import bwrap as bw
from numerai_mcp.harness import cgroups, seccomp
from numerai_mcp.harness.watchdog import Breach, Watchdog

GIB = 1024**3
TOKEN_VAR = "NUMERAI_MCP_SANDBOX_TOKEN"
WORKSPACE_PREFIX = "numerai-mcp-sandbox-"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")
TAIL_BYTES = 64 * 1024
STATUS_TAIL_BYTES = 256 * 1024
STATUS_HEAD_BYTES = 64 * 1024
SAMPLE_INTERVAL_S = 0.1
DRAIN_DEADLINE_S = 3.0
Mode = Literal["bwrap", "none"]


class SandboxUnavailableError(SetupError):
    """This machine cannot isolate a run; the message says why and what to do instead."""


class SandboxError(SetupError):
    """The sandbox failed before the command ran (not the pickle's doing): nothing to judge."""


@dataclass(frozen=True)
class Limits:
    """Numerai's hosted limits by default; tests scale them down."""

    memory_bytes: int = 4 * GIB
    wall_s: float = 600.0
    cpus: int = 1
    file_size_bytes: int = GIB
    open_files: int = 1024
    processes: int = 256
    tmpfs: bw.TmpfsSizes = field(default_factory=bw.TmpfsSizes)


class TailSink:
    """Keeps the first `head` and the last `keep` bytes of a stream and counts the rest."""

    def __init__(self, keep: int = TAIL_BYTES, head: int = 0) -> None:
        self.keep, self.head, self.total = keep, head, 0
        self._head, self._tail = bytearray(), bytearray()
        self.overflowed = False

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        self._tail += data
        if len(self._tail) > 2 * self.keep:
            del self._tail[: len(self._tail) - self.keep]

    def lines(self, count: int = 60) -> list[str]:
        """The last `count` lines; with a head, the head's lines first (a line cut by the gap is mangled)."""
        tail = bytes(self._tail[-self.keep:])
        if not self._head:
            return tail.decode("utf-8", "replace").splitlines()[-count:]
        joined = bytes(self._head) + (b"" if len(self._tail) <= self.keep else b"\n") + tail
        return joined.decode("utf-8", "replace").splitlines()[-count:]

    def close(self) -> None:
        pass


class FileSink:
    """Spools a stream into a file of ours, up to `limit` bytes; past that it is a breach."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path, self.limit, self.total = path, limit, 0
        self.overflowed = False
        self._handle = open(path, "wb")  # noqa: SIM115 - closed by close()

    def feed(self, data: bytes) -> None:
        room = self.limit - self.total
        self.total += len(data)
        if room > 0:
            self._handle.write(data[:room])
        if self.total > self.limit:
            self.overflowed = True

    def close(self) -> None:
        self._handle.close()


@dataclass
class SandboxResult:
    returncode: int            # shell-style: 128+N when killed by signal N; -1 when we stopped it
    timed_out: bool
    wall_s: float
    stdout_tail: list[str]
    stderr_tail: list[str]
    mode: Mode
    not_enforced: list[str] = field(default_factory=list)
    leftover_killed: int = 0   # processes still running when the command ended (all killed)
    breach: Breach | None = None
    peak_memory_bytes: int = 0
    cpu_s: float = 0.0
    start_s: float | None = None  # spawn until the sandbox was ready to run the command
    limits_by: str = "watchdog"   # "cgroup" or "watchdog"
    status_lines: list[str] = field(default_factory=list)  # the status stream's tail (untrusted)


# ------------------------------------------------------------------ isolation available here


def isolation() -> bw.Isolation:
    """Whether runs can be isolated on this machine (probed once per process)."""
    return bw.probe()


def require_isolation(allow_unsafe: bool) -> Mode:
    """"bwrap" when available; "none" only when the caller accepts running without isolation."""
    found = isolation()
    if found.available:
        return "bwrap"
    if allow_unsafe:
        return "none"
    raise SandboxUnavailableError(
        f"Refusing to run an untrusted pickle: the sandbox cannot isolate it on this machine because {found.reason}. "
        "Fix that, or validate with backend='docker' (Numerai's own image, once a Docker engine runs), or pass "
        "allowUnsafe=true to run it WITHOUT isolation (only for a pickle you built yourself)."
    )


def not_enforced(mode: Mode) -> list[str]:
    if mode == "bwrap":
        return []
    return ["isolation (no namespaces: the pickle can read and change your files and reach the network)",
            "a private /tmp and home", "a PID namespace (detached children are killed by token scan instead)"]


# ------------------------------------------------------------------ workspace


def _remove_orphaned_workspaces() -> None:
    """Delete workspaces whose owning process died without cleaning up (e.g. killed by SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob(WORKSPACE_PREFIX + "*"):
        try:
            owner = int((path / "private" / "owner").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            continue


class Workspace:
    """A private host directory for one run: inputs (bound read-only into the sandbox) and our own files."""

    def __init__(self) -> None:
        _remove_orphaned_workspaces()
        self.root = Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX))
        for name in ("in", "private"):
            (self.root / name).mkdir(mode=0o755 if name == "in" else 0o700)
        (self.root / "private" / "owner").write_text(str(os.getpid()))
        self.etc = bw.write_etc(self.root / "etc")
        self.mode: Mode = "bwrap"

    def inner(self, path: Path) -> str:
        """How the sandboxed process sees an input file."""
        relative = Path(path).relative_to(self.root / "in")
        return str(Path(bw.INPUT_DIR) / relative) if self.mode == "bwrap" else str(path)

    def add_input(self, source: Path, name: str) -> Path:
        """Copy a file in, read-only."""
        target = self.root / "in" / name
        shutil.copyfile(source, target)
        target.chmod(0o444)
        return target

    def write_input(self, name: str, text: str) -> Path:
        target = self.root / "in" / name
        target.write_text(text)
        target.chmod(0o444)
        return target

    @property
    def private(self) -> Path:
        """Files only the parent sees (spooled outputs)."""
        return self.root / "private"

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------ command line


def sandbox_env(extra: Mapping[str, str], token: str, cpus: int, mode: Mode, ws: Workspace) -> dict[str, str]:
    """The complete environment of the sandboxed process: an allow-list, nothing inherited."""
    home = bw.SANDBOX_HOME if mode == "bwrap" else str(ws.private / "home")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": "/tmp" if mode == "bwrap" else home,
           "USER": "sandbox", "LOGNAME": "sandbox", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONHASHSEED": "0", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg", TOKEN_VAR: token}
    env.update({name: str(cpus) for name in THREAD_VARS})
    env.update(extra)
    return env


def _wrapper(limits: Limits, status_fd: int, mode: Mode) -> str:
    """sh run inside the sandbox: per-process limits, 'ready', the command, then a count of what it left."""
    cpu = int(limits.wall_s) + 10
    rlimits = (f"ulimit -c 0 && ulimit -t {cpu} && ulimit -v {limits.memory_bytes // 1024} && "
               f"ulimit -f {limits.file_size_bytes // 512} && ulimit -n {limits.open_files}")
    # isolated runs refuse to start without their limits; an unsafe run (macOS has no RLIMIT_AS) takes what it gets
    lines = [f"{rlimits} || {{ echo 'numerai-mcp: could not set the sandbox limits' >&2; exit 125; }}"
             if mode == "bwrap" else f"{{ {rlimits}; }} 2>/dev/null"]
    if mode == "bwrap":  # RLIMIT_NPROC counts per user namespace: inside, it counts only the sandbox
        lines.append(f"{{ ulimit -p {limits.processes} || ulimit -u {limits.processes}; }} 2>/dev/null || "
                     "{ echo 'numerai-mcp: could not cap processes' >&2; exit 125; }")
    status = f"/dev/fd/{status_fd}"  # dash redirects only fds 0-9 with >&N
    lines.append(f"printf '{{\"sandbox\": \"ready\"}}\\n' > {status}")
    lines.append('"$@"; rc=$?')
    if mode == "bwrap":
        lines.append('n=0; for d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" = 1 ] || [ "$p" = $$ ] && continue; '
                     's=; while read -r k v r; do [ "$k" = State: ] && s=$v && break; done < "$d/status" 2>/dev/null; '
                     '[ -n "$s" ] && [ "$s" != Z ] && n=$((n+1)); done')
        lines.append(f"printf '{{\"sandbox_leftover\": %d}}\\n' \"$n\" > {status} 2>/dev/null")
    lines.append("exit $rc")
    return "\n".join(lines)


_cpu_cycle = itertools.count()
_cpu_lock = threading.Lock()


def _choose_cpus(count: int) -> frozenset[int]:
    """`count` of the CPUs we may use, rotating so concurrent runs do not all share the first."""
    if not hasattr(os, "sched_getaffinity"):  # macOS (unsafe runs only): no affinity to give
        return frozenset(range(count))
    allowed = sorted(os.sched_getaffinity(0))
    with _cpu_lock:
        start = next(_cpu_cycle)
    return frozenset(allowed[(start + i) % len(allowed)] for i in range(min(count, len(allowed))))


@contextlib.contextmanager
def _thread_affinity(cpus: frozenset[int]) -> Iterator[None]:
    """Pin only the calling thread while it spawns: a child inherits its forking thread's affinity."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


# ------------------------------------------------------------------ the run


def run_sandboxed(argv: Sequence[str], ws: Workspace, *, limits: Limits, mode: Mode = "bwrap",
                  binds: Sequence[Path] = (), env: Mapping[str, str] | None = None,
                  outputs: Mapping[str, TailSink | FileSink] | None = None) -> SandboxResult:
    """Run `argv` (input paths as `ws.inner` gives them) under `limits`.

    `binds` are host paths the process must read (the runtime, its interpreter); they stay at
    the same paths inside, read-only. Each entry of `outputs` gets a pipe whose write end's fd
    number is put in the environment as NUMERAI_MCP_FD_<NAME>; the status stream's is
    NUMERAI_MCP_FD_STATUS (its tail is `status_lines`). Never raises for what the process does;
    raises SandboxError when the sandbox itself could not start.
    """
    ws.mode = mode
    token = secrets.token_hex(16)
    # the head keeps what the runner said before any flood (its snapshots come first)
    status = TailSink(STATUS_TAIL_BYTES, head=STATUS_HEAD_BYTES)
    sinks: dict[str, TailSink | FileSink] = {"stdout": TailSink(), "stderr": TailSink(), "status": status,
                                             **(outputs or {})}
    with contextlib.ExitStack() as stack:
        fds = _Fds()
        stack.callback(fds.close_all)
        pipes = {name: fds.pipe() for name in sinks}
        child_fds = {name: write for name, (_, write) in pipes.items() if name not in ("stdout", "stderr")}
        full_env = sandbox_env(env or {}, token, limits.cpus, mode, ws)
        full_env.update({f"NUMERAI_MCP_FD_{name.upper()}": str(fd) for name, fd in child_fds.items()})
        if mode == "none":
            (ws.private / "home").mkdir(exist_ok=True)
        command, extra_fds, group = _command(argv, ws, limits, mode, binds, child_fds["status"], fds)
        cpus = _choose_cpus(limits.cpus)
        started = time.monotonic()
        if group is not None:
            stack.callback(group.remove)  # after the kill below: an emptied cgroup can go
        with _thread_affinity(cpus):
            process = subprocess.Popen(command, cwd=ws.root if mode == "bwrap" else ws.private / "home",
                                       env=full_env, stdin=subprocess.DEVNULL, stdout=pipes["stdout"][1],
                                       stderr=pipes["stderr"][1], start_new_session=True, close_fds=True,
                                       pass_fds=[*child_fds.values(), *extra_fds])
        for _, write in pipes.values():
            fds.close(write)  # the child has them: EOF comes when the sandbox's last process is gone
        # the tree includes bwrap's own monitor process, outside the sandbox's process cap
        watchdog = Watchdog(process.pid, limits.memory_bytes, cpus, limits.processes + 1,
                            check_cpu=group is None or "cpu" not in group.enforces)
        try:
            outcome = _supervise(process, {pipes[name][0]: sinks[name] for name in sinks}, watchdog, limits,
                                 started, status)
        finally:
            _killpg(process.pid)
            if group is not None:
                group.kill()
            _reap(process)
            for sink in sinks.values():
                sink.close()
        breach, timed_out, start_s = outcome
        if group is not None:
            if breach is None and group.oom_killed():
                breach = Breach("memory", f"used more than {limits.memory_bytes / GIB:.0f} GB of memory "
                                          "(the kernel killed it at the limit)")
            watchdog.peak_memory_bytes = max(watchdog.peak_memory_bytes, group.peak_bytes() or 0)
    leftovers = _leftovers(status) if mode == "bwrap" else _kill_leftovers(token, watchdog.seen)
    wall = time.monotonic() - started
    returncode = process.returncode if process.returncode is not None else -9
    if start_s is None and not timed_out and breach is None:
        # the command never started (bwrap's setup or the limits failed): no verdict on the pickle can follow
        detail = next((line for line in reversed(_lines(sinks["stderr"])) if line.strip()), "no message")
        raise SandboxError(f"The sandbox could not start (exit status {returncode}): {detail[:500]}")
    return SandboxResult(
        returncode=-1 if (timed_out or breach) else _shell_status(returncode), timed_out=timed_out, wall_s=wall,
        stdout_tail=_lines(sinks["stdout"]), stderr_tail=_lines(sinks["stderr"]),
        mode=mode, not_enforced=not_enforced(mode), leftover_killed=leftovers, breach=breach,
        peak_memory_bytes=watchdog.peak_memory_bytes, cpu_s=watchdog.cpu_s, start_s=start_s,
        limits_by="cgroup" if group is not None and "memory" in group.enforces else "watchdog",
        status_lines=status.lines(1000),
    )


def _lines(sink: TailSink | FileSink) -> list[str]:
    return sink.lines() if isinstance(sink, TailSink) else []


class _Fds:
    """The fds of one run, each closed exactly once (a second close could hit another thread's reused fd)."""

    def __init__(self) -> None:
        self._open: set[int] = set()

    def pipe(self) -> tuple[int, int]:
        read, write = os.pipe()
        self._open |= {read, write}
        fcntl.fcntl(read, fcntl.F_SETFL, fcntl.fcntl(read, fcntl.F_GETFL) | os.O_NONBLOCK)
        return read, write

    def holding(self, data: bytes) -> int:
        """A readable fd holding `data` (bwrap reads the seccomp program from it)."""
        read, write = self.pipe()
        os.write(write, data)  # a few hundred bytes: fits in the pipe buffer
        self.close(write)
        return read

    def close(self, fd: int) -> None:
        if fd in self._open:
            self._open.discard(fd)
            os.close(fd)

    def close_all(self) -> None:
        for fd in list(self._open):
            self.close(fd)


def _command(argv: Sequence[str], ws: Workspace, limits: Limits, mode: Mode, binds: Sequence[Path],
             status_fd: int, fds: _Fds) -> tuple[list[str], list[int], cgroups.RunCgroup | None]:
    """(command line, extra fds it reads, run cgroup or None)."""
    wrapper = ["/bin/sh", "-c", _wrapper(limits, status_fd, mode), "sandbox", *argv]
    if mode == "none":
        return wrapper, [], None
    found = isolation()
    if not found.available or found.bwrap is None:
        raise SandboxUnavailableError(f"The sandbox cannot isolate a run here: {found.reason}.")
    extra_fds = []
    program = seccomp.keyring_filter()
    if program is not None:
        extra_fds.append(fds.holding(program))
    command = [*bw.sandbox_args(found.bwrap, binds=binds, inputs=ws.root / "in", etc=ws.etc, tmpfs=limits.tmpfs,
                                seccomp_fd=extra_fds[0] if extra_fds else None), *wrapper]
    group = _cgroup(limits)
    if group is not None:
        command = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(group.procs), *command]
    return command, extra_fds, group


_cgroup_parents: dict[str, tuple[Path | None, str]] = {}


def cgroup_parents() -> dict[str, tuple[Path | None, str]]:
    """Where run cgroups go ("v2": all limits; "pids-v1": root's process cap), or (None, why not).

    Decided once per process. NUMERAI_MCP_CGROUPS=off leaves everything to the watchdog.
    """
    if os.environ.get("NUMERAI_MCP_CGROUPS", "").lower() in ("0", "off", "no"):
        return {"v2": (None, "cgroups turned off (NUMERAI_MCP_CGROUPS=off)"), "pids-v1": (None, "turned off")}
    if not _cgroup_parents:
        _cgroup_parents["v2"] = cgroups.delegated_parent()
        _cgroup_parents["pids-v1"] = cgroups.pids_v1_parent() if _cgroup_parents["v2"][0] is None else (None, "")
    return _cgroup_parents


def kernel_caps_processes() -> bool:
    """True when a fork bomb meets a kernel limit: RLIMIT_NPROC (not for uid 0) or a pids cgroup."""
    parents = cgroup_parents()
    return os.geteuid() != 0 or any(parent is not None for parent, _ in parents.values())


def _cgroup(limits: Limits) -> cgroups.RunCgroup | None:
    parents = cgroup_parents()
    try:
        if parents["v2"][0] is not None:
            return cgroups.RunCgroup.create(parents["v2"][0], memory_bytes=limits.memory_bytes, cpus=limits.cpus,
                                            processes=limits.processes)
        if parents["pids-v1"][0] is not None:
            return cgroups.RunCgroup.create_pids_v1(parents["pids-v1"][0], processes=limits.processes)
    except OSError:
        return None
    return None


# ------------------------------------------------------------------ supervision


def _try_reap(process: subprocess.Popen[bytes]) -> bool:
    """Reap bwrap if it has exited (without blocking)."""
    if process.returncode is not None:
        return True
    try:
        pid, status = os.waitpid(process.pid, os.WNOHANG)
    except ChildProcessError:
        process.returncode = -9
        return True
    if pid == 0:
        return False
    process.returncode = os.waitstatus_to_exitcode(status)
    return True


def _reap(process: subprocess.Popen[bytes]) -> None:
    """After SIGKILL: bwrap goes at once (its namespace's processes die with it)."""
    deadline = time.monotonic() + 10.0
    while not _try_reap(process) and time.monotonic() < deadline:
        time.sleep(0.01)


def _supervise(process: subprocess.Popen[bytes], readers: Mapping[int, TailSink | FileSink], watchdog: Watchdog,
               limits: Limits, started: float, status: TailSink) -> tuple[Breach | None, bool, float | None]:
    """Read every pipe until EOF and sample the tree until the command exits or a limit is hit.

    Returns (breach, timed out, start-up seconds). Every wait has a deadline.
    """
    selector = selectors.DefaultSelector()
    for fd in readers:
        selector.register(fd, selectors.EVENT_READ)
    deadline = started + limits.wall_s
    next_sample = time.monotonic()
    breach: Breach | None = None
    timed_out, start_s, drain_until = False, None, None
    try:
        while selector.get_map():
            now = time.monotonic()
            if drain_until is not None and now >= drain_until:
                break
            wake = drain_until if drain_until is not None else min(next_sample, deadline)
            for key, _ in selector.select(max(0.0, wake - now)):
                try:
                    data = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(key.fd)
                    continue
                sink = readers[key.fd]
                sink.feed(data)
                if sink is status and start_s is None:
                    start_s = time.monotonic() - started
                if sink.overflowed and breach is None and drain_until is None:
                    breach = Breach("output", f"wrote more than {getattr(sink, 'limit', 0) // 1024**2} MiB of "
                                              "predictions")
                    drain_until = _stop(process)
            if drain_until is not None:
                continue
            now = time.monotonic()
            if _try_reap(process):
                drain_until = now + DRAIN_DEADLINE_S
            elif now >= deadline:
                timed_out = True
                drain_until = _stop(process)
            elif now >= next_sample:
                next_sample = now + SAMPLE_INTERVAL_S
                breach = watchdog.check()
                if breach is not None:
                    drain_until = _stop(process)
    finally:
        selector.close()
    return breach, timed_out, start_s


def _stop(process: subprocess.Popen[bytes]) -> float:
    """Kill the sandbox now; the pipes then close as its processes die. Returns the drain deadline."""
    _killpg(process.pid)
    return time.monotonic() + DRAIN_DEADLINE_S


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _shell_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _leftovers(status: TailSink) -> int:
    """What the sandbox's wrapper counted still running after the command (then killed with the namespace)."""
    import json

    for line in reversed(status.lines(200)):
        if line.startswith('{"sandbox_leftover"'):
            try:
                return max(0, min(int(json.loads(line)["sandbox_leftover"]), 1_000_000))
            except (ValueError, KeyError, TypeError):
                return 0
    return 0


def processes_with_token(token: str) -> list[int]:
    """PIDs whose environment carries this sandbox token (runs without a PID namespace)."""
    needle = f"{TOKEN_VAR}={token}".encode()
    found: list[int] = []
    if not os.path.isdir("/proc"):
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if needle in handle.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _kill_leftovers(token: str, seen: set[int]) -> int:
    """Without a PID namespace: kill what carries our token (or was seen in the tree) and still runs."""
    killed = 0
    for _ in range(20):
        pids = set(processes_with_token(token))
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.05)
    return killed
