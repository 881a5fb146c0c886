"""ensure_runtime builds real pinned venvs with uv (package cache warm, Python never downloaded)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from numerai_mcp.harness.catalogue import UnknownRuntimeError, load_catalogue
from numerai_mcp.harness.runtime import MANIFEST, PackageNotPinnedError, RuntimeProvisionError, ensure_runtime

REPO = Path(__file__).resolve().parents[2]


def _installed(python: Path, *names: str) -> dict[str, str]:
    code = "import json, sys; from importlib import metadata as m; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    done = subprocess.run([str(python), "-I", "-c", code, *names], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_runtime_holds_numerais_pins(runtime312) -> None:  # type: ignore[no-untyped-def]
    pins = load_catalogue().get("3.12").pins
    installed = _installed(runtime312.python, "numpy", "pandas", "pyarrow", "cloudpickle", "lightgbm", "scipy")
    # scipy is not asked for: it arrives as lightgbm's dependency and must still get Numerai's version
    assert installed == {name: pins[name] for name in installed}
    assert runtime312.python_version == "3.12" and runtime312.pins_source.startswith(("shipped", "cached"))
    assert dict(runtime312.packages)["lightgbm"] == pins["lightgbm"]


def _generations(runtime_root: Path) -> dict[str, object]:
    """What a build would change: the generations, where `current` points, and the manifest."""
    home = runtime_root.parent
    return {"entries": sorted(p.name for p in home.iterdir() if p.name.startswith("gen-")),
            "current": os.readlink(home / "current"), "manifest": (runtime_root / MANIFEST).read_bytes()}


def test_second_call_is_a_cache_hit(runtime312, test_cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """A runtime that already holds the packages is returned as it is: no build step, no new generation.

    Other tests may grow the shared runtime (a new generation) before this one runs, so the hit is
    measured between two calls made here, not against the session fixture's generation.
    """
    first = ensure_runtime("3.12", ["lightgbm"], cache_dir=test_cache_dir)
    before = _generations(first.root)
    progress: list[str] = []
    again = ensure_runtime("3.12", ["lightgbm"], cache_dir=test_cache_dir, progress=lambda d, t, m: progress.append(m))
    subset = ensure_runtime("3.12", ["numpy"], cache_dir=test_cache_dir, progress=lambda d, t, m: progress.append(m))
    assert progress == []  # every build step (venv, uv install, activation) reports progress: none ran
    assert again == first and subset.root == first.root  # same generation, same path, same manifest
    assert _generations(first.root) == before
    assert set(runtime312.packages) <= set(again.packages)


def test_bytecode_is_compiled(runtime312) -> None:  # type: ignore[no-untyped-def]
    site = next(runtime312.root.glob("lib/python3.12/site-packages"))
    assert list((site / "pandas" / "__pycache__").glob("*.cpython-312.pyc"))


def test_unpinned_package_is_refused_by_name(test_cache_dir: Path) -> None:
    with pytest.raises(PackageNotPinnedError, match="'agents'"):
        ensure_runtime("3.12", ["agents"], cache_dir=test_cache_dir)


def test_unknown_python_is_refused(test_cache_dir: Path) -> None:
    with pytest.raises(UnknownRuntimeError, match="3.10, 3.11, 3.12, 3.13"):
        ensure_runtime("3.9", cache_dir=test_cache_dir)


@pytest.mark.slow
def test_concurrent_cold_builds_then_grow_past_a_crashed_build(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from numerai_mcp.harness.runtime import ensure_runtime; "
            "print(ensure_runtime('3.12', cache_dir=Path(sys.argv[1])).root)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    roots = {out.strip() for out, _ in results}
    assert len(roots) == 1  # one builder, the others waited on the lock and reused its work
    home = Path(roots.pop()).parent
    assert sorted(p.name for p in home.iterdir() if p.name.startswith("gen-")) == ["gen-1"]

    progress: list[str] = []
    base = ensure_runtime("3.12", cache_dir=tmp_path, progress=lambda d, t, m: progress.append(m))
    assert set(base.packages) == {"numpy", "pandas", "pyarrow", "cloudpickle"} and progress == []
    (home / "gen-99.tmp").mkdir()  # what a crashed build leaves behind
    base_manifest = (base.root / MANIFEST).read_bytes()
    grown = ensure_runtime("3.12", ["scikit-learn"], cache_dir=tmp_path,
                           progress=lambda d, t, m: progress.append(m))
    # the grown generation starts as hard links to the base: writing its manifest must not rewrite the base's
    assert (base.root / MANIFEST).read_bytes() == base_manifest
    assert "scikit-learn" not in json.loads(base_manifest)["packages"]
    assert any("installing" in m for m in progress) and progress[-1] == "Python 3.12 runtime ready"
    assert grown.root != base.root and grown.has("scikit-learn") and grown.has("numpy")
    assert (home / "current").resolve() == grown.root
    assert not (home / "gen-99.tmp").exists()
    pins = load_catalogue().get("3.12").pins
    assert _installed(grown.python, "scikit-learn", "scipy") == {"scikit-learn": pins["scikit-learn"],
                                                                  "scipy": pins["scipy"]}


def test_uv_failure_is_reported_with_uvs_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    with pytest.raises(RuntimeProvisionError, match="uv failed while installing") as info:
        ensure_runtime("3.12", cache_dir=tmp_path)
    assert "uv said" in str(info.value)
    assert not list((tmp_path / "runtimes" / "venvs").glob("*/current"))
