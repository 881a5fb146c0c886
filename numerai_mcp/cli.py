"""`numerai-mcp` command line: a thin dispatcher to each part's own entry point.

Each subcommand lives in the module that owns it and is imported only when used,
so `numerai-mcp serve` starts without loading the emulator, the harness or numpy.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from numerai_mcp import __version__

# name -> (module:function taking argv and returning an exit code, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("numerai_mcp.server.run:main", "run the MCP server (stdio by default, --http for Streamable HTTP)"),
    "sandbox": ("numerai_mcp.emulator.cli:main", "run the local Numerai API emulator (no account, no network)"),
    "demo": ("numerai_mcp.demo:main", "run the whole upload story against the embedded sandbox"),
    "validate": ("numerai_mcp.commands.validate:main", "run a pickle the way Numerai would and print the verdict"),
    "evaluate": ("numerai_mcp.commands.evaluate:main", "score a pickle on validation data era by era (CORR, Sharpe, plots)"),
    "build": ("numerai_mcp.commands.build:main", "build a predict pickle from an inference bundle in the target runtime"),
    "runtimes": ("numerai_mcp.commands.runtimes:main", "list or update the numerai_predict runtimes catalogue"),
    "status": ("numerai_mcp.commands.status:main", "how every model slot is doing, and the fix for each unhealthy one"),
    "doctor": ("numerai_mcp.doctor:main", "check what is installed and usable, with fixes"),
    "install": ("numerai_mcp.install.cli:install_main", "register this install with your agent clients (Codex, Claude…)"),
    "uninstall": ("numerai_mcp.install.cli:uninstall_main", "remove the numerai entry from your agent clients"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"numerai-mcp {__version__}", "", "usage: numerai-mcp COMMAND [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run `numerai-mcp COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    if args[0] in {"-V", "--version"}:
        print(__version__)
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"numerai-mcp: unknown command {name!r}.\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, _, func_name = COMMANDS[name][0].partition(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(rest) or 0)
    except BrokenPipeError:  # `numerai-mcp runtimes | head`: the reader left; not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
