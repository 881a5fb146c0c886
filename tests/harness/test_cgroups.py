"""Where run cgroups go, decided from /proc text and the cgroup tree.

The cgroup v2 paths cannot run here (this machine's cgroup2 has no controllers), so they are tested
on a directory laid out like a delegated cgroupfs: that checks the decisions and the files written,
not the kernel's enforcement (said plainly: a fake tree, because no delegated cgroup v2 exists on
these machines). The cgroup v1 pids path runs for real as root (tests/harness/test_sandbox.py's
fork bomb meets it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from numerai_mcp.harness import cgroups, sandbox

MOUNTINFO_V1 = """31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
CGROUP_V1 = "8:pids:/\n4:memory:/process_api/0bcc\n0::/\n"


def _tree(root: Path, controllers: str = "cpu memory pids", subtree: str = "", procs: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text(controllers + "\n")
    (root / "cgroup.subtree_control").write_text(subtree + "\n")
    (root / "cgroup.procs").write_text(procs)
    return root


def _mountinfo(mount: Path) -> str:
    return f"41 31 0:38 / {mount} rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"


def test_parsing_mountinfo_and_proc_cgroup() -> None:
    assert cgroups.cgroup2_mount(MOUNTINFO_V1) == Path("/sys/fs/cgroup/unified")
    assert cgroups.cgroup1_mount(MOUNTINFO_V1, "pids") == Path("/sys/fs/cgroup/pids")
    assert cgroups.cgroup1_mount(MOUNTINFO_V1, "cpu") is None
    assert cgroups.own_cgroup(CGROUP_V1) == "/"
    assert cgroups.own_cgroup(CGROUP_V1, "memory") == "/process_api/0bcc"
    assert cgroups.own_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n") == \
        "/user.slice/user-1000.slice/session-2.scope"


def test_no_controllers_means_the_watchdog(tmp_path: Path) -> None:
    _tree(tmp_path, controllers="")
    parent, why = cgroups.find_delegated_parent(_mountinfo(tmp_path), "0::/\n", os.getpid(), 1000)
    assert parent is None and "does not delegate the cpu, memory, pids controller(s)" in why


def test_a_shared_cgroup_is_left_alone(tmp_path: Path) -> None:
    ours = _tree(tmp_path / "session.scope", procs=f"{os.getpid()}\n4242\n")
    parent, why = cgroups.find_delegated_parent(_mountinfo(tmp_path), "0::/session.scope\n", os.getpid(), 1000)
    assert parent is None and "other processes share" in why
    assert not (ours / cgroups.SERVER_LEAF).exists()


def test_a_delegated_cgroup_we_are_alone_in_becomes_our_parent(tmp_path: Path) -> None:
    ours = _tree(tmp_path / "app.service", procs=f"{os.getpid()}\n")
    parent, why = cgroups.find_delegated_parent(_mountinfo(tmp_path), "0::/app.service\n", os.getpid(), 1000)
    assert (parent, why) == (ours, "")
    assert (ours / cgroups.SERVER_LEAF / "cgroup.procs").read_text() == str(os.getpid())
    assert (ours / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"


def test_root_on_cgroup_v2_uses_a_top_level_cgroup(tmp_path: Path) -> None:
    _tree(tmp_path, subtree="cpu io memory pids")
    parent, why = cgroups.find_delegated_parent(_mountinfo(tmp_path), "0::/init.scope\n", os.getpid(), 0)
    assert (parent, why) == (tmp_path / cgroups.ROOT_PARENT, "")
    assert (parent / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"


def test_a_run_cgroup_gets_numerais_limits(tmp_path: Path) -> None:
    group = cgroups.RunCgroup.create(tmp_path, memory_bytes=4 * 1024**3, cpus=1, processes=256)
    assert group.path.parent == tmp_path and group.path.name.startswith(cgroups.RUN_PREFIX)
    assert (group.path / "memory.max").read_text() == str(4 * 1024**3)
    assert (group.path / "memory.swap.max").read_text() == "0"
    assert (group.path / "cpu.max").read_text() == "100000 100000"
    assert (group.path / "pids.max").read_text() == "256"
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    assert group.oom_killed()
    pids = cgroups.RunCgroup.create_pids_v1(tmp_path, processes=64)
    assert (pids.path / "pids.max").read_text() == "64" and not pids.oom_killed() and pids.peak_bytes() is None


def test_this_machine_says_which_limits_the_kernel_enforces() -> None:
    parents = sandbox.cgroup_parents()
    v2, why_not_v2 = parents["v2"]
    assert v2 is not None or why_not_v2  # either a parent or a reason
    if os.geteuid() == 0 and Path("/sys/fs/cgroup/pids/cgroup.procs").exists() and v2 is None:
        assert parents["pids-v1"][0] is not None
    if os.geteuid() != 0 or v2 is not None or parents["pids-v1"][0] is not None:
        assert sandbox.kernel_caps_processes()


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/sys/fs/cgroup/pids/cgroup.procs").exists(),
                    reason="needs root and a cgroup v1 pids hierarchy")
def test_leftover_run_cgroups_of_dead_servers_are_removed() -> None:
    parent = cgroups.pids_v1_parent()[0]
    assert parent is not None
    old = parent / f"{cgroups.RUN_PREFIX}deadbeef0000"
    old.mkdir()
    os.utime(old, (1, 1))
    fresh = cgroups.RunCgroup.create_pids_v1(parent, processes=8)
    try:
        assert not old.exists()
    finally:
        fresh.remove()
        if old.exists():
            old.rmdir()
    assert not fresh.path.exists()
