"""Fixtures for the local-runtime, sandbox and validation tests.

Runtimes are provisioned once into the session cache dir (`test_cache_dir`) and reused
across runs; test pickles are built inside those runtimes by tests.support.pickles.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from numerai_mcp.harness.runtime import LocalRuntime, ensure_runtime


@pytest.fixture(scope="session")
def runtime312(test_cache_dir: Path) -> LocalRuntime:
    return ensure_runtime("3.12", ["lightgbm"], cache_dir=test_cache_dir)


@pytest.fixture(scope="session")
def make_pickle(test_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """make_pickle(source, python="3.12", **kw) -> Path of a fresh copy of a real pickle built in that runtime."""
    from tests.support.pickles import build_pickle

    folder = tmp_path_factory.mktemp("pickles")
    counter = iter(range(10**6))

    def make(source: str, python: str = "3.12", **kwargs) -> Path:  # type: ignore[no-untyped-def]
        return build_pickle(python, source, folder / f"p{next(counter)}.pkl", cache_dir=test_cache_dir, **kwargs)

    return make
