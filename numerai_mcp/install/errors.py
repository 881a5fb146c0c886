"""Why an installer step stopped; each message says what to do next."""

from __future__ import annotations


class Refused(Exception):
    """A client config is left untouched; the message says why and what to do next."""


class NotOurs(Exception):
    """Uninstall found a `numerai` entry that another tool wrote: it is left alone."""


class Failed(Exception):
    """The command stops with exit status 1 (`error: …`)."""


class UsageError(Exception):
    """Bad command line: exit status 2, nothing changed."""
