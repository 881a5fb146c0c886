"""`numerai-mcp install` / `uninstall` without the script: straight from an install, and through uvx.

`uvx --from SOURCE numerai-mcp install` runs from uv's cache, which uv may empty at any time: it is
refused with the commands that make a lasting install, and those commands are then run exactly as
printed, as a user would paste them.
"""

from __future__ import annotations

import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.install.runner import Sandbox, snapshot
from tests.install.test_lifecycle import project_copy
from tests.install.test_usage import BAD_USAGE


def numerai_mcp(box: Sandbox, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(box.command), *args], env=box.env(env), cwd=box.home, capture_output=True, text=True,
                          timeout=120, start_new_session=True)


def codex_entry(home: Path) -> dict:
    return tomllib.loads((home / ".codex" / "config.toml").read_text())["mcp_servers"]["numerai"]


@pytest.mark.parametrize(("args", "message"), [case for case in BAD_USAGE if "--purge" not in case[0]
                                                and "--uninstall" not in case[0]])
def test_bad_usage_is_refused_in_the_same_words_as_the_script(box: Sandbox, args: list[str], message: str) -> None:
    before = snapshot(box.home)
    result = numerai_mcp(box, "install", *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Run numerai-mcp install --help for the options." in result.stderr
    assert snapshot(box.home) == before


def test_options_of_the_other_command_are_refused_with_the_way_to_use_them(box: Sandbox) -> None:
    purge = numerai_mcp(box, "install", "--purge")
    assert purge.returncode == 2 and "--purge only goes with uninstall (numerai-mcp uninstall --purge)" in purge.stderr
    sandbox = numerai_mcp(box, "uninstall", "--sandbox")
    assert sandbox.returncode == 2 and "uninstall takes only --client" in sandbox.stderr


def test_register_and_unregister_without_the_script(box: Sandbox) -> None:
    (box.home / ".codex").mkdir()
    installed = numerai_mcp(box, "install", "--non-interactive")
    assert installed.returncode == 0, installed.stderr
    assert codex_entry(box.home) == {"command": str(box.command), "args": ["serve"]}
    assert "run `numerai-mcp install` again" in installed.stderr  # not the script's --reuse
    removed = numerai_mcp(box, "uninstall")
    assert removed.returncode == 0, removed.stderr
    assert "numerai" not in tomllib.loads((box.home / ".codex" / "config.toml").read_text()).get("mcp_servers", {})
    venv = box.install_home / "venv"
    assert f"The program itself stays in {venv}; delete that folder to remove it." in removed.stdout
    assert box.command.is_file()


def test_command_must_name_a_numerai_mcp_executable(box: Sandbox, tmp_path: Path) -> None:
    wrong = numerai_mcp(box, "install", "--client", "codex", "--command", "/usr/bin/python3")
    assert wrong.returncode == 2 and "--command must be a path to a numerai-mcp executable" in wrong.stderr
    missing = numerai_mcp(box, "install", "--client", "codex", "--command", str(tmp_path / "bin" / "numerai-mcp"))
    assert missing.returncode == 1 and "is not an executable numerai-mcp" in missing.stderr
    assert not (box.home / ".codex").exists()


@pytest.mark.slow
def test_uvx_is_refused_with_commands_that_work(fresh: Sandbox, tmp_path: Path) -> None:
    source = project_copy(tmp_path)
    (fresh.home / ".codex").mkdir()
    env = fresh.env({"UV_TOOL_DIR": str(tmp_path / "uv-tools"), "UV_TOOL_BIN_DIR": str(tmp_path / "uv-bin")})
    before = snapshot(fresh.home)
    uvx = subprocess.run([str(fresh.tools / "uv"), "tool", "run", "--from", str(source), "numerai-mcp", "install",
                          "--client", "codex", "--non-interactive"], env=env, cwd=fresh.home, capture_output=True,
                         text=True, timeout=600)
    assert uvx.returncode == 1, uvx.stdout + uvx.stderr
    assert "runs from a temporary environment" in uvx.stderr and f"inside the cache {fresh.uv_cache}" in uvx.stderr
    assert snapshot(fresh.home) == before  # no client was pointed at uv's cache
    message = uvx.stderr[uvx.stderr.index("error: "):]  # after uv's own "Building…" lines
    commands = [line.strip() for line in message.splitlines() if line.startswith("  ")]
    assert commands == [
        f"uv tool install --reinstall-package numerai-mcp {source}",
        f"{tmp_path / 'uv-bin' / 'numerai-mcp'} install --client codex --non-interactive",
    ]
    for command in commands:  # pasted as printed
        done = subprocess.run(shlex.split(command), env=env, cwd=fresh.home, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    entry = codex_entry(fresh.home)
    assert entry["command"] == str(tmp_path / "uv-tools" / "numerai-mcp" / "bin" / "numerai-mcp")
    assert subprocess.run([entry["command"], "--version"], capture_output=True).returncode == 0
    removed = subprocess.run([entry["command"], "uninstall"], env=env, capture_output=True, text=True, timeout=120)
    assert removed.returncode == 0 and "`uv tool uninstall numerai-mcp` removes it" in removed.stdout
