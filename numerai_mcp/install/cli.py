"""`numerai-mcp install` and `numerai-mcp uninstall`: (un)register this install with the agent clients.

install-mcp.sh installs the package and then runs these; `uv tool install SOURCE` followed by
`numerai-mcp install` does the same without the script. Every option is checked before anything
changes; a bad key stops the run before any client is touched.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from numerai_mcp.install import key, register
from numerai_mcp.install.clients import CLIENTS, parse_names, select
from numerai_mcp.install.entries import NAME, Wanted
from numerai_mcp.install.environment import SCRIPT_ENV, registered_command, removal_hint
from numerai_mcp.install.errors import Failed, UsageError
from numerai_mcp.install.output import Console


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]  # the first is the one shown; the others are aliases
    helps: dict[str, str]  # command -> what the option does there
    metavar: str = ""


BOTH = ("install", "uninstall")
OPTIONS = (
    Option(("--client",), {
        "install": "codex | claude | cursor | desktop | all. Repeatable, or a comma list. Default: every "
                   "client found on this machine.",
        "uninstall": "codex | claude | cursor | desktop | all. Repeatable, or a comma list. Default: all.",
    }, "NAME"),
    Option(("--sandbox",), {"install": "Wire the clients to the embedded local Numerai emulator "
                                       "(`numerai-mcp serve --sandbox`): no account, no key, no network."}),
    Option(("--non-interactive", "--yes", "-y"), {
        "install": "Never prompt (also -y). The key is read from NUMERAI_MCP_AUTH (or NUMERAI_PUBLIC_ID + "
                   "NUMERAI_SECRET_KEY) and stored in the credentials file.",
        "uninstall": "Never prompt (also -y; uninstalling asks nothing anyway).",
    }),
    Option(("--key-in-env",), {"install": "Keep the key in your environment only: no credentials file is "
                                          "written (Codex is told to pass the variables through; GUI clients "
                                          "may not see them)."}),
    Option(("--embed-key",), {"install": "Write the key into each client's config (plain text!). Prefer the file."}),
    Option(("--dry-run",), dict.fromkeys(BOTH, "Print every change it would make; change nothing.")),
    Option(("--force",), {
        "install": 'Replace a "numerai" entry that this installer did not write.',
        "uninstall": 'Also remove a "numerai" entry that this installer did not write.',
    }),
    Option(("--purge",), {"uninstall": "Also delete the stored credentials file."}),
    Option(("--command",), {"install": "Register PATH, a numerai-mcp executable, as the server command "
                                       "(default: the numerai-mcp of this environment)."}, "PATH"),
    Option(("--check-options",), dict.fromkeys(BOTH, "Only check the options (exit status 2 with the reason when "
                                                     "they are wrong; 1 for a malformed key); change nothing.")),
    Option(("--help", "-h"), dict.fromkeys(BOTH, "Show this help.")),
)
BY_FLAG = {flag: option for option in OPTIONS for flag in option.flags}
ABOUT = {
    "install": "Register this numerai-mcp as the stdio MCP server \"numerai\" with your agent clients (Codex, "
               "Claude Code, Cursor, Claude Desktop). Only our entry in each config changes, written atomically "
               "with a backup; the Numerai key goes to a file only you can read, not into the configs.",
    "uninstall": "Remove the \"numerai\" entry this installer wrote from every client's config (other entries "
                 "and someone else's \"numerai\" are left alone). The program itself stays installed.",
}
ENVIRONMENT = """\
environment:
  NUMERAI_MCP_AUTH              your key, PUBLIC_ID$SECRET_KEY (a "Token " prefix is fine), or
                                NUMERAI_PUBLIC_ID + NUMERAI_SECRET_KEY
  NUMERAI_MCP_CREDENTIALS_FILE  where the key is stored (default ~/.config/numerai-mcp/credentials)
  CODEX_HOME, CLAUDE_CONFIG_DIR honoured as the clients themselves do"""


@dataclass
class Options:
    clients: list[str] = field(default_factory=list)
    sandbox: bool = False
    non_interactive: bool = False
    key_in_env: bool = False
    embed_key: bool = False
    dry_run: bool = False
    force: bool = False
    purge: bool = False
    command: str | None = None
    check_options: bool = False
    help: bool = False


def usage(command: str) -> str:
    lines = [f"usage: numerai-mcp {command} [options]", "", *textwrap.wrap(ABOUT[command], 100), "", "options:"]
    for option in (o for o in OPTIONS if command in o.helps):
        name = option.flags[0] + (f" {option.metavar}" if option.metavar else "")
        text = textwrap.wrap(option.helps[command], 76)
        lines += [f"  {name:<18}{text[0]}", *(" " * 20 + more for more in text[1:])]
    return "\n".join(lines + ["", ENVIRONMENT])


def parse(command: str, argv: Sequence[str], script: bool = False) -> Options:
    """The options, or UsageError in install-mcp.sh's words when it runs us (`script`)."""
    opts, rest = Options(), list(argv)
    while rest:
        arg = rest.pop(0)
        flag, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        option = BY_FLAG.get(flag)
        if option is None:
            raise UsageError(f"unknown option '{arg}'.")
        if command not in option.helps:
            if command == "install":
                raise UsageError(f"{flag} only goes with --uninstall." if script
                                 else f"{flag} only goes with uninstall (numerai-mcp uninstall {flag}).")
            raise UsageError(("--uninstall" if script else "uninstall") +
                             " takes only --client, --dry-run, --force, --purge and --non-interactive.")
        if option.metavar and not eq:
            if not rest:
                raise UsageError(f"{flag} needs a {option.metavar.lower()}.")
            value = rest.pop(0)
        elif eq and not option.metavar:
            raise UsageError(f"{flag} takes no value.")
        name = option.flags[0].lstrip("-").replace("-", "_")
        if name == "client":
            opts.clients += parse_names(value)
        elif name == "command":
            opts.command = value
        else:
            setattr(opts, name, True)
    if opts.key_in_env and opts.embed_key:
        raise UsageError("--key-in-env and --embed-key contradict each other; pick one "
                         "(or neither, to use the credentials file).")
    if opts.sandbox and (opts.key_in_env or opts.embed_key):
        raise UsageError("--sandbox needs no Numerai key; drop --key-in-env/--embed-key.")
    return opts


def wanted_entry(command: str, opts: Options, plan: key.KeyPlan, env: Mapping[str, str]) -> register.Request:
    """Our entry for this run: what the server is started with, and where its key comes from."""
    wanted = Wanted(command, ["serve", "--sandbox"] if opts.sandbox else ["serve"])
    stored = key.stored_path(env)
    if not key.is_default_path(stored, env) and not (opts.sandbox or opts.embed_key or plan.key_in_env):
        wanted.env_set["NUMERAI_MCP_CREDENTIALS_FILE"] = str(stored)  # a path, not a secret
    else:
        wanted.env_unset.append("NUMERAI_MCP_CREDENTIALS_FILE")
    if opts.embed_key:
        wanted.env_set["NUMERAI_MCP_AUTH"] = plan.key
    elif plan.store or plan.origin == "file":
        wanted.env_unset.append("NUMERAI_MCP_AUTH")  # the file holds the key now: a copy would only shadow it
    return register.Request(wanted, forward_key=plan.key_in_env, secret=plan.key if opts.embed_key else None,
                            force=opts.force)


def manual_snippet(command: str, sandbox: bool) -> str:
    entry = {"mcpServers": {NAME: {"command": command, "args": ["serve", "--sandbox"] if sandbox else ["serve"]}}}
    return ("No agent client was found (looked for Codex, Claude Code, Cursor and Claude Desktop).\n"
            "Register one with --client NAME, or add this entry to your client's MCP config by hand:\n"
            f"  {json.dumps(entry)}")


def next_steps(registered: list[str], command: str, sandbox: bool) -> str:
    titles = ", ".join(CLIENTS[name].title for name in registered)
    first = (f"Restart your agent client ({titles}) so that it starts the '{NAME}' server." if titles
             else "Register the server with your agent client (see above), then restart the client.")
    demo = " (the sandbox answers with a demo account)" if sandbox else ""
    return (f"\nNext steps:\n  1. {first}\n  2. Ask your agent: \"check my Numerai credentials\"{demo}.\n"
            f"  3. See what is installed and usable: {command} doctor")


def install(opts: Options, argv: Sequence[str], env: Mapping[str, str], out: Console, script: bool) -> None:
    command = registered_command(opts.command, argv, env, dry_run=opts.dry_run)
    targets = select(opts.clients, env, uninstall=False)
    again = "run this installer again with --reuse" if script else "run `numerai-mcp install` again"
    plan = key.decide(env, out, sandbox=opts.sandbox, key_in_env=opts.key_in_env, embed_key=opts.embed_key,
                      interactive=not opts.non_interactive, again=again)
    if opts.embed_key:
        out.warn("--embed-key: your Numerai key will be stored in plain text in each client's config. "
                 "The credentials file (the default) keeps it out of them.")
    key.store(plan, env, out)
    if plan.key_in_env:
        out.info("The key stays in your environment only. Codex is told to pass NUMERAI_MCP_AUTH, "
                 "NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY through; other clients see the key only when "
                 "they are started from a shell that has it set.")
    request = wanted_entry(command, opts, plan, env)
    if not targets:
        out.info(manual_snippet(command, opts.sandbox))
    registered = [name for name in targets if register.register(name, request, env, out)]
    out.info("[dry-run] nothing was changed." if opts.dry_run else next_steps(registered, command, opts.sandbox))
    if len(registered) < len(targets):
        raise Failed("some clients were not registered; see the messages above, fix them and run again.")


def uninstall(opts: Options, env: Mapping[str, str], out: Console, script: bool) -> None:
    request = register.Request(Wanted("", []), force=opts.force)
    done = [register.unregister(name, request, env, out) for name in select(opts.clients, env, uninstall=True)]
    stored = key.stored_path(env)
    if stored.is_file():
        if opts.purge:
            out.doing(f"delete the stored Numerai key {stored}")
            if not opts.dry_run:
                stored.unlink()
                try:
                    stored.parent.rmdir()
                except OSError:
                    pass  # the folder holds other files
        else:
            purge = "--uninstall --purge" if script else "numerai-mcp uninstall --purge"
            out.info(f"Kept your stored Numerai key in {stored} ({purge} deletes it).")
    if not all(done):
        raise Failed("some client configs could not be changed; see the messages above.")
    if script:
        return  # the script goes on to delete the virtual environment and says when all is done
    if opts.dry_run:
        out.info("[dry-run] nothing was changed.")
    else:
        out.info(f"numerai-mcp is unregistered from your agent clients. The program itself stays in {sys.prefix}; "
                 f"{removal_hint()}.")


def run(command: str, argv: Sequence[str]) -> int:
    script = os.environ.get(SCRIPT_ENV) == "1"
    help_hint = "install-mcp.sh --help" if script else f"numerai-mcp {command} --help"
    try:
        opts = parse(command, argv, script)
        if opts.help:
            print(usage(command))
            return 0
        if opts.check_options:  # a malformed key in the environment is a mistake to catch before installing too
            if command == "install" and not opts.sandbox:
                key.key_from_env(os.environ)
            return 0
        out = Console(dry_run=opts.dry_run)
        env = dict(os.environ)
        if command == "install":
            install(opts, argv, env, out, script)
        else:
            uninstall(opts, env, out, script)
    except UsageError as exc:
        print(f"error: {exc}\nRun {help_hint} for the options.", file=sys.stderr)
        return 2
    except Failed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; what was done so far is kept, and running the command again finishes it.",
              file=sys.stderr)
        return 130
    return 0


def install_main(argv: Sequence[str] | None = None) -> int:
    return run("install", sys.argv[1:] if argv is None else argv)


def uninstall_main(argv: Sequence[str] | None = None) -> int:
    return run("uninstall", sys.argv[1:] if argv is None else argv)

