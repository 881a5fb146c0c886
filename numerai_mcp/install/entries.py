"""Our `numerai` entry in a client's parsed config: what it must hold, and the config after an action.

Only the `numerai` entry changes: every other entry, key and comment is kept. TOML is edited
line by line (toml_lines), JSON is re-serialised with its own indentation. A config that does not
parse, or that could not be edited safely, raises Refused and is left as it was.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from dataclasses import dataclass, field

from numerai_mcp.install.errors import NotOurs, Refused
from numerai_mcp.install.toml_lines import append_block, remove_ours, split_toml, update_in_place

NAME = "numerai"
SERVERS_TOML = "mcp_servers"
SERVERS_JSON = "mcpServers"
OUR_COMMANDS = {"numerai-mcp", "numerai-mcp.exe"}


@dataclass
class Wanted:
    """What our entry must contain; every other key of the entry is the user's."""

    command: str
    args: list[str]
    env_set: dict[str, str] = field(default_factory=dict)
    env_unset: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    typed: bool = False


def is_ours(entry: object) -> bool:
    command = entry.get("command") if isinstance(entry, dict) else None
    return isinstance(command, str) and re.split(r"[\\/]", command)[-1] in OUR_COMMANDS


def describe(entry: object) -> str:
    if isinstance(entry, dict):
        for key in ("command", "url"):
            if isinstance(entry.get(key), str):
                return f"{key} = {entry[key]}"
    return "not written by this installer"


def merge(existing: dict | None, wanted: Wanted) -> dict:
    """Our entry as it should be: the managed keys set, everything the user added kept."""
    entry: dict = {"type": "stdio"} if wanted.typed else {}
    entry.update(existing or {})
    if wanted.typed:
        entry["type"] = "stdio"
    entry["command"] = wanted.command
    entry["args"] = list(wanted.args)
    env = entry.get("env", {})
    if not isinstance(env, dict):
        raise Refused("its numerai entry has an 'env' that is not a table; fix that entry by hand")
    env = {k: v for k, v in env.items() if k not in wanted.env_unset}
    env.update(wanted.env_set)
    if env or "env" in entry or wanted.typed:
        entry["env"] = env
    if wanted.forward:
        names = entry.get("env_vars", [])
        if not isinstance(names, list):
            raise Refused("its numerai entry has an 'env_vars' that is not a list; fix that entry by hand")
        entry["env_vars"] = names + [n for n in wanted.forward if n not in names]
    return entry


def drop_empty_servers(doc: dict) -> dict:
    if doc.get(SERVERS_TOML) == {}:
        del doc[SERVERS_TOML]
    return doc


def load_doc(text: str, path: str, fmt: str) -> dict:
    """The parsed config, or Refused saying where it does not parse."""
    try:
        doc = tomllib.loads(text) if fmt == "toml" else json.loads(text) if text.strip() else {}
    except tomllib.TOMLDecodeError as exc:
        problem = f"TOML ({exc})"
    except json.JSONDecodeError as exc:
        problem = f"JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    else:
        problem = ""
    if problem:
        raise Refused(f"{path} is not valid {problem}; it was left untouched. Fix or move it, then run the installer again")
    if not isinstance(doc, dict):
        raise Refused(f"{path} does not hold a JSON object; it was left untouched")
    return doc


def servers_of(doc: dict, path: str, fmt: str) -> dict:
    key = SERVERS_TOML if fmt == "toml" else SERVERS_JSON
    servers = doc.get(key, {})
    if not isinstance(servers, dict):
        raise Refused(f"{path}: '{key}' is not an object; it was left untouched. Fix it by hand")
    return servers


def our_entry(text: str, path: str, fmt: str) -> object:
    """The `numerai` entry of a config's text (None when there is none); Refused when it does not parse."""
    return servers_of(load_doc(text, path, fmt), path, fmt).get(NAME)


UNCHANGED = object()


def next_entry(existing: object, action: str, wanted: Wanted | None, force: bool, path: str) -> object:
    """Our entry after the action: a dict, None when it goes away, or UNCHANGED."""
    mine = is_ours(existing)
    if action == "unregister":
        if existing is None:
            return UNCHANGED
        if not mine and not force:
            raise NotOurs(describe(existing))
        return None
    if existing is not None and not mine and not force:
        raise Refused(
            f"{path} already has an MCP server named 'numerai' that this installer did not write "
            f"({describe(existing)}). It was left untouched. Remove or rename that entry, "
            "or run the installer again with --force to replace it"
        )
    entry = merge(existing if mine else None, wanted)
    return UNCHANGED if mine and entry == existing else entry


def edit_toml(text: str, path: str, action: str, wanted: Wanted | None, force: bool) -> str:
    doc = load_doc(text, path, "toml")
    our = (SERVERS_TOML, NAME)
    existing = servers_of(doc, path, "toml").get(NAME)
    if existing is not None:  # our entry must be made of statements we can find line by line
        try:
            rest = tomllib.loads(remove_ours(text, our)).get(SERVERS_TOML, {})
        except tomllib.TOMLDecodeError:
            rest = {NAME: None}
        if isinstance(rest, dict) and NAME in rest:
            raise Refused(
                f"{path} defines mcp_servers.numerai in a form this installer does not edit (inside an "
                "inline table); it was left untouched. Edit that entry by hand"
            )
    entry = next_entry(existing, action, wanted, force, path)
    if entry is UNCHANGED:
        return text
    expected = copy.deepcopy(doc)
    if entry is None:
        del expected[SERVERS_TOML][NAME]
        new_text = remove_ours(text, our)
    else:
        expected.setdefault(SERVERS_TOML, {})[NAME] = entry
        if is_ours(existing) and any(s.kind == "header" and s.path == our for s in split_toml(text)[1]):
            new_text = update_in_place(text, existing, entry, our)
        else:
            new_text = append_block(remove_ours(text, our) if existing is not None else text, entry, our)
    try:
        result = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        result = None
    if result is None or drop_empty_servers(result) != drop_empty_servers(expected):
        raise Refused(
            f"{path} could not be edited safely (the result did not read back as intended); "
            "it was left untouched. Edit the numerai entry by hand"
        )
    return new_text


# ------------------------------------------------------------------ JSON

def json_indent(text: str) -> str | int:
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            lead = line[: len(line) - len(stripped)]
            return "\t" if lead.startswith("\t") else len(lead)
    return 2


def edit_json(text: str, path: str, action: str, wanted: Wanted | None, force: bool) -> str:
    doc = load_doc(text, path, "json")
    servers = servers_of(doc, path, "json")
    entry = next_entry(servers.get(NAME), action, wanted, force, path)
    if entry is UNCHANGED:
        return text
    if entry is None:
        del servers[NAME]
    else:
        servers[NAME] = entry
        doc[SERVERS_JSON] = servers
    return json.dumps(doc, indent=json_indent(text), ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ the entry points

def edit(fmt: str, text: str, path: str, action: str, wanted: Wanted | None, force: bool) -> str:
    """The config's text after `action` ("register" or "unregister") on our entry."""
    return (edit_toml if fmt == "toml" else edit_json)(text, path, action, wanted, force)


def entry_status(text: str, path: str, fmt: str, wanted: Wanted | None) -> str:
    """absent | foreign | current | stale: what a client's own CLI would have to do."""
    existing = our_entry(text, path, fmt)
    if existing is None:
        return "absent"
    if not is_ours(existing):
        return "foreign"
    return "current" if wanted is None or merge(existing, wanted) == existing else "stale"


def retired_secrets(text: str, path: str, fmt: str, wanted: Wanted | None) -> tuple[str, ...]:
    """Values of the env keys this edit removes from our entry (a key embedded earlier)."""
    if wanted is None or not wanted.env_unset:
        return ()
    existing = our_entry(text, path, fmt)
    env = existing.get("env") if is_ours(existing) else None
    if not isinstance(env, dict):
        return ()
    return tuple(v for k, v in env.items() if k in wanted.env_unset and isinstance(v, str) and len(v) >= 8)

