"""Helpers for driving the real MCP server from tests."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client

from numerai_mcp.api.credentials import Credentials
from numerai_mcp.config import Settings
from numerai_mcp.server.app import build_server


class ToolFailed(AssertionError):
    """A tool call returned is_error; the message is what the model would read."""


def fast_settings(api_url: str, auth: str | None, cache_dir: Path, **overrides: Any) -> Settings:
    """Settings for tests: the emulator, quick polls and backoff (behaviour is the same, only waits shrink)."""
    return Settings(
        api_url=api_url,
        credentials=Credentials.parse(auth) if auth else None,
        cache_dir=cache_dir,
        poll_initial=0.2,
        poll_max=1.0,
        retry_backoff=0.05,
        **overrides,
    )


@asynccontextmanager
async def in_process(settings: Settings, **client_kwargs: Any) -> AsyncIterator[Client]:
    async with Client(build_server(settings), **client_kwargs) as client:
        yield client


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def call(client: Client, tool: str, arguments: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Call a tool and return its structured content; raise ToolFailed with the model-visible text."""
    result = await client.call_tool(tool, arguments, **kwargs)
    if result.is_error:
        raise ToolFailed(text_of(result))
    assert result.structured_content is not None, f"{tool} returned no structured content"
    return result.structured_content


async def error_of(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """Call a tool that must fail and return the message the model reads."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
    return text_of(result)


def copy_pickle(source: Path, directory: Path, name: str = "model.pkl") -> Path:
    target = directory / name
    shutil.copyfile(source, target)
    return target
