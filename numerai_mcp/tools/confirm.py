"""Ask the user before anything irreversible (creating a slot, assigning, disabling hosted runs).

When the client supports elicitation, the server asks the user directly; otherwise the model must pass
confirm=true, which it should only do after the user agreed in the conversation. Built on the SDK's
`Resolve` so that it works for handshake-era and 2026 clients alike.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, Elicit
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field


class Confirmation(BaseModel):
    confirm: bool = Field(description="Yes, go ahead")


CONFIRMED = Confirmation(confirm=True)


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    caps = ctx.client_capabilities
    return bool(caps is not None and caps.elicitation is not None)


def ask(ctx: Context[Any, Any], confirm: bool, question: str) -> Confirmation | Elicit[Confirmation] | None:
    """CONFIRMED when the caller already confirmed, a question for the user when the client can show one,
    and None when neither (the tool then explains how to confirm)."""
    if confirm:
        return CONFIRMED
    if client_can_elicit(ctx):
        return Elicit(question, Confirmation)
    return None


def require_confirmation(answer: Confirmation | None, *, why: str, retry_hint: str) -> None:
    """Stop unless confirmed; `why` says what is at stake, in one sentence."""
    if answer is None:
        raise ToolError(f"{why}. Ask the user to confirm, then call again with {retry_hint} confirm=true.")
    if not answer.confirm:
        raise ToolError(f"The user did not confirm; nothing was done. ({why}.)")
