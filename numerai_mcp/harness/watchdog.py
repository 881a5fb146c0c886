"""Numerai's container limits for a whole process tree, measured from /proc.

Numerai runs a pickle in a container with 4 GB and 1 CPU for *all* its processes. Without a
delegated cgroup we cannot ask the kernel for that, so the sandbox's parent samples the tree
a few times a second and stops the run when it crosses a limit:

- memory: the anonymous and shared-memory pages of every process (RssAnon + RssShmem); past
  half the limit the biggest processes are re-measured proportionally (Pss) so that pages a
  fork shares with its parent are not counted twice, and the run stops when the sum is over;
- CPU: a process whose affinity is wider than the CPUs it was given (os.sched_setaffinity)
  is a breach at once, and so is CPU time above `cpus` x wall time (plus a small grace);
- processes: more than the cap (a fork bomb also meets RLIMIT_NPROC inside the sandbox).

Everything read is /proc text of bounded size; a process that vanishes mid-read is skipped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CPU_GRACE_S = 0.5
CPU_GRACE_RATIO = 1.05
_READ_LIMIT = 64 * 1024
PSS_PROCESSES = 8


@dataclass(frozen=True)
class Breach:
    """A limit the sandbox crossed, named the way the verdict reports it."""

    limit: str      # "memory" | "cpu" | "processes" | "output"
    message: str


@dataclass
class Sample:
    pids: list[int]
    memory_bytes: int
    cpu_s: float
    widened: tuple[int, str] | None = None  # (pid, its allowed CPU list) when wider than given


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(_READ_LIMIT).decode("ascii", "replace")
    except OSError:
        return None


def _has_children_files() -> bool:
    """Kernels built without CONFIG_PROC_CHILDREN lack /proc/PID/task/TID/children."""
    return os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def _children_via_task_files(pid: int) -> list[int]:
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for tid in tids:
        text = _read(f"/proc/{pid}/task/{tid}/children") or ""
        found += [int(part) for part in text.split() if part.isdigit()]
    return found


def _parent_map() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    if not os.path.isdir("/proc"):  # macOS (unsafe runs only): nothing to sample
        return tree
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _read(f"/proc/{entry}/stat")
            fields = stat.rsplit(")", 1)[-1].split() if stat else []
            if len(fields) > 1 and fields[1].isdigit():
                tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def process_tree(root: int) -> list[int]:
    """`root` and every live descendant, parents first."""
    parents = None if _has_children_files() else _parent_map()
    found, queue = [root], [root]
    while queue:
        pid = queue.pop(0)
        for child in _children_via_task_files(pid) if parents is None else parents.get(pid, []):
            if child not in found:
                found.append(child)
                queue.append(child)
    return found


def _status_fields(pid: int) -> dict[str, str]:
    text = _read(f"/proc/{pid}/status") or ""
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _kib(value: str | None) -> int:
    try:
        return int((value or "0").split()[0]) * 1024
    except (ValueError, IndexError):
        return 0


def _proportional_bytes(pid: int, fallback: int) -> int:
    """Pss of anonymous + shared memory (pages shared after fork counted once), else the Rss figure."""
    text = _read(f"/proc/{pid}/smaps_rollup")
    if not text:
        return fallback
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    if "Pss_Anon" in fields:
        return _kib(fields["Pss_Anon"]) + _kib(fields.get("Pss_Shmem"))
    return fallback


def _cpu_seconds(pid: int) -> float:
    """utime + stime of the process and of the children it has reaped."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return 0.0
    fields = stat.rsplit(")", 1)[-1].split()
    try:  # fields after the comm: state=0 ... utime=11 stime=12 cutime=13 cstime=14
        return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS
    except (IndexError, ValueError):
        return 0.0


def parse_cpu_list(text: str) -> set[int]:
    """'0-2,5' -> {0, 1, 2, 5}."""
    cpus: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            cpus.update(range(int(low), int(high or low) + 1))
        except ValueError:
            continue
    return cpus


@dataclass
class Watchdog:
    """Samples one sandbox's process tree and says when it crosses Numerai's limits."""

    root: int
    memory_bytes: int
    cpus: frozenset[int]
    max_processes: int
    check_cpu: bool = True
    started: float = field(default_factory=time.monotonic)
    peak_memory_bytes: int = 0
    cpu_s: float = 0.0
    seen: set[int] = field(default_factory=set)

    def sample(self) -> Sample:
        pids = process_tree(self.root)
        self.seen.update(pids)
        memory, cpu, widened, rss = 0, 0.0, None, {}
        for pid in pids:
            fields = _status_fields(pid)
            rss[pid] = _kib(fields.get("RssAnon")) + _kib(fields.get("RssShmem"))
            memory += rss[pid]
            cpu += _cpu_seconds(pid)
            allowed = fields.get("Cpus_allowed_list")
            if widened is None and allowed and not parse_cpu_list(allowed) <= self.cpus:
                widened = (pid, allowed)
        if memory > self.memory_bytes // 2:
            memory = self._proportional(rss)
        self.peak_memory_bytes = max(self.peak_memory_bytes, memory)
        self.cpu_s = max(self.cpu_s, cpu)
        return Sample(pids, memory, cpu, widened)

    def _proportional(self, rss: dict[int, int]) -> int:
        """Re-measure the biggest processes proportionally (Pss: pages a fork shares are counted once).

        Only the PSS_PROCESSES largest: smaps_rollup walks page tables, which is slow for big or busy
        processes; the others keep their Rss figure, which can only overstate."""
        biggest = sorted(rss, key=rss.__getitem__, reverse=True)[:PSS_PROCESSES]
        return sum(_proportional_bytes(pid, rss[pid]) if pid in biggest else rss[pid] for pid in rss)

    def check(self) -> Breach | None:
        """Sample once; the breached limit, if any."""
        sample = self.sample()
        if sample.memory_bytes > self.memory_bytes:
            return Breach("memory", f"used more than {_gb(self.memory_bytes)} of memory across its "
                                    f"{len(sample.pids)} processes ({_gb(sample.memory_bytes, 2)})")
        if len(sample.pids) > self.max_processes:
            return Breach("processes", f"ran more than {self.max_processes} processes at once")
        if self.check_cpu and sample.widened is not None:
            return Breach("cpu", f"used more than {_cpus(len(self.cpus))}: it widened its CPU affinity to "
                                 f"CPUs {sample.widened[1]}")
        wall = time.monotonic() - self.started
        if self.check_cpu and sample.cpu_s > len(self.cpus) * wall * CPU_GRACE_RATIO + CPU_GRACE_S:
            return Breach("cpu", f"used more than {_cpus(len(self.cpus))}: {sample.cpu_s:.1f} s of CPU time in "
                                 f"{wall:.1f} s")
        return None


def _gb(value: int, digits: int = 0) -> str:
    gb = value / 1024**3
    return f"{gb:.{digits}f} GB" if digits or gb >= 1 else f"{value / 1024**2:.0f} MB"


def _cpus(count: int) -> str:
    return "1 CPU" if count == 1 else f"{count} CPUs"


def pids_alive(pids: Iterable[int]) -> list[int]:
    return [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
