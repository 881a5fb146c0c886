"""The progress-callback shapes shared by long operations (provision, run, upload, waits).

Synchronous core code calls `progress(done, total, message)` (ProgressFn); asynchronous API code awaits the same
call (AsyncProgress). The MCP tools bridge both to `ctx.report_progress`; the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

ProgressFn = Callable[[float, float | None, str], None]
AsyncProgress = Callable[[float, float | None, str], Awaitable[None]]


def no_progress(done: float, total: float | None, message: str) -> None:
    """Default callback: ignore progress."""
