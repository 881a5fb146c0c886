"""What a run leaves behind, in Numerai's shapes: the submission, per-round performances, and a
pickle's validation as its diagnostics run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator_api import (
    Gql,
    pickle_view,
    upload_pickle,
    wait_for_diagnostics,
    wait_for_trigger,
    wait_for_validation,
)

ASSIGN = "mutation($m: String, $p: ID) { assignPickleToModel(modelId: $m, pickleId: $p) }"
RUN = "mutation($p: ID) { triggerComputePickleUpload(pickleId: $p) { id } }"
MODEL = """query($m: ID) { model(modelId: $m) { submissions { id filename triggerId round { number } }
  latestSubmissions { id filename roundNumber roundOpen roundCloseStaking timestamp }
  latestSubmissionV2 { id } } }"""
SUBMISSIONS = "query($m: ID) { submissions(modelId: $m) { id filename dataDatestamp round { number } } }"
PERFORMANCES = """query($m: ID!, $n: Int) { v2RoundModelPerformances(modelId: $m, lastNRounds: $n) {
  roundNumber submissionId roundResolved submissionScores { value } } }"""
DIAGNOSTICS = "query($m: ID) { diagnostics(modelId: $m) { id computePickleUploadId status message perEraDiagnostics { era } } }"


def test_diagnostics_uploads_say_they_are_not_emulated(api: Gql) -> None:
    upload = 'query { diagnosticsUploadAuth(filename: "preds.csv", tournament: 8) { url } }'
    [message] = api.errors(upload)
    assert message.startswith("The sandbox does not emulate diagnostics uploads of prediction files.")
    assert api.errors('mutation { createDiagnostics(filename: "preds.csv", tournament: 8) { id } }') == [message]
    assert api.errors('mutation { deleteDiagnostics(v2DiagnosticsIds: ["x"]) }') == [message]


def test_nothing_is_listed_before_a_run(api: Gql) -> None:
    model_id = api.model_id()
    assert api.data(SUBMISSIONS, {"m": model_id}) == {"submissions": []}
    assert api.data(PERFORMANCES, {"m": model_id, "n": None}, auth=False) == {"v2RoundModelPerformances": []}
    assert api.data(DIAGNOSTICS, {"m": model_id}) == {"diagnostics": []}


@pytest.mark.slow
def test_a_successful_run_records_a_submission_for_its_slot(api: Gql, emulator: Any, fixture_pickle: Path,
                                                            tmp_path: Path) -> None:
    model_id = api.model_id()
    created = upload_pickle(api, Path(shutil.copy(fixture_pickle, tmp_path / "neutral.pkl")), model_id=model_id)
    assert wait_for_validation(api, created["id"])["validationStatus"] == "validated"
    pickle = wait_for_diagnostics(api, created["id"])
    [run] = api.data(DIAGNOSTICS, {"m": model_id})["diagnostics"]
    assert run["computePickleUploadId"] == created["id"] and run["status"] == "succeeded"
    assert run["message"] == pickle["diagnosticsStatusDescription"] and len(run["perEraDiagnostics"]) == 40
    diagnostics_id = api.data("query($p: ID) { computePickles(id: $p) { diagnosticsId } }",
                              {"p": created["id"]})["computePickles"][0]["diagnosticsId"]
    assert diagnostics_id == run["id"]

    api.data(ASSIGN, {"m": model_id, "p": created["id"]})
    api.data(RUN, {"p": created["id"]})
    trigger = wait_for_trigger(api, created["id"], pickle_view(api, created["id"])["triggers"][0]["id"])
    assert trigger["status"] == "succeeded", trigger["statuses"]
    round_number = emulator.state()["round"]["number"]

    model = api.data(MODEL, {"m": model_id})["model"]
    [submission] = model["submissions"]
    assert submission["id"] == trigger["submissionId"] and submission["triggerId"] == trigger["id"]
    assert submission["round"] == {"number": round_number}
    [recorded] = emulator.state()["submissions"]
    assert (recorded["id"], recorded["modelId"], recorded["pickleId"]) == (submission["id"], model_id, created["id"])
    assert submission["filename"].startswith("live_predictions-") and submission["filename"].endswith(".csv")
    [latest] = model["latestSubmissions"]
    assert latest["id"] == submission["id"] and latest["roundNumber"] == round_number
    assert len(latest["roundOpen"]) == 10 and latest["roundOpen"] <= latest["roundCloseStaking"]  # Date: YYYY-MM-DD
    assert model["latestSubmissionV2"] == {"id": submission["id"]}
    [listed] = api.data(SUBMISSIONS, {"m": model_id})["submissions"]
    assert listed["id"] == submission["id"] and str(listed["dataDatestamp"]).startswith("20")
    [performance] = api.data(PERFORMANCES, {"m": model_id, "n": 4}, auth=False)["v2RoundModelPerformances"]
    assert performance == {"roundNumber": round_number, "submissionId": submission["id"], "roundResolved": False,
                           "submissionScores": []}
