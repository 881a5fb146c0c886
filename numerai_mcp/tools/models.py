"""create_model: a new Classic model slot, checked locally and against the account first."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Elicit, Resolve
from mcp.types import ToolAnnotations
from pydantic import Field

from numerai_mcp.api.models import ApiModel
from numerai_mcp.api.slots import SlotRuleError, check_model_name, check_tournament, create_slot
from numerai_mcp.config import CLASSIC_TOURNAMENT, Settings
from numerai_mcp.tools.common import api_client, tool_errors
from numerai_mcp.tools.confirm import CONFIRMED, Answer, Confirmation, ask, require_confirmation

DESCRIPTION = """Create a new Numerai Classic model slot (tournament 8) and return its id.

Use this only when the user wants a new slot; to reuse a slot, read its id with graphql_query
(`query { account { models { id name } } }`). Names: at most 20 characters, letters, digits and underscores,
unique on Numerai. The server checks the name, its availability and the account's free slots before creating.
Creating a slot cannot be undone through the API: the server asks the user when the client supports it;
otherwise confirm the name with the user and pass confirm=true.
Next: build_pickle/validate_pickle, then upload_model operation='upload' with this modelId."""


class CreatedModel(ApiModel):
    id: str = Field(description="The new model id: pass it as modelId to upload_model.")
    name: str
    tournament: int
    slots_used: int | None = None
    max_model_slots: int | None = None
    next_step: str


async def _ask_create(name: str, tournament: int, confirm: bool, ctx: Context[Any, Any],
                      ) -> Confirmation | Elicit[Confirmation] | None:
    try:
        cleaned = check_model_name(name)
        check_tournament(tournament)
    except SlotRuleError:
        return CONFIRMED  # a malformed call: the body refuses it without bothering the user
    return ask(ctx, confirm, f"Create the Numerai model slot {cleaned!r}? A slot cannot be deleted through the API.")


async def create_model(
    name: Annotated[str, Field(description="New model name: ≤ 20 characters, letters, digits, underscores.", max_length=64)],
    ctx: Context[Any, Any],
    answer: Annotated[Answer, Resolve(_ask_create)],
    tournament: Annotated[int, Field(description="Tournament id; model uploads exist only in Numerai Classic (8).")] = CLASSIC_TOURNAMENT,
    confirm: Annotated[bool, Field(description="true once the user agreed to create this slot (needed when the client cannot ask the user itself).")] = False,
) -> CreatedModel:
    with tool_errors():
        cleaned = check_model_name(name)
        check_tournament(tournament)
    require_confirmation(answer, why="A model slot cannot be deleted through the API once created",
                         retry_hint=f"name={cleaned!r}")
    with tool_errors():
        async with api_client(ctx) as client:
            client.require_credentials()
            slot = await create_slot(client, cleaned, tournament)
    return CreatedModel(
        id=slot.model.id,
        name=slot.model.name,
        tournament=slot.model.tournament or tournament,
        slots_used=slot.slots_used,
        max_model_slots=slot.max_model_slots,
        next_step=f"Build or validate the pickle, then upload_model operation='upload' with modelId={slot.model.id!r}.",
    )


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="create_model",
        title="Create a Numerai model slot",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True),
    )(create_model)
