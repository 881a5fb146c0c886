"""MCP assembly: the server object, its shared state, and the stdio/HTTP transports."""
