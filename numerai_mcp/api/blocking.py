"""Calling the async API client from synchronous code (the harness, the bundle builder, CLI commands).

Those run in worker threads of the server or in plain scripts; `run_coroutine` works in both, even when
the calling thread already runs an event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from numerai_mcp.config import Settings

T = TypeVar("T")


def run_coroutine(factory: Callable[[], Awaitable[T]]) -> T:
    """Run `factory()` to completion from sync code; inside a running loop, on a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coroutine(factory))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(_as_coroutine(factory))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


async def _as_coroutine(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


def docker_image_rows(settings: Settings) -> list[dict[str, Any]]:
    """computePickleDockerImages as plain rows; raises NumeraiError subclasses on failure."""
    from numerai_mcp.api import operations
    from numerai_mcp.api.client import NumeraiClient

    async def fetch() -> list[dict[str, Any]]:
        async with NumeraiClient(settings) as client:
            return [image.model_dump() for image in await operations.docker_images(client)]

    return run_coroutine(fetch)


def live_image_rows_or_none(settings: Settings | None) -> list[dict[str, Any]] | None:
    """The live runtime images for choosing a default: None without credentials, or when the API does not
    answer within 5 s (the catalogue's default is used then; a validation must not wait on the network)."""
    if settings is None or settings.credentials is None:
        return None
    try:
        return docker_image_rows(replace(settings, request_timeout=5.0, max_retries=0))
    except Exception:
        return None
