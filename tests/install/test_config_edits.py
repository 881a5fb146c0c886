"""Editing a client's config (numerai_mcp.install.entries/files), on the configs users really have.

Imported in-process, so the many TOML/JSON shapes can be checked quickly; the script-level
tests cover the same code through real `bash install-mcp.sh` runs.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from pathlib import Path

import pytest

from numerai_mcp.install.entries import Wanted, edit_json, edit_toml
from numerai_mcp.install.errors import NotOurs, Refused
from numerai_mcp.install.files import show_diff, write_atomic

CMD = "/home/u/.local/share/numerai-mcp/venv/bin/numerai-mcp"
OLD_CMD = "/opt/old/venv/bin/numerai-mcp"

OTHER_SERVERS = """\
# Codex settings (hand-written)
model = "o3"  # the default model
approval_policy = "on-request"

[mcp_servers.github]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-github"]

[mcp_servers.github.env]
GITHUB_TOKEN = "ghp_example"   # keep me

[[profiles.fast]]
model = "o4-mini"
"""


def wanted(**kw) -> Wanted:  # type: ignore[no-untyped-def]
    return Wanted(command=kw.pop("command", CMD), args=kw.pop("args", ["serve"]), **kw)


def register(text: str, force: bool = False, **kw) -> str:  # type: ignore[no-untyped-def]
    return edit_toml(text, "config.toml", "register", wanted(**kw), force)


def unregister(text: str, force: bool = False) -> str:
    return edit_toml(text, "config.toml", "unregister", None, force)


def entry(text: str) -> dict:
    return tomllib.loads(text)["mcp_servers"]["numerai"]


def changed_lines(old: str, new: str) -> list[str]:
    return [
        line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


# ------------------------------------------------------------------ TOML: adding and removing


def test_empty_file_gets_exactly_our_table() -> None:
    new = register("")
    assert new == f'[mcp_servers.numerai]\ncommand = "{CMD}"\nargs = ["serve"]\n'


def test_other_entries_and_comments_survive_and_uninstall_restores_the_file() -> None:
    new = register(OTHER_SERVERS)
    assert new.startswith(OTHER_SERVERS)  # every original byte, in place
    assert entry(new) == {"command": CMD, "args": ["serve"]}
    assert tomllib.loads(new)["mcp_servers"]["github"]["env"] == {"GITHUB_TOKEN": "ghp_example"}
    assert register(new) == new  # idempotent
    assert unregister(new) == OTHER_SERVERS


def test_sandbox_args_and_embedded_key_get_their_own_env_table() -> None:
    new = register(OTHER_SERVERS, args=["serve", "--sandbox"], env_set={"NUMERAI_MCP_AUTH": "P$S"})
    assert entry(new) == {"command": CMD, "args": ["serve", "--sandbox"], "env": {"NUMERAI_MCP_AUTH": "P$S"}}
    assert "[mcp_servers.numerai.env]\nNUMERAI_MCP_AUTH = \"P$S\"\n" in new
    assert unregister(new) == OTHER_SERVERS


def test_file_without_final_newline_and_crlf_files() -> None:
    assert entry(register('model = "o3"'))["command"] == CMD
    crlf = OTHER_SERVERS.replace("\n", "\r\n")
    new = register(crlf)
    assert new.startswith(crlf) and "\n" not in new.replace("\r\n", "")
    assert unregister(new) == crlf


# ------------------------------------------------------------------ TOML: updating our entry in place


STALE = """\
# Numerai, set up last month
[mcp_servers.numerai]
# the installer's entry; my timeout below
command = "/opt/old/venv/bin/numerai-mcp"  # old place
args = [
  "serve",
  "--sandbox",
]
tool_timeout_sec = 600

[mcp_servers.numerai.env]
NUMERAI_MCP_AUTH = "OLDPUBLIC$OLDSECRET"
LOG_LEVEL = "debug"

# the next server
[mcp_servers.other]
command = "x"
"""


def test_update_changes_only_the_managed_lines() -> None:
    new = register(STALE, env_unset=["NUMERAI_MCP_AUTH"])
    assert entry(new) == {"command": CMD, "args": ["serve"], "tool_timeout_sec": 600, "env": {"LOG_LEVEL": "debug"}}
    assert changed_lines(STALE, new) == [
        '-command = "/opt/old/venv/bin/numerai-mcp"  # old place',
        "-args = [",
        '-  "serve",',
        '-  "--sandbox",',
        "-]",
        '+command = "' + CMD + '"',
        '+args = ["serve"]',
        '-NUMERAI_MCP_AUTH = "OLDPUBLIC$OLDSECRET"',
    ]
    for kept in ("# Numerai, set up last month", "# the installer's entry; my timeout below", "# the next server"):
        assert kept in new
    assert register(new, env_unset=["NUMERAI_MCP_AUTH"]) == new


def test_quoted_header_and_missing_args_are_handled() -> None:
    text = f'[mcp_servers."numerai"]\ncommand = "{OLD_CMD}"\nenabled = true\n'
    new = register(text)
    assert entry(new) == {"command": CMD, "enabled": True, "args": ["serve"]}
    assert new.startswith('[mcp_servers."numerai"]\n')


def test_env_written_as_dotted_keys_or_inline_table() -> None:
    dotted = f'[mcp_servers.numerai]\ncommand = "{OLD_CMD}"\nargs = ["serve"]\nenv.LOG = "1"\n\n[x]\ny = 1\n'
    new = register(dotted, env_set={"NUMERAI_MCP_AUTH": "P$S"})
    assert entry(new)["env"] == {"LOG": "1", "NUMERAI_MCP_AUTH": "P$S"}
    assert 'env.NUMERAI_MCP_AUTH = "P$S"\n' in new

    inline = f'[mcp_servers.numerai]\ncommand = "{OLD_CMD}"\nargs = ["serve"]\nenv = {{ LOG = "1" }}\n'
    new = register(inline, env_set={"NUMERAI_MCP_AUTH": "P$S"})
    assert entry(new)["env"] == {"LOG": "1", "NUMERAI_MCP_AUTH": "P$S"}


def test_new_env_table_lands_inside_our_region() -> None:
    text = f'[mcp_servers.numerai]\ncommand = "{CMD}"\nargs = ["serve"]\n\n[mcp_servers.other]\ncommand = "x"\n'
    new = register(text, env_set={"NUMERAI_MCP_CREDENTIALS_FILE": "/secure/creds"})
    assert new.index("[mcp_servers.numerai.env]") < new.index("[mcp_servers.other]")
    assert tomllib.loads(new)["mcp_servers"]["other"] == {"command": "x"}


def test_inline_entry_under_the_servers_table_is_rewritten_as_a_table() -> None:
    text = f'[mcp_servers]\nnumerai = {{ command = "{OLD_CMD}", args = ["serve"], enabled = false }}\nother = {{ command = "x" }}\n'
    new = register(text)
    assert entry(new) == {"command": CMD, "args": ["serve"], "enabled": False}
    assert tomllib.loads(new)["mcp_servers"]["other"] == {"command": "x"}
    assert unregister(new).strip() == '[mcp_servers]\nother = { command = "x" }'


def test_entry_inside_a_root_inline_table_is_refused() -> None:
    text = f'mcp_servers = {{ numerai = {{ command = "{OLD_CMD}" }} }}\n'
    with pytest.raises(Refused, match="inline table"):
        register(text)


def test_paths_with_quotes_backslashes_and_unicode_round_trip() -> None:
    odd = 'C:\\Users\\Zoë "Z"\\numerai-mcp\\venv\\Scripts\\numerai-mcp.exe'
    new = register(OTHER_SERVERS, command=odd)
    assert entry(new)["command"] == odd
    assert register(new, command=odd) == new


# ------------------------------------------------------------------ TOML: what is refused


def test_malformed_toml_is_refused_with_the_place() -> None:
    with pytest.raises(Refused, match=r"not valid TOML .*line 2"):
        register('model = "o3"\n[mcp_servers.x\n')


def test_someone_elses_numerai_entry_is_kept_unless_forced() -> None:
    hosted = (
        'model = "o3"\n\n[mcp_servers.numerai]\nurl = "https://api-tournament.numer.ai/mcp/sse"\n\n'
        '[mcp_servers.numerai.env_http_headers]\nAuthorization = "NUMERAI_MCP_AUTH"\n'
    )
    with pytest.raises(Refused, match=r"did not write \(url = https://api-tournament.numer.ai/mcp/sse\).*--force"):
        register(hosted)
    with pytest.raises(NotOurs):
        unregister(hosted)
    forced = register(hosted, force=True)
    assert entry(forced) == {"command": CMD, "args": ["serve"]}
    assert forced.startswith('model = "o3"\n')


def test_unregister_without_entry_changes_nothing() -> None:
    assert unregister(OTHER_SERVERS) == OTHER_SERVERS


# ------------------------------------------------------------------ JSON


CURSOR = """{
    "mcpServers": {
        "github": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"]
        }
    },
    "theme": "dark"
}
"""


def jregister(text: str, force: bool = False, **kw) -> str:  # type: ignore[no-untyped-def]
    return edit_json(text, "mcp.json", "register", wanted(**kw), force)


def test_json_keeps_other_entries_keys_and_indentation() -> None:
    new = jregister(CURSOR)
    doc = json.loads(new)
    assert doc["mcpServers"]["numerai"] == {"command": CMD, "args": ["serve"]}
    assert doc["mcpServers"]["github"] == json.loads(CURSOR)["mcpServers"]["github"]
    assert doc["theme"] == "dark" and '\n    "theme": "dark"' in new
    assert jregister(new) == new
    removed = edit_json(new, "mcp.json", "unregister", None, False)
    assert json.loads(removed) == json.loads(CURSOR)


def test_json_claude_entry_is_typed_and_keeps_user_keys() -> None:
    text = json.dumps({"numStartups": 3, "mcpServers": {"numerai": {"type": "stdio", "command": OLD_CMD, "args": [], "env": {"A": "1", "NUMERAI_MCP_AUTH": "P$S"}, "timeout": 5}}})
    new = jregister(text, typed=True, env_unset=["NUMERAI_MCP_AUTH"])
    assert json.loads(new) == {
        "numStartups": 3,
        "mcpServers": {"numerai": {"type": "stdio", "command": CMD, "args": ["serve"], "env": {"A": "1"}, "timeout": 5}},
    }
    fresh = json.loads(jregister("", typed=True))
    assert fresh == {"mcpServers": {"numerai": {"type": "stdio", "command": CMD, "args": ["serve"], "env": {}}}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"mcpServers": {"a": 1,}}', r"not valid JSON \(Expecting property name enclosed in double quotes at line 1 column 24\)"),
        ("[1, 2]", "does not hold a JSON object"),
        ('{"mcpServers": []}', "'mcpServers' is not an object"),
        ('{"mcpServers": {"numerai": {"url": "https://x"}}}', r"did not write \(url = https://x\)"),
        (json.dumps({"mcpServers": {"numerai": {"command": CMD, "env": "x"}}}), "'env' that is not a table"),
    ],
)
def test_json_refusals(text: str, message: str) -> None:
    with pytest.raises(Refused, match=message):
        jregister(text)


# ------------------------------------------------------------------ writing and showing


def test_write_keeps_symlinks_mode_and_a_private_backup(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "config.toml"
    real.parent.mkdir()
    real.write_text("a = 1\n")
    real.chmod(0o644)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    backup = write_atomic(str(link), "a = 2\n", private=False)
    assert link.is_symlink() and real.read_text() == "a = 2\n"
    assert (real.stat().st_mode & 0o777) == 0o644
    assert Path(backup).read_text() == "a = 1\n" and (Path(backup).stat().st_mode & 0o777) == 0o600
    write_atomic(str(link), "a = 3\n", private=True)
    assert (real.stat().st_mode & 0o777) == 0o600
    assert sorted(os.listdir(real.parent)) == ["config.toml", "config.toml.numerai-mcp.bak"]  # no temp files left


def test_dry_run_diff_masks_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    old = OTHER_SERVERS
    new = register(old, env_set={"NUMERAI_MCP_AUTH": "PUB$VERYSECRET"})
    show_diff(old, new + 'API_KEY = "other-secret"\n', "config.toml", "PUB$VERYSECRET")
    out = capsys.readouterr().out
    assert "VERYSECRET" not in out and "other-secret" not in out and "ghp_example" not in out
    assert '+NUMERAI_MCP_AUTH = "****"' in out


CORPUS = [
    "",
    "\n\n",
    "# only a comment\n",
    'model = "o3"',
    OTHER_SERVERS,
    OTHER_SERVERS.replace("\n", "\r\n"),
    '[mcp_servers]\n# servers follow\n\n[mcp_servers.a]\ncommand = "a"\n\n\n# trailing notes\n',
    '[[profiles.x]]\nmodel = "a"\n\n[[profiles.x]]\nmodel = "b"\n',
    'notes = """\n[mcp_servers.numerai]\nnot a table\n"""\n',
    "[mcp_servers.a]\ncommand = 'x'\nargs = [\n  'multi',  # why\n  'line',\n]\n",
]


@pytest.mark.parametrize("original", CORPUS, ids=range(len(CORPUS)))
def test_register_converges_and_unregister_restores(original: str) -> None:
    """Whatever was there: our entry becomes exactly what was asked, and removing it gives the file back."""
    first = register(original, args=["serve", "--sandbox"], env_set={"NUMERAI_MCP_AUTH": "P$S"})
    second = register(first, env_unset=["NUMERAI_MCP_AUTH"])
    assert entry(second) == {"command": CMD, "args": ["serve"], "env": {}}
    assert register(second, env_unset=["NUMERAI_MCP_AUTH"]) == second
    restored = unregister(second)
    assert tomllib.loads(restored) == tomllib.loads(original)
    assert restored.rstrip("\r\n") == original.rstrip("\r\n")  # byte for byte, but for trailing newlines
