"""Registering the numerai server with each client, through real `bash install-mcp.sh` runs.

Each test has its own empty HOME and registers against the session's real install (`--reuse`).
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

from tests.install.runner import Sandbox, mode, snapshot

CODEX_ORIGINAL = """\
# my Codex config
model = "o3"

[mcp_servers.github]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-github"]  # pinned later

[mcp_servers.github.env]
GITHUB_TOKEN = "ghp_not_ours"
"""

CLAUDE_ORIGINAL = {
    "numStartups": 12,
    "projects": {"/work/app": {"mcpServers": {"local-one": {"command": "x"}}}},
    "mcpServers": {"playwright": {"type": "stdio", "command": "npx", "args": ["@playwright/mcp"], "env": {}}},
}

CURSOR_ORIGINAL = {"mcpServers": {"filesystem": {"command": "npx", "args": ["-y", "server-filesystem", "/tmp"]}}}


def write(path: Path, text: str, file_mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(file_mode)
    return path


def codex_config(box: Sandbox) -> Path:
    return box.home / ".codex" / "config.toml"


def register_codex(box: Sandbox, *flags: str) -> subprocess.CompletedProcess[str]:
    return box.run("--reuse", "--non-interactive", "--client", "codex", *flags)


def test_codex_entry_is_added_beside_everything_else(box: Sandbox) -> None:
    config = write(codex_config(box), CODEX_ORIGINAL, 0o600)
    result = register_codex(box)
    assert result.returncode == 0, result.stderr
    text = config.read_text()
    assert text.startswith(CODEX_ORIGINAL)
    ours = tomllib.loads(text)["mcp_servers"]["numerai"]
    assert ours == {"command": str(box.command), "args": ["serve"]}
    assert os.path.isabs(ours["command"]) and os.access(ours["command"], os.X_OK)
    assert mode(config) == 0o600
    backup = config.with_name("config.toml.numerai-mcp.bak")
    assert backup.read_text() == CODEX_ORIGINAL and mode(backup) == 0o600
    assert f"Codex: updated {config}" in result.stdout
    assert "Restart your agent client (Codex)" in result.stdout and "doctor" in result.stdout
    assert "check my Numerai credentials" in result.stdout


def test_second_run_changes_no_byte(box: Sandbox) -> None:
    write(codex_config(box), CODEX_ORIGINAL)
    write(box.home / ".cursor" / "mcp.json", json.dumps(CURSOR_ORIGINAL))
    write(box.home / ".claude.json", json.dumps(CLAUDE_ORIGINAL, indent=2), 0o600)
    first = box.run("--reuse", "--non-interactive")
    assert first.returncode == 0, first.stderr
    after_first = snapshot(box.home)
    second = box.run("--reuse", "--non-interactive")
    assert second.returncode == 0, second.stderr
    assert snapshot(box.home) == after_first
    assert second.stdout.count("already up to date") == 3


def test_clients_are_found_by_their_config_folders(box: Sandbox) -> None:
    (box.home / ".codex").mkdir()
    (box.home / ".cursor").mkdir()
    write(box.home / ".claude.json", json.dumps(CLAUDE_ORIGINAL), 0o600)
    result = box.run("--reuse", "--non-interactive")
    assert result.returncode == 0, result.stderr
    assert tomllib.loads(codex_config(box).read_text())["mcp_servers"]["numerai"]["args"] == ["serve"]
    cursor = json.loads((box.home / ".cursor" / "mcp.json").read_text())
    assert cursor == {"mcpServers": {"numerai": {"command": str(box.command), "args": ["serve"]}}}
    claude = json.loads((box.home / ".claude.json").read_text())
    assert claude["mcpServers"]["numerai"] == {"type": "stdio", "command": str(box.command), "args": ["serve"], "env": {}}
    assert claude["mcpServers"]["playwright"] == CLAUDE_ORIGINAL["mcpServers"]["playwright"]
    assert claude["projects"] == CLAUDE_ORIGINAL["projects"] and claude["numStartups"] == 12
    assert mode(box.home / ".claude.json") == 0o600
    # Claude Desktop has no Linux build: skipped quietly, nothing created for it.
    assert "Desktop" not in result.stdout + result.stderr
    assert not (box.home / ".config" / "Claude").exists()


def test_nothing_found_prints_the_entry_to_add_by_hand(box: Sandbox) -> None:
    result = box.run("--reuse", "--non-interactive")
    assert result.returncode == 0, result.stderr
    assert "No agent client was found" in result.stdout
    snippet = next(line for line in result.stdout.splitlines() if '"mcpServers"' in line)
    assert json.loads(snippet) == {"mcpServers": {"numerai": {"command": str(box.command), "args": ["serve"]}}}
    assert sorted(p.name for p in box.home.iterdir()) == []


def test_all_and_forced_desktop_on_linux(box: Sandbox) -> None:
    result = box.run("--reuse", "--non-interactive", "--client", "all")
    assert result.returncode == 0, result.stderr
    assert codex_config(box).is_file() and (box.home / ".cursor" / "mcp.json").is_file()
    assert (box.home / ".claude.json").is_file()
    desktop = box.home / ".config" / "Claude" / "claude_desktop_config.json"
    assert not desktop.exists()
    result = box.run("--reuse", "--non-interactive", "--client", "desktop")
    assert result.returncode == 0, result.stderr
    assert json.loads(desktop.read_text())["mcpServers"]["numerai"]["command"] == str(box.command)


def test_clients_given_as_list_and_repeated(box: Sandbox) -> None:
    result = box.run("--reuse", "--non-interactive", "--client", "cursor,desktop", "--client=codex")
    assert result.returncode == 0, result.stderr
    assert codex_config(box).is_file() and (box.home / ".cursor" / "mcp.json").is_file()
    assert (box.home / ".config" / "Claude" / "claude_desktop_config.json").is_file()
    assert not (box.home / ".claude.json").exists()


def test_a_stale_entry_is_updated_and_the_users_own_keys_kept(box: Sandbox) -> None:
    stale = CODEX_ORIGINAL + (
        '\n[mcp_servers.numerai]\n# raised for long validations\ncommand = "/old/venv/bin/numerai-mcp"\n'
        'args = ["serve", "--sandbox"]\ntool_timeout_sec = 900\n'
    )
    config = write(codex_config(box), stale)
    result = register_codex(box)
    assert result.returncode == 0, result.stderr
    text = config.read_text()
    assert tomllib.loads(text)["mcp_servers"]["numerai"] == {"command": str(box.command), "args": ["serve"], "tool_timeout_sec": 900}
    assert "# raised for long validations" in text and text.startswith(CODEX_ORIGINAL)


def test_malformed_config_is_left_byte_identical_and_the_others_still_done(box: Sandbox) -> None:
    broken = 'model = "o3"\n[mcp_servers.github\ncommand = "npx"\n'
    config = write(codex_config(box), broken)
    cursor = write(box.home / ".cursor" / "mcp.json", "{\n  // comments are not JSON\n}\n")
    (box.home / ".claude").mkdir()
    result = box.run("--reuse", "--non-interactive")
    assert result.returncode == 1
    assert config.read_text() == broken and cursor.read_text() == "{\n  // comments are not JSON\n}\n"
    assert not config.with_name("config.toml.numerai-mcp.bak").exists()
    assert f"Codex: {config} is not valid TOML" in result.stderr and "line 2" in result.stderr
    assert f"Cursor: {cursor} is not valid JSON" in result.stderr
    assert "left untouched" in result.stderr and "some clients were not registered" in result.stderr
    assert json.loads((box.home / ".claude.json").read_text())["mcpServers"]["numerai"]["command"] == str(box.command)


def test_someone_elses_numerai_entry_needs_force(box: Sandbox) -> None:
    hosted = CODEX_ORIGINAL + (
        '\n[mcp_servers.numerai]\nurl = "https://api-tournament.numer.ai/mcp/sse"\n\n'
        '[mcp_servers.numerai.env_http_headers]\nAuthorization = "NUMERAI_MCP_AUTH"\n'
    )
    config = write(codex_config(box), hosted)
    refused = register_codex(box)
    assert refused.returncode == 1 and config.read_text() == hosted
    assert "did not write (url = https://api-tournament.numer.ai/mcp/sse)" in refused.stderr and "--force" in refused.stderr
    forced = register_codex(box, "--force")
    assert forced.returncode == 0, forced.stderr
    assert tomllib.loads(config.read_text())["mcp_servers"]["numerai"] == {"command": str(box.command), "args": ["serve"]}
    assert config.read_text().startswith(CODEX_ORIGINAL)


def test_codex_home_and_claude_config_dir_are_honoured(box: Sandbox, tmp_path: Path) -> None:
    codex_home, claude_dir = tmp_path / "codex-home", tmp_path / "claude-dir"
    codex_home.mkdir()
    claude_dir.mkdir()
    env = {"CODEX_HOME": str(codex_home), "CLAUDE_CONFIG_DIR": str(claude_dir)}
    result = box.run("--reuse", "--non-interactive", "--client", "codex,claude", env=env)
    assert result.returncode == 0, result.stderr
    assert (codex_home / "config.toml").is_file() and (claude_dir / ".claude.json").is_file()
    assert not (box.home / ".codex").exists() and not (box.home / ".claude.json").exists()


def test_symlinked_config_stays_a_symlink(box: Sandbox, tmp_path: Path) -> None:
    real = write(tmp_path / "dotfiles" / "mcp.json", json.dumps(CURSOR_ORIGINAL))
    (box.home / ".cursor").mkdir()
    (box.home / ".cursor" / "mcp.json").symlink_to(real)
    result = box.run("--reuse", "--non-interactive", "--client", "cursor")
    assert result.returncode == 0, result.stderr
    assert (box.home / ".cursor" / "mcp.json").is_symlink()
    assert set(json.loads(real.read_text())["mcpServers"]) == {"filesystem", "numerai"}


def test_desktop_is_found_when_its_config_folder_exists(box: Sandbox) -> None:
    (box.home / ".config" / "Claude").mkdir(parents=True)
    result = box.run("--reuse", "--non-interactive")
    assert result.returncode == 0, result.stderr
    desktop = box.home / ".config" / "Claude" / "claude_desktop_config.json"
    assert json.loads(desktop.read_text()) == {"mcpServers": {"numerai": {"command": str(box.command), "args": ["serve"]}}}
    assert "Restart your agent client (Claude Desktop)" in result.stdout
