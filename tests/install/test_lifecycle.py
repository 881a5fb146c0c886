"""Installing for real, upgrading in place, dry runs and uninstalling, from a checkout or a pipe."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.install.runner import REPO, SCRIPT, Sandbox, link_tool, new_key, snapshot
from tests.install.test_clients import CLAUDE_ORIGINAL, CODEX_ORIGINAL, CURSOR_ORIGINAL, write


def seed_clients(box: Sandbox) -> dict[Path, str]:
    files = {
        box.home / ".codex" / "config.toml": CODEX_ORIGINAL,
        box.home / ".claude.json": json.dumps(CLAUDE_ORIGINAL, indent=2) + "\n",
        box.home / ".cursor" / "mcp.json": json.dumps(CURSOR_ORIGINAL, indent=2) + "\n",
    }
    for path, text in files.items():
        write(path, text)
    return files


def project_copy(tmp_path: Path) -> Path:
    """This checkout's files (tracked and new, not ignored), as a source to install from."""
    dest = tmp_path / "source"
    dest.mkdir()
    listing = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, check=True)
    for name in filter(None, listing.stdout.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def installed_file(box: Sandbox, relative: str) -> Path:
    (site,) = (box.install_home / "venv" / "lib").glob("python3.*/site-packages")
    return site / relative


def test_dry_run_on_a_new_machine_installs_and_changes_nothing(fresh: Sandbox) -> None:
    files = seed_clients(fresh)
    before = snapshot(fresh.home)
    key, secret = new_key()
    result = fresh.run("--dry-run", env={"NUMERAI_MCP_AUTH": key})
    assert result.returncode == 0, result.stderr
    assert snapshot(fresh.home) == before and not fresh.install_home.exists()
    out = result.stdout
    assert f"[dry-run] would create the virtual environment {fresh.install_home}/venv" in out
    assert f"[dry-run] would install numerai-mcp from this checkout: {REPO}" in out
    assert "[dry-run] would store the Numerai key from NUMERAI_MCP_AUTH" in out
    for path in files:
        assert f"would update {path}:" in out
    assert "+[mcp_servers.numerai]" in out and f'+command = "{fresh.command}"' in out
    assert out.rstrip().endswith("[dry-run] nothing was changed.")
    assert secret not in out + result.stderr and "ghp_not_ours" not in out


def test_dry_run_uninstall_changes_nothing(box: Sandbox) -> None:
    seed_clients(box)
    assert box.run("--reuse", "--non-interactive").returncode == 0
    before = snapshot(box.home, box.install_home)
    result = box.run("--uninstall", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert snapshot(box.home, box.install_home) == before
    assert f"[dry-run] would delete the virtual environment {box.install_home}/venv" in result.stdout
    assert "-[mcp_servers.numerai]" in result.stdout and result.stdout.count("would remove the numerai entry from") == 3


def test_install_register_uninstall_purge(fresh: Sandbox) -> None:
    files = seed_clients(fresh)
    key, _ = new_key()
    installed = fresh.run("--non-interactive", env={"NUMERAI_MCP_AUTH": key})
    assert installed.returncode == 0, installed.stderr
    assert "==> create the virtual environment" in installed.stdout
    version = subprocess.run([str(fresh.command), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert f"installed numerai-mcp {version} at {fresh.command}" in installed.stdout
    creds = fresh.home / ".config" / "numerai-mcp" / "credentials"
    assert creds.is_file()

    removed = fresh.run("--uninstall", "--non-interactive")
    assert removed.returncode == 0, removed.stderr
    codex = fresh.home / ".codex" / "config.toml"
    assert codex.read_text() == CODEX_ORIGINAL  # byte for byte
    for path, text in files.items():
        if path.suffix == ".json":
            assert json.loads(path.read_text()) == json.loads(text)
    assert not fresh.install_home.exists()
    assert creds.is_file() and "Kept your stored Numerai key" in removed.stdout

    again = fresh.run("--uninstall", "--non-interactive")
    assert again.returncode == 0 and "no numerai entry in" in again.stdout

    purged = fresh.run("--uninstall", "--purge", "--non-interactive")
    assert purged.returncode == 0, purged.stderr
    assert not creds.exists() and not creds.parent.exists()


def test_uninstall_leaves_someone_elses_numerai_entry(fresh: Sandbox) -> None:
    hosted = json.dumps({"mcpServers": {"numerai": {"url": "https://api-tournament.numer.ai/mcp/sse"}}})
    cursor = write(fresh.home / ".cursor" / "mcp.json", hosted)
    result = fresh.run("--uninstall", "--non-interactive")
    assert result.returncode == 0, result.stderr
    assert cursor.read_text() == hosted and "another tool wrote it" in result.stdout


def test_piped_install_from_a_source_then_upgrade_in_place(fresh: Sandbox, tmp_path: Path) -> None:
    """`curl | bash` with NUMERAI_MCP_SOURCE; running it again upgrades the same venv."""
    source = project_copy(tmp_path)
    marker = source / "numerai_mcp" / "install_marker.txt"
    marker.write_text("first\n")
    env = {"NUMERAI_MCP_SOURCE": str(source)}
    first = fresh.run_piped("--non-interactive", "--client", "codex", env=env)
    assert first.returncode == 0, first.stderr
    assert f"install numerai-mcp from NUMERAI_MCP_SOURCE: {source}" in first.stdout
    assert installed_file(fresh, "numerai_mcp/install_marker.txt").read_text() == "first\n"
    keepsake = fresh.install_home / "venv" / "kept-by-upgrade"
    keepsake.write_text("the venv was not recreated")

    marker.write_text("second\n")  # same version number: only a reinstall picks this up
    second = fresh.run_piped("--non-interactive", "--client", "codex", env=env)
    assert second.returncode == 0, second.stderr
    assert "upgrade numerai-mcp in place" in second.stdout
    assert installed_file(fresh, "numerai_mcp/install_marker.txt").read_text() == "second\n"
    assert keepsake.is_file()
    assert not (source / "build").exists() and not list(source.glob("*.egg-info"))  # the source is not written to
    entry = tomllib.loads((fresh.home / ".codex" / "config.toml").read_text())["mcp_servers"]["numerai"]
    assert entry["command"] == str(fresh.command)


def test_piped_without_a_source_installs_from_repo_url(fresh: Sandbox) -> None:
    repo_url = re.search(r'^REPO_URL="([^"]+)"$', SCRIPT.read_text(), re.M).group(1)
    result = fresh.run_piped("--dry-run", "--non-interactive")
    assert result.returncode == 0, result.stderr
    assert f"would install numerai-mcp from REPO_URL: git+{repo_url}" in result.stdout
    assert not fresh.install_home.exists()


def old_python() -> str | None:
    for candidate in ("/root/.pyenv/versions/3.10.13/bin/python3.10", "/usr/bin/python3.10", shutil.which("python3.10")):
        if candidate and os.path.isfile(candidate):
            probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] < (3, 11))"], capture_output=True, text=True)
            if probe.stdout.strip() == "True":
                return candidate
    return None


def test_no_suitable_python_says_what_to_do(fresh: Sandbox, tmp_path: Path) -> None:
    bare = tmp_path / "bare-bin"  # the basic tools the script uses, but no Python and no uv
    bare.mkdir()
    for tool in ("cat", "uname", "dirname", "grep", "mkdir", "rm", "rmdir", "mv", "chmod", "mktemp", "tar"):
        link_tool(bare, tool, shutil.which(tool))
    old = old_python()
    if old:
        link_tool(bare, "python3", old)  # too old: must be passed over
    result = fresh.run("--non-interactive", path=str(bare))
    assert result.returncode == 1
    assert "needs Python 3.11 or newer, and none was found" in result.stderr
    assert "install uv" in result.stderr and "NUMERAI_MCP_PYTHON" in result.stderr
    assert not fresh.install_home.exists() and list(fresh.home.iterdir()) == []
    if old:
        named = fresh.run("--non-interactive", env={"NUMERAI_MCP_PYTHON": old})
        assert named.returncode == 1 and "is not Python 3.11 or newer" in named.stderr


def test_reuse_without_an_install_says_so(fresh: Sandbox) -> None:
    result = fresh.run("--reuse", "--non-interactive")
    assert result.returncode == 1
    assert f"there is no working install at {fresh.install_home}/venv" in result.stderr
    assert not fresh.install_home.exists()


@pytest.fixture
def tools_without_uv(tmp_path: Path, fresh: Sandbox) -> Path:
    no_uv = tmp_path / "tools-no-uv"
    no_uv.mkdir()
    link_tool(no_uv, "python3", os.readlink(fresh.tools / "python3"))
    return no_uv


@pytest.mark.slow
def test_plain_venv_and_pip_when_uv_is_absent(fresh: Sandbox, tools_without_uv: Path, test_cache_dir: Path) -> None:
    """The fallback most machines without uv take: `python3 -m venv` + pip."""
    result = fresh.run("--non-interactive", "--client", "cursor",
                       env={"PIP_CACHE_DIR": str(test_cache_dir / "pip")}, path=f"{tools_without_uv}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert "(python -m venv)" in result.stdout
    assert (fresh.install_home / "venv" / "bin" / "pip").exists()
    assert subprocess.run([str(fresh.command), "--version"], capture_output=True).returncode == 0



@pytest.fixture(scope="module")
def pipx_bin(tmp_path_factory: pytest.TempPathFactory, tools_dir: Path, uv_cache: Path) -> Path:
    """pipx from PyPI in a venv of its own; its bin/ goes on PATH (uv does not)."""
    venv = tmp_path_factory.mktemp("pipx") / "venv"
    env = {**os.environ, "UV_CACHE_DIR": str(uv_cache)}
    uv = str((tools_dir / "uv").resolve())
    subprocess.run([uv, "venv", "-q", "--python", str((tools_dir / "python3").resolve()), str(venv)], env=env, check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "pipx"], env=env, check=True)
    only_pipx = venv.parent / "bin"
    only_pipx.mkdir()
    link_tool(only_pipx, "pipx", venv / "bin" / "pipx")
    link_tool(only_pipx, "python3", os.readlink(tools_dir / "python3"))
    return only_pipx


@pytest.mark.slow
def test_pipx_runs_uv_when_uv_is_absent(fresh: Sandbox, pipx_bin: Path) -> None:
    result = fresh.run("--non-interactive", "--client", "codex", path=f"{pipx_bin}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert "(pipx run uv)" in result.stdout
    assert subprocess.run([str(fresh.command), "--version"], capture_output=True).returncode == 0
