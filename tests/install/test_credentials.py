"""Where the Numerai key goes: a 0600 file by default, never a client config unless asked.

The secret is checked against everything a leak could reach: the output, every file under
HOME but the credentials file, and the argv of every process alive while the installer runs.
The interactive tests type into a real pseudo-terminal, so `read -s` is what hides the key.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.install.runner import BASH, SCRIPT, ArgvWatch, Sandbox, Terminal, files_under, mode, new_key, snapshot


def cred_file(box: Sandbox) -> Path:
    return box.home / ".config" / "numerai-mcp" / "credentials"


def prepare_clients(box: Sandbox) -> None:
    (box.home / ".codex").mkdir()
    (box.home / ".cursor").mkdir()
    (box.home / ".claude").mkdir()


def leaks(box: Sandbox, secret: str, *, allowed: tuple[Path, ...] = ()) -> list[str]:
    return [str(p) for p in files_under(box.home) if p not in allowed and secret.encode() in p.read_bytes()]


def codex_entry(box: Sandbox) -> dict:
    return tomllib.loads((box.home / ".codex" / "config.toml").read_text())["mcp_servers"]["numerai"]


def json_entry(path: Path) -> dict:
    return json.loads(path.read_text())["mcpServers"]["numerai"]


def terminal(box: Sandbox, *args: str, env: dict[str, str] | None = None) -> Terminal:
    return Terminal([BASH, str(SCRIPT), *args], box.env(env), box.home)


def test_key_from_the_environment_goes_to_a_private_file_only(box: Sandbox) -> None:
    prepare_clients(box)
    key, secret = new_key()
    with ArgvWatch(secret).watching() as watch:
        result = box.run("--reuse", "--non-interactive", env={"NUMERAI_MCP_AUTH": f"Token {key}"})
    assert result.returncode == 0, result.stderr
    assert cred_file(box).read_text() == key + "\n"
    assert mode(cred_file(box)) == 0o600 and mode(cred_file(box).parent) == 0o700
    assert secret not in result.stdout + result.stderr
    assert leaks(box, secret, allowed=(cred_file(box),)) == []
    assert watch.scans > 0 and watch.hits == []
    assert "env" not in codex_entry(box)
    assert json_entry(box.home / ".claude.json")["env"] == {}
    assert "env" not in json_entry(box.home / ".cursor" / "mcp.json")


def test_public_id_and_secret_key_variables_work_too(box: Sandbox) -> None:
    key, secret = new_key()
    public = key.split("$")[0]
    result = box.run("--reuse", "--non-interactive", env={"NUMERAI_PUBLIC_ID": public, "NUMERAI_SECRET_KEY": secret})
    assert result.returncode == 0, result.stderr
    assert cred_file(box).read_text() == key + "\n"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NUMERAI_MCP_AUTH": "Token justonepart"}, "NUMERAI_MCP_AUTH is not of the form PUBLIC_ID$SECRET_KEY"),
        ({"NUMERAI_PUBLIC_ID": "ONLYPUBLIC"}, "only one of NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY is set"),
    ],
)
def test_a_bad_key_stops_before_anything_changes(box: Sandbox, env: dict[str, str], message: str) -> None:
    prepare_clients(box)
    before = snapshot(box.home)
    result = box.run("--reuse", "--non-interactive", env=env)
    assert result.returncode == 1 and message in result.stderr
    assert snapshot(box.home) == before


def test_an_existing_file_is_replaced_atomically_and_kept_private(box: Sandbox) -> None:
    old_key, _ = new_key()
    cred_file(box).parent.mkdir(parents=True)
    cred_file(box).write_text(old_key + "\n")
    cred_file(box).chmod(0o644)
    key, _ = new_key()
    result = box.run("--reuse", "--non-interactive", env={"NUMERAI_MCP_AUTH": key})
    assert result.returncode == 0, result.stderr
    assert "replacing the key stored in" in result.stdout
    assert cred_file(box).read_text() == key + "\n" and mode(cred_file(box)) == 0o600
    assert [p.name for p in cred_file(box).parent.iterdir()] == ["credentials"]  # no temp file left
    again = box.run("--reuse", "--non-interactive")
    assert "using the one stored in" in again.stdout


def test_embed_key_writes_it_into_configs_with_a_warning(box: Sandbox) -> None:
    prepare_clients(box)
    key, secret = new_key()
    with ArgvWatch(secret).watching() as watch:
        result = box.run("--reuse", "--non-interactive", "--embed-key", env={"NUMERAI_MCP_AUTH": key})
    assert result.returncode == 0, result.stderr
    assert "plain text" in result.stderr
    assert secret not in result.stdout + result.stderr and watch.hits == []
    assert not cred_file(box).exists()
    assert codex_entry(box)["env"] == {"NUMERAI_MCP_AUTH": key}
    for path in (box.home / ".claude.json", box.home / ".cursor" / "mcp.json", box.home / ".codex" / "config.toml"):
        assert mode(path) == 0o600
    assert json_entry(box.home / ".cursor" / "mcp.json")["env"] == {"NUMERAI_MCP_AUTH": key}

    # Moving to the credentials file takes the plain-text copies out of the configs.
    moved = box.run("--reuse", "--non-interactive", env={"NUMERAI_MCP_AUTH": key})
    assert moved.returncode == 0, moved.stderr
    assert cred_file(box).read_text() == key + "\n"
    assert leaks(box, secret, allowed=(cred_file(box),)) == []  # backups included: they mask the retired key
    assert codex_entry(box)["env"] == {}
    backup = box.home / ".codex" / "config.toml.numerai-mcp.bak"
    assert 'NUMERAI_MCP_AUTH = "****"' in backup.read_text()


def test_key_in_env_writes_no_file_and_lets_codex_pass_it_through(box: Sandbox) -> None:
    prepare_clients(box)
    key, secret = new_key()
    result = box.run("--reuse", "--non-interactive", "--key-in-env", env={"NUMERAI_MCP_AUTH": key})
    assert result.returncode == 0, result.stderr
    assert not cred_file(box).exists() and leaks(box, secret) == []
    assert codex_entry(box)["env_vars"] == ["NUMERAI_MCP_AUTH", "NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY"]
    missing = box.run("--reuse", "--non-interactive", "--key-in-env")
    assert missing.returncode == 1 and "--key-in-env, but NUMERAI_MCP_AUTH" in missing.stderr


def test_sandbox_needs_no_key_and_stores_none(box: Sandbox) -> None:
    prepare_clients(box)
    key, _ = new_key()
    result = box.run("--reuse", "--non-interactive", "--sandbox", env={"NUMERAI_MCP_AUTH": key})
    assert result.returncode == 0, result.stderr
    assert "no Numerai key is needed" in result.stdout
    assert not cred_file(box).exists()
    assert codex_entry(box) == {"command": str(box.command), "args": ["serve", "--sandbox"]}
    assert json_entry(box.home / ".cursor" / "mcp.json")["args"] == ["serve", "--sandbox"]


def test_a_custom_credentials_file_is_passed_to_the_server_by_path(box: Sandbox, tmp_path: Path) -> None:
    custom = tmp_path / "vault" / "numerai.key"
    key, secret = new_key()
    result = box.run("--reuse", "--non-interactive", "--client", "codex",
                     env={"NUMERAI_MCP_AUTH": key, "NUMERAI_MCP_CREDENTIALS_FILE": str(custom)})
    assert result.returncode == 0, result.stderr
    assert custom.read_text() == key + "\n" and mode(custom) == 0o600 and mode(custom.parent) == 0o700
    assert codex_entry(box)["env"] == {"NUMERAI_MCP_CREDENTIALS_FILE": str(custom)}
    assert leaks(box, secret) == []


def test_no_key_non_interactive_explains_how_to_add_one_later(box: Sandbox) -> None:
    result = box.run("--reuse", "--non-interactive", "--client", "codex")
    assert result.returncode == 0, result.stderr
    assert "no Numerai key set" in result.stderr and "--reuse" in result.stderr
    assert not cred_file(box).exists()


def test_the_prompt_hides_the_key_and_stores_it(box: Sandbox) -> None:
    prepare_clients(box)
    key, secret = new_key()
    with ArgvWatch(secret).watching() as watch:
        term = terminal(box, "--reuse")
        term.expect("Paste the key as PUBLIC_ID$SECRET_KEY")
        term.type_hidden("not-a-key")
        term.expect("Try again")
        term.type_hidden(f"Token {key}")
        code = term.finish()
    assert code == 0, term.text
    for words in ("upload_submission, read_submission_info, read_user_info", "download_submission",
                  "stake", "Account -> Custom API Keys"):
        assert words in term.text
    assert secret not in term.text and "not-a-key" not in term.text  # nothing typed is echoed
    assert watch.hits == []
    assert cred_file(box).read_text() == key + "\n" and mode(cred_file(box)) == 0o600
    assert leaks(box, secret, allowed=(cred_file(box),)) == []


def test_pressing_enter_skips_the_key(box: Sandbox) -> None:
    term = terminal(box, "--reuse", "--client", "codex")
    term.expect("input hidden; Enter to skip")
    term.type_hidden("")
    assert term.finish() == 0, term.text
    assert "no Numerai key set" in term.text and not cred_file(box).exists()


def test_a_key_in_the_environment_can_stay_there(box: Sandbox) -> None:
    key, secret = new_key()
    term = terminal(box, "--reuse", "--client", "codex", env={"NUMERAI_MCP_AUTH": key})
    term.expect("[Y/n]")
    term.type("n")
    assert term.finish() == 0, term.text
    assert not cred_file(box).exists() and leaks(box, secret) == []
    assert "NUMERAI_MCP_AUTH" in codex_entry(box)["env_vars"]


def test_non_interactive_never_prompts_even_on_a_terminal(box: Sandbox) -> None:
    term = terminal(box, "--reuse", "--client", "codex", "--non-interactive")
    assert term.finish(timeout=60) == 0, term.text
    assert "Paste the key" not in term.text and "no Numerai key set" in term.text


def test_a_broken_credentials_file_is_reported_and_replaced(box: Sandbox) -> None:
    cred_file(box).parent.mkdir(parents=True)
    cred_file(box).write_text("not a key\n")
    result = box.run("--reuse", "--non-interactive", "--client", "codex")
    assert result.returncode == 0 and "does not hold a PUBLIC_ID$SECRET_KEY line" in result.stderr
    key, _ = new_key()
    fixed = box.run("--reuse", "--non-interactive", "--client", "codex", env={"NUMERAI_MCP_AUTH": key})
    assert fixed.returncode == 0 and cred_file(box).read_text() == key + "\n"
