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

from tests.support import secret_watch

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    secret_watch.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any secret handed out during the session showed up anywhere we wrote."""
    cache = Path(os.environ.get("NUMERAI_MCP_TEST_CACHE") or REPO / ".cache" / "test")
    leaks = secret_watch.WATCH.leaks(secret_watch.small_files_we_wrote(cache) if cache.is_dir() else ())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if leaks:
        if reporter:
            reporter.write_line("SECRET LEAK: a Numerai secret appeared in:", red=True)
            for leak in leaks[:20]:
                reporter.write_line(f"  {leak}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter and secret_watch.WATCH.secrets:
        watched = len(secret_watch.WATCH.texts)
        reporter.write_line(f"secret watch: {len(secret_watch.WATCH.secrets)} secrets, {watched} results/log lines: clean")


@pytest.fixture
def secret_watch_fixture() -> secret_watch.SecretWatch:
    return secret_watch.WATCH


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def test_cache_dir() -> Path:
    """Cache dir for runtimes and verdicts, kept between runs to save provisioning time."""
    path = Path(os.environ.get("NUMERAI_MCP_TEST_CACHE") or REPO / ".cache" / "test").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def private_cache(tmp_path: Path, test_cache_dir: Path) -> Path:
    """A cache dir of this test's own (verdicts, live data, upload memory) that shares the session's provisioned
    runtimes: for tests whose verdicts are scripted (a fake Docker engine) and must not be remembered for the
    real file by the session's verdict store, where a later upload gate would trust them."""
    cache = tmp_path / "private-cache"
    cache.mkdir()
    (test_cache_dir / "runtimes").mkdir(exist_ok=True)
    (cache / "runtimes").symlink_to(test_cache_dir / "runtimes", target_is_directory=True)
    return cache


@pytest.fixture(scope="session")
def fixture_pickle() -> Path:
    """Numerai's own feature_neutralization.pkl (Python 3.12, 1 argument). Never modify it."""
    path = FIXTURES / "feature_neutralization.pkl"
    if not path.is_file():
        pytest.fail(f"fixture missing: {path}")
    return path


@pytest.fixture(scope="session")
def emulator_session(tmp_path_factory: pytest.TempPathFactory, test_cache_dir: Path) -> Iterator[object]:
    """One emulator process for the whole session."""
    from numerai_mcp.emulator.control import start_emulator

    data_dir = tmp_path_factory.mktemp("emulator-data")
    with start_emulator(data_dir=data_dir, cache_dir=test_cache_dir) as handle:
        secret_watch.WATCH.add_secret_from_auth(handle.auth)
        add_key = handle.add_key

        def watched_add_key(*args, **kwargs):  # type: ignore[no-untyped-def]
            auth = add_key(*args, **kwargs)
            secret_watch.WATCH.add_secret_from_auth(auth)
            return auth

        handle.add_key = watched_add_key
        yield handle


@pytest.fixture
def emulator(emulator_session):  # type: ignore[no-untyped-def]
    """The session emulator, reset to a fresh demo account with no faults."""
    secret_watch.WATCH.add_secret_from_auth(emulator_session.reset() or emulator_session.auth)
    yield emulator_session
    emulator_session.reset()
