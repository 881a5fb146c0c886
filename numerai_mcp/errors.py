"""The one root of every error numerai-mcp raises on purpose, and the few branches callers act on.

    NumeraiMcpError                 a deliberate failure; str(exc) says what happened and what to do
    ├── InvalidInputError           bad arguments, files or bundles the caller can fix; nothing was done
    ├── SetupError                  this machine lacks what a step needs (an interpreter, isolation, Docker, a
    │                               runtime uv could not build, a build that failed); the message says how to fix it
    ├── api.errors.NumeraiError     talking to Numerai failed (credentials, unreachable, refused, …)
    └── uploads.gate.UploadRefusedError

Tools and commands catch these narrowly: anything else is a bug and must surface as one, not as a user error.
InvalidInputError is also a ValueError and SetupError a RuntimeError, for callers that predate the root.
"""

from __future__ import annotations


class NumeraiMcpError(Exception):
    """Base class of numerai-mcp's deliberate failures; `str(exc)` is fit to show a user."""


class InvalidInputError(NumeraiMcpError, ValueError):
    """An argument, file or bundle the caller gave is wrong; nothing was done. The message says how to fix it."""


class SetupError(NumeraiMcpError, RuntimeError):
    """This machine cannot do the step as things are (no interpreter of that version, no isolation, no Docker
    engine, a runtime that could not be built); the message says what to install or change."""
