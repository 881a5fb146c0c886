"""Which command a client config should start: this environment's own `numerai-mcp`, never a
temporary one.

`uvx --from SOURCE numerai-mcp install` runs from an environment inside uv's cache, which uv
replaces or deletes whenever it likes; a config pointing there would break without warning.
Such an environment is refused with the exact `uv tool install` command that makes a lasting
one (whose path is then registered). A cache is recognised the standard way: a CACHEDIR.TAG in a
folder above the environment (uv tags its cache so; it also tags every venv it creates, so a tag in
the environment itself says nothing).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from numerai_mcp.install.entries import OUR_COMMANDS
from numerai_mcp.install.errors import Failed, UsageError

PACKAGE = "numerai-mcp"
SCRIPT_ENV = "NUMERAI_MCP_INSTALL_SCRIPT"  # set by install-mcp.sh when it runs these commands


def own_command() -> Path:
    """The `numerai-mcp` console script of the environment this Python runs in."""
    return Path(sysconfig.get_path("scripts")) / ("numerai-mcp.exe" if os.name == "nt" else "numerai-mcp")


def cache_holding(environment: Path) -> Path | None:
    """The tagged cache directory an environment lies in, if any."""
    for candidate in environment.parents:
        if (candidate / "CACHEDIR.TAG").is_file():
            return candidate
    return None


def install_source() -> str:
    """What `uv tool install` needs to get this very package again (its PEP 610 direct_url.json)."""
    try:
        text = metadata.distribution(PACKAGE).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        text = None
    if not text:
        return PACKAGE  # installed from an index
    data = json.loads(text)
    url, vcs = data.get("url", ""), data.get("vcs_info")
    if vcs:
        revision = vcs.get("requested_revision")
        return f"{vcs.get('vcs', 'git')}+{url}" + (f"@{revision}" if revision else "")
    if url.startswith("file://"):
        return unquote(urlparse(url).path)
    return url


def tool_bin_dir(env: Mapping[str, str]) -> str:
    """Where `uv tool install` puts commands: asked of uv itself (uvx passes its path in $UV)."""
    uv = env.get("UV")
    if not uv:
        try:
            from uv import find_uv_bin  # numerai-mcp depends on uv

            uv = find_uv_bin()
        except (ImportError, FileNotFoundError):
            uv = None
    if uv:
        try:
            done = subprocess.run([uv, "tool", "dir", "--bin"], capture_output=True, text=True, timeout=30,
                                  stdin=subprocess.DEVNULL, env=dict(env))
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    return str(Path(env.get("HOME") or os.path.expanduser("~")) / ".local" / "bin")


def refuse_temporary(prefix: Path, cache: Path, argv: Sequence[str], env: Mapping[str, str]) -> Failed:
    again = shlex.join([str(Path(tool_bin_dir(env)) / "numerai-mcp"), "install", *argv])
    return Failed(
        f"this numerai-mcp runs from a temporary environment ({prefix}, inside the cache {cache}) that can "
        "be deleted at any time, so no client config may point at it. Install it for good, then register "
        "that install:\n"
        f"  uv tool install --reinstall-package {PACKAGE} {shlex.quote(install_source())}\n"
        f"  {again}"
    )


def registered_command(explicit: str | None, argv: Sequence[str], env: Mapping[str, str], *, dry_run: bool) -> str:
    """The absolute path every client entry starts (clients run servers with a minimal PATH)."""
    if explicit:
        command = Path(os.path.abspath(explicit))
        if command.name not in OUR_COMMANDS:
            raise UsageError(f"--command must be a path to a numerai-mcp executable, not {explicit!r} "
                             "(entries are recognised by that name).")
    else:
        command = own_command()
        prefix = Path(sys.prefix).resolve()
        cache = cache_holding(prefix)
        if cache is not None:
            raise refuse_temporary(prefix, cache, argv, env)
    if not dry_run and not (command.is_file() and os.access(command, os.X_OK)):
        raise Failed(f"{command} is not an executable numerai-mcp, so no client could start it. Install the "
                     "package (install-mcp.sh, `uv tool install`, or pip into a virtual environment) and run "
                     "its own `numerai-mcp install`, or give --command PATH.")
    return str(command)


def removal_hint() -> str:
    """How to remove the program itself, once the clients no longer start it."""
    prefix = Path(sys.prefix)
    if (prefix / "uv-receipt.toml").is_file():
        return f"`uv tool uninstall {PACKAGE}` removes it"
    if (prefix / "pipx_metadata.json").is_file():
        return f"`pipx uninstall {PACKAGE}` removes it"
    return "delete that folder to remove it"
