"""Rules and memory of the upload flow that are not about MCP: what we know about uploaded files, and what must
hold before a file may leave the machine. `tools/` calls these; a CLI could too."""
