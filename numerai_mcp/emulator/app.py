"""The emulator's ASGI application: routes, lifespan and fault injection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from numerai_mcp.emulator import control_api
from numerai_mcp.emulator.core import Emulator
from numerai_mcp.emulator.faults import ASGIApp, Decision, FaultInjector, Scope
from numerai_mcp.emulator.graphql_http import graphql_endpoint
from numerai_mcp.emulator.signing import STORE_PREFIX
from numerai_mcp.emulator.store import s3_fault_body, store_endpoint

CONTROL_PREFIX = "/_emulator"


def _faultable(scope: Scope) -> bool:
    return not str(scope.get("path", "")).startswith(CONTROL_PREFIX)


def _fault_response(scope: Scope, decision: Decision) -> tuple[int, str, bytes]:
    """A 503 before processing, a 502/500 after it: like a load balancer or S3 under stress."""
    store = str(scope.get("path", "")).startswith(STORE_PREFIX)
    if store:
        status = 503 if decision.phase == "before" else 500
        return status, "application/xml", s3_fault_body(status)
    status = 503 if decision.phase == "before" else 502
    title = "503 Service Temporarily Unavailable" if status == 503 else "502 Bad Gateway"
    return status, "text/html", f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>".encode()


def create_app(emulator: Emulator, *, lock_control: bool = False) -> ASGIApp:
    """The emulator's routes; `lock_control` makes the control API answer only its bearer token."""
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        emulator.start()
        try:
            yield
        finally:
            emulator.stop()

    app = Starlette(
        routes=[
            Route("/", graphql_endpoint, methods=["GET", "POST"]),
            Route(STORE_PREFIX + "{key:path}", store_endpoint, methods=["GET", "HEAD", "PUT"]),
            Mount(CONTROL_PREFIX, routes=control_api.routes),
        ],
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    app.state.control_locked = lock_control
    return FaultInjector(app, emulator.faults, _faultable, _fault_response)
