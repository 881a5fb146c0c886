"""Register or unregister our entry with one client: by editing its config, or through its own CLI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from numerai_mcp.install import claude_cli
from numerai_mcp.install.clients import CLIENTS, config_path, on_path
from numerai_mcp.install.entries import Wanted, edit, retired_secrets
from numerai_mcp.install.errors import NotOurs, Refused
from numerai_mcp.install.files import masked, read_config, show_diff, write_atomic
from numerai_mcp.install.output import Console

KEY_VARIABLES = ["NUMERAI_MCP_AUTH", "NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY"]


@dataclass
class Request:
    """One run's intent for every client: the entry, and how to go about writing it."""

    wanted: Wanted
    forward_key: bool = False  # Codex passes the key variables through (the key stays in the environment)
    secret: str | None = None  # the key when it is embedded: written privately, masked in every message
    force: bool = False


def wanted_for(name: str, request: Request) -> Wanted:
    client = CLIENTS[name]
    forward = KEY_VARIABLES if request.forward_key and name == "codex" else []
    return replace(request.wanted, forward=forward, typed=client.typed)


def edit_file(name: str, path: Path, action: str, wanted: Wanted | None, request: Request, out: Console) -> bool:
    """Apply `action` to the config file; False (after saying why) when it could not be done."""
    label, fmt = CLIENTS[name].title, CLIENTS[name].fmt
    try:
        old = read_config(str(path))
        new = edit(fmt, old or "", str(path), action, wanted, request.force)
    except NotOurs as exc:
        out.info(f"{label}: left alone the 'numerai' entry in {path}: another tool wrote it ({exc}); --force removes it")
        return True
    except Refused as exc:
        out.problem(f"{label}: {masked(str(exc), request.secret)}.")
        return False
    if new == (old or ""):
        out.info(f"{label}: {'no numerai entry in' if action == 'unregister' else 'already up to date:'} {path}")
        return True
    if out.dry_run:
        plan = "remove the numerai entry from" if action == "unregister" else "update" if old is not None else "create"
        out.info(f"[dry-run] {label}: would {plan} {path}:")
        show_diff(old or "", new, str(path), request.secret)
        return True
    try:
        retired = retired_secrets(old or "", str(path), fmt, wanted)
        backup = write_atomic(str(path), new, request.secret is not None, retired)
    except OSError as exc:
        out.problem(f"{label}: could not write {path} ({exc.strerror}); it was left as it was.")
        return False
    verb = "removed the numerai entry from" if action == "unregister" else "updated" if old is not None else "created"
    out.info(f"{label}: {verb} {path}" + (f" (backup: {backup})" if backup else ""))
    return True


def register(name: str, request: Request, env: Mapping[str, str], out: Console) -> bool:
    path, wanted = config_path(name, env), wanted_for(name, request)
    # Claude Code rewrites ~/.claude.json often, so its own writer is safest when it is installed. It
    # takes -e values in argv, so an embedded key is written by editing the file instead.
    claude = on_path("claude", env) if name == "claude" and request.secret is None else None
    if claude:
        return claude_cli.register(claude, path, wanted, request.force, env, out)
    return edit_file(name, path, "register", wanted, request, out)


def unregister(name: str, request: Request, env: Mapping[str, str], out: Console) -> bool:
    path = config_path(name, env)
    if not path.exists():
        return True
    claude = on_path("claude", env) if name == "claude" else None
    if claude:
        done = claude_cli.unregister(claude, path, request.force, env, out)
        if done is not None:
            return done
    return edit_file(name, path, "unregister", None, request, out)
