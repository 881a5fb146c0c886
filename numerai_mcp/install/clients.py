"""The agent clients numerai-mcp registers with: where each keeps its MCP config, and which are here.

Paths follow the clients themselves (checked with their real CLIs, see DESIGN's clients
reference): Codex honours CODEX_HOME, Claude Code CLAUDE_CONFIG_DIR; Claude Desktop has no
Linux build, so "all" does not create a config for it there.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from numerai_mcp.install.errors import UsageError


@dataclass(frozen=True)
class Client:
    name: str
    title: str
    fmt: str  # "toml" or "json"
    typed: bool = False  # Claude Code's entries carry "type": "stdio" (and an env table)


CLIENTS: dict[str, Client] = {
    c.name: c
    for c in (
        Client("codex", "Codex", "toml"),
        Client("claude", "Claude Code", "json", typed=True),
        Client("cursor", "Cursor", "json"),
        Client("desktop", "Claude Desktop", "json"),
    )
}
ALIASES = {"claude-code": "claude", "claude-desktop": "desktop"}


def platform() -> str:
    return "macos" if sys.platform == "darwin" else "windows" if os.name == "nt" else "linux"


def home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or os.path.expanduser("~"))


def config_path(name: str, env: Mapping[str, str]) -> Path:
    """The config file of a client for this environment (it may not exist yet)."""
    if name == "codex":
        return Path(env.get("CODEX_HOME") or home(env) / ".codex") / "config.toml"
    if name == "claude":
        return Path(env.get("CLAUDE_CONFIG_DIR") or home(env)) / ".claude.json"
    if name == "cursor":
        return home(env) / ".cursor" / "mcp.json"
    if platform() == "macos":
        folder = home(env) / "Library" / "Application Support"
    elif platform() == "windows":
        folder = Path(env.get("APPDATA") or home(env) / "AppData" / "Roaming")
    else:
        folder = Path(env.get("XDG_CONFIG_HOME") or home(env) / ".config")
    return folder / "Claude" / "claude_desktop_config.json"


def on_path(program: str, env: Mapping[str, str]) -> str | None:
    return shutil.which(program, path=env.get("PATH", os.defpath))


def present(name: str, env: Mapping[str, str]) -> bool:
    """Whether the client looks installed or set up on this machine."""
    config = config_path(name, env)
    if name == "desktop":
        return config.parent.is_dir()
    if name == "claude":
        return bool(on_path("claude", env)) or config.is_file() or (home(env) / ".claude").is_dir()
    return bool(on_path(name, env)) or config.parent.is_dir()


def parse_names(value: str) -> list[str]:
    """`--client` values: a comma list of names, aliases or "all"."""
    if not value:
        raise UsageError("--client needs a name: codex, claude, cursor, desktop or all.")
    names = []
    for raw in value.split(","):
        name = ALIASES.get(raw, raw)
        if name != "all" and name not in CLIENTS:
            raise UsageError(f"unknown client '{raw}'; expected codex, claude, cursor, desktop or all.")
        names.append(name)
    return names


def select(requested: list[str], env: Mapping[str, str], *, uninstall: bool) -> list[str]:
    """The clients to act on: those asked for, else those found (every one, to uninstall)."""
    if requested and "all" not in requested:
        return list(dict.fromkeys(requested))
    targets = [name for name in CLIENTS if uninstall or present(name, env)]
    if "all" in requested and not uninstall:  # also the clients not set up yet
        targets += [n for n in CLIENTS if n not in targets and not (n == "desktop" and platform() == "linux")]
    return targets
