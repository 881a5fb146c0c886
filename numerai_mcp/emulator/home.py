"""The shared sandbox's directory: where one user's emulator keeps its state, its address and its locks.

    <cache>/sandbox/            (or NUMERAI_MCP_SANDBOX_HOME), mode 0700
      state.json                the emulator's world (0600; holds the master key every API secret derives from)
      data/                     stored uploads, datasets, validation scratch
      emulator.json             the running emulator's record: url, port, pid, idle timeout (no secret)
      emulator.log              its stderr (redacted), rotated at 1 MiB
      lock                      exclusive while a process attaches, starts or stops the emulator
      attached                  shared lock held by every attached process for its lifetime
      running                   exclusive lock held by the emulator for its lifetime

The locks are `flock`s: the kernel drops them when their process ends however it ends, so a dead
process can never leave one behind, and "is it running?" never depends on a pid that may be reused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOME_ENV = "NUMERAI_MCP_SANDBOX_HOME"
LOG_ROTATE_BYTES = 1024 * 1024
_POLL_S = 0.05


class LockTimeout(TimeoutError):
    """A lock stayed taken longer than the caller would wait."""


def default_home(cache_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """NUMERAI_MCP_SANDBOX_HOME, else `<cache_dir>/sandbox`."""
    explicit = (os.environ if env is None else env).get(HOME_ENV, "").strip()
    return Path(explicit).expanduser() if explicit else cache_dir / "sandbox"


def _open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def try_flock(path: Path, mode: int) -> int | None:
    """An open descriptor holding `mode` (LOCK_SH/LOCK_EX) on `path`, or None when it is taken."""
    fd = _open_lock(path)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def flock_within(path: Path, mode: int, timeout_s: float) -> int:
    """Like try_flock, but wait up to `timeout_s` for the lock (raises LockTimeout)."""
    deadline = time.monotonic() + timeout_s
    while (fd := try_flock(path, mode)) is None:
        if time.monotonic() >= deadline:
            raise LockTimeout(f"{path} stayed locked for {timeout_s:.0f} s")
        time.sleep(_POLL_S)
    return fd


def is_locked(path: Path, mode: int) -> bool:
    """True when `mode` cannot be taken on `path` right now (someone holds a conflicting lock)."""
    fd = try_flock(path, mode)
    if fd is None:
        return True
    os.close(fd)
    return False


def lock_holders(path: Path) -> list[int]:
    """Pids holding a flock on `path`, from /proc/locks (Linux; empty elsewhere or when unknown)."""
    try:
        inode = path.stat().st_ino
        text = Path("/proc/locks").read_text()
    except OSError:
        return []
    pids = []
    for line in text.splitlines():
        match = re.match(r"^\d+:\s+FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s", line)
        if match and int(match.group(2)) == inode:
            pids.append(int(match.group(1)))
    return sorted(set(pids))


class _Entry:
    """A file or directory of the home, by name: `home.state_file` is `home.root / "state.json"`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, home: SandboxHome, owner: type | None = None) -> Path:
        return home.root / self.name


@dataclass(frozen=True)
class SandboxHome:
    """The paths of one shared sandbox (see the module docstring for what each holds)."""

    root: Path
    state_file = _Entry("state.json")
    data_dir = _Entry("data")
    record_file = _Entry("emulator.json")
    log_file = _Entry("emulator.log")
    lock_file = _Entry("lock")
    attached_file = _Entry("attached")
    running_file = _Entry("running")

    def ensure(self) -> SandboxHome:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # state.json holds the master key
        return self

    @contextlib.contextmanager
    def locked(self, timeout_s: float) -> Iterator[None]:
        """Hold the attach lock (one process at a time attaches, starts or stops the emulator)."""
        fd = flock_within(self.lock_file, fcntl.LOCK_EX, timeout_s)
        try:
            yield
        finally:
            os.close(fd)

    def emulator_running(self) -> bool:
        return is_locked(self.running_file, fcntl.LOCK_SH)

    def attached_pids(self) -> list[int]:
        return lock_holders(self.attached_file) if self.attached_file.exists() else []

    def anyone_attached(self) -> bool:
        return self.attached_file.exists() and is_locked(self.attached_file, fcntl.LOCK_EX)

    # -- the record ------------------------------------------------------------------------------
    def read_record(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.record_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("port"), int) or not isinstance(data.get("url"), str):
            return None
        return data

    def write_record(self, record: Mapping[str, Any]) -> None:
        tmp = self.record_file.with_name(f".{self.record_file.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(dict(record), handle, indent=2)
        os.replace(tmp, self.record_file)

    def rotate_log(self) -> None:
        try:
            if self.log_file.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(self.log_file, self.log_file.with_name(self.log_file.name + ".1"))
        except OSError:
            pass
