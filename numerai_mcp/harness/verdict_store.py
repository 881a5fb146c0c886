"""Verdicts remembered by the pickle's sha256, so an upload can check the file it is about to send.

One JSON file per sha256 under `<cache_dir>/verdicts/`, written atomically (temp file +
rename) so a concurrent reader never sees half a verdict. The newest verdict wins.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from numerai_mcp.harness.verdict import Verdict

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _folder(cache_dir: Path | None) -> Path:
    if cache_dir is None:
        from numerai_mcp.config import default_cache_dir

        cache_dir = default_cache_dir(os.environ)
    return Path(cache_dir) / "verdicts"


def _path(sha256: str, cache_dir: Path | None) -> Path:
    digest = sha256.strip().lower()
    if not _SHA256.match(digest):
        raise ValueError(f"{sha256!r} is not a sha256 hex digest (64 hex characters).")
    return _folder(cache_dir) / f"{digest}.json"


def file_sha256(path: Path) -> str:
    """The key verdicts are stored under: the sha256 of the file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remember(verdict: Verdict, cache_dir: Path | None = None) -> None:
    """Store the verdict under its sha256, replacing any earlier one."""
    write_atomically(_path(verdict.sha256, cache_dir), verdict.model_dump_json(indent=1))


def write_atomically(target: Path, text: str) -> None:
    """Write `text` to `target` through a temp file and a rename: a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def recall(sha256: str, cache_dir: Path | None = None) -> Verdict | None:
    """The last verdict for that sha256, or None (also for an unreadable or outdated file)."""
    try:
        text = _path(sha256, cache_dir).read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        return Verdict.model_validate_json(text)
    except ValueError:
        return None
