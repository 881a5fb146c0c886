"""Resources numerai://slots and numerai://slots/{model}: the model_status overview for clients that read
resources (JSON, unhealthy slots first, each with its fix)."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer

from numerai_mcp.config import Settings

DESCRIPTION = ("Every Classic model slot: its assigned pickle, newest runs, last rounds' submissions and a health "
               "verdict with the exact call that fixes it (the same as the model_status tool).")


async def _overview_json(settings: Settings, model: str | None) -> str:
    """The overview, read with the server's key only where it lends it (resources get no per-request header)."""
    from mcp.server.mcpserver.exceptions import ResourceError

    from numerai_mcp.api.client import NumeraiClient
    from numerai_mcp.api.errors import NumeraiError
    from numerai_mcp.api.status import overview_remembering

    if settings.credentials is not None and not settings.allow_server_key:
        raise ResourceError("This HTTP server does not lend its Numerai key to resource reads: call the model_status "
                            "tool instead (it uses your request's Authorization header).")
    try:
        async with NumeraiClient(settings, use_settings_credentials=settings.allow_server_key) as client:
            found = await overview_remembering(client, settings.cache_dir, model=model)
    except NumeraiError as exc:
        raise ResourceError(f"The slot overview could not be read: {exc}") from None
    return found.model_dump_json(by_alias=True, indent=1)


def register(server: MCPServer[Any], settings: Settings) -> None:
    @server.resource("numerai://slots", name="slots", title="Status of every model slot", description=DESCRIPTION,
                     mime_type="application/json")
    async def slots() -> str:
        return await _overview_json(settings, None)

    @server.resource("numerai://slots/{model}", name="slot", title="Status of one model slot",
                     description="One slot's status (by id or name), as in numerai://slots.",
                     mime_type="application/json")
    async def slot(model: str) -> str:
        return await _overview_json(settings, model)
