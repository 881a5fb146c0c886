"""Typed failures of the Numerai API client.

Every message is redacted on construction, so an exception can be shown to the
model or logged without leaking a key.
"""

from __future__ import annotations

from numerai_mcp.errors import NumeraiMcpError
from numerai_mcp.redact import redact


class NumeraiError(NumeraiMcpError):
    """Base class: something about talking to Numerai went wrong."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        super().__init__(self.message if not self.hint else f"{self.message} {self.hint}")


class CredentialsError(NumeraiError):
    """No credentials, or credentials that cannot be parsed."""


class ApiUnreachableError(NumeraiError):
    """The endpoint did not answer (connection refused, DNS, timeout) after retries."""


class ApiServerError(NumeraiError):
    """The endpoint kept answering 5xx (or a non-JSON body) after retries."""


class GraphQLError(NumeraiError):
    """Numerai answered with GraphQL `errors`; `messages` holds Numerai's own texts."""

    def __init__(self, messages: list[str], *, hint: str | None = None) -> None:
        self.messages = [redact(m) for m in messages]
        super().__init__("; ".join(self.messages) or "unknown GraphQL error", hint=hint)


class AuthenticationError(GraphQLError):
    """The key was rejected (unknown, revoked or malformed)."""


class PermissionDeniedError(GraphQLError):
    """The key lacks a scope; `scope` names it when Numerai said which."""

    def __init__(self, messages: list[str], *, scope: str | None = None, hint: str | None = None) -> None:
        self.scope = scope
        super().__init__(messages, hint=hint)


class UploadError(NumeraiError):
    """The presigned PUT failed, was refused, expired, or stored different bytes."""


class UncertainOutcomeError(NumeraiError):
    """A mutation may or may not have taken effect and re-reading state did not settle it."""


class FlowError(NumeraiError):
    """The request cannot be done as asked (unknown image, blocked slot, unvalidated pickle…);
    the message says what to do instead."""
