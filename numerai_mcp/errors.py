"""The one root of every error numerai-mcp raises on purpose.

Callers catch `NumeraiMcpError` (or one of the few subclasses they act on) to tell a user-fixable failure, whose
message says what to do, from a bug, which must surface as one. Messages are redacted where they are built.
"""

from __future__ import annotations


class NumeraiMcpError(Exception):
    """Base class of numerai-mcp's deliberate failures; `str(exc)` is fit to show a user."""
