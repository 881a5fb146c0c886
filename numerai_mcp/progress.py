"""The one progress-callback shape shared by long operations (provision, run, upload).

Core code stays synchronous and calls `progress(done, total, message)`; the MCP
tools bridge it to `ctx.report_progress` and the CLI prints it.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[float, float | None, str], None]


def no_progress(done: float, total: float | None, message: str) -> None:
    """Default callback: ignore progress."""
