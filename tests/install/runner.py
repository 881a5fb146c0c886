"""Run install-mcp.sh as a user would, with a throwaway HOME, and read back what it left.

Every run is a real `bash install-mcp.sh` process. The environment is the test process's own
(certificates, proxies and package-index settings keep working) minus the variables that
would steer the installer at the developer's real files, with HOME, PATH and the uv cache
pointed at temporary or test-cache directories.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "install-mcp.sh"
BASH = shutil.which("bash") or "/bin/bash"  # absolute: some tests run with a PATH that has no bash

# A developer's own settings that would make the installer look at their real configs.
STEERING = {
    "CODEX_HOME", "CLAUDE_CONFIG_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME",
    "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PYTHON", "PIPX_HOME", "PIPX_BIN_DIR",
}


def new_key() -> tuple[str, str]:
    """A fresh, recognisable key pair: (PUBLIC$SECRET, SECRET)."""
    secret = "sk" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
    return f"TESTPUBLIC{uuid.uuid4().hex[:8].upper()}${secret}", secret


@dataclass(frozen=True)
class Sandbox:
    """Where one installer run may write: a HOME and the install root it registers."""

    home: Path
    install_home: Path
    tools: Path  # a PATH directory holding the tools a test allows (uv, python3, a client CLI)
    uv_cache: Path

    @property
    def command(self) -> Path:
        return self.install_home / "venv" / "bin" / "numerai-mcp"

    def env(self, extra: Mapping[str, str] | None = None, *, path: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in STEERING and not k.startswith("NUMERAI_")}
        env.update(
            HOME=str(self.home),
            PATH=path or f"{self.tools}:/usr/bin:/bin",
            NUMERAI_MCP_HOME=str(self.install_home),
            UV_CACHE_DIR=str(self.uv_cache),
        )
        env.update(extra or {})
        return env

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        path: str | None = None,
        stdin: str | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BASH, str(SCRIPT), *args],
            env=self.env(env, path=path),
            cwd=self.home,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,  # no controlling terminal: the script must not find a /dev/tty
        )

    def run_piped(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`curl -sL … | bash -s -- ARGS`: the script arrives on stdin, not from a checkout."""
        return subprocess.run(
            [BASH, "-s", "--", *args],
            env=self.env(env),
            cwd=self.home,
            input=SCRIPT.read_text(),
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,  # no controlling terminal: the script must not find a /dev/tty
        )


def link_tool(tools: Path, name: str, target: str | Path) -> None:
    link = tools / name
    if not link.exists():
        link.symlink_to(target)


def base_python() -> str:
    """The interpreter behind the test runner (>= 3.11, as the package requires)."""
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def snapshot(*roots: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file and directory under the roots: mode and content, to prove nothing changed."""
    seen: dict[str, tuple[int, bytes | None]] = {}
    for root in roots:
        if not root.exists():
            continue
        for path in sorted([root, *root.rglob("*")]):
            st = path.lstat()
            content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
            seen[str(path)] = (st.st_mode, content)
    return seen


def files_under(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


class ArgvWatch:
    """Scans every process's argv while an installer runs, to prove a secret never appears there."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.hits: list[str] = []
        self.scans = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                        argv = fh.read()
                except OSError:
                    continue
                if self.secret in argv:
                    self.hits.append(argv.replace(b"\0", b" ").decode(errors="replace"))
            self.scans += 1
            time.sleep(0.005)

    @contextmanager
    def watching(self) -> Iterator[ArgvWatch]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


class Terminal:
    """Runs the installer on its own pseudo-terminal, as when a person types into it.

    The child becomes a session leader with the pty as its controlling terminal, so the
    script's `/dev/tty` prompts and `read -s` behave exactly as in a real terminal; what the
    terminal shows (the echo of typed characters included) is collected in `screen`.
    """

    def __init__(self, argv: list[str], env: Mapping[str, str], cwd: Path) -> None:
        import fcntl
        import termios

        master, slave = os.openpty()

        def own_the_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=dict(env), cwd=cwd,
            preexec_fn=own_the_terminal, close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.screen = b""

    def _read(self, timeout: float) -> str:
        """Collect what the terminal shows next: "data", "idle" or "closed"."""
        import select

        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return "idle"
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: every writer of the terminal has gone
            return "closed"
        self.screen += chunk
        return "data" if chunk else "closed"

    def expect(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.screen:
            if self._read(0.1) == "closed" or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.text}")

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def type_hidden(self, line: str, timeout: float = 30) -> None:
        """Type once the program has turned the terminal's echo off (as `read -s` does)."""
        import termios

        deadline = time.monotonic() + timeout
        while termios.tcgetattr(self.master)[3] & termios.ECHO:
            if self._read(0.01) == "closed" or time.monotonic() > deadline:
                raise AssertionError(f"the terminal's echo was never turned off; it shows:\n{self.text}")
        self.type(line)

    def finish(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while self._read(0.1) != "closed":
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"the installer did not finish; the terminal shows:\n{self.text}")
        os.close(self.master)
        return self.proc.wait(timeout=30)

    @property
    def text(self) -> str:
        return self.screen.decode(errors="replace")


def stop_leftovers(marker: Path) -> list[str]:
    """Stop processes a test left behind, found by its unique temp path in their argv.

    A real client may kill the server it started without letting the server stop its own
    children (the `--sandbox` emulator), so such a child can outlive the test.
    """
    import signal

    needle = str(marker).encode()
    found: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                    argv = fh.read()
            except OSError:
                continue
            if needle in argv:
                found[int(entry.name)] = argv.replace(b"\0", b" ").decode(errors="replace")
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in found):
        time.sleep(0.05)
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return list(found.values())
