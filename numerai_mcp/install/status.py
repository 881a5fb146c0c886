"""Read-only checks of the entries `numerai-mcp install` wrote: does each client still start this
server, with a key it can read? Used by `numerai-mcp doctor`; changes nothing.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from numerai_mcp.install.clients import CLIENTS, config_path
from numerai_mcp.install.entries import describe, is_ours, our_entry
from numerai_mcp.install.errors import Refused
from numerai_mcp.install.files import read_config
from numerai_mcp.install.key import stored_key, stored_path


@dataclass(frozen=True)
class Problem:
    what: str
    fix: str
    essential: bool = True  # False: worth knowing, but the client still starts a working server


@dataclass
class EntryCheck:
    """One client config: what its numerai entry does, and what is wrong with it."""

    client: str
    path: Path
    detail: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def essential(self) -> bool:
        return any(p.essential for p in self.problems)


def _key_problems(entry: dict, env: Mapping[str, str], reinstall: str) -> tuple[str, list[Problem]]:
    """Where the server started by this entry finds its key, and what stops it."""
    entry_env = entry.get("env") if isinstance(entry.get("env"), dict) else {}
    if "--sandbox" in (entry.get("args") or []):
        return "sandbox: no key needed", []
    if entry_env.get("NUMERAI_MCP_AUTH"):
        return "key embedded in the config", [Problem(
            "the Numerai key is stored in plain text in this config",
            f"NUMERAI_MCP_AUTH='PUBLIC_ID$SECRET_KEY' {reinstall} --non-interactive (moves it to the 0600 credentials file)",
            essential=False,
        )]
    if "NUMERAI_MCP_AUTH" in (entry.get("env_vars") or []):
        return "key from the environment the client is started in", []
    file = stored_path({**env, **{k: v for k, v in entry_env.items() if k == "NUMERAI_MCP_CREDENTIALS_FILE"}})
    if not file.is_file():
        return f"key file {file}", [Problem(f"{file} does not exist, so the server starts without a Numerai key",
                                            f"{reinstall} (it asks for the key)")]
    mode = stat.S_IMODE(file.stat().st_mode)
    problems = []
    if mode & 0o077:
        problems.append(Problem(f"{file} can be read by others (mode {mode:04o})", f"chmod 600 {shlex.quote(str(file))}"))
    if stored_key(file) is None:
        problems.append(Problem(f"{file} does not hold a PUBLIC_ID$SECRET_KEY line", f"{reinstall} (it asks for the key)"))
    return f"key file {file} (mode {mode:04o})", problems


def check(name: str, env: Mapping[str, str], this_command: Path) -> EntryCheck | None:
    """The check of one client's config; None when that config does not exist."""
    title, path = CLIENTS[name].title, config_path(name, env)
    reinstall = f"{shlex.quote(str(this_command))} install --client {name}"
    try:
        text = read_config(str(path))
        if text is None:
            return None
        entry = our_entry(text, str(path), CLIENTS[name].fmt)
    except Refused as exc:
        return EntryCheck(title, path, f"{path} cannot be read",
                          [Problem(str(exc), f"fix or move {path}, then {reinstall}", essential=False)])
    if entry is None:
        return EntryCheck(title, path, f"no numerai entry in {path}",
                          [Problem(f"{title} does not start numerai-mcp", reinstall, essential=False)])
    if not is_ours(entry):
        return EntryCheck(title, path, f"{path} has a 'numerai' entry written by another tool ({describe(entry)})")
    command, args = entry.get("command", ""), entry.get("args") or []
    where, problems = _key_problems(entry, env, reinstall)
    if not os.path.isabs(command):
        problems.insert(0, Problem("its command is not an absolute path (clients start servers with a minimal PATH)",
                                   reinstall))
    elif not (os.path.isfile(command) and os.access(command, os.X_OK)):
        problems.insert(0, Problem(f"{command} does not exist or is not executable", reinstall))
    elif os.path.realpath(command) != os.path.realpath(this_command):
        problems.append(Problem(f"it starts another install ({command}), not this one", reinstall, essential=False))
    if not args or args[0] != "serve":
        problems.append(Problem(f"its arguments {args} do not start the server (expected serve)", reinstall))
    return EntryCheck(title, path, f"{path}: {shlex.join([command, *map(str, args)])}; {where}", problems)


def client_entries(env: Mapping[str, str], this_command: Path) -> list[EntryCheck]:
    """The checks of every client config that exists on this machine."""
    return [found for name in CLIENTS if (found := check(name, env, this_command)) is not None]
