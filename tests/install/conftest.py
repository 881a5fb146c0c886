"""Fixtures for the installer tests: one real install per session, throwaway HOMEs per test.

Installing the package is the slow part, so it happens once (`installed`) into a temporary
NUMERAI_MCP_HOME; each test then registers clients against that install with `--reuse`
and its own empty HOME. Tests that must install or delete for real use `fresh`.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.install.runner import Sandbox, base_python, link_tool, stop_leftovers


@pytest.fixture(scope="session")
def tools_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PATH directory of every run: uv and a Python >= 3.11, nothing from the dev shell."""
    tools = tmp_path_factory.mktemp("tools")
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    link_tool(tools, "uv", uv)
    link_tool(tools, "python3", base_python())
    return tools


@pytest.fixture(scope="session")
def uv_cache(test_cache_dir: Path) -> Path:
    return test_cache_dir / "uv"


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory, tools_dir: Path, uv_cache: Path) -> Sandbox:
    """numerai-mcp really installed from this checkout, once per session."""
    box = Sandbox(tmp_path_factory.mktemp("session-home"), tmp_path_factory.mktemp("install"), tools_dir, uv_cache)
    result = box.run("--non-interactive")
    assert result.returncode == 0, result.stdout + result.stderr
    assert box.command.is_file(), result.stdout
    return box


@pytest.fixture
def box(tmp_path: Path, installed: Sandbox) -> Iterator[Sandbox]:
    """An empty HOME registering against the session's install (run it with --reuse)."""
    home = tmp_path / "home"
    home.mkdir()
    yield Sandbox(home, installed.install_home, installed.tools, installed.uv_cache)
    stop_leftovers(home)


@pytest.fixture
def fresh(tmp_path: Path, tools_dir: Path, uv_cache: Path) -> Iterator[Sandbox]:
    """An empty HOME and an empty install root of its own (for installs and uninstalls)."""
    home = tmp_path / "home"
    home.mkdir()
    yield Sandbox(home, tmp_path / "install-root", tools_dir, uv_cache)
    stop_leftovers(tmp_path)
