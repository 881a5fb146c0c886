"""The command-line layer: one module per `numerai-mcp` command that is not a server.

Like tools/ for MCP, these are thin: parse arguments, fetch what Numerai says (numerai_mcp.facts) with the
user's key, call the core (harness, bundle, api), print. The core never calls the API itself.
"""
