"""create_model: a new Classic model slot, checked locally and against the account first."""

from __future__ import annotations

import re
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Elicit, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from numerai_mcp.api import operations as ops
from numerai_mcp.api.models import ApiModel
from numerai_mcp.config import CLASSIC_TOURNAMENT, Settings
from numerai_mcp.tools.common import api_client, tool_errors
from numerai_mcp.tools.confirm import CONFIRMED, Answer, Confirmation, ask, require_confirmation

MAX_NAME_LENGTH = 20
# "username-safe" (numerai-api.md §2.3): letters, digits and underscores.
_NAME = re.compile(r"^[A-Za-z0-9_]+$")

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


def check_model_name(name: str) -> str:
    """Local checks that need no network: a clear message beats a server round trip."""
    cleaned = name.strip()
    if not cleaned:
        raise ToolError("name is empty: pass the model name to create (letters, digits, underscores).")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ToolError(f"name {cleaned!r} has {len(cleaned)} characters; Numerai allows at most {MAX_NAME_LENGTH}.")
    if not _NAME.match(cleaned):
        bad = sorted({c for c in cleaned if not re.match(r"[A-Za-z0-9_]", c)})
        raise ToolError(
            f"name {cleaned!r} contains {''.join(bad)!r}; use only letters, digits and underscores "
            f"(e.g. {re.sub(r'[^A-Za-z0-9_]', '_', cleaned)[:MAX_NAME_LENGTH]!r})."
        )
    return cleaned


async def _ask_create(name: str, tournament: int, confirm: bool, ctx: Context[Any, Any],
                      ) -> Confirmation | Elicit[Confirmation] | None:
    try:
        cleaned = check_model_name(name)
    except ToolError:
        return CONFIRMED  # a malformed call: the body refuses it without bothering the user
    if tournament != CLASSIC_TOURNAMENT:
        return CONFIRMED
    return ask(ctx, confirm, f"Create the Numerai model slot {cleaned!r}? A slot cannot be deleted through the API.")


async def create_model(
    name: Annotated[str, Field(description="New model name: ≤ 20 characters, letters, digits, underscores.", max_length=64)],
    ctx: Context[Any, Any],
    answer: Annotated[Answer, Resolve(_ask_create)],
    tournament: Annotated[int, Field(description="Tournament id; model uploads exist only in Numerai Classic (8).")] = CLASSIC_TOURNAMENT,
    confirm: Annotated[bool, Field(description="true once the user agreed to create this slot (needed when the client cannot ask the user itself).")] = False,
) -> CreatedModel:
    cleaned = check_model_name(name)
    if tournament != CLASSIC_TOURNAMENT:
        raise ToolError(f"tournament {tournament} does not support model uploads; use tournament=8 (Numerai Classic).")
    require_confirmation(answer, why="A model slot cannot be deleted through the API once created",
                         retry_hint=f"name={cleaned!r}")
    with tool_errors():
        async with api_client(ctx) as client:
            client.require_credentials()
            account = await ops.account(client)
            if any(m.name.lower() == cleaned.lower() for m in account.models):
                existing = next(m for m in account.models if m.name.lower() == cleaned.lower())
                raise ToolError(
                    f"You already have a model named {existing.name!r} (id {existing.id}); "
                    "use that modelId with upload_model instead of creating it again."
                )
            used = len(account.models)
            if account.max_model_slots is not None and used >= account.max_model_slots:
                raise ToolError(
                    f"All {account.max_model_slots} model slots of {account.username!r} are in use; "
                    "free one on numer.ai or reuse an existing slot (list them with graphql_query)."
                )
            if not await ops.model_name_available(client, cleaned, tournament):
                raise ToolError(f"The name {cleaned!r} is taken on Numerai; choose another.")
            created = await ops.add_model(client, cleaned, tournament)
    return CreatedModel(
        id=created.id,
        name=created.name,
        tournament=created.tournament or tournament,
        slots_used=used + 1,
        max_model_slots=account.max_model_slots,
        next_step=f"Build or validate the pickle, then upload_model operation='upload' with modelId={created.id!r}.",
    )


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="create_model",
        title="Create a Numerai model slot",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True),
    )(create_model)
