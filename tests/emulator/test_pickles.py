"""Registering, validating, listing, assigning and triggering pickles, with the emulator's
default validator (the project's harness, in its sandbox) on real pickles."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator_api import (
    CREATE,
    UPLOAD_AUTH,
    Gql,
    pickle_view,
    set_clock,
    upload_pickle,
    wait_for_trigger,
    wait_for_validation,
)

ASSIGN = "mutation($m: String, $p: ID) { assignPickleToModel(modelId: $m, pickleId: $p) }"
TRIGGER = """mutation($m: ID, $p: ID, $v: Boolean) { triggerComputePickleUpload(modelId: $m, pickleId: $p,
  triggerValidation: $v) { id modelId triggerStatus validationStatus diagnosticsStatus updatedAt } }"""
LOGS = "query($t: ID!) { triggerLogs(triggerId: $t) { timestamp message } }"
ASSIGNED = "query($m: ID) { model(modelId: $m) { computeEnabled computePickleUpload { id assignedModelSlots } } }"
ADD = "mutation($n: String!) { addModel(name: $n, tournament: 8) { id } }"
WEBHOOK = "mutation($m: String, $w: String) { setSubmissionWebhook(modelId: $m, newSubmissionWebhook: $w) }"


@pytest.fixture
def good(fixture_pickle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(fixture_pickle, tmp_path / "neutral.pkl"))


@pytest.fixture
def not_a_pickle(tmp_path: Path) -> Path:
    path = tmp_path / "notes.pkl"
    path.write_bytes(b"these are my notes, not a pickle\n")
    return path


def test_registering_a_file_that_was_never_uploaded_is_an_error(api: Gql, emulator: Any) -> None:
    auth = api.data(UPLOAD_AUTH, {"filename": "never.pkl", "modelId": None})["computePickleUploadAuth"]
    [message] = api.errors(CREATE, {"filename": auth["filename"], "tournament": 8, "modelId": api.model_id()})
    assert message.startswith(f"No uploaded file named '{auth['filename']}' for this account.")
    assert "computePickleUploadAuth" in message
    assert emulator.state()["pickles"] == []


def test_registration_checks_tournament_image_and_data_version(api: Gql, not_a_pickle: Path, emulator: Any) -> None:
    auth = api.data(UPLOAD_AUTH, {"filename": "x.pkl", "modelId": None})["computePickleUploadAuth"]
    import httpx

    assert httpx.put(auth["url"], content=not_a_pickle.read_bytes()).status_code == 200
    base = {"filename": auth["filename"], "tournament": 8, "modelId": api.model_id()}
    [message] = api.errors(CREATE, {**base, "tournament": 11})
    assert message == "Compute pickles are only supported in tournament 8 (Numerai Classic), not 11."
    [message] = api.errors(CREATE, {**base, "dockerImageId": "no-such-image"})
    assert message.startswith("Unknown dockerImageId no-such-image; computePickleDockerImages lists:")
    assert "(Python 3.12)" in message
    [message] = api.errors(CREATE, {**base, "dataVersionId": "v9"})
    assert message.startswith("Unknown dataVersionId v9")
    assert emulator.state()["pickles"] == []
    default = api.data(CREATE, base)["createComputePickleUpload"]  # no image: the server default
    assert default["dockerImageName"] == "Python 3.12" and default["validationStatus"] == "pending"


def test_a_file_that_is_not_a_pickle_fails_validation_with_a_description(api: Gql, not_a_pickle: Path) -> None:
    created = upload_pickle(api, not_a_pickle, model_id=api.model_id())
    pickle = wait_for_validation(api, created["id"])
    assert pickle["validationStatus"] == "failed" and pickle["diagnosticsStatus"] == "failed"
    [trigger] = pickle["triggers"]
    assert trigger["type"] == "validation" and trigger["status"] == "failed"
    assert [s["status"] for s in trigger["statuses"]] == ["pending", "running", "failed"]
    description = trigger["statuses"][-1]["description"]
    assert description and description == pickle["diagnosticsStatusDescription"]
    assert api.data(LOGS, {"t": trigger["id"]})["triggerLogs"][0]["message"].startswith("INFO:root:Validating")


@pytest.mark.slow
def test_good_pickle_validates_assigns_runs_and_logs(api: Gql, good: Path, emulator: Any) -> None:
    model_id = api.model_id()
    created = upload_pickle(api, good, model_id=model_id, python="3.12")
    assert created["validationStatus"] == "pending"
    pickle = wait_for_validation(api, created["id"])
    assert pickle["validationStatus"] == "validated", pickle["diagnosticsStatusDescription"]
    assert pickle["dockerImageName"] == "Python 3.12" and pickle["runtime"] == "python3.12"
    assert pickle["modelId"] == model_id and pickle["assignedModelSlots"] == [] and pickle["version"] == 1
    validation_logs = api.data("query($p: ID!) { diagnosticsTriggerLogs(pickleId: $p) { message } }",
                               {"p": created["id"]})["diagnosticsTriggerLogs"]
    assert any("Generated" in line["message"] and "predictions" in line["message"] for line in validation_logs)

    # assign, and the slot's computePickleUpload is the source of truth
    assert api.data(ASSIGN, {"m": model_id, "p": created["id"]}) == {"assignPickleToModel": "true"}
    slot = api.data(ASSIGNED, {"m": model_id})["model"]
    assert slot == {"computeEnabled": True, "computePickleUpload": {"id": created["id"], "assignedModelSlots": [model_id]}}

    # a run with no open round fails with Numerai's words, right away
    emulator.set_round_open(False)
    returned = api.data(TRIGGER, {"m": model_id, "p": None, "v": False})["triggerComputePickleUpload"]
    assert returned["id"] == created["id"]  # the pickle, not the trigger
    closed = pickle_view(api, created["id"])["triggers"][0]
    assert closed["type"] == "manual" and closed["status"] == "failed"
    assert closed["statuses"][-1]["description"] == "No currently open rounds!"
    assert pickle_view(api, created["id"])["triggerStatus"] == "submission_failed"
    assert [line["message"] for line in api.data(LOGS, {"t": closed["id"]})["triggerLogs"]] == [
        "ERROR:root:No currently open rounds!"]

    # with a round open it runs on the live data and records a submission
    round_number = emulator.set_round_open(True)["number"]
    api.data(TRIGGER, {"m": None, "p": created["id"], "v": False})
    run_id = pickle_view(api, created["id"])["triggers"][0]["id"]
    run = wait_for_trigger(api, created["id"], run_id)
    assert run["status"] == "succeeded", run["statuses"]
    assert run["submissionId"] and run["roundId"]
    assert f"for round {round_number}" in run["statuses"][-1]["description"]
    assert pickle_view(api, created["id"])["triggerStatus"] == "submission_succeeded"
    messages = [line["message"] for line in api.data(LOGS, {"t": run_id})["triggerLogs"]]
    assert any(m.startswith("INFO:root:Predicting on") for m in messages)
    assert all(isinstance(line["timestamp"], int) for line in api.data(LOGS, {"t": run_id})["triggerLogs"])

    # null disables hosted runs
    assert api.data(ASSIGN, {"m": model_id, "p": None}) == {"assignPickleToModel": "true"}
    assert api.data(ASSIGNED, {"m": model_id})["model"] == {"computeEnabled": False, "computePickleUpload": None}
    assert [m for m in emulator.state()["models"] if m["id"] == model_id][0]["assignedPickleId"] is None


@pytest.mark.slow
def test_assignment_rules_and_owner_slot_filtering(api: Gql, good: Path, not_a_pickle: Path) -> None:
    owner, other, hooked = api.model_id(), *(api.data(ADD, {"n": n})["addModel"]["id"] for n in ("other", "hooked"))
    bad = upload_pickle(api, not_a_pickle, model_id=owner)
    fine = upload_pickle(api, good, model_id=owner)
    pending = api.errors(ASSIGN, {"m": other, "p": fine["id"]})
    assert pending in ([f"Compute pickle {fine['id']} cannot be assigned: its validationStatus is '{s}'. Only "
                        "validated pickles can be assigned."] for s in ("pending", "validating"))
    assert api.errors(TRIGGER, {"m": None, "p": fine["id"], "v": False})[0].startswith(
        f"Compute pickle {fine['id']} cannot run: its validationStatus is")
    assert wait_for_validation(api, bad["id"])["validationStatus"] == "failed"
    assert wait_for_validation(api, fine["id"])["validationStatus"] == "validated"
    assert api.errors(ASSIGN, {"m": owner, "p": bad["id"]}) == [
        f"Compute pickle {bad['id']} cannot be assigned: its validationStatus is 'failed'. Only validated pickles "
        "can be assigned."]

    api.data(WEBHOOK, {"m": hooked, "w": "https://example.com/hook"})
    assert api.errors(ASSIGN, {"m": hooked, "p": fine["id"]}) == [
        "Model hooked has a submission webhook, so it cannot use an uploaded pickle. Clear it with "
        "setSubmissionWebhook(modelId, null), then assign the pickle."]
    api.data(WEBHOOK, {"m": hooked, "w": None})
    assert api.data(ASSIGN, {"m": hooked, "p": fine["id"]}) == {"assignPickleToModel": "true"}
    assert api.errors(WEBHOOK, {"m": hooked, "w": "https://example.com/hook"})[0].startswith(
        "Model hooked runs an uploaded pickle")

    # computePickles(modelId) filters by the owner slot, not the assigned one (as at Numerai)
    listing = "query($m: ID, $u: Boolean!) { computePickles(modelId: $m, unassigned: $u) { id assignedModelSlots } }"
    by_owner = api.data(listing, {"m": owner, "u": False})["computePickles"]
    assert [p["id"] for p in by_owner] == [fine["id"], bad["id"]]  # newest first
    assert api.data(listing, {"m": hooked, "u": False})["computePickles"] == []
    assert [p["id"] for p in api.data(listing, {"m": None, "u": True})["computePickles"]] == [bad["id"]]
    assert pickle_view(api, fine["id"])["assignedModelSlots"] == [hooked]


@pytest.mark.slow
def test_revalidation_trigger_and_label(api: Gql, good: Path) -> None:
    created = upload_pickle(api, good, model_id=api.model_id())
    with pytest.raises(AssertionError, match="already being validated"):
        api.data(TRIGGER, {"m": None, "p": created["id"], "v": True})
    wait_for_validation(api, created["id"])
    api.data(TRIGGER, {"m": None, "p": created["id"], "v": True})
    again = pickle_view(api, created["id"])
    assert [t["type"] for t in again["triggers"]] == ["validation", "validation"]
    assert wait_for_validation(api, created["id"])["validationStatus"] == "validated"
    label = "mutation($p: ID!, $l: String) { updatePickleLabel(pickleId: $p, label: $l) { id label } }"
    assert api.data(label, {"p": created["id"], "l": "v1 neutral"})["updatePickleLabel"]["label"] == "v1 neutral"


def test_trigger_needs_a_pickle_or_an_assigned_model(api: Gql) -> None:
    assert api.errors(TRIGGER, {"m": None, "p": None, "v": False}) == [
        "Pass pickleId, or modelId to run that model's assigned pickle."]
    assert api.errors(TRIGGER, {"m": api.model_id(), "p": None, "v": False}) == [
        "Model demo_model has no pickle assigned; assign one with assignPickleToModel first."]
    assert api.errors(LOGS, {"t": "nope"}) == ["Trigger nope not found for this account."]


def test_docker_images_and_data_versions(api: Gql) -> None:
    images = api.data("{ computePickleDockerImages { id name image tag default deprecated experimental insertedAt } }",
                      auth=False)["computePickleDockerImages"]
    assert [i["name"] for i in images] == ["Python 3.10", "Python 3.11", "Python 3.12", "Python 3.13"]
    assert [i["name"] for i in images if i["default"]] == ["Python 3.12"]
    assert [i["name"] for i in images if i["experimental"]] == ["Python 3.13"]
    assert images[2]["image"] == "numerai_predict_py_3_12" and len(images[2]["tag"]) == 7
    assert len({i["id"] for i in images}) == 4 and all(len(i["id"]) == 36 for i in images)
    versions = api.data("{ computePickleDataVersions { name default deprecated } }")["computePickleDataVersions"]
    assert [v["name"] for v in versions] == ["v5.0", "v5.1", "v5.2"]
    assert [v["name"] for v in versions if v["default"]] == ["v5.2"]
    everything = api.data("{ computePickleDataVersions(deprecated: true) { name deprecated } }")
    assert {"name": "v4.3", "deprecated": True} in everything["computePickleDataVersions"]


def test_rounds_report_the_current_round_and_close(api: Gql, emulator: Any) -> None:
    set_clock(emulator.url, freeze=True)  # an open round's deadlines follow the clock: read it once
    query = "query($n: Int, $s: RoundStatus) { rounds(tournament: 8, number: $n, status: $s) { number openTime " \
            "closeStakingTime closeTime resolveTime resolvedGeneral } }"
    current = api.data(query, {"n": 0}, auth=False)["rounds"]
    assert len(current) == 1 and current[0]["resolvedGeneral"] is False
    assert current[0]["openTime"] < current[0]["closeStakingTime"]
    assert api.data(query, {"s": "OPEN"})["rounds"] == current
    assert len(api.data(query, {})["rounds"]) == 5
    emulator.set_round_open(False)
    assert api.errors(query, {"n": 0}) == ["Current round not open for submissions"]
    assert api.data(query, {"s": "OPEN"})["rounds"] == []
    reopened = emulator.set_round_open(True)
    assert reopened == {"number": current[0]["number"] + 1, "open": True}


@pytest.mark.slow
def test_only_numerais_own_checks_decide_stricter_findings_are_reported(api: Gql, tmp_path: Path,
                                                                        test_cache_dir: Path) -> None:
    """Numerai accepts a constant prediction; the harness flags it. The emulator follows Numerai."""
    from tests.support.pickles import build_pickle

    source = """
import pandas as pd
def predict(live_features):
    return pd.DataFrame({"prediction": 0.5}, index=live_features.index)
"""
    path = build_pickle("3.12", source, tmp_path / "constant.pkl", cache_dir=test_cache_dir)
    users_verdict = test_cache_dir / "verdicts" / f"{hashlib.sha256(path.read_bytes()).hexdigest()}.json"
    before = users_verdict.stat().st_mtime_ns if users_verdict.exists() else None
    created = upload_pickle(api, path, model_id=api.model_id(), python="3.12")
    pickle = wait_for_validation(api, created["id"])
    validation = pickle["triggers"][0]["statuses"][-1]
    assert pickle["validationStatus"] == "validated", validation
    assert "Stricter local checks flagged: not constant" in validation["description"]
    # the emulator plays Numerai's servers: it never writes verdicts into the user's cache
    assert (users_verdict.stat().st_mtime_ns if users_verdict.exists() else None) == before
