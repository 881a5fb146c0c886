"""Evaluations remembered by the pickle's sha256, so "a local evaluation of this file" can be found again.

Layout: `<cache_dir>/evaluations/<sha256>/<key>/evaluation.json` beside that evaluation's plots,
where `key` digests what else decides the numbers (the data's identity, the eras, the options).
Written atomically (temp file + rename); the newest evaluation of a file is `latest(sha256)`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numerai_mcp.harness.evaluate import Evaluation

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
FILE = "evaluation.json"


def root(cache_dir: Path) -> Path:
    return Path(cache_dir) / "evaluations"


def key_for(parts: object) -> str:
    """A short digest of everything (besides the file) that decides an evaluation's numbers."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def folder(cache_dir: Path, sha256: str, key: str) -> Path:
    digest = sha256.strip().lower()
    if not _SHA256.match(digest):
        raise ValueError(f"{sha256!r} is not a sha256 hex digest (64 hex characters).")
    if not re.fullmatch(r"[0-9a-f]{1,64}", key):
        raise ValueError(f"{key!r} is not an evaluation key.")
    return root(cache_dir) / digest / key


def remember(evaluation: Evaluation, cache_dir: Path, key: str) -> Path:
    from numerai_mcp.harness.verdict_store import write_atomically

    target = folder(cache_dir, evaluation.sha256, key) / FILE
    write_atomically(target, evaluation.model_dump_json(indent=1))
    return target


def _load(path: Path) -> Evaluation | None:
    from numerai_mcp.harness.evaluate import Evaluation

    try:
        return Evaluation.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def recall(cache_dir: Path, sha256: str, key: str) -> Evaluation | None:
    """The evaluation stored under (sha256, key), or None (also for an unreadable or outdated file)."""
    return _load(folder(cache_dir, sha256, key) / FILE)


def latest(cache_dir: Path, sha256: str) -> Evaluation | None:
    """The newest evaluation of the file with this sha256 (any data, any eras), or None."""
    digest = sha256.strip().lower()
    if not _SHA256.match(digest):
        raise ValueError(f"{sha256!r} is not a sha256 hex digest (64 hex characters).")
    found = [path for path in (root(cache_dir) / digest).glob(f"*/{FILE}") if path.is_file()]
    for path in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True):
        evaluation = _load(path)
        if evaluation is not None:
            return evaluation
    return None
