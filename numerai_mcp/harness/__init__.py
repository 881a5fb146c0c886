"""Everything needed to judge a pickle before Numerai runs it.

`catalogue` (runtimes and their pins), `scan` (static analysis), and the local runtime,
sandbox and runner. Kept import-light: nothing here imports numpy or pandas at import
time, so the MCP server can load it cheaply.
"""
