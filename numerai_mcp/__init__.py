"""numerai-mcp: ship a Numerai model upload from the agent's machine, safely."""

__version__ = "0.1.0"
