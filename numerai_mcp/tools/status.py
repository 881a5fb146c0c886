"""model_status: how every model slot is doing, and what to fix, in one read-only call (the core is api.status)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import Field

from numerai_mcp.api import status
from numerai_mcp.config import Settings
from numerai_mcp.tools.common import api_client, server_state, tool_errors

DESCRIPTION = """How are my Numerai models doing, and what do I fix? One read-only call over every Classic model slot
(or one: modelId takes an id or a name).

For each slot: the assigned pickle (filename, runtime image, data version, validation and diagnostics status), its
newest runs and validations with Numerai's final status and failure description, the last rounds' submissions, and
a one-line verdict: healthy, pending (validating, running, waiting for a round) or unhealthy, with `fix`, the exact
call that fixes it (e.g. a segfault → upload_model operation='create' … dockerImage='Python 3.11'; a webhook →
operation='assign' … clearWebhook=true; no pickle → operation='upload'). Unhealthy slots come first.
Use it after deploying, each round, or whenever the user asks about their models. Next: run the `fix` of each
unhealthy slot (ask the user before assigning), or upload_model operation='diagnostics' for a pickle's scores."""


async def model_status(
    ctx: Context[Any, Any],
    modelId: Annotated[str | None, Field(description="One slot's id or name; omit for every Classic slot.",
                                         max_length=200)] = None,
    lastRounds: Annotated[int, Field(description="How many recent rounds of submissions to show.", ge=1, le=20)]
    = status.DEFAULT_ROUNDS,
    lastTriggers: Annotated[int, Field(description="How many of the assigned pickle's newest runs to show.", ge=1,
                                       le=50)] = status.DEFAULT_TRIGGERS,
) -> status.Overview:
    with tool_errors():
        async with api_client(ctx) as client:
            return await status.overview_remembering(client, server_state(ctx).settings.cache_dir, model=modelId,
                                                     rounds=lastRounds, triggers=lastTriggers)


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="model_status",
        title="Status of every Numerai model slot",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=True),
    )(model_status)
