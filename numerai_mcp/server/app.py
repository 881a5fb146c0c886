"""Assemble the MCP server: tools, resources and prompts around one Settings object."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer

from numerai_mcp import __version__
from numerai_mcp.config import Settings
from numerai_mcp.server import guide, slots
from numerai_mcp.server.state import lifespan_for
from numerai_mcp.tools import build, credentials, evaluate, graphql, models, status, upload, validate

INSTRUCTIONS = """Ships a trained Numerai model as a hosted model upload, from this machine.
Start with check_api_credentials. Then: create_model (or reuse a slot) → build_pickle (from an inference
bundle) or validate_pickle (an existing .pkl) → evaluate_pickle (validation scores and plots: is it the model you
trained?) → upload_model operation='upload' → operation='list' wait=true → ask the user → operation='assign' → operation='trigger' → operation='get_logs'. Afterwards, model_status tells how every
slot is doing and the fix for each unhealthy one; operation='diagnostics' gives Numerai's scores of a pickle.
Never upload a pickle that failed validate_pickle; the runtime image must match the Python that built it."""

TOOL_MODULES = (credentials, models, build, validate, evaluate, upload, status, graphql)


def build_server(settings: Settings | None = None) -> MCPServer[Any]:
    """A fully registered server; tests use it in-process with `Client(server)`."""
    settings = settings or Settings.from_env()
    server: MCPServer[Any] = MCPServer(
        "numerai",
        title="Numerai model uploads",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan_for(settings),
    )
    for module in TOOL_MODULES:
        module.register(server, settings)
    guide.register(server, settings)
    slots.register(server, settings)
    return server
