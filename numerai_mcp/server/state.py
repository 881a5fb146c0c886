"""State shared by every tool call for the life of the server process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from numerai_mcp.api.client import make_http_client
from numerai_mcp.config import Settings

if TYPE_CHECKING:
    from mcp.server import MCPServer


@dataclass
class ServerState:
    settings: Settings
    http: httpx.AsyncClient  # one pool for GraphQL and uploads, whatever the credentials
    # What the server learns about uploaded files is not kept here but on disk (uploads.memory), so that the
    # next server process (clients that start one per call) knows it too.


def lifespan_for(settings: Settings):  # type: ignore[no-untyped-def]
    """Build the MCPServer lifespan that opens the shared HTTP pool once per process."""

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[ServerState]:
        http = make_http_client(settings)
        try:
            yield ServerState(settings=settings, http=http)
        finally:
            await http.aclose()

    return lifespan
