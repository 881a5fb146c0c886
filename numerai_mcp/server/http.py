"""Streamable HTTP transport at /mcp, loopback by default.

A request's own `Authorization: Token …` header is the Numerai credential for that request
(read by tools, never stored). The SDK's Host/Origin checks stay on; binding a non-loopback
address needs an explicit opt-in and a list of allowed file roots, because the server reads
and runs local files on behalf of whoever can reach it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse

from numerai_mcp.netutil import bind_tcp, is_loopback

log = logging.getLogger(__name__)


def security_for(host: str, port: int, extra_hosts: Sequence[str]) -> TransportSecuritySettings | None:
    """None keeps the SDK's loopback defaults; a remote bind lists exactly the hosts it answers to."""
    if is_loopback(host) and not extra_hosts:
        return None
    hosts = [f"{h}:*" for h in (host, *extra_hosts)] + [host, *extra_hosts]
    origins = [f"http://{h}:{port}" for h in (host, *extra_hosts)] + [f"https://{h}" for h in extra_hosts]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def add_health_route(server: MCPServer[Any]) -> None:
    @server.custom_route("/health", methods=["GET"])
    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "server": server.name})


async def serve_http(server: MCPServer[Any], *, host: str, port: int, extra_hosts: Sequence[str] = ()) -> None:
    """Serve until cancelled; binds first so that port 0 works and the real URL is printed."""
    add_health_route(server)
    sock = bind_tcp(host, port)
    bound_port = sock.getsockname()[1]
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        transport_security=security_for(host, bound_port, extra_hosts),
        host=host,
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    print(f"numerai-mcp: serving MCP over Streamable HTTP at http://{host}:{bound_port}/mcp", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])
