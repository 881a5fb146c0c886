"""The upload gate as tools call it: the core rule (uploads.gate) run in a worker thread, with this call's progress
and its refusal turned into a message the model reads."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from numerai_mcp.facts import gather_facts
from numerai_mcp.harness.verdict import Verdict
from numerai_mcp.tools.common import caller_settings, server_state, thread_progress
from numerai_mcp.tools.validate import run_validation
from numerai_mcp.uploads.gate import Clearance, UploadRefusedError, clear_for_upload, known_python


async def clear(ctx: Context[Any, Any], path: Path, *, skip_validation: bool) -> Clearance:
    """Pass the file, validating it first when it has no verdict for its Python; refuse a failed one."""
    progress = thread_progress(ctx)
    with caller_settings(ctx) as settings:

        def validate(file: Path, python: str | None) -> Verdict:  # in a worker thread
            progress(0, None, "no verdict for this file and its Python yet: validating it first")
            facts = anyio.from_thread.run(functools.partial(gather_facts, settings, images=python is None, live=True))
            return run_validation(settings, file, progress, facts=facts, python_version=python)

        call = functools.partial(clear_for_upload, path, cache_dir=settings.cache_dir,
                                 skip_validation=skip_validation, validate=validate)
        try:
            return await anyio.to_thread.run_sync(call)
        except UploadRefusedError as exc:
            raise ToolError(str(exc)) from None


async def python_of_file(ctx: Context[Any, Any], path: Path) -> tuple[str | None, str | None]:
    """(Python, how we know) for a local pickle, without running it."""
    call = functools.partial(known_python, path, server_state(ctx).settings.cache_dir)
    return await anyio.to_thread.run_sync(call)
