"""The entry the installer wrote really starts the server, started exactly as a client starts it.

The command, args and env come from the written config; the process gets only what a client
passes (HOME and a minimal PATH, plus the entry's env) and is driven by a real MCP client
over stdio. Talking to Numerai itself is impossible here, so the key is the emulator's and
NUMERAI_API_URL points at the emulator: the one variable a client would not set.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.install.runner import Sandbox

pytestmark = pytest.mark.anyio

EXPECTED_TOOLS = {"check_api_credentials", "create_model", "upload_model", "graphql_query"}
MINIMAL_PATH = "/usr/bin:/bin"


def codex_entry(box: Sandbox) -> dict:
    return tomllib.loads((box.home / ".codex" / "config.toml").read_text())["mcp_servers"]["numerai"]


def claude_entry(box: Sandbox) -> dict:
    return json.loads((box.home / ".claude.json").read_text())["mcpServers"]["numerai"]


def as_a_client_starts_it(box: Sandbox, entry: dict, extra_env: dict[str, str] | None = None) -> StdioServerParameters:
    env = {"HOME": str(box.home), "PATH": MINIMAL_PATH, **entry.get("env", {}), **(extra_env or {})}
    return StdioServerParameters(command=entry["command"], args=entry["args"], env=env, cwd=box.home)


async def tools_and_credentials(params: StdioServerParameters) -> tuple[set[str], dict]:
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        report = await client.call_tool("check_api_credentials", {})
    assert not report.is_error, report.content
    return names, report.structured_content


async def test_each_entry_starts_and_finds_the_stored_key(box: Sandbox, emulator) -> None:  # type: ignore[no-untyped-def]
    result = box.run("--reuse", "--non-interactive", "--client", "codex,claude", env={"NUMERAI_MCP_AUTH": emulator.auth})
    assert result.returncode == 0, result.stderr
    for entry in (codex_entry(box), claude_entry(box)):
        assert "NUMERAI_MCP_AUTH" not in entry.get("env", {})
        names, report = await tools_and_credentials(as_a_client_starts_it(box, entry, {"NUMERAI_API_URL": emulator.url}))
        assert EXPECTED_TOOLS <= names
        assert report["credentialsSource"] == "server configuration"  # read from the 0600 file
        assert report["authenticated"] is True, report


async def test_the_sandbox_entry_needs_no_account(box: Sandbox) -> None:
    result = box.run("--reuse", "--non-interactive", "--sandbox", "--client", "codex")
    assert result.returncode == 0, result.stderr
    entry = codex_entry(box)
    assert entry["args"] == ["serve", "--sandbox"]
    names, report = await tools_and_credentials(as_a_client_starts_it(box, entry))
    assert EXPECTED_TOOLS <= names
    assert report["authenticated"] is True and report["apiUrl"].startswith("http://127.0.0.1:"), report
    assert not (box.home / ".config" / "numerai-mcp" / "credentials").exists()


def test_entry_command_is_absolute_and_outside_any_path(box: Sandbox) -> None:
    result = box.run("--reuse", "--non-interactive", "--client", "codex")
    assert result.returncode == 0, result.stderr
    command = Path(codex_entry(box)["command"])
    assert command.is_absolute() and command == box.command
    assert str(command.parent) not in MINIMAL_PATH.split(":")
