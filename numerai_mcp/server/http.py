"""Streamable HTTP transport at /mcp, loopback by default.

A request's own `Authorization: Token …` header is the Numerai credential for that request
(read by tools, never stored). The SDK's Host/Origin checks stay on; binding a non-loopback
address needs an explicit opt-in and a list of allowed file roots, because the server reads
and runs local files on behalf of whoever can reach it.
"""

from __future__ import annotations

import ipaddress
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


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def host_header_name(host: str) -> str:
    """How a bind address appears in a Host header: IPv6 bracketed and in its short form (0:0:…:1 → [::1])."""
    bare = host.strip("[]")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return bare.lower()
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def security_for(host: str, port: int, extra_hosts: Sequence[str]) -> TransportSecuritySettings:
    """Host/Origin (DNS-rebinding) protection for every bind address: exactly the names this server answers to.

    Never None: the SDK's own defaults protect only the addresses it recognises as local, and silently switch
    protection off for others (127.0.0.2, [::1] spelled 0:0:0:0:0:0:0:1)."""
    names = [host_header_name(h) for h in (host, *extra_hosts)]
    if is_loopback(host):
        names += [n for n in LOOPBACK_NAMES if n not in names]
    hosts = [f"{n}:{port}" for n in names] + names
    origins = [f"http://{n}:{port}" for n in names] + [f"https://{h}" for h in extra_hosts]
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
    print(f"numerai-mcp: serving MCP over Streamable HTTP at http://{host_header_name(host)}:{bound_port}/mcp", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])
