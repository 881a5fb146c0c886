"""The real Claude Code and Codex command-line clients read what the installer wrote.

Both are installed from the npm registry once into the test cache (about 10 s cold, 660 MB)
and then put on the installer's PATH, so it takes the paths a user with those clients takes:
`claude mcp add` for Claude Code, and Codex's config.toml checked by `codex mcp get`.
`claude mcp list` starts every registered server and reports `✔ Connected`: the end-to-end
proof that the entry works in a real client. Skipped only when npm itself is missing.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.install.runner import Sandbox, link_tool, snapshot

pytestmark = pytest.mark.slow

CLIENT_PACKAGES = ("@anthropic-ai/claude-code@2.1.197", "@openai/codex@0.171.0")


@pytest.fixture(scope="session")
def client_bin(test_cache_dir: Path) -> Path:
    prefix = test_cache_dir / "agent-clients"
    bin_dir = prefix / "node_modules" / ".bin"
    stamp = prefix / "installed.txt"
    if stamp.is_file() and stamp.read_text() == " ".join(CLIENT_PACKAGES):
        return bin_dir
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the real-client checks need it")
    with tempfile.TemporaryDirectory() as npm_cache:
        result = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--cache", npm_cache, *CLIENT_PACKAGES],
            capture_output=True, text=True, timeout=600,
        )
    if result.returncode != 0:
        pytest.skip(f"npm could not install the clients: {result.stderr[-800:]}")
    stamp.write_text(" ".join(CLIENT_PACKAGES))
    return bin_dir


@pytest.fixture
def with_clients(box: Sandbox, client_bin: Path, tmp_path: Path) -> Sandbox:
    """The box, with `claude` and `codex` on the installer's PATH."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in box.tools.iterdir():
        link_tool(tools, tool.name, tool.resolve())
    for name in ("claude", "codex"):
        link_tool(tools, name, (client_bin / name).resolve())
    return dataclasses.replace(box, tools=tools)


def client(box: Sandbox, *argv: str) -> str:
    result = subprocess.run(
        [str(box.tools / argv[0]), *argv[1:]], env=box.env(), cwd=box.home, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_claude_code_registers_through_its_cli_and_connects(with_clients: Sandbox) -> None:
    box = with_clients
    result = box.run("--reuse", "--non-interactive", "--client", "claude")
    assert result.returncode == 0, result.stderr
    assert "registered with 'claude mcp add --scope user'" in result.stdout
    listing = client(box, "claude", "mcp", "list")  # starts the server: ~4 s, like `claude mcp get`
    assert f"numerai: {box.command} serve - ✔ Connected" in listing, listing

    before = snapshot(box.home / ".claude.json")
    again = box.run("--reuse", "--non-interactive", "--client", "claude")
    assert "Claude Code: already up to date" in again.stdout
    assert snapshot(box.home / ".claude.json") == before

    switched = box.run("--reuse", "--non-interactive", "--client", "claude", "--sandbox")
    assert switched.returncode == 0, switched.stderr
    assert "registered with 'claude mcp add --scope user'" in switched.stdout
    assert json.loads((box.home / ".claude.json").read_text())["mcpServers"]["numerai"]["args"] == ["serve", "--sandbox"]


def test_embedded_key_bypasses_the_claude_cli(with_clients: Sandbox) -> None:
    """`claude mcp add -e KEY=…` would put the key in argv: the helper writes it instead."""
    box = with_clients
    key = "TESTPUBLICCLI$sk-embedded-secret-value-123456"
    result = box.run("--reuse", "--non-interactive", "--client", "claude", "--embed-key", env={"NUMERAI_MCP_AUTH": key})
    assert result.returncode == 0, result.stderr
    assert "claude mcp add" not in result.stdout
    assert "NUMERAI_MCP_AUTH" in client(box, "claude", "mcp", "get", "numerai")


def test_codex_reads_the_entry_we_wrote(with_clients: Sandbox) -> None:
    box = with_clients
    (box.home / ".codex").mkdir()
    (box.home / ".codex" / "config.toml").write_text('[mcp_servers.other]\ncommand = "other-server"\n')
    result = box.run("--reuse", "--non-interactive", "--key-in-env")  # `codex` on PATH: found without --client
    assert result.returncode == 1 and "--key-in-env, but NUMERAI_MCP_AUTH" in result.stderr
    result = box.run("--reuse", "--non-interactive", env={"NUMERAI_MCP_AUTH": "TESTPUBLICCODEX$sk-codex-secret-0123456"})
    assert result.returncode == 0, result.stderr
    entry = json.loads(client(box, "codex", "mcp", "get", "numerai", "--json"))
    assert entry["enabled"] is True
    assert entry["transport"]["command"] == str(box.command) and entry["transport"]["args"] == ["serve"]
    assert entry["transport"]["env"] in (None, {})
    assert "other-server" in client(box, "codex", "mcp", "list")


def test_uninstall_removes_through_the_claude_cli(fresh: Sandbox, client_bin: Path, tmp_path: Path) -> None:
    tools = tmp_path / "tools-with-claude"
    tools.mkdir()
    for tool in fresh.tools.iterdir():
        link_tool(tools, tool.name, tool.resolve())
    link_tool(tools, "claude", (client_bin / "claude").resolve())
    box = dataclasses.replace(fresh, tools=tools)
    assert box.run("--non-interactive", "--client", "claude").returncode == 0
    removed = box.run("--uninstall", "--non-interactive")
    assert removed.returncode == 0, removed.stderr
    assert "removed the numerai entry with 'claude mcp remove --scope user'" in removed.stdout
    assert "numerai" not in json.loads((box.home / ".claude.json").read_text()).get("mcpServers", {})


def test_dry_run_prints_the_claude_commands_and_runs_none(with_clients: Sandbox) -> None:
    box = with_clients
    before = snapshot(box.home)
    planned = box.run("--reuse", "--dry-run", "--non-interactive", "--client", "claude")
    assert planned.returncode == 0, planned.stderr
    assert f"would run: claude mcp add --scope user numerai -- {box.command} serve" in planned.stdout
    assert snapshot(box.home) == before

    assert box.run("--reuse", "--non-interactive", "--client", "claude").returncode == 0
    registered = snapshot(box.home / ".claude.json")
    removal = box.run("--uninstall", "--dry-run", "--client", "claude")
    assert removal.returncode == 0, removal.stderr
    assert "would run: claude mcp remove --scope user numerai" in removal.stdout
    assert snapshot(box.home / ".claude.json") == registered and box.command.is_file()
