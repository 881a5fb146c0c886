"""Find a local interpreter that can import given modules (pandas, pyarrow, …).

The emulator itself never imports pandas; the few jobs that need it (writing the live
parquet files, the minimal validator) run a script with an interpreter found here:
an explicit `--python 3.X=PATH`, this process's own interpreter, then pyenv/PATH
interpreters of that minor version (via the harness's exact-minor lookup).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

SUPPORTED = ("3.13", "3.12", "3.11", "3.10")
_PROBE_TIMEOUT_S = 60.0
_probed: dict[tuple[str, tuple[str, ...]], bool] = {}
_lock = threading.Lock()


def own_version() -> str:
    return "%d.%d" % sys.version_info[:2]


def _importable_here(modules: tuple[str, ...]) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in modules)


def can_import(python: Path, modules: Iterable[str]) -> bool:
    """Whether `python` imports every module (checked once per interpreter and module set)."""
    wanted = tuple(sorted(modules))
    cache_key = (str(python), wanted)
    with _lock:
        if cache_key in _probed:
            return _probed[cache_key]
    if Path(python) == Path(sys.executable):
        ok = _importable_here(wanted)
    else:
        try:
            done = subprocess.run([str(python), "-I", "-c", f"import {', '.join(wanted)}"], capture_output=True,
                                  timeout=_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
            ok = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
    with _lock:
        _probed[cache_key] = ok
    return ok


def candidates(version: str, explicit: Mapping[str, Path]) -> list[Path]:
    found: list[Path] = []
    if version in explicit:
        found.append(Path(explicit[version]))
    if version == own_version():
        found.append(Path(sys.executable))
    try:
        from numerai_mcp.harness.interpreters import InterpreterNotFoundError, find_interpreter
    except ImportError:
        return found
    try:
        found.append(Path(find_interpreter(version)))
    except (InterpreterNotFoundError, ValueError, OSError):
        pass
    return list(dict.fromkeys(found))


def python_with(version: str, modules: Iterable[str], explicit: Mapping[str, Path]) -> Path | None:
    """An interpreter of exactly `version` that imports `modules`, or None."""
    wanted = tuple(modules)
    return next((p for p in candidates(version, explicit) if can_import(p, wanted)), None)


def any_python_with(modules: Iterable[str], explicit: Mapping[str, Path]) -> Path | None:
    """Any interpreter (ours first) that imports `modules`, or None."""
    wanted = tuple(modules)
    versions = [own_version(), *explicit, *SUPPORTED]
    for version in dict.fromkeys(versions):
        found = python_with(version, wanted, explicit)
        if found is not None:
            return found
    return None
