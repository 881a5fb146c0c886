"""Run untrusted code in a separate, limited process, as Numerai's container would limit it.

Limits (all configurable): address space (RLIMIT_AS, 4 GiB at Numerai), one CPU (affinity
plus the BLAS/OpenMP thread variables), wall time (600 s), no network, an allow-listed
environment (no credentials can leak because nothing is inherited by default), file size
and open-file caps, no core dumps.

Isolation, best available:
- "root": new PID, network and mount namespaces; the sandbox's own workspace is bound
  onto /tmp, /var/tmp and /dev/shm are fresh tmpfs (pitfall 4: world-writable temp dirs),
  directories the unprivileged user cannot traverse (e.g. /root, mode 700, where pyenv
  and the cache usually live: pitfall 1) are covered by an empty tmpfs with only the
  runtime re-exposed read-only, then privileges drop to uid/gid 65534 with no groups and
  no_new_privs. `sh` is PID 1 of the namespace (pitfall 3), so every process, detached or
  not, dies with it (pitfall 2).
- "user": the same through an unprivileged user namespace (no uid change).
- "none": rlimits and a new session only; the verdict says what was not enforced.
Output goes to files, never pipes, so a process that outlives its parent cannot block us.
Every sandboxed process carries a random token in its environment, which lets us find and
kill anything that escaped and prove that nothing is left behind.
"""

from __future__ import annotations

import functools
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

GIB = 1024**3
NOBODY = 65534
COVERED_TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
TOKEN_VAR = "NUMERAI_MCP_SANDBOX_TOKEN"
LEFTOVER_FILE = ".leftover-processes"
WORKSPACE_PREFIX = "numerai-mcp-sandbox-"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")
Isolation = Literal["root", "user", "none"]


@dataclass(frozen=True)
class Limits:
    """Numerai's hosted limits by default; tests scale them down."""

    memory_bytes: int = 4 * GIB
    wall_s: float = 600.0
    cpus: int = 1
    file_size_bytes: int = GIB
    open_files: int = 1024
    processes: int = 256


@dataclass
class SandboxResult:
    returncode: int            # shell-style: 128+N when killed by signal N, -1 when we killed it on timeout
    timed_out: bool
    wall_s: float
    stdout_tail: list[str]
    stderr_tail: list[str]
    isolation: Isolation
    not_enforced: list[str] = field(default_factory=list)
    leftover_killed: int = 0   # processes still alive after the run (killed by us)


def _run_quiet(argv: Sequence[str], timeout: float = 10.0) -> bool:
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.lru_cache(maxsize=1)
def available_isolation() -> Isolation:
    """The strongest isolation this machine allows (probed once per process)."""
    if not all(shutil.which(tool) for tool in ("unshare", "setpriv", "mount")):
        return "none"
    base = ["unshare", "--pid", "--fork", "--kill-child", "--net", "--mount", "--propagation", "private",
            "--mount-proc"]
    if os.geteuid() == 0 and _run_quiet([*base, "true"]):
        return "root"
    if _run_quiet(["unshare", "--user", "--map-root-user", *base[1:], "true"]):
        return "user"
    return "none"


def _traversable_by_others(path: Path) -> bool:
    """True when every ancestor directory of `path` lets 'others' (uid 65534) through."""
    for parent in [*reversed(path.parents)]:
        try:
            if not parent.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _topmost_closed_ancestor(path: Path) -> Path | None:
    for parent in [*reversed(path.parents)]:
        try:
            if not parent.stat().st_mode & 0o001:
                return parent
        except OSError:
            return parent
    return None


def _under(path: Path, roots: Iterable[str]) -> bool:
    return any(path == Path(r) or Path(r) in path.parents for r in roots)


def _remove_orphaned_workspaces() -> None:
    """Delete workspaces whose owning process died without cleaning up (e.g. killed by SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob(WORKSPACE_PREFIX + "*"):
        try:
            owner = int((path / "logs" / "owner").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            continue


class Workspace:
    """A private directory for one run: inputs (read-only), outputs and a home/temp dir.

    Inside a namespace sandbox it is mounted on /tmp, so `inner()` gives the path the
    sandboxed process sees.
    """

    def __init__(self, isolation: Isolation, *, drop_privileges: bool) -> None:
        self.isolation = isolation
        _remove_orphaned_workspaces()
        self.root = Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX))
        self.root.chmod(0o755)
        self.drop_privileges = drop_privileges
        for name in ("in", "out", "home", "stage"):
            (self.root / name).mkdir()
        (self.root / "logs").mkdir(mode=0o700)
        (self.root / "logs" / "owner").write_text(str(os.getpid()))
        if drop_privileges:
            for name in ("out", "home"):
                os.chown(self.root / name, NOBODY, NOBODY)
                (self.root / name).chmod(0o700)

    def inner(self, path: Path) -> str:
        """How the sandboxed process sees a path inside this workspace."""
        relative = Path(path).relative_to(self.root)
        return str(Path("/tmp") / relative) if self.isolation != "none" else str(path)

    def add_input(self, source: Path, name: str) -> Path:
        """Copy a file in, read-only for the sandboxed user."""
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
    def out(self) -> Path:
        return self.root / "out"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def cleanup(self) -> None:
        """Remove the workspace (the namespace's mounts died with it: this is a plain tree)."""
        shutil.rmtree(self.root, ignore_errors=True)


def _setup_script(ws: Workspace, expose: Sequence[Path], drop: bool) -> str:
    """Shell run as (namespace) root before exec'ing the target: mounts, then privilege drop."""
    q = shlex.quote
    lines = ["set -e"]
    hidden: list[tuple[Path, Path]] = []
    closed: list[Path] = []
    for index, path in enumerate(dict.fromkeys(Path(p) for p in expose)):
        needs = _under(path, COVERED_TEMP_DIRS) or (drop and not _traversable_by_others(path))
        if not needs:
            continue
        stage = ws.root / "stage" / str(index)
        stage.mkdir()
        hidden.append((path, stage))
        lines.append(f"mount --bind {q(str(path))} {q(str(stage))}")
        ancestor = _topmost_closed_ancestor(path) if drop else None
        if ancestor is not None and not _under(ancestor, COVERED_TEMP_DIRS) and ancestor not in closed:
            closed.append(ancestor)
    lines.append(f"mount --rbind {q(str(ws.root))} /tmp")
    lines += [f"mount -t tmpfs -o mode=1777,size=64m,nosuid,nodev tmpfs {d}" for d in COVERED_TEMP_DIRS[1:]
              if os.path.isdir(d)]
    lines += [f"mount -t tmpfs -o mode=0755,size=1m tmpfs {q(str(d))}" for d in closed]
    for path, stage in hidden:
        inner_stage = q(ws.inner(stage))
        lines += [f"mkdir -p {q(str(path))}", f"mount --bind {inner_stage} {q(str(path))}",
                  f"mount -o remount,bind,ro {q(str(path))} 2>/dev/null || true"]
    lines += [f"umount -l {q(ws.inner(stage))} 2>/dev/null || true" for _, stage in hidden]
    lines.append(f"cd {q(ws.inner(ws.home))}")
    pid1 = q(_pid1_script(ws.inner(ws.out / LEFTOVER_FILE)))
    if drop:
        lines.append(f"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups --no-new-privs -- "
                     f'/bin/sh -c {pid1} "$@"')
    else:
        lines.append(f'exec setpriv --no-new-privs --inh-caps=-all --bounding-set=-all -- /bin/sh -c {pid1} "$@"')
    return "\n".join(lines)


def _pid1_script(leftover_path: str) -> str:
    """PID 1 of the namespace: run the target, then count what it left running (they die with us)."""
    return (
        '"$0" "$@"; rc=$?; n=0\n'
        'for d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" = 1 ] && continue; s=\n'
        '  while read -r k v r; do [ "$k" = State: ] && s=$v && break; done < "$d/status" 2>/dev/null\n'
        '  [ -n "$s" ] && [ "$s" != Z ] && n=$((n+1))\n'
        'done\n'
        f'echo $n > {shlex.quote(leftover_path)} 2>/dev/null\n'
        'exit $rc'
    )


def _limit_prefix(limits: Limits) -> list[str]:
    cpu = int(limits.wall_s) + 10
    prefix = ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={cpu}:{cpu + 5}", "--core=0",
              f"--fsize={limits.file_size_bytes}", f"--nofile={limits.open_files}"]
    if os.geteuid() == 0:
        prefix.append(f"--nproc={limits.processes}")  # counts per uid: only meaningful for uid 65534
    allowed = sorted(os.sched_getaffinity(0))[: max(1, limits.cpus)]
    prefix += ["--", "taskset", "-c", ",".join(map(str, allowed))]
    if shutil.which("timeout"):
        # A backstop that needs no parent: if the server itself dies, the run still ends.
        prefix += ["timeout", "--signal=KILL", f"{int(limits.wall_s + min(30.0, limits.wall_s)) + 1}s"]
    return prefix


def sandbox_env(ws: Workspace, extra: Mapping[str, str], token: str, cpus: int) -> dict[str, str]:
    """The complete environment of the sandboxed process: an allow-list, nothing inherited."""
    home = ws.inner(ws.home)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "PYTHONNOUSERSITE": "1",
           "MPLBACKEND": "Agg", TOKEN_VAR: token}
    env.update({name: str(cpus) for name in THREAD_VARS})
    env.update(extra)
    return env


def _tail(path: Path, lines: int = 60, max_bytes: int = 65536) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def processes_with_token(token: str) -> list[int]:
    """PIDs (in our PID namespace) whose environment carries this sandbox token."""
    needle = f"{TOKEN_VAR}={token}".encode()
    found = []
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


def _kill_leftovers(token: str) -> int:
    killed = 0
    for _ in range(20):
        pids = processes_with_token(token)
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


def _counted_by_pid1(ws: Workspace) -> int:
    try:
        return int((ws.out / LEFTOVER_FILE).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _shell_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def not_enforced(isolation: Isolation) -> list[str]:
    if isolation == "root":
        return []
    if isolation == "user":
        return ["unprivileged user (the pickle runs as your own user, inside a user namespace)"]
    return ["network isolation (no network namespace available)", "private /tmp and hidden home directories",
            "unprivileged user", "PID namespace (detached children are killed by token scan instead)"]


def run_sandboxed(argv: Sequence[str], ws: Workspace, *, limits: Limits, expose: Sequence[Path] = (),
                  env: Mapping[str, str] | None = None) -> SandboxResult:
    """Run `argv` (paths as the sandbox sees them) in the workspace under `limits`.

    `expose` lists host paths the process must read (interpreter, venv); they stay at the
    same paths inside, read-only. Never raises for what the process does.
    """
    token = secrets.token_hex(16)
    isolation = ws.isolation
    drop = isolation == "root"
    full_env = sandbox_env(ws, env or {}, token, limits.cpus)
    command = [*_limit_prefix(limits)]
    if isolation == "none":
        command += ["/bin/sh", "-c", '"$0" "$@"; exit $?', *argv]
        cwd = ws.home
    else:
        userns = ["--user", "--map-root-user"] if isolation == "user" else []
        command += ["unshare", *userns, "--pid", "--fork", "--kill-child", "--net", "--mount", "--ipc", "--uts",
                    "--propagation", "private", "--mount-proc", "--", "/bin/sh", "-c",
                    _setup_script(ws, expose, drop), "sandbox", *argv]
        cwd = ws.root
    stdout_path, stderr_path = ws.root / "logs" / "stdout", ws.root / "logs" / "stderr"
    started = time.perf_counter()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(command, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=err, start_new_session=True, close_fds=True)
        timed_out = False
        try:
            returncode = process.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _killpg(process.pid)
            returncode = process.wait()
        finally:
            if process.returncode is None:  # interrupted (e.g. KeyboardInterrupt): leave nothing behind
                _killpg(process.pid)
                process.wait()
    wall = time.perf_counter() - started
    _killpg(process.pid)
    leftovers = _kill_leftovers(token) + _counted_by_pid1(ws)
    return SandboxResult(
        returncode=-1 if timed_out else _shell_status(returncode), timed_out=timed_out, wall_s=wall,
        stdout_tail=_tail(stdout_path), stderr_tail=_tail(stderr_path), isolation=isolation,
        not_enforced=not_enforced(isolation), leftover_killed=leftovers,
    )


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
