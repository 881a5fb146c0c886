"""find_interpreter against the real pyenv interpreters, and with environments that lack them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from numerai_mcp.harness import interpreters
from numerai_mcp.harness.interpreters import InterpreterNotFoundError, find_interpreter


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interpreters, "_cache", {})


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_finds_the_exact_minor_version(version: str) -> None:
    path = find_interpreter(version)
    out = subprocess.run([str(path), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == version


def test_accepts_python_prefixed_forms() -> None:
    assert find_interpreter("python3.12") == find_interpreter("3.12")


def test_missing_version_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InterpreterNotFoundError) as info:
        find_interpreter("3.12")
    message = str(info.value)
    assert "pyenv install 3.12" in message and "uv python install 3.12" in message and "never downloads" in message


def test_path_candidate_is_verified_and_resolved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = find_interpreter("3.12")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.12").symlink_to(real)
    (bin_dir / "python3.11").symlink_to(real)  # lies about its version: must be rejected
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_interpreter("3.12") == real
    with pytest.raises(InterpreterNotFoundError):
        find_interpreter("3.11")


@pytest.mark.parametrize("bad", ["3", "three", "3.12.1.4", "", "2.7x"])
def test_malformed_versions_are_value_errors(bad: str) -> None:
    with pytest.raises(ValueError, match="3.12"):
        find_interpreter(bad)
