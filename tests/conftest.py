"""Fixtures shared by every test area.

The emulator runs as a real separate process on an ephemeral 127.0.0.1 port (once
per session); each test that uses it gets a fresh state through its control API.
Pinned runtimes are cached across runs in NUMERAI_MCP_TEST_CACHE (default
<repo>/.cache/test) because building them is the slow part of the suite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def test_cache_dir() -> Path:
    """Cache dir for runtimes and verdicts, kept between runs to save provisioning time."""
    path = Path(os.environ.get("NUMERAI_MCP_TEST_CACHE") or REPO / ".cache" / "test").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def fixture_pickle() -> Path:
    """Numerai's own feature_neutralization.pkl (Python 3.12, 1 argument). Never modify it."""
    path = Path(os.environ.get("NUMERAI_MCP_FIXTURES") or SHARED / "fixtures") / "feature_neutralization.pkl"
    if not path.is_file():
        pytest.fail(f"fixture missing: {path}")
    return path


@pytest.fixture(scope="session")
def emulator_session(tmp_path_factory: pytest.TempPathFactory, test_cache_dir: Path) -> Iterator[object]:
    """One emulator process for the whole session."""
    from numerai_mcp.emulator.control import start_emulator

    data_dir = tmp_path_factory.mktemp("emulator-data")
    with start_emulator(data_dir=data_dir, cache_dir=test_cache_dir) as handle:
        yield handle


@pytest.fixture
def emulator(emulator_session):  # type: ignore[no-untyped-def]
    """The session emulator, reset to a fresh demo account with no faults."""
    emulator_session.reset()
    yield emulator_session
    emulator_session.reset()
