"""Find a local CPython of an exact minor version, without ever downloading one.

A pickle's bytecode only runs on the minor version that wrote it, so a local runtime
must be built from an interpreter of exactly that minor version. We look where
developers keep them (pyenv first, then `python3.X` on PATH) and prove each candidate
by running it, because a pyenv shim or a stale symlink can name one version and run another.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from numerai_mcp.errors import SetupError

_PROBE = "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"
_PROBE_TIMEOUT_S = 20.0


class InterpreterNotFoundError(SetupError):
    """No usable interpreter of the requested minor version; the message says how to get one."""


def _minor_version(python: str) -> str:
    from numerai_mcp.pyversion import parse_python_version

    return parse_python_version(python)


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for pyenv version dirs like 3.12.1 (patch descending wins)."""
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.]", path.name))


def _pyenv_candidates(minor: str, env: Mapping[str, str]) -> list[Path]:
    root = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = root / "versions"
    if not versions.is_dir():
        return []
    dirs = [d for d in versions.glob(f"{minor}.*") if re.fullmatch(rf"{re.escape(minor)}\.\d+", d.name)]
    return [d / "bin" / f"python{minor}" for d in sorted(dirs, key=_version_key, reverse=True)]


def _path_candidates(minor: str, env: Mapping[str, str]) -> list[Path]:
    found = shutil.which(f"python{minor}", path=env.get("PATH", os.defpath))
    return [Path(found)] if found else []


def _probe(candidate: Path, minor: str) -> Path | None:
    """Run the candidate; return its real executable when it reports exactly `minor`."""
    try:
        done = subprocess.run(
            [str(candidate), "-I", "-S", "-c", _PROBE],
            capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) != 2 or lines[0].strip() != minor:
        return None
    return Path(lines[1].strip()).resolve()


def _how_to_install(minor: str) -> str:
    return (
        f"No Python {minor} interpreter was found (looked in $PYENV_ROOT/versions/{minor}.* and for "
        f"python{minor} on PATH). Install one, then retry: `pyenv install {minor}`, or "
        f"`uv python install {minor}` and put its python{minor} on PATH, or your system's package "
        f"(e.g. `apt-get install python{minor} python{minor}-venv`). numerai-mcp never downloads Python itself."
    )


_cache: dict[tuple[str, str, str], Path] = {}


def find_interpreter(python: str) -> Path:
    """Return the path of a working CPython `python` (e.g. "3.12") interpreter.

    Order: `$PYENV_ROOT/versions/3.X.*/bin/python3.X` (newest patch first), then `python3.X`
    on PATH (shims resolve to the real binary). Each candidate is verified by running it.
    Raises ValueError for a malformed version and InterpreterNotFoundError when none works.
    """
    minor = _minor_version(python)
    env = os.environ
    key = (minor, env.get("PYENV_ROOT", ""), env.get("PATH", ""))
    cached = _cache.get(key)
    if cached is not None and cached.exists():
        return cached
    for candidate in [*_pyenv_candidates(minor, env), *_path_candidates(minor, env)]:
        if not candidate.exists():
            continue
        real = _probe(candidate, minor)
        if real is not None:
            _cache[key] = real
            return real
    raise InterpreterNotFoundError(_how_to_install(minor))
