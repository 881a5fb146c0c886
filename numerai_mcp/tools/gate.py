"""The safety gate in front of every upload: the file about to leave the machine must have passed
validate_pickle (looked up by sha256, validated on the spot when never seen), and its Python version
decides the runtime image, because a pickle run by another Python minor version crashes at Numerai."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from numerai_mcp.harness import verdict_store
from numerai_mcp.harness.verdict import Verdict
from numerai_mcp.tools.common import server_state, thread_progress
from numerai_mcp.tools.validate import run_validation


@dataclass
class GateResult:
    verdict: Verdict | None
    python: str | None  # the Python minor version to match the runtime image to, when known
    notes: list[str] = field(default_factory=list)


# The scan reads the whole file; past this size (only reachable with skipValidation) the server keeps
# its memory flat instead and the runtime image falls back to dockerImage or the default.
SCAN_LIMIT_BYTES = 256 * 1024**2


def scanned_python(path: Path) -> str | None:
    """The producing Python from the bytecode, when the scan is unambiguous and Numerai has a runtime for it."""
    from numerai_mcp.harness.catalogue import SUPPORTED_PYTHONS
    from numerai_mcp.harness.scan import scan_pickle

    if path.stat().st_size > SCAN_LIMIT_BYTES:
        return None

    versions = scan_pickle(path).python_versions
    return versions[0] if len(versions) == 1 and versions[0] in SUPPORTED_PYTHONS else None


async def check_before_upload(ctx: Context[Any, Any], path: Path, *, skip_validation: bool) -> GateResult:
    """Pass only a file whose verdict, for the Python that built it, is a pass.

    A verdict counts only for the runtime it was made in: a pickle refused on 3.11 because it was
    built by 3.12 is validated again on 3.12 rather than refused."""
    settings = server_state(ctx).settings
    built_with = await anyio.to_thread.run_sync(scanned_python, path)
    if skip_validation:
        return GateResult(None, built_with, ["Uploaded without validation (skipValidation=true)."])
    sha = await anyio.to_thread.run_sync(verdict_store.file_sha256, path)
    verdict = verdict_store.recall(sha, settings.cache_dir)
    notes = []
    if verdict is None or (built_with is not None and verdict.python_version_used != built_with):
        await ctx.report_progress(0, None, "no verdict for this file and its Python yet: validating it first")
        call = functools.partial(run_validation, settings, path, thread_progress(ctx), python_version=built_with)
        verdict = await anyio.to_thread.run_sync(call)
        notes.append(f"Validated before upload: {verdict.summary}")
    if not verdict.passed:
        fix = f" Fix: {verdict.fixes[0]}" if verdict.fixes else ""
        raise ToolError(
            f"Refusing to upload {path.name}: it failed validate_pickle ({verdict.summary}).{fix} "
            "Numerai would fail it too. Fix and validate again, or pass skipValidation=true to upload anyway."
        )
    return GateResult(verdict, verdict.python_version_used, notes)


def remembered_python(ctx: Context[Any, Any], filename: str) -> str | None:
    return server_state(ctx).uploaded_python.get(filename)


def remember_upload(ctx: Context[Any, Any], url: str, python: str | None) -> None:
    """Note which Python the file put at this presigned URL was built with (the key ends the URL path)."""
    from urllib.parse import unquote, urlparse

    key = unquote(urlparse(url).path.rsplit("/", 1)[-1])
    if key:
        server_state(ctx).uploaded_python[key] = python
