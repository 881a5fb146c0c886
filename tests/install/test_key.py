"""Where `numerai-mcp install` takes the key from and how it stores it, called in-process.

The key is read by the package's own rule (Credentials.parse), so every form the server accepts
is accepted here too; the script-level tests (test_credentials.py) cover prompts and leaks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from numerai_mcp.install import key
from numerai_mcp.install.errors import Failed
from numerai_mcp.install.output import Console


@pytest.mark.parametrize("value", ["PUB$SEC", "Token PUB$SEC", "token Token PUB$SEC", "Bearer PUB$SEC", "  PUB$SEC\n"])
def test_every_form_the_server_accepts_is_accepted(value: str) -> None:
    assert key.key_from_env({"NUMERAI_MCP_AUTH": value}) == ("PUB$SEC", "NUMERAI_MCP_AUTH")


@pytest.mark.parametrize(("env", "message"), [
    ({"NUMERAI_MCP_AUTH": "no-dollar"}, "NUMERAI_MCP_AUTH is not of the form PUBLIC_ID$SECRET_KEY"),
    ({"NUMERAI_MCP_AUTH": "A$B$C"}, "NUMERAI_MCP_AUTH is not of the form"),
    ({"NUMERAI_SECRET_KEY": "S"}, "only one of NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY is set"),
    ({"NUMERAI_PUBLIC_ID": "P", "NUMERAI_SECRET_KEY": "S S"}, "must not contain spaces or '$'"),
])
def test_malformed_keys_are_refused_without_showing_them(env: dict[str, str], message: str) -> None:
    with pytest.raises(Failed, match=message.replace("$", r"\$")) as caught:
        key.key_from_env(env)
    assert "S S" not in str(caught.value) and "A$B$C" not in str(caught.value)


def test_the_stored_key_is_found_where_the_server_looks(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert key.stored_path(env) == tmp_path / ".config" / "numerai-mcp" / "credentials"
    assert key.is_default_path(key.stored_path(env), env)
    custom = {**env, "NUMERAI_MCP_CREDENTIALS_FILE": "~/vault/key"}
    assert key.stored_path(custom) == tmp_path / "vault" / "key" and not key.is_default_path(tmp_path / "vault" / "key", custom)


def test_an_empty_credentials_file_is_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"HOME": str(tmp_path)}
    path = key.stored_path(env)
    path.parent.mkdir(parents=True)
    path.write_text("")
    plan = key.decide(env, Console(), sandbox=False, key_in_env=False, embed_key=False, interactive=False, again="x")
    assert plan.key == "" and "does not hold a PUBLIC_ID$SECRET_KEY line" in capsys.readouterr().err
    key.store(key.KeyPlan("PUB$SECRETVALUE", "NUMERAI_MCP_AUTH", store=True), env, Console())
    assert path.read_text() == "PUB$SECRETVALUE\n" and path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    out = capsys.readouterr()
    assert "replacing the key stored in" in out.out and "SECRETVALUE" not in out.out + out.err
    key.store(key.KeyPlan("PUB$SECRETVALUE", "NUMERAI_MCP_AUTH", store=True), env, Console())
    assert "already stored in" in capsys.readouterr().out
