"""The rule in front of every upload: the file about to leave the machine must have passed validate_pickle for the
Python that built it (looked up by sha256, validated on the spot when never seen), because a pickle that fails here
fails at Numerai, and one run by another Python minor version crashes there.

Plain functions, no MCP: the caller passes how to validate (with its own progress reporting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from numerai_mcp.errors import NumeraiMcpError
from numerai_mcp.harness import verdict_store
from numerai_mcp.harness.verdict import Verdict

# The scan reads the whole file; past this size (only reachable with skipValidation) memory stays flat instead
# and the runtime image falls back to dockerImage or the default.
SCAN_LIMIT_BYTES = 256 * 1024**2

# validate(path, python_version or None) -> Verdict; runs the pickle in the sandbox
Validator = Callable[[Path, str | None], Verdict]


class UploadRefusedError(NumeraiMcpError):
    """The file must not be uploaded as it is; the message says why and what to do."""


@dataclass(frozen=True)
class Clearance:
    """What the gate learnt about a file it let through."""

    sha256: str
    size: int
    verdict: Verdict | None  # None only with skip_validation
    python: str | None  # the Python minor version to match the runtime image to, when known
    python_source: str | None  # "verdict" (it ran on that Python) or "scan" (read from its bytecode)
    notes: list[str] = field(default_factory=list)


def scanned_python(path: Path) -> str | None:
    """The producing Python from the bytecode, when the scan is unambiguous and Numerai has a runtime for it."""
    from numerai_mcp.harness.catalogue import SUPPORTED_PYTHONS
    from numerai_mcp.harness.scan import scan_pickle

    if path.stat().st_size > SCAN_LIMIT_BYTES:
        return None
    versions = scan_pickle(path).python_versions
    return versions[0] if len(versions) == 1 and versions[0] in SUPPORTED_PYTHONS else None


def clear_for_upload(path: Path, *, cache_dir: Path, skip_validation: bool, validate: Validator) -> Clearance:
    """Let the file through only when its verdict, for the Python that built it, is a pass; else raise.

    A verdict counts only for the runtime it was made in: a pickle refused on 3.11 because 3.12 built it is
    validated again on 3.12 rather than refused. Runs the validation itself when needed (seconds)."""
    sha = verdict_store.file_sha256(path)
    size = path.stat().st_size
    built_with = scanned_python(path)
    if skip_validation:
        return Clearance(sha, size, None, built_with, "scan" if built_with else None,
                         ["Uploaded without validation (skipValidation=true)."])
    verdict = verdict_store.recall(sha, cache_dir)
    notes = []
    if verdict is None or (built_with is not None and verdict.python_version_used != built_with):
        verdict = validate(path, built_with)
        notes.append(f"Validated before upload: {verdict.summary}")
    if not verdict.passed:
        raise UploadRefusedError(
            f"Refusing to upload {path.name}: it failed validate_pickle ({verdict.summary}) "
            "Numerai would fail it too. Apply the fix, validate again, or pass skipValidation=true to upload anyway."
        )
    return Clearance(sha, size, verdict, verdict.python_version_used, "verdict", notes)


def known_python(path: Path, cache_dir: Path) -> tuple[str | None, str | None]:
    """(Python, how we know) for a local file, without running it: a passing verdict, else its bytecode."""
    verdict = verdict_store.recall(verdict_store.file_sha256(path), cache_dir)
    if verdict is not None and verdict.passed:
        return verdict.python_version_used, "verdict"
    python = scanned_python(path)
    return python, "scan" if python else None
