"""Claude Code's own `claude mcp add/remove --scope user`, used when `claude` is on PATH.

What to do is decided first from ~/.claude.json (nothing to do, someone else's entry, stale),
so a run that changes nothing runs no command, and a dry run prints the commands instead.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from numerai_mcp.install.entries import NAME, Wanted, entry_status
from numerai_mcp.install.errors import Refused
from numerai_mcp.install.files import read_config
from numerai_mcp.install.output import Console

LABEL = "Claude Code"


def _status(path: Path, wanted: Wanted | None, out: Console) -> str | None:
    try:
        return entry_status(read_config(str(path)) or "", str(path), "json", wanted)
    except Refused as exc:
        out.problem(f"{LABEL}: {exc}.")
        return None


def _run(argv: list[str], env: Mapping[str, str]) -> bool:
    """Run the CLI with its own messages on stderr; its chatter on stdout is not ours to show."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=dict(env), timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def register(claude: str, path: Path, wanted: Wanted, force: bool, env: Mapping[str, str], out: Console) -> bool:
    state = _status(path, wanted, out)
    if state is None:
        return False
    if state == "current":
        out.info(f"{LABEL}: already up to date: {path}")
        return True
    if state == "foreign" and not force:
        out.warn(f"{LABEL}: {path} already has an MCP server named '{NAME}' that this installer did not write; "
                 f"it was left untouched. Remove or rename it (claude mcp remove --scope user {NAME}), "
                 "or run the installer again with --force to replace it.")
        return False
    env_args = [arg for key, value in wanted.env_set.items() for arg in ("-e", f"{key}={value}")]
    add = ["claude", "mcp", "add", "--scope", "user", *env_args, NAME, "--", wanted.command, *wanted.args]
    remove = ["claude", "mcp", "remove", "--scope", "user", NAME]
    if out.dry_run:
        if state != "absent":
            out.info(f"[dry-run] {LABEL}: would run: {shlex.join(remove)}")
        out.info(f"[dry-run] {LABEL}: would run: {shlex.join(add)}")
        return True
    if state != "absent" and not _run([claude, *remove[1:]], env):
        out.warn("'claude mcp remove' failed; see its message above.")
        return False
    if not _run([claude, *add[1:]], env):
        out.warn("'claude mcp add' failed; see its message above.")
        return False
    out.info(f"{LABEL}: registered with 'claude mcp add --scope user' in {path}")
    return True


def unregister(claude: str, path: Path, force: bool, env: Mapping[str, str], out: Console) -> bool | None:
    """True/False when settled here; None when the file must be edited directly instead."""
    state = _status(path, None, out)
    if state is None:
        return False
    if state == "absent":
        out.info(f"{LABEL}: no numerai entry in {path}")
        return True
    if state == "foreign" and not force:
        out.info(f"{LABEL}: left alone the '{NAME}' entry in {path}: another tool wrote it; --force removes it")
        return True
    if out.dry_run:
        out.info(f"[dry-run] {LABEL}: would run: claude mcp remove --scope user {NAME}")
        return True
    if _run([claude, "mcp", "remove", "--scope", "user", NAME], env):
        out.info(f"{LABEL}: removed the numerai entry with 'claude mcp remove --scope user'")
        return True
    out.warn(f"'claude mcp remove' failed; editing {path} directly instead.")
    return None
