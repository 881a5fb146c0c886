"""`numerai-mcp doctor` reads back the entries the installer wrote: each problem is found, with its fix.

The configs are written by real installer runs into a throwaway HOME; the checks are called
in-process (numerai_mcp.doctor._client_configs) for the many cases, and once through the installed
`numerai-mcp doctor --json` against the emulator, as a user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

from numerai_mcp.doctor import Finding, _client_configs
from tests.install.runner import Sandbox, new_key, snapshot
from tests.install.test_clients import CLAUDE_ORIGINAL, write


def cred_file(box: Sandbox) -> Path:
    return box.home / ".config" / "numerai-mcp" / "credentials"


def findings(box: Sandbox, **env: str) -> dict[str, Finding]:
    before = snapshot(box.home)
    found = {f.area: f for f in _client_configs(box.env(env), box.command)}
    assert snapshot(box.home) == before  # read-only
    return found


def install(box: Sandbox, *flags: str, **env: str) -> None:
    result = box.run("--reuse", "--non-interactive", *flags, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fresh_entries_are_all_well(box: Sandbox) -> None:
    (box.home / ".codex").mkdir()
    (box.home / ".cursor").mkdir()
    write(box.home / ".claude.json", json.dumps(CLAUDE_ORIGINAL), 0o600)
    key, secret = new_key()
    install(box, NUMERAI_MCP_AUTH=key)
    found = findings(box)
    assert set(found) == {"client Codex", "client Claude Code", "client Cursor"}
    for finding in found.values():
        assert finding.ok and finding.fix is None, finding
        assert f"{box.command} serve" in finding.detail and f"key file {cred_file(box)} (mode 0600)" in finding.detail
    assert secret not in json.dumps([f.__dict__ for f in found.values()])


def test_no_config_no_finding(box: Sandbox) -> None:
    assert findings(box) == {}


def test_a_key_file_others_can_read_or_that_is_gone(box: Sandbox) -> None:
    key, _ = new_key()
    install(box, "--client", "codex", NUMERAI_MCP_AUTH=key)
    cred_file(box).chmod(0o644)
    codex = findings(box)["client Codex"]
    assert not codex.ok and codex.essential and "can be read by others (mode 0644)" in codex.detail
    assert codex.fix == f"chmod 600 {cred_file(box)}"
    cred_file(box).write_text("not a key\n")
    cred_file(box).chmod(0o600)
    codex = findings(box)["client Codex"]
    assert not codex.ok and "does not hold a PUBLIC_ID$SECRET_KEY line" in codex.detail
    cred_file(box).unlink()
    codex = findings(box)["client Codex"]
    assert not codex.ok and codex.essential and "starts without a Numerai key" in codex.detail
    assert codex.fix == f"{box.command} install --client codex (it asks for the key)"


def test_a_custom_key_file_is_the_one_checked(box: Sandbox, tmp_path: Path) -> None:
    custom = tmp_path / "vault" / "numerai.key"
    key, _ = new_key()
    install(box, "--client", "cursor", NUMERAI_MCP_AUTH=key, NUMERAI_MCP_CREDENTIALS_FILE=str(custom))
    assert findings(box)["client Cursor"].ok
    custom.chmod(0o640)
    cursor = findings(box)["client Cursor"]
    assert not cursor.ok and f"{custom} can be read by others" in cursor.detail


def test_a_command_that_is_gone_or_another_install(box: Sandbox, tmp_path: Path) -> None:
    install(box, "--client", "codex", "--sandbox")
    config = box.home / ".codex" / "config.toml"
    assert findings(box)["client Codex"].ok and "sandbox: no key needed" in findings(box)["client Codex"].detail
    elsewhere = tmp_path / "other" / "bin" / "numerai-mcp"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_text("#!/bin/sh\n")
    config.write_text(config.read_text().replace(str(box.command), str(elsewhere)))
    codex = findings(box)["client Codex"]
    assert not codex.ok and f"{elsewhere} does not exist or is not executable" in codex.detail and codex.essential
    assert codex.fix == f"{box.command} install --client codex"
    elsewhere.chmod(0o755)
    codex = findings(box)["client Codex"]
    assert not codex.ok and not codex.essential and f"it starts another install ({elsewhere})" in codex.detail
    config.write_text(config.read_text().replace(str(elsewhere), "numerai-mcp"))
    assert "not an absolute path" in findings(box)["client Codex"].detail


def test_an_embedded_key_is_reported_without_showing_it(box: Sandbox) -> None:
    key, secret = new_key()
    install(box, "--client", "cursor", "--embed-key", NUMERAI_MCP_AUTH=key)
    cursor = findings(box)["client Cursor"]
    assert not cursor.ok and not cursor.essential and "plain text" in cursor.detail
    assert secret not in cursor.detail + (cursor.fix or "")


def test_missing_foreign_and_unreadable_entries(box: Sandbox) -> None:
    write(box.home / ".codex" / "config.toml", 'model = "o3"\n')
    write(box.home / ".cursor" / "mcp.json", json.dumps({"mcpServers": {"numerai": {"url": "https://x"}}}))
    write(box.home / ".claude.json", "{ not json")
    found = findings(box)
    assert not found["client Codex"].ok and not found["client Codex"].essential
    assert found["client Codex"].fix == f"{box.command} install --client codex"
    assert found["client Cursor"].ok and "written by another tool (url = https://x)" in found["client Cursor"].detail
    claude = found["client Claude Code"]
    assert not claude.ok and not claude.essential and "not valid JSON" in claude.detail
    assert claude.fix.startswith(f"fix or move {box.home / '.claude.json'}")


def test_doctor_command_reports_the_client_entries(box: Sandbox, emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (box.home / ".codex").mkdir()
    install(box, NUMERAI_MCP_AUTH=emulator.auth)
    assert tomllib.loads((box.home / ".codex" / "config.toml").read_text())["mcp_servers"]["numerai"]

    def doctor() -> tuple[int, dict[str, dict]]:
        env = box.env({"NUMERAI_API_URL": emulator.url, "NUMERAI_MCP_CACHE_DIR": str(tmp_path / "cache"),
                       "PATH": os.environ["PATH"]})
        done = subprocess.run([str(box.command), "doctor", "--json"], env=env, capture_output=True, text=True,
                              timeout=120)
        return done.returncode, {f["area"]: f for f in json.loads(done.stdout)["findings"]}

    _, areas = doctor()
    assert areas["client Codex"]["ok"] and areas["credentials"]["ok"], areas
    cred_file(box).chmod(0o604)
    code, areas = doctor()
    assert code == 1 and not areas["client Codex"]["ok"] and areas["client Codex"]["essential"]
    assert areas["client Codex"]["fix"] == f"chmod 600 {cred_file(box)}"
