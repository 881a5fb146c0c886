"""Why an installer step stopped; each message says what to do next."""

from __future__ import annotations

from numerai_mcp.errors import InvalidInputError, NumeraiMcpError


class Refused(NumeraiMcpError):
    """A client config is left untouched; the message says why and what to do next."""


class NotOurs(NumeraiMcpError):
    """Uninstall found a `numerai` entry that another tool wrote: it is left alone."""


class Failed(NumeraiMcpError):
    """The command stops with exit status 1 (`error: …`)."""


class UsageError(InvalidInputError):
    """Bad command line: exit status 2, nothing changed."""
