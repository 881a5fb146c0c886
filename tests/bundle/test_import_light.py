"""The server imports numerai_mcp.bundle and its build module; neither may load numpy, pandas or a framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bundle_and_build_import_without_numpy() -> None:
    code = ("import sys, numerai_mcp.bundle, numerai_mcp.bundle.build, numerai_mcp.commands.build; "
            "heavy = sorted(m for m in ('numpy', 'pandas', 'torch', 'lightgbm', 'sklearn') if m in sys.modules); "
            "print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_standalone_sources_never_import_numerai_mcp() -> None:
    """fileformat, template and build_script run inside runtimes that lack numerai_mcp."""
    import ast

    for name in ("fileformat.py", "template.py", "build_script.py"):
        tree = ast.parse((REPO / "numerai_mcp" / "bundle" / name).read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(m.startswith("numerai_mcp") for m in imported), (name, imported)
