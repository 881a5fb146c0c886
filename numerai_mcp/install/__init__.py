"""Registering numerai-mcp with agent clients: `numerai-mcp install` and `numerai-mcp uninstall`.

install-mcp.sh only puts the package in a virtual environment and runs `numerai-mcp install`;
everything about the clients (where their configs are, how to change only our entry, where the
key goes) lives here, in ordinary modules that tests import. Only the standard library and
`numerai_mcp.api.credentials` are used, so the script can also run this code straight from a
checkout with any Python >= 3.11 (dry runs before anything is installed, uninstalling after the
environment is gone).

    clients.py      the supported clients: config paths, detection, selection
    entries.py      our entry in a parsed config: what it must hold, register/unregister/status
    toml_lines.py   editing a TOML file line by line, so comments and layout survive
    files.py        reading and atomically writing configs, diffs with secrets masked
    key.py          where the Numerai key comes from and the 0600 credentials file
    claude_cli.py   Claude Code's own `claude mcp add/remove`
    environment.py  which command to register, and refusing uvx's temporary environments
    cli.py          the two commands' options and flows
"""
