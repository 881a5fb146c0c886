"""The Docker backend against a fake Docker Engine API on a unix socket.

Mocked on purpose: no Docker engine can run on this machine. The fake (tests/harness/
fake_docker.py) speaks the real HTTP API shape, really generates the synthetic data with a
pinned interpreter, and replays numerai-predict log lines taken from its real output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from numerai_mcp.harness import docker_backend
from numerai_mcp.harness.docker_backend import DockerUnavailableError, classify_log, demultiplex
from numerai_mcp.harness.validate import validate_pickle
from tests.harness.fake_docker import FakeEngine, Scenario, start

HEADER = ["INFO:root:Running numerai-predict:19d1769 - Python 3.12", "INFO:root:Loading model /model/model.pkl",
          "INFO:root:Using local /data/live.parquet for live data",
          "INFO:root:Loading live features /data/live.parquet", "INFO:root:Predicting on 5800 rows of live features"]
GIB = 1024**3


@pytest.fixture
def engine(tmp_path: Path, runtime312, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:  # type: ignore[no-untyped-def]
    fake = FakeEngine(socket_path=tmp_path / "docker.sock", python=runtime312.python)
    server = start(fake)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{fake.socket_path}")
    yield fake
    server.shutdown()
    server.server_close()


def run(pickle: Path, cache: Path, **kwargs):  # type: ignore[no-untyped-def]
    return validate_pickle(pickle, backend="docker", cache_dir=cache, **kwargs)


def test_passing_run_uses_numerais_image_with_numerais_limits(engine: FakeEngine, fixture_pickle: Path,
                                                             private_cache: Path) -> None:
    engine.scenario = Scenario(lines=[*HEADER, "INFO:root:Generated 5800 predictions",
                                      "INFO:root:Saving predictions to /out/live_predictions-0a1b2c3d4e5f.csv"],
                               csv="id,prediction\nn1,0.25\nn2,0.75\n")
    verdict = run(fixture_pickle, private_cache)
    assert verdict.passed, verdict.summary
    assert verdict.backend == "docker" and verdict.rows == 5800
    assert verdict.live_data_source.startswith("synthetic (5800 rows")
    assert engine.data_rows == [5800]  # the image itself wrote the synthetic files
    predict = [r for r in engine.requests if r[1] == "/containers/create"][-1][2]["body"]
    assert predict["Image"] == "ghcr.io/numerai/numerai_predict_py_3_12:19d1769"
    assert predict["Cmd"][:3] == ["--debug", "--model", "/model/model.pkl"]
    assert predict["NetworkDisabled"] is True
    host = predict["HostConfig"]
    assert host["NetworkMode"] == "none" and host["Memory"] == 4 * GIB == host["MemorySwap"]
    assert host["NanoCpus"] == 1_000_000_000
    assert all(b.endswith(":ro") for b in host["Binds"] if not b.endswith(":/out"))
    assert sorted(engine.removed) == sorted(engine.containers)  # nothing left behind
    assert "ghcr.io/numerai/numerai_predict_py_3_12:19d1769" in engine.pulled
    assert verdict.check("column named prediction").status == "pass"


@pytest.mark.parametrize(("lines", "check", "text"), [
    (["ERROR:root:Pickle function returned at least 1 NaN prediction"], "numerai: no NaN", "at least 1 NaN"),
    (["ERROR:root:Import error reading pickle - No module named 'agents'"], "numerai: load pickle", "'agents'"),
    (["ERROR:root:Pickle function is invalid - returned None"], "numerai: not None", "returned None"),
])
def test_failures_are_read_from_the_log(engine: FakeEngine, fixture_pickle: Path, private_cache: Path,
                                        lines: list[str], check: str, text: str) -> None:
    engine.scenario = Scenario(lines=[*HEADER, *lines], status=1)
    verdict = run(fixture_pickle, private_cache)
    found = verdict.check(check)
    assert not verdict.passed and found is not None and found.status == "fail" and text in found.message
    assert found.fix


def test_oom_kill_and_segfault(engine: FakeEngine, fixture_pickle: Path, private_cache: Path) -> None:
    engine.scenario = Scenario(lines=HEADER, status=137, oom=True)
    verdict = run(fixture_pickle, private_cache)
    assert "would exceed 4 GB" in verdict.check("numerai: run predict").message
    engine.scenario = Scenario(lines=HEADER, status=139)
    verdict = run(fixture_pickle, private_cache, python_version="3.11")
    assert ("Segmentation fault: the pickle was built with Python 3.12 but runs on 3.11"
            in verdict.check("numerai: run predict").message)


def test_timeout_kills_the_container(engine: FakeEngine, fixture_pickle: Path, private_cache: Path) -> None:
    engine.scenario = Scenario(lines=HEADER, hang=True)
    verdict = run(fixture_pickle, private_cache, timeout_s=1)
    assert "Stopped after 1 s" in verdict.check("numerai: run predict").message
    assert engine.killed and sorted(engine.removed) == sorted(engine.containers)


def test_auto_prefers_an_answering_engine(engine: FakeEngine, fixture_pickle: Path, private_cache: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    engine.scenario = Scenario(lines=[*HEADER, "INFO:root:Generated 5800 predictions"],
                               csv="id,prediction\nn1,0.2\nn2,0.8\n")
    assert validate_pickle(fixture_pickle, cache_dir=private_cache).backend == "docker"
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert not docker_backend.engine_available()
    assert validate_pickle(fixture_pickle, cache_dir=private_cache).backend == "local"
    with pytest.raises(DockerUnavailableError, match="No Docker engine answered"):
        run(fixture_pickle, private_cache)


def test_classify_log_matches_numerai_predict_wording() -> None:
    cases = {
        "ERROR:root:Invalid pickle - pickle data was truncated": ("numerai: load pickle", "unpickling"),
        "ERROR:root:Pickle incompatible with 3.12": ("numerai: load pickle", "python_mismatch"),
        "ERROR:root:Invalid pickle function - /m.pkl must have 1 or 2 arguments": ("numerai: signature", "signature"),
        "ERROR:root:Pickle function is invalid - returned <class 'pandas.core.series.Series'> instead of pd.DataFrame":
            ("numerai: type", "wrong_type"),
        "ERROR:root:Pickle function returned 0 predictions": ("numerai: not empty", "empty"),
        "ERROR:root:Pickle function returned invalid predictions. Ensure values are between 0 and 1.":
            ("numerai: range", "out_of_range"),
        "ERROR:root:Pickle function is invalid - len() takes exactly one argument (2 given)":
            ("numerai: run predict", "predict_type_error"),
        "ERROR:root:boom inside predict": ("numerai: run predict", "predict_exception"),
    }
    for line, (check, kind) in cases.items():
        found = classify_log(["INFO:root:x", line])
        assert found is not None and ("numerai: " + found[0], found[1]) == (check, kind), line
    assert classify_log(["INFO:root:Generated 5 predictions"]) is None


def test_demultiplex_splits_frames() -> None:
    raw = bytes([1, 0, 0, 0, 0, 0, 0, 3]) + b"out" + bytes([2, 0, 0, 0, 0, 0, 0, 3]) + b"err"
    assert list(demultiplex(raw)) == [(1, b"out"), (2, b"err")]


def test_docker_is_the_way_out_where_the_sandbox_cannot_isolate(engine: FakeEngine, fixture_pickle: Path,
                                                                private_cache: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from numerai_mcp.harness.sandbox import SandboxUnavailableError

    monkeypatch.setenv("NUMERAI_MCP_BWRAP", "none")  # as on a machine where bubblewrap cannot run
    with pytest.raises(SandboxUnavailableError, match=r"isolation is turned off.*backend='docker'"):
        validate_pickle(fixture_pickle, backend="local", cache_dir=private_cache)
    engine.scenario = Scenario(lines=[*HEADER, "INFO:root:Generated 5800 predictions"],
                               csv="id,prediction\nn1,0.2\nn2,0.8\n")
    verdict = validate_pickle(fixture_pickle, cache_dir=private_cache)  # auto: an answering engine is used
    assert verdict.passed and verdict.backend == "docker"


def test_a_container_that_exits_0_without_predictions_fails(engine: FakeEngine, fixture_pickle: Path,
                                                           private_cache: Path) -> None:
    """The container's log is the pickle's to forge: only the predictions file it wrote can make it pass."""
    engine.scenario = Scenario(lines=[*HEADER, "INFO:root:Generated 5800 predictions"])
    verdict = run(fixture_pickle, private_cache)
    failed = verdict.check("numerai: run predict")
    assert not verdict.passed and failed is not None and "returned no predictions" in failed.message
    engine.scenario = Scenario(lines=[*HEADER, "INFO:root:Generated 5800 predictions"],
                               csv="id,prediction\nn1,0.2\nn2,7\n")
    assert "between 0 and 1" in run(fixture_pickle, private_cache).check("numerai: range").message
