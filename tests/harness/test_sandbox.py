"""The sandbox really isolates and limits a process: real bwrap namespaces, real limits, attacked from inside.

These run as whoever runs the suite (root here and in CI); tests/harness/test_hostile.py runs
hostile pickles through the whole validation both as root and as an unprivileged user.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numerai_mcp.harness import bwrap, sandbox
from numerai_mcp.harness.sandbox import GIB, FileSink, Limits, Workspace, processes_with_token, run_sandboxed

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
MIB = 1024**2


@pytest.fixture
def run(runtime312) -> Iterator:  # type: ignore[no-untyped-def]
    """run(code, mode="bwrap", outputs=None, **limits) -> SandboxResult, with the 3.12 runtime's interpreter."""
    spaces: list[Workspace] = []

    def go(code: str, mode: str = "bwrap", outputs=None, **limit_args):  # type: ignore[no-untyped-def]
        ws = Workspace()
        ws.mode = mode  # type: ignore[assignment]
        spaces.append(ws)
        script = ws.write_input("script.py", textwrap.dedent(code))
        limits = Limits(**{"wall_s": 30.0, **limit_args})
        return run_sandboxed([str(runtime312.python), "-I", ws.inner(script)], ws, limits=limits, mode=mode,
                             binds=_binds(runtime312), env=runtime312.env, outputs=outputs)

    yield go
    for ws in spaces:
        ws.cleanup()


def _binds(runtime) -> list[Path]:  # type: ignore[no-untyped-def]
    return [runtime.root, Path(runtime.python).resolve().parent.parent]


def test_isolation_is_available_here() -> None:
    found = sandbox.isolation()
    assert found.available, found.reason
    assert found.bwrap is not None and found.version


def test_environment_is_an_allow_list(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "S3CRETS3CRET")
    monkeypatch.setenv("NUMERAI_MCP_AUTH", "Token PUB$S3CRETS3CRET")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "S3CRETS3CRET")
    result = run("import os; print(sorted(os.environ.items()))")
    assert result.returncode == 0, result.stderr_tail
    text = "\n".join(result.stdout_tail)
    assert "S3CRET" not in text and "NUMERAI_MCP_AUTH" not in text and "AWS_" not in text
    assert "'OMP_NUM_THREADS', '1'" in text and "'HOME', '/home/sandbox'" in text


def test_unprivileged_one_cpu_no_network(run) -> None:  # type: ignore[no-untyped-def]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        result = run(f"""
            import os, socket
            print("uid", os.getuid(), "cpus", len(os.sched_getaffinity(0)))
            for target in [("127.0.0.1", {port}), ("1.1.1.1", 53)]:
                try:
                    socket.create_connection(target, timeout=2)
                    print("connected", target)
                except OSError as exc:
                    print("blocked", type(exc).__name__)
            try:
                socket.getaddrinfo("pypi.org", 443)
                print("resolved")
            except OSError:
                print("no dns")
        """)
    finally:
        listener.close()
    # loopback is up inside but is the sandbox's own: nothing listens there
    assert result.stdout_tail == ["uid 65534 cpus 1", "blocked ConnectionRefusedError", "blocked OSError", "no dns"]


def test_only_the_runtime_and_system_files_are_visible_and_nothing_is_writable(run, runtime312) -> None:  # type: ignore[no-untyped-def]
    """Walk the sandbox's whole filesystem from inside: outside /usr, the bound runtime, its interpreter and
    the tmpfs mounts there are only the directories leading to them and the few files we put in /etc."""
    bound = [str(path) for path in _binds(runtime312)]
    result = run(f"""
        import errno, os
        pruned = {["/usr", "/proc", "/dev", "/sandbox/in", *bound]!r}
        tmpfs = ["/tmp", "/var/tmp", "/run", "/home/sandbox", "/dev/shm"]
        seen = []
        for top, dirs, files in os.walk("/"):
            dirs[:] = [d for d in dirs if os.path.join(top, d) not in pruned and os.path.join(top, d) not in tmpfs]
            seen += [os.path.join(top, name) for name in dirs + files]
        print("SEEN", sorted(seen))
        for folder in ["/", "/usr", "/usr/lib", "/etc", "/sandbox/in", *{bound!r}, "/dev", "/root", "/proc/sys/kernel"]:
            try:
                open(os.path.join(folder, "numerai-mcp-probe"), "w").write("x")
                print("WROTE", folder)
            except OSError as exc:
                print("REFUSED", folder, errno.errorcode[exc.errno])
        for folder in tmpfs:
            open(os.path.join(folder, "ok"), "w").write("x")
        print("TMPFS OK")
    """)
    assert result.returncode == 0, result.stderr_tail
    lines = result.stdout_tail
    seen = eval(next(line for line in lines if line.startswith("SEEN"))[5:])  # noqa: S307 - our own output
    allowed_files = {"/etc", "/etc/passwd", "/etc/group", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime",
                     "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}
    leading = {str(parent) for path in [*bound, "/sandbox/in", "/home/sandbox", "/var/tmp", "/dev/shm"]
               for parent in Path(path).parents}
    unexpected = [path for path in seen if path not in allowed_files and path not in leading
                  and not path.startswith("/etc/ld.so.conf.d")]
    assert unexpected == [], unexpected
    assert not any(line.startswith("WROTE") for line in lines), lines
    assert "TMPFS OK" in lines
    assert not list(Path(runtime312.root).glob("numerai-mcp-probe"))


def test_host_tmp_home_and_run_are_private(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    marker = Path("/tmp") / f"numerai-mcp-marker-{os.getpid()}"
    secret = Path.home() / ".numerai-mcp-test-secret"
    secret.write_text("top secret")
    lock_before = sorted(os.listdir("/run/lock")) if os.path.isdir("/run/lock") else None
    try:
        result = run(f"""
            import os
            for path in [{str(marker)!r}, {str(tmp_path / "escape")!r}, "/run/lock/numerai-mcp-escape",
                         "/var/tmp/x"]:
                try:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    open(path, "w").write("x")
                    print("wrote", path)
                except OSError as exc:
                    print("denied", type(exc).__name__)
            try:
                print("read", open({str(secret)!r}).read())
            except OSError as exc:
                print("secret hidden", type(exc).__name__)
        """)
    finally:
        secret.unlink()
    assert not marker.exists() and not (tmp_path / "escape").exists()
    assert lock_before is None or sorted(os.listdir("/run/lock")) == lock_before
    assert "read top secret" not in result.stdout_tail
    assert result.stdout_tail[-1].startswith("secret hidden")


@pytest.mark.skipif(os.geteuid() != 0, reason="makes a listener under /run, which needs root")
def test_host_unix_sockets_are_unreachable(run) -> None:  # type: ignore[no-untyped-def]
    path = Path("/run") / f"numerai-mcp-test-{os.getpid()}.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    listener.settimeout(0.5)
    try:
        result = run(f"""
            import socket
            for address in [{str(path)!r}, "\\0numerai-mcp-abstract"]:
                try:
                    socket.socket(socket.AF_UNIX).connect(address)
                    print("connected")
                except OSError as exc:
                    print("blocked", type(exc).__name__)
        """)
        with pytest.raises(OSError):
            listener.accept()
    finally:
        listener.close()
        path.unlink()
    assert result.stdout_tail == ["blocked FileNotFoundError", "blocked ConnectionRefusedError"]


def test_kernel_keyrings_are_refused(run) -> None:  # type: ignore[no-untyped-def]
    """The session keyring is inherited across namespaces: keyctl/add_key/request_key must fail."""
    import platform

    numbers = {"x86_64": (250, 248, 249), "aarch64": (219, 217, 218)}.get(platform.machine())
    if numbers is None:
        pytest.skip("no seccomp filter for this architecture")
    result = run(f"""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(256)
        keyctl, add_key, request_key = {numbers!r}
        print(libc.syscall(keyctl, 6, ctypes.c_long(-3), buf, 256), os.strerror(ctypes.get_errno()))
        print(libc.syscall(add_key, b"user", b"x", b"y", 1, ctypes.c_long(-3)), os.strerror(ctypes.get_errno()))
        print(libc.syscall(request_key, b"user", b"x", None, 0), os.strerror(ctypes.get_errno()))
    """)
    assert result.stdout_tail == ["-1 Operation not permitted"] * 3


def test_address_space_limit_gives_memory_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("import numpy as np; a = np.ones(6 * 1024**3 // 8); print('allocated')", memory_bytes=2 * GIB)
    assert result.returncode == 1 and result.breach is None
    assert "allocated" not in result.stdout_tail
    assert "Unable to allocate 6.00 GiB" in result.stderr_tail[-1]


def test_memory_is_limited_across_processes(run) -> None:  # type: ignore[no-untyped-def]
    """Three processes of 400 MiB each stay under a per-process cap but not under 1 GiB for the sandbox."""
    result = run("""
        import subprocess, sys, time
        code = "x = bytes(range(256)) * (400 * 1024**2 // 256); print('holding', flush=True); import time; time.sleep(60)"
        children = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
        time.sleep(60)
    """, memory_bytes=GIB)
    assert result.breach is not None and result.breach.limit == "memory", (result.breach, result.stderr_tail)
    assert "used more than 1 GB of memory" in result.breach.message
    assert result.returncode == -1 and not result.timed_out
    _assert_no_process("holding")


def test_widening_cpu_affinity_is_a_breach(run) -> None:  # type: ignore[no-untyped-def]
    result = run("""
        import os, time
        os.sched_setaffinity(0, range(os.cpu_count()))
        time.sleep(60)
    """)
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("this machine gives the tests a single CPU: nothing to widen to")
    assert result.breach is not None and result.breach.limit == "cpu"
    assert result.breach.message.startswith("used more than 1 CPU: it widened its CPU affinity")


def test_fork_bomb_meets_the_process_cap(run) -> None:  # type: ignore[no-untyped-def]
    """The kernel refuses the fork past the cap: RLIMIT_NPROC, set inside the sandbox's user namespace, for an
    ordinary user; for root (whom the kernel exempts from RLIMIT_NPROC) a pids cgroup."""
    if not sandbox.kernel_caps_processes():
        pytest.skip("root without a pids cgroup: only the watchdog would stop a fork bomb; not run on a shared host")
    result = run("""
        import os, time
        started = 0
        try:
            for _ in range(500):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                started += 1
        except OSError as exc:
            print("refused after", started, type(exc).__name__, flush=True)
    """, processes=40, wall_s=20.0)
    assert not result.timed_out and result.breach is None, result
    assert result.stdout_tail[0].startswith("refused after") and int(result.stdout_tail[0].split()[2]) < 40
    assert result.leftover_killed > 30
    _assert_no_process("sandbox/in/script.py")


def test_tmpfs_sizes_cap_what_can_be_written(run) -> None:  # type: ignore[no-untyped-def]
    result = run("""
        import errno
        for path in ["/tmp/big", "/home/sandbox/big", "/dev/shm/big"]:
            try:
                with open(path, "wb") as handle:
                    for _ in range(64):
                        handle.write(b"x" * 1024**2)
                print("wrote", path)
            except OSError as exc:
                print("full", path, errno.errorcode[exc.errno])
    """, tmpfs=bwrap.TmpfsSizes(tmp=8 * MIB, home=8 * MIB, var_tmp=8 * MIB, dev_shm=8 * MIB, run=MIB))
    assert result.stdout_tail == ["full /tmp/big ENOSPC", "full /home/sandbox/big ENOSPC", "full /dev/shm/big ENOSPC"]


def test_output_floods_are_bounded(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spool = FileSink(tmp_path / "spool", 4 * MIB)
    result = run("""
        import os, sys
        fd = int(os.environ["NUMERAI_MCP_FD_PREDICTIONS"])
        chunk = b"y" * 1024**2
        for _ in range(200):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        for _ in range(200):
            os.write(fd, chunk)
    """, outputs={"predictions": spool})
    assert result.breach is not None and result.breach.limit == "output"
    assert (tmp_path / "spool").stat().st_size == 4 * MIB
    assert sum(len(line) for line in result.stdout_tail) <= sandbox.TAIL_BYTES


def test_wall_limit_kills_and_detached_children_die(run) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = run("""
        import subprocess, time
        subprocess.Popen(["sleep", "3141"], start_new_session=True)
        print("spawned", flush=True)
        time.sleep(120)
    """, wall_s=2.0)
    assert result.timed_out and result.returncode == -1
    assert time.perf_counter() - started < 15
    assert result.stdout_tail == ["spawned"]
    _assert_no_process("sleep 3141")


def test_detached_child_after_success_is_counted_and_killed(run) -> None:  # type: ignore[no-untyped-def]
    result = run("""
        import subprocess
        subprocess.Popen(["sleep", "2718"], start_new_session=True, stdout=subprocess.DEVNULL)
        print("done")
    """)
    assert result.returncode == 0 and result.leftover_killed >= 1
    _assert_no_process("sleep 2718")


def test_host_processes_are_invisible_and_killing_the_parent_ends_only_the_sandbox(run) -> None:  # type: ignore[no-untyped-def]
    result = run("""
        import os, signal
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        print(len(pids) < 8, open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode(), flush=True)
        os.kill(os.getppid(), signal.SIGKILL)
        os.kill(1, signal.SIGKILL)
        import time; time.sleep(30)
    """)
    assert result.stdout_tail[0].startswith("True ") and "bwrap" in result.stdout_tail[0]
    assert not result.timed_out
    assert os.getppid() > 0  # we are alive


def test_without_isolation_limits_and_cleanup_still_apply(run) -> None:  # type: ignore[no-untyped-def]
    result = run("""
        import os, subprocess
        subprocess.Popen(["sleep", "1618"], start_new_session=True, stdout=subprocess.DEVNULL)
        print(len(os.sched_getaffinity(0)), os.environ.get("NUMERAI_MCP_SANDBOX_TOKEN") is not None)
    """, mode="none")
    assert result.stdout_tail == ["1 True"]
    assert result.leftover_killed >= 1 and "isolation" in " ".join(result.not_enforced)
    _assert_no_process("sleep 1618")


def test_segfault_is_reported_shell_style(run) -> None:  # type: ignore[no-untyped-def]
    result = run("import ctypes; ctypes.string_at(0)")
    assert result.returncode == 139


def _assert_no_process(needle: str) -> None:
    for _ in range(20):
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        if needle not in ps:
            return
        time.sleep(0.1)
    raise AssertionError(f"a '{needle}' process survived the sandbox")


def test_token_scan_finds_only_marked_processes() -> None:
    assert processes_with_token("0" * 32) == []


def test_refuses_without_isolation_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMERAI_MCP_BWRAP", "none")
    with pytest.raises(sandbox.SandboxUnavailableError, match=r"isolation is turned off .*backend='docker'.*"
                                                               r"allowUnsafe=true"):
        sandbox.require_isolation(allow_unsafe=False)
    assert sandbox.require_isolation(allow_unsafe=True) == "none"


def test_workspaces_of_dead_owners_are_removed() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = Workspace()
    (orphan.root / "private" / "owner").write_text(str(dead.pid))
    alive = Workspace()
    try:
        fresh = Workspace()
        assert not orphan.root.exists() and alive.root.exists()
        fresh.cleanup()
    finally:
        alive.cleanup()
        orphan.cleanup()


def test_run_ends_even_when_the_server_dies(runtime312) -> None:  # type: ignore[no-untyped-def]
    """The caller is SIGKILLed mid-run: --die-with-parent ends the sandbox with it."""
    import signal

    code = textwrap.dedent(f"""
        from pathlib import Path
        from numerai_mcp.harness import sandbox as sb
        rt = Path({str(runtime312.root)!r})
        ws = sb.Workspace()
        script = ws.write_input("s.py", "import time; print('started', flush=True); time.sleep(9999) # sleep-9999")
        sb.run_sandboxed([str(rt / "bin/python"), "-I", ws.inner(script)], ws, limits=sb.Limits(wall_s=300.0),
                         binds=[rt, (rt / "bin/python").resolve().parent.parent])
    """)
    caller = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                              stderr=subprocess.PIPE, text=True)
    script_arg = "/sandbox/in/s.py"
    for _ in range(150):
        if _pids_with_argument(script_arg):
            break
        time.sleep(0.1)
    else:
        caller.kill()
        raise AssertionError(f"the sandboxed process never started: {caller.communicate()[1][-1500:]}")
    caller.send_signal(signal.SIGKILL)
    caller.wait()
    for _ in range(150):
        if not _pids_with_argument(script_arg):
            return
        time.sleep(0.1)
    raise AssertionError("the sandboxed process outlived its dead caller")


def _pids_with_argument(argument: str) -> list[int]:
    """Processes with exactly this command-line argument (not as a substring of another one)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                parts = handle.read().split(b"\0")
        except OSError:
            continue
        if argument.encode() in parts:
            found.append(int(entry))
    return found


def test_a_sandbox_that_cannot_start_is_an_error_not_a_verdict(runtime312, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace()
    try:
        with pytest.raises(sandbox.SandboxError, match="could not start.*nonexistent"):
            run_sandboxed([str(runtime312.python), "-c", "print(1)"], ws, limits=Limits(wall_s=30.0),
                          binds=[*_binds(runtime312), tmp_path / "nonexistent"])
    finally:
        ws.cleanup()
