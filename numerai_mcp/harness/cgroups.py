"""Numerai's limits from the kernel itself, when the machine delegates a cgroup v2 subtree to us.

A cgroup with `memory.max`, `cpu.max` and `pids.max` is what Numerai's container gets: the
kernel counts every process together, OOM-kills the group at the memory limit and throttles
to one CPU whatever the affinity says. We can only use it where we may write our own cgroup
(root on a cgroup v2 host, under a top-level `numerai-mcp`; a systemd unit with Delegate=yes;
a container given its cgroup namespace): then each run gets a child cgroup
`numerai-mcp-run-<token>`. Elsewhere (cgroup v1 hosts, an ordinary user's login session) the
caller falls back to the /proc watchdog (harness.watchdog).

Delegation follows the kernel's "no internal processes" rule: controllers can only be enabled
for children of a cgroup that holds no processes, so when we are alone in our cgroup we move
ourselves into a leaf `numerai-mcp-server` first (systemd's advice for delegated units).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

NEEDED = ("cpu", "memory", "pids")
SERVER_LEAF = "numerai-mcp-server"
ROOT_PARENT = "numerai-mcp"
RUN_PREFIX = "numerai-mcp-run-"
CPU_PERIOD_US = 100_000


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def cgroup2_mount(mountinfo: str) -> Path | None:
    """The cgroup2 mount point from /proc/self/mountinfo text."""
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            fields = left.split()
            if len(fields) >= 5:
                return Path(fields[4].replace("\\040", " "))
    return None


def own_cgroup(cgroup_file: str, controller: str = "") -> str | None:
    """Our path in a hierarchy from /proc/self/cgroup text: '0::/path' (unified) or 'N:pids:/path' (v1)."""
    for line in cgroup_file.splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "" and not controller and line.startswith("0::"):
            return path.strip() or "/"
        if controller and controller in controllers.split(","):
            return path.strip() or "/"
    return None


def cgroup1_mount(mountinfo: str, controller: str) -> Path | None:
    """The mount point of the cgroup v1 hierarchy that holds `controller`."""
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields = right.split()
        if len(fields) >= 3 and fields[0] == "cgroup" and controller in fields[2].split(","):
            return Path(left.split()[4].replace("\\040", " "))
    return None


def find_pids_v1_parent(mountinfo: str, cgroup_file: str, euid: int) -> tuple[Path | None, str]:
    """As root on a cgroup v1 host: our pids cgroup, under which each run gets a pids.max.

    Root needs this most: the kernel exempts uid 0 from RLIMIT_NPROC, so without a pids cgroup a
    fork bomb would only meet the watchdog, after it had filled the machine's PID space.
    """
    if euid != 0:
        return None, "cgroup v1 can only be written by root"
    mount, path = cgroup1_mount(mountinfo, "pids"), own_cgroup(cgroup_file, "pids")
    if mount is None or path is None:
        return None, "no cgroup v1 pids controller is mounted"
    parent = mount / path.lstrip("/")
    return (parent, "") if os.access(parent, os.W_OK) else (None, f"{parent} is not writable")


def _root_parent(mount: Path) -> tuple[Path | None, str]:
    """As root: our own top-level cgroup, when the hierarchy's root offers the controllers."""
    parent = mount / ROOT_PARENT
    try:
        parent.mkdir(exist_ok=True)
        _write(parent / "cgroup.subtree_control", " ".join(f"+{name}" for name in NEEDED))
    except OSError as exc:
        return None, f"could not set up {parent}: {exc.strerror or exc}"
    return parent, ""


def find_delegated_parent(mountinfo: str, cgroup_file: str, pid: int, euid: int) -> tuple[Path | None, str]:
    """(a cgroup under which run cgroups with cpu/memory/pids can be made, or None; why not)."""
    mount, path = cgroup2_mount(mountinfo), own_cgroup(cgroup_file)
    if mount is None or path is None:
        return None, "no cgroup v2 hierarchy is mounted"
    if euid == 0 and set(NEEDED) <= set(_read(mount / "cgroup.subtree_control").split()):
        return _root_parent(mount)
    ours = mount / path.lstrip("/")
    available = set(_read(ours / "cgroup.controllers").split())
    missing = [name for name in NEEDED if name not in available]
    if missing:
        return None, f"cgroup v2 at {ours} does not delegate the {', '.join(missing)} controller(s)"
    if not os.access(ours, os.W_OK) or not os.access(ours / "cgroup.subtree_control", os.W_OK):
        return None, f"cgroup v2 at {ours} is not writable by this user (not delegated)"
    enabled = set(_read(ours / "cgroup.subtree_control").split())
    if set(NEEDED) <= enabled:
        return (ours, "") if path == "/" else (None, f"{ours} already has children; it is not ours to manage")
    members = [line for line in _read(ours / "cgroup.procs").split() if line.strip()]
    if members and members != [str(pid)]:
        return None, f"other processes share {ours}, so its controllers cannot be delegated to our runs"
    try:
        leaf = ours / SERVER_LEAF
        leaf.mkdir(exist_ok=True)
        if members:
            _write(leaf / "cgroup.procs", str(pid))
        _write(ours / "cgroup.subtree_control", " ".join(f"+{name}" for name in NEEDED))
    except OSError as exc:
        return None, f"could not enable cgroup controllers under {ours}: {exc.strerror or exc}"
    return ours, ""


def _proc_texts() -> tuple[str, str] | None:
    try:
        return Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text()
    except OSError:
        return None


def delegated_parent() -> tuple[Path | None, str]:
    """find_delegated_parent for this process (Linux only)."""
    texts = _proc_texts()
    if texts is None:
        return None, "no /proc (not Linux)"
    return find_delegated_parent(*texts, os.getpid(), os.geteuid())


def pids_v1_parent() -> tuple[Path | None, str]:
    """find_pids_v1_parent for this process."""
    texts = _proc_texts()
    if texts is None:
        return None, "no /proc (not Linux)"
    return find_pids_v1_parent(*texts, os.geteuid())


ORPHAN_AGE_S = 60.0


def _new_run_path(parent: Path) -> Path:
    """A fresh run cgroup, after removing runs left by servers that died (empty, and old enough that no
    other server can be about to join them; a cgroup with processes cannot be removed anyway)."""
    now = time.time()
    for old in parent.glob(f"{RUN_PREFIX}*"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > ORPHAN_AGE_S:
                old.rmdir()
    path = parent / f"{RUN_PREFIX}{secrets.token_hex(6)}"
    path.mkdir()
    return path


@dataclass
class RunCgroup:
    """One run's cgroup: Numerai's limits, and what the kernel saw."""

    path: Path
    enforces: tuple[str, ...] = ("memory", "cpu", "processes")

    @classmethod
    def create(cls, parent: Path, *, memory_bytes: int, cpus: int, processes: int) -> RunCgroup:
        path = _new_run_path(parent)
        group = cls(path)
        try:
            _write(path / "memory.max", str(memory_bytes))
            with contextlib.suppress(OSError):  # no swap accounting: nothing to cap
                _write(path / "memory.swap.max", "0")
            with contextlib.suppress(OSError):  # kernels before 4.19: the biggest process dies alone
                _write(path / "memory.oom.group", "1")
            _write(path / "cpu.max", f"{cpus * CPU_PERIOD_US} {CPU_PERIOD_US}")
            _write(path / "pids.max", str(processes))
        except OSError:
            group.remove()
            raise
        return group

    @classmethod
    def create_pids_v1(cls, parent: Path, *, processes: int) -> RunCgroup:
        """A cgroup v1 pids cgroup: only the process cap is the kernel's (memory and CPU stay with the watchdog)."""
        path = _new_run_path(parent)
        group = cls(path, ("processes",))
        try:
            _write(path / "pids.max", str(processes))
        except OSError:
            group.remove()
            raise
        return group

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def oom_killed(self) -> bool:
        if "memory" not in self.enforces:
            return False
        events = dict(line.split(" ", 1) for line in _read(self.path / "memory.events").splitlines() if " " in line)
        return any(int(events.get(key, "0").strip() or 0) > 0 for key in ("oom_kill", "oom_group_kill"))

    def peak_bytes(self) -> int | None:
        if "memory" not in self.enforces:
            return None
        text = _read(self.path / "memory.peak").strip()
        return int(text) if text.isdigit() else None

    def kill(self) -> None:
        """Kill every process in the group (cgroup.kill on 5.14+, else one by one)."""
        if (self.path / "cgroup.kill").exists():
            try:
                _write(self.path / "cgroup.kill", "1")
                return
            except OSError:
                pass
        for line in _read(self.procs).split():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(line), 9)

    def remove(self) -> None:
        """rmdir once the group is empty. Its processes are dead, but bwrap's init may stay a zombie until
        the host's init reaps it; past ~5 s the empty group is left for the next run's orphan sweep."""
        for _ in range(250):
            try:
                self.path.rmdir()
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY:  # gone already, or not a kernel cgroup
                    return
                self.kill()
                time.sleep(0.02)
