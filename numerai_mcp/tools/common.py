"""What every tool needs: the shared state, a client with the right credentials, error
translation into messages the model can act on, and progress bridging."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio.from_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ImageContent
from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.credentials import Credentials
from numerai_mcp.api.errors import CredentialsError
from numerai_mcp.config import Settings
from numerai_mcp.errors import NumeraiMcpError
from numerai_mcp.progress import AsyncProgress, ProgressFn
from numerai_mcp.redact import forget_secret, redact
from numerai_mcp.server.state import ServerState

log = logging.getLogger(__name__)


def server_state(ctx: Context[Any, Any]) -> ServerState:
    return ctx.request_context.lifespan_context  # type: ignore[no-any-return]


def header_credentials(ctx: Context[Any, Any]) -> Credentials | None:
    """The HTTP client's own `Authorization: Token …` header, if any (never stored)."""
    headers = ctx.headers
    value = headers.get("authorization") if headers else None
    if not value:
        return None
    try:
        return Credentials.parse(value)
    except CredentialsError as exc:
        raise ToolError(f"The Authorization header of this request is not a Numerai key: {exc.message}") from None


def credentials_source(ctx: Context[Any, Any]) -> str:
    # Only look for the header: parsing it here would register its secret a second time, and only
    # api_client's registration is released when the request ends.
    if header_credentials_present(ctx):
        return "this request's Authorization header"
    if lends_server_key(ctx) and server_state(ctx).settings.credentials:
        return "server configuration"
    return "none"


def lends_server_key(ctx: Context[Any, Any]) -> bool:
    """Whether this call may use the server's own key: always over stdio (the user's own process); over HTTP only
    when the operator allowed it, since whoever reaches the port would otherwise act with the operator's key."""
    return ctx.headers is None or server_state(ctx).settings.allow_server_key


@asynccontextmanager
async def api_client(ctx: Context[Any, Any], *, anonymous_ok: bool = False) -> AsyncIterator[NumeraiClient]:
    """A client for this call: the request's header credentials over HTTP, else the server's (when it lends them).

    Without either, an anonymous client when `anonymous_ok` (a caller that explains the missing key itself),
    else a refusal that says how to send a key."""
    state = server_state(ctx)
    per_request = header_credentials(ctx)
    if per_request is None and not lends_server_key(ctx):
        if anonymous_ok:
            yield NumeraiClient(state.settings, use_settings_credentials=False, http=state.http)
            return
        raise ToolError(
            "This request has no 'Authorization: Token PUBLIC_ID$SECRET_KEY' header, and this HTTP server does not "
            "lend its own Numerai key. Send your key in that header (configure it in your MCP client), or ask the "
            "operator to start the server with --allow-server-key."
        )
    try:
        yield NumeraiClient(state.settings, credentials=per_request, http=state.http)
    finally:
        if per_request is not None:
            forget_secret(per_request.secret_key)


@contextmanager
def caller_settings(ctx: Context[Any, Any]) -> Iterator[Settings]:
    """The settings core work (validation, builds) gets: with this caller's key, so that anything it fetches from
    Numerai (live data, the default image) is fetched as the caller, never with a key the caller may not use."""
    settings = server_state(ctx).settings
    per_request = header_credentials(ctx)
    if per_request is None:
        yield settings if lends_server_key(ctx) else replace(settings, credentials=None, credentials_problem=None)
        return
    try:
        yield replace(settings, credentials=per_request, credentials_problem=None)
    finally:
        forget_secret(per_request.secret_key)


def header_credentials_present(ctx: Context[Any, Any]) -> bool:
    headers = ctx.headers
    return bool(headers and headers.get("authorization"))


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn API failures into ToolErrors (the model sees the text) with the next step spelled out."""
    try:
        yield
    except ToolError:
        raise
    except NumeraiMcpError as exc:  # API failures, refused uploads, slot rules: each says what to do
        raise ToolError(str(exc)) from None
    except OSError as exc:
        raise ToolError(redact(f"{exc.strerror or exc} ({exc.filename})" if exc.filename else str(exc))) from None


def async_progress(ctx: Context[Any, Any]) -> AsyncProgress:
    async def report(done: float, total: float | None, message: str) -> None:
        await ctx.report_progress(done, total, message)

    return report


def thread_progress(ctx: Context[Any, Any]) -> ProgressFn:
    """A synchronous ProgressFn for core code running in a worker thread (anyio.to_thread)."""

    def report(done: float, total: float | None, message: str) -> None:
        try:
            anyio.from_thread.run(ctx.report_progress, done, total, message)
        except Exception:  # progress is best effort; never fail the work because a notification failed
            log.debug("progress notification failed", exc_info=True)

    return report


# Tool results use camelCase names; views of core models subclass them with this config.
CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def plot_images(plots: dict[str, str]) -> list[ImageContent]:
    """The per-era and cumulative CORR PNGs (evaluate_pickle's, or Numerai's diagnostics') as MCP image content."""
    return [ImageContent(data=base64.b64encode(Path(path).read_bytes()).decode("ascii"), mime_type="image/png")
            for name in ("per_era", "cumulative") if (path := plots.get(name)) and Path(path).is_file()]
