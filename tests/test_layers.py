"""The package's layering, checked on the source (every import, at module level or inside a function).

- harness/ and bundle/ (local work) import nothing from api/, tools/ or server/: what they need from Numerai is
  fetched by the tool and CLI layers and handed in as values (harness.facts.NumeraiFacts).
- api/ and uploads/ import nothing from tools/ or server/: the core knows nothing of MCP.
- Scripts that run inside a pinned runtime (which has no numerai_mcp) import nothing from numerai_mcp.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "numerai_mcp"
# run by a target-runtime interpreter, never imported by the server
STANDALONE = ("harness/runner.py", "emulator/validate_runner.py", "emulator/make_live_data.py", "bundle/fileformat.py",
              "bundle/template.py", "bundle/build_script.py", "harness/era_runner.py", "harness/scoring_script.py",
              "harness/plot_script.py", "harness/era_reader.py")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    return names


def _offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        bad = sorted(m for m in imported_modules(path) if m.startswith(forbidden))
        if bad:
            found[str(path.relative_to(PACKAGE))] = bad
    return found


@pytest.mark.parametrize("folder", ["harness", "bundle"])
def test_local_work_never_reaches_for_the_api_or_mcp(folder: str) -> None:
    assert _offenders(folder, ("numerai_mcp.api", "numerai_mcp.tools", "numerai_mcp.server")) == {}


@pytest.mark.parametrize("folder", ["api", "uploads", "harness", "bundle"])
def test_the_core_knows_nothing_of_mcp(folder: str) -> None:
    assert _offenders(folder, ("numerai_mcp.tools", "numerai_mcp.server", "mcp")) == {}


@pytest.mark.parametrize("name", STANDALONE)
def test_scripts_run_in_pinned_runtimes_never_import_numerai_mcp(name: str) -> None:
    path = PACKAGE / name
    if not path.is_file():
        pytest.fail(f"{name} moved: update STANDALONE")
    assert not [m for m in imported_modules(path) if m.startswith("numerai_mcp")]
