"""Local path checks, done before any network call or subprocess.

A path from the model is untrusted: it is resolved (symlinks included) and must land
inside the operator's allowed roots when those are set. Each failure says exactly
which rule failed and what to pass instead.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

from numerai_mcp.config import Settings

# Numerai's hosted runtime has 4 GB of RAM; a pickle near that size cannot run there.
MAX_PICKLE_BYTES = 4 * 1024**3


def _resolve(raw: str, what: str) -> Path:
    if not raw or not raw.strip():
        raise ToolError(f"{what} is empty: pass the path of a local file.")
    if "\x00" in raw:
        raise ToolError(f"{what} contains a NUL byte.")
    path = Path(raw.strip()).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    return path.resolve()


def _check_roots(path: Path, roots: Sequence[Path] | None, what: str) -> None:
    if roots and not any(path == root or path.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise ToolError(f"{what} {path} is outside the directories this server may read ({allowed}).")


def check_input_file(
    raw: str,
    settings: Settings,
    *,
    what: str = "localPath",
    suffixes: tuple[str, ...] = (".pkl",),
    max_bytes: int | None = MAX_PICKLE_BYTES,
) -> Path:
    """Return the resolved path of an existing, readable, regular file of an accepted type."""
    path = _resolve(raw, what)
    _check_roots(path, settings.allowed_roots, what)
    try:
        info = path.stat()
    except FileNotFoundError:
        hint = f" (resolved from the server's working directory {Path.cwd()})" if not Path(raw).expanduser().is_absolute() else ""
        raise ToolError(f"{what} {path} does not exist{hint}. Pass an absolute path to an existing file.") from None
    except OSError as exc:
        raise ToolError(f"{what} {path} cannot be inspected: {exc.strerror}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{what} {path} is a directory; pass the file inside it.")
    if not stat.S_ISREG(info.st_mode):
        raise ToolError(f"{what} {path} is not a regular file.")
    if suffixes and path.suffix.lower() not in suffixes:
        raise ToolError(f"{what} {path} has extension {path.suffix or '(none)'!r}; expected {' or '.join(suffixes)}.")
    if not os.access(path, os.R_OK):
        raise ToolError(f"{what} {path} is not readable by the server (check its permissions).")
    if info.st_size == 0:
        raise ToolError(f"{what} {path} is empty.")
    if max_bytes is not None and info.st_size > max_bytes:
        raise ToolError(
            f"{what} {path} is {info.st_size / 1024**3:.2f} GiB, over the {max_bytes / 1024**3:.0f} GiB limit: "
            "Numerai's runtime has 4 GB of memory, so a model this large cannot run there. Shrink it first."
        )
    return path


def check_input_path(raw: str, settings: Settings, *, what: str) -> Path:
    """Resolve an existing file or directory (e.g. a bundle) inside the allowed roots."""
    path = _resolve(raw, what)
    _check_roots(path, settings.allowed_roots, what)
    if not path.exists():
        raise ToolError(f"{what} {path} does not exist.")
    if not os.access(path, os.R_OK):
        raise ToolError(f"{what} {path} is not readable by the server.")
    return path


def check_output_file(raw: str, settings: Settings, *, what: str = "outputPath", suffixes: tuple[str, ...] = (".pkl",)) -> Path:
    """Resolve a file we are about to write: its directory must exist and be writable."""
    path = _resolve(raw, what)
    _check_roots(path, settings.allowed_roots, what)
    if suffixes and path.suffix.lower() not in suffixes:
        raise ToolError(f"{what} {path} must end with {' or '.join(suffixes)}.")
    if path.is_dir():
        raise ToolError(f"{what} {path} is a directory; pass a file name inside it.")
    if not path.parent.is_dir():
        raise ToolError(f"{what}: the directory {path.parent} does not exist; create it first.")
    if not os.access(path.parent, os.W_OK):
        raise ToolError(f"{what}: the directory {path.parent} is not writable by the server.")
    return path


def check_output_dir(raw: str, settings: Settings, *, what: str) -> Path:
    """Resolve a directory we will write files into (created when its parent exists)."""
    path = _resolve(raw, what)
    _check_roots(path, settings.allowed_roots, what)
    if path.exists() and not path.is_dir():
        raise ToolError(f"{what} {path} is a file; pass a directory.")
    if not path.exists() and not path.parent.is_dir():
        raise ToolError(f"{what}: the directory {path.parent} does not exist; create it first.")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise ToolError(f"{what} {path} is not writable by the server.")
    return path
