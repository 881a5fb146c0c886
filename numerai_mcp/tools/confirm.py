"""Ask the user before anything irreversible (creating a slot, assigning, disabling hosted runs). One rule, here:

- a client that can show the user a question (MCP elicitation) always gets one, and `confirm=true` does not skip
  it: a model must not confirm for its user;
- a client that cannot ask needs `confirm=true`, which the model should pass only after the user agreed in the
  conversation; without it the tool refuses and says exactly that.
Built on the SDK's `Resolve`, so it works for handshake-era and 2026 clients alike.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field


class Confirmation(BaseModel):
    confirm: bool = Field(description="Yes, go ahead")


CONFIRMED = Confirmation(confirm=True)
# The type of a tool's `Resolve(...)` parameter: the whole outcome, so a declined question gets our message.
Answer = ElicitationResult[Confirmation]


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    caps = ctx.client_capabilities
    return bool(caps is not None and caps.elicitation is not None)


def ask(ctx: Context[Any, Any], confirm: bool, question: str) -> Confirmation | Elicit[Confirmation] | None:
    """A question for the user whenever the client can show one (whatever `confirm` says); else CONFIRMED when the
    caller passed confirm=true; else None (the tool then explains how to confirm)."""
    if client_can_elicit(ctx):
        return Elicit(question, Confirmation)
    if confirm:
        return CONFIRMED
    return None


def require_confirmation(answer: Answer, *, why: str, retry_hint: str) -> None:
    """Stop unless confirmed; `why` says what is at stake, in one sentence."""
    if not isinstance(answer, AcceptedElicitation):
        what = "declined" if answer.action == "decline" else "cancelled"
        raise ToolError(f"The user {what} the confirmation question, so nothing was done. ({why}.)")
    answer = answer.data
    if answer is None:
        raise ToolError(
            f"{why}, so the user must agree first. This client cannot show the user a confirmation question: ask "
            f"the user in the conversation, and only once they agree call again with {retry_hint} confirm=true."
        )
    if not answer.confirm:
        raise ToolError(f"The user did not confirm, so nothing was done. ({why}.)")
