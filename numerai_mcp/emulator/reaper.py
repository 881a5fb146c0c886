"""Stop every process the emulator started, however deep, when it shuts down.

Validations run in sandboxes that start their own sessions (and PID namespaces), so killing
the emulator's process group does not reach them; without this, a sandbox could outlive a
stopped emulator until its own wall-clock limit. Linux only (reads /proc); elsewhere a no-op.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return children
    for name in entries:
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()  # after "pid (comm)": state, ppid, ...
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(name))
    return children


def descendants(pid: int | None = None) -> list[int]:
    """Every live descendant of `pid` (default: this process), parents before children."""
    tree, found, queue = _children_map(), [], [os.getpid() if pid is None else pid]
    while queue:
        for child in tree.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def kill_descendants() -> int:
    """SIGKILL every descendant of this process; returns how many were signalled."""
    killed = 0
    for pid in descendants():
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed
