"""With --state, a restart keeps accounts, keys, models, pickles, triggers, logs and stored
files, and a validation the restart interrupted still finishes."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from numerai_mcp.emulator.control import start_emulator
from tests.emulator.conftest import OWN_PYTHON, pickled_function
from tests.support.emulator_api import Gql, pickle_view, upload_pickle, wait_for_diagnostics, wait_for_validation

pytestmark = pytest.mark.slow

GOOD = """
import pandas as pd
def predict(live):
    return pd.DataFrame({"prediction": live["feature_antistrophic_striate_conscriptionist"].rank(pct=True)}, index=live.index)
"""
SLOW = """
import time
import pandas as pd
def predict(live):
    time.sleep(3)
    return pd.DataFrame({"prediction": live["feature_antistrophic_striate_conscriptionist"].rank(pct=True)}, index=live.index)
"""


@pytest.fixture
def persistent(tmp_path: Path) -> Iterator[Any]:
    """Its own emulator with a state file (minimal validator, this interpreter as 3.11)."""
    import sys

    args = ["--validator", "minimal", "--python", f"{OWN_PYTHON}={sys.executable}"]
    with start_emulator(state_file=tmp_path / "state.json", data_dir=tmp_path / "data", extra_args=args) as handle:
        yield handle


def _durable(state: dict[str, Any]) -> dict[str, Any]:
    """What must survive a restart (request and fault counters and the clock, which reads on, need not)."""
    return {k: v for k, v in state.items() if k not in ("requests", "faults", "clock")}


def test_restart_keeps_everything(persistent: Any, tmp_path: Path) -> None:
    api = Gql(persistent.url, persistent.auth)
    rival_auth = persistent.add_key(["read_user_info", "upload_submission"], username="rival")
    Gql(persistent.url, rival_auth).data('mutation { addModel(name: "rival_model", tournament: 8) { id } }')
    model_id = api.model_id()
    created = upload_pickle(api, pickled_function(GOOD, tmp_path / "good.pkl"), model_id=model_id, python=OWN_PYTHON)
    assert wait_for_validation(api, created["id"])["validationStatus"] == "validated"
    api.data("mutation($m: String, $p: ID) { assignPickleToModel(modelId: $m, pickleId: $p) }",
             {"m": model_id, "p": created["id"]})
    persistent.set_round_open(False)
    api.data("mutation($p: ID) { triggerComputePickleUpload(pickleId: $p) { id } }", {"p": created["id"]})
    before = persistent.state()
    url, auth = persistent.url, persistent.auth

    persistent.restart()

    assert (persistent.url, persistent.auth) == (url, auth)  # same port, same demo key
    assert _durable(persistent.state()) == _durable(before)
    rival = Gql(persistent.url, rival_auth)  # keys made through the control API still work
    assert rival.data("{ account { models { name } } }")["account"]["models"] == [{"name": "rival_model"}]
    triggers = pickle_view(api, created["id"])["triggers"]
    logs = api.data("query($t: ID!) { triggerLogs(triggerId: $t) { message } }", {"t": triggers[-1]["id"]})
    assert any("Generated" in line["message"] for line in logs["triggerLogs"])
    download = api.data("query($m: ID!) { computePickleDownloadAuth(modelId: $m) { url } }", {"m": model_id})
    response = httpx.get(download["computePickleDownloadAuth"]["url"])
    assert response.status_code == 200 and response.content == (tmp_path / "good.pkl").read_bytes()


def test_state_file_is_private_and_holds_no_key_secret(persistent: Any, tmp_path: Path) -> None:
    extra = persistent.add_key(["stake"])
    path = tmp_path / "state.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    for auth in (persistent.auth, extra):
        assert auth.split("$", 1)[1] not in text
    assert json.loads(text)["state_version"] == 1


def test_a_validation_interrupted_by_a_restart_still_finishes(persistent: Any, tmp_path: Path) -> None:
    api = Gql(persistent.url, persistent.auth)
    created = upload_pickle(api, pickled_function(SLOW, tmp_path / "slow.pkl"), model_id=None, python=OWN_PYTHON)
    deadline = time.monotonic() + 60
    while pickle_view(api, created["id"])["validationStatus"] != "validating":
        assert time.monotonic() < deadline, "validation never started"
        time.sleep(0.1)

    persistent.restart()

    pickle = wait_for_validation(api, created["id"], timeout_s=120)
    assert pickle["validationStatus"] == "validated", pickle["diagnosticsStatusDescription"]
    statuses = [s["description"] for s in pickle["triggers"][0]["statuses"]]
    assert "Requeued after an emulator restart" in statuses


def test_a_corrupt_state_file_stops_the_start_with_a_clear_message(tmp_path: Path) -> None:
    from numerai_mcp.emulator.control import EmulatorError

    state = tmp_path / "state.json"
    state.write_text("{ this is not json")
    with pytest.raises(EmulatorError) as failure:
        with start_emulator(state_file=state, data_dir=tmp_path / "data"):
            pass
    assert "is not a readable emulator state" in str(failure.value) and "Move it away" in str(failure.value)
    assert state.read_text() == "{ this is not json"  # left untouched


def test_a_vanished_state_directory_does_not_break_requests_or_shutdown(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "state"
    folder.mkdir()
    with start_emulator(state_file=folder / "state.json", data_dir=tmp_path / "data") as emulator:
        shutil.rmtree(folder)
        api = Gql(emulator.url, emulator.auth)
        assert api.data('mutation { addModel(name: "still_works", tournament: 8) { name } }')["addModel"]
        process = emulator.process
        emulator.stop()
    assert process.returncode == 0


def test_diagnostics_interrupted_by_a_restart_are_scored_again(tmp_path: Path, test_cache_dir: Path,
                                                               fixture_pickle: Path) -> None:
    """The full harness validator (and so diagnostics); a restart while the pickle is being scored."""
    import shutil

    with start_emulator(state_file=tmp_path / "state.json", data_dir=tmp_path / "data",
                        cache_dir=test_cache_dir) as emulator:
        api = Gql(emulator.url, emulator.auth)
        path = Path(shutil.copy(fixture_pickle, tmp_path / "neutral.pkl"))
        created = upload_pickle(api, path, model_id=api.model_id())
        assert wait_for_validation(api, created["id"])["validationStatus"] == "validated"
        deadline = time.monotonic() + 120
        while (status := pickle_view(api, created["id"])["diagnosticsStatus"]) != "running":
            assert status == "pending" and time.monotonic() < deadline, f"diagnostics never started: {status}"
            time.sleep(0.05)

        emulator.restart()

        pickle = wait_for_diagnostics(api, created["id"])
        assert pickle["diagnosticsStatus"] == "succeeded", pickle["diagnosticsStatusDescription"]
        [run] = api.data("query($p: ID) { diagnostics(modelId: $p) { computePickleUploadId perEraDiagnostics { era } } }",
                         {"p": api.model_id()})["diagnostics"]
        assert run["computePickleUploadId"] == created["id"] and len(run["perEraDiagnostics"]) == 40
