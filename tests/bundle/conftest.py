"""Fixtures for the bundle tests: fitted models of every supported kind (once per session) and
the pinned runtimes the pickles are built and run in (cached in the session `test_cache_dir`)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cases():  # type: ignore[no-untyped-def]
    from tests.bundle.helpers import model_cases

    return model_cases()


def _runtime(version: str, cache: Path):  # type: ignore[no-untyped-def]
    from numerai_mcp.harness.runtime import ensure_runtime

    return ensure_runtime(version, ["lightgbm"], cache_dir=cache)


@pytest.fixture(scope="session")
def runtime312(test_cache_dir: Path):  # type: ignore[no-untyped-def]
    return _runtime("3.12", test_cache_dir)


@pytest.fixture(scope="session")
def runtime311(test_cache_dir: Path):  # type: ignore[no-untyped-def]
    return _runtime("3.11", test_cache_dir)


@pytest.fixture(scope="session")
def runtime310(test_cache_dir: Path):  # type: ignore[no-untyped-def]
    return _runtime("3.10", test_cache_dir)
