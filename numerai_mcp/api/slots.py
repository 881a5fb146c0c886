"""The rules for a new model slot, apart from MCP: a name Numerai accepts, one the account does not have yet, a
free slot, and a name still available on Numerai. Checked before anything is created, each with the fix."""

from __future__ import annotations

import re
from dataclasses import dataclass

from numerai_mcp.api import operations as ops
from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.errors import FlowError
from numerai_mcp.api.models import Account, ModelSlot
from numerai_mcp.config import CLASSIC_TOURNAMENT

MAX_NAME_LENGTH = 20
# "username-safe" (numerai-api.md §2.3): letters, digits and underscores.
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class SlotRuleError(FlowError):
    """The slot cannot be created as asked; the message says what to do instead."""


def check_model_name(name: str) -> str:
    """The cleaned name, or SlotRuleError: local checks that need no network (a clear message beats a round trip)."""
    cleaned = name.strip()
    if not cleaned:
        raise SlotRuleError("name is empty: pass the model name to create (letters, digits, underscores).")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise SlotRuleError(f"name {cleaned!r} has {len(cleaned)} characters; Numerai allows at most {MAX_NAME_LENGTH}.")
    if not _NAME.match(cleaned):
        bad = sorted({c for c in cleaned if not re.match(r"[A-Za-z0-9_]", c)})
        raise SlotRuleError(
            f"name {cleaned!r} contains {''.join(bad)!r}; use only letters, digits and underscores "
            f"(e.g. {re.sub(r'[^A-Za-z0-9_]', '_', cleaned)[:MAX_NAME_LENGTH]!r})."
        )
    return cleaned


def check_tournament(tournament: int) -> None:
    if tournament != CLASSIC_TOURNAMENT:
        raise SlotRuleError(f"tournament {tournament} does not support model uploads; use tournament=8 (Numerai Classic).")


@dataclass(frozen=True)
class NewSlot:
    model: ModelSlot
    slots_used: int
    max_model_slots: int | None


def _check_account(account: Account, name: str) -> int:
    """Slots in use, after refusing a name the account already has or an account with no free slot."""
    existing = next((m for m in account.models if m.name.lower() == name.lower()), None)
    if existing is not None:
        raise SlotRuleError(f"You already have a model named {existing.name!r} (id {existing.id}); use that modelId "
                            "with upload_model instead of creating it again.")
    used = len(account.models)
    if account.max_model_slots is not None and used >= account.max_model_slots:
        raise SlotRuleError(f"All {account.max_model_slots} model slots of {account.username!r} are in use; free one on "
                            "numer.ai or reuse an existing slot (list them with graphql_query).")
    return used


async def create_slot(client: NumeraiClient, name: str, tournament: int = CLASSIC_TOURNAMENT) -> NewSlot:
    """Check every rule, then addModel. The caller has already asked the user."""
    cleaned = check_model_name(name)
    check_tournament(tournament)
    account = await ops.account(client)
    used = _check_account(account, cleaned)
    if not await ops.model_name_available(client, cleaned, tournament):
        raise SlotRuleError(f"The name {cleaned!r} is taken on Numerai; choose another.")
    created = await ops.add_model(client, cleaned, tournament)
    return NewSlot(created, used + 1, account.max_model_slots)
