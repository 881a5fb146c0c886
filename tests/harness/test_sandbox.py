"""The sandbox really limits a process: real namespaces, rlimits and privilege drop (as root here)."""

from __future__ import annotations

import os
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numerai_mcp.harness import sandbox
from numerai_mcp.harness.sandbox import GIB, Limits, Workspace, processes_with_token, run_sandboxed

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")


@pytest.fixture
def run(runtime312) -> Iterator:  # type: ignore[no-untyped-def]
    """run(code, isolation=None, **limits) -> SandboxResult, with the 3.12 runtime's interpreter."""
    spaces: list[Workspace] = []

    def go(code: str, isolation: str | None = None, **limit_args):  # type: ignore[no-untyped-def]
        chosen = isolation or sandbox.available_isolation()
        ws = Workspace(chosen, drop_privileges=chosen == "root")
        spaces.append(ws)
        script = ws.write_input("script.py", textwrap.dedent(code))
        interpreter_home = Path(runtime312.python).resolve().parent.parent
        limits = Limits(**{"wall_s": 30.0, **limit_args})
        return run_sandboxed([str(runtime312.python), "-I", ws.inner(script)], ws, limits=limits,
                             expose=[runtime312.root, interpreter_home], env=runtime312.env)

    yield go
    for ws in spaces:
        ws.cleanup()


def test_isolation_is_available_as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the strongest isolation needs root")
    assert sandbox.available_isolation() == "root"


def test_environment_is_an_allow_list(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "S3CRETS3CRET")
    monkeypatch.setenv("NUMERAI_MCP_AUTH", "Token PUB$S3CRETS3CRET")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "S3CRETS3CRET")
    result = run("import os; print(sorted(os.environ.items()))")
    assert result.returncode == 0, result.stderr_tail
    text = "\n".join(result.stdout_tail)
    assert "S3CRET" not in text and "NUMERAI_MCP_AUTH" not in text and "AWS_" not in text
    assert "'OMP_NUM_THREADS', '1'" in text and "'HOME', '/tmp/home'" in text


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
    out = result.stdout_tail
    assert out[0] == ("uid 65534 cpus 1" if os.geteuid() == 0 else f"uid {os.getuid()} cpus 1")
    assert out[1:] == ["blocked OSError", "blocked OSError", "no dns"]


def test_private_tmp_and_hidden_home(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    marker = Path("/tmp") / f"numerai-mcp-marker-{os.getpid()}"
    secret = Path.home() / ".numerai-mcp-test-secret"
    secret.write_text("top secret")
    try:
        result = run(f"""
            import os
            for path in [{str(marker)!r}, {str(tmp_path / "escape")!r}, "/var/tmp/x", "/home-check"]:
                try:
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
    assert "read top secret" not in result.stdout_tail
    assert result.stdout_tail[-1].startswith("secret hidden")


def test_address_space_limit_gives_memory_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("import numpy as np; a = np.ones(6 * 1024**3 // 8); print('allocated')", memory_bytes=2 * GIB)
    assert result.returncode == 1
    assert "allocated" not in result.stdout_tail
    assert "Unable to allocate 6.00 GiB" in result.stderr_tail[-1]


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


def test_without_namespaces_limits_and_cleanup_still_apply(run) -> None:  # type: ignore[no-untyped-def]
    result = run("""
        import os, subprocess
        subprocess.Popen(["sleep", "1618"], start_new_session=True, stdout=subprocess.DEVNULL)
        print(len(os.sched_getaffinity(0)), os.environ.get("NUMERAI_MCP_SANDBOX_TOKEN") is not None)
    """, isolation="none")
    assert result.stdout_tail == ["1 True"]
    assert result.leftover_killed >= 1 and "unprivileged user" in " ".join(result.not_enforced)
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


def test_user_namespace_mode_isolates_without_root_privileges(run) -> None:  # type: ignore[no-untyped-def]
    """The path taken by non-root users (forced here): network, /tmp and PID namespace still private."""
    marker = Path("/tmp") / f"numerai-mcp-user-marker-{os.getpid()}"
    result = run(f"""
        import os, socket
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=2)
            print("connected")
        except OSError:
            print("blocked")
        open({str(marker)!r}, "w").write("x")
        # in a PID namespace only the sandbox's own few processes are visible (their numbers depend on how
        # many setup commands ran first, so count them rather than test the PID itself)
        print(sorted(os.listdir("/tmp")), len([p for p in os.listdir("/proc") if p.isdigit()]) < 10)
    """, isolation="user")
    assert result.returncode == 0, result.stderr_tail
    assert result.stdout_tail[0] == "blocked" and result.stdout_tail[1].endswith("True")
    assert not marker.exists()
    assert "unprivileged user" in result.not_enforced[0]


def test_workspaces_of_dead_owners_are_removed() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = Workspace("none", drop_privileges=False)
    (orphan.root / "logs" / "owner").write_text(str(dead.pid))
    alive = Workspace("none", drop_privileges=False)
    try:
        fresh = Workspace("none", drop_privileges=False)
        assert not orphan.root.exists() and alive.root.exists()
        fresh.cleanup()
    finally:
        alive.cleanup()
        orphan.cleanup()


def test_run_ends_even_when_the_server_dies(runtime312) -> None:  # type: ignore[no-untyped-def]
    """The caller is SIGKILLed mid-run: the sandbox's own backstop still ends the sandboxed process."""
    import signal
    import sys

    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from numerai_mcp.harness import sandbox as sb
        rt = Path({str(runtime312.root)!r})
        ws = sb.Workspace(sb.available_isolation(), drop_privileges=sb.available_isolation() == "root")
        script = ws.write_input("s.py", "import time; print('started', flush=True); time.sleep(9999) # sleep-9999")
        sb.run_sandboxed([str(rt / "bin/python"), "-I", ws.inner(script)], ws, limits=sb.Limits(wall_s=3.0),
                         expose=[rt, (rt / "bin/python").resolve().parent.parent])
    """)
    caller = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                              stderr=subprocess.PIPE, text=True)
    script_arg = "/tmp/in/s.py" if sandbox.available_isolation() != "none" else None
    for _ in range(150):
        if _pids_with_argument(script_arg):
            break
        time.sleep(0.1)
    else:
        caller.kill()
        raise AssertionError(f"the sandboxed process never started: {caller.communicate()[1][-1500:]}")
    caller.send_signal(signal.SIGKILL)
    caller.wait()
    started = time.perf_counter()
    while _pids_with_argument(script_arg):
        assert time.perf_counter() - started < 15, "the sandboxed process outlived its dead caller"
        time.sleep(0.2)
    assert time.perf_counter() - started > 0.5  # it really was still running after the caller died


def _pids_with_argument(argument: str | None) -> list[int]:
    """Processes with exactly this command-line argument (not as a substring of another one)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                parts = handle.read().split(b"\0")
        except OSError:
            continue
        if argument is not None and argument.encode() in parts:
            found.append(int(entry))
    return found
