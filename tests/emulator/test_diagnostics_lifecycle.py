"""A pickle's diagnostics run goes through Numerai's lifecycle (pending → running → succeeded | failed) on the pickle
and on its `diagnostics` row, is scored on the synthetic validation set once validation
passed, and a pickle run by the wrong Python fails with Numerai's own words."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from numerai_mcp.emulator.validation import SEGFAULT
from tests.support.emulator_api import (
    Gql,
    pickle_view,
    set_jobs_paused,
    upload_pickle,
    wait_for_diagnostics,
    wait_for_validation,
)
from tests.support.pickles import GOOD_ONE_ARG, build_pickle

RUN = "query($id: ID) { diagnostics(id: $id) { id computePickleUploadId status message } }"
NUMBERS = ("query($id: ID) { diagnostics(id: $id) { validationCorrMean validationCorrStd validationCorrSharpe "
           "erasAcceptedCount tickersAcceptedCount examplePredsCorrMean validationFeatureCorrMax validationMmcMean "
           "perEraDiagnostics { era validationCorr validationFeatureCorrMax } } }")
STATUS = "query($id: ID) { computePickles(id: $id) { diagnosticsId diagnosticsStatus diagnosticsStatusDescription } }"


def _diagnostics(api: Gql, pickle_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    pickle = api.data(STATUS, {"id": pickle_id})["computePickles"][0]
    [run] = api.data(RUN, {"id": pickle["diagnosticsId"]})["diagnostics"]
    return pickle, run


@pytest.mark.slow
def test_diagnostics_wait_for_validation_then_score_the_pickle(api: Gql, emulator: Any, fixture_pickle: Path,
                                                               tmp_path: Path) -> None:
    assert set_jobs_paused(emulator.url, True) == {"paused": True}
    created = upload_pickle(api, Path(shutil.copy(fixture_pickle, tmp_path / "neutral.pkl")), model_id=api.model_id())
    pickle, run = _diagnostics(api, created["id"])
    assert (pickle["diagnosticsStatus"], run["status"]) == ("pending", "pending")
    assert run["computePickleUploadId"] == created["id"]
    assert pickle_view(api, created["id"])["validationStatus"] == "pending"

    assert set_jobs_paused(emulator.url, False) == {"paused": False}
    validated = wait_for_validation(api, created["id"])
    assert validated["validationStatus"] == "validated"
    assert validated["diagnosticsStatus"] in ("pending", "running", "succeeded")  # scoring starts after validation
    statuses = [s["status"] for s in validated["triggers"][0]["statuses"]]
    assert statuses == ["pending", "running", "succeeded"]

    assert wait_for_diagnostics(api, created["id"])["diagnosticsStatus"] == "succeeded"
    pickle, run = _diagnostics(api, created["id"])
    assert (pickle["diagnosticsStatus"], run["status"]) == ("succeeded", "succeeded")
    assert run["message"] == pickle["diagnosticsStatusDescription"]
    assert run["message"].startswith("Diagnostics computed on 40 eras of synthetic validation data")
    numbers = api.data(NUMBERS, {"id": pickle["diagnosticsId"]})["diagnostics"][0]
    eras = numbers["perEraDiagnostics"]
    assert [e["era"] for e in eras] == [f"{575 + i:04d}" for i in range(40)]  # every synthetic validation era
    corr = [e["validationCorr"] for e in eras]
    assert all(isinstance(v, float) and -1 <= v <= 1 for v in corr)
    mean = sum(corr) / len(corr)
    std = (sum((v - mean) ** 2 for v in corr) / (len(corr) - 1)) ** 0.5
    assert numbers["validationCorrMean"] == pytest.approx(mean, abs=1e-12)
    assert numbers["validationCorrStd"] == pytest.approx(std, abs=1e-12)
    assert numbers["validationCorrSharpe"] == pytest.approx(mean / std, abs=1e-9)
    assert numbers["erasAcceptedCount"] == 40 and numbers["tickersAcceptedCount"] == 40 * 250
    assert numbers["examplePredsCorrMean"] > 0.05  # the synthetic benchmark model carries the planted signal
    assert numbers["validationFeatureCorrMax"] == max(e["validationFeatureCorrMax"] for e in eras)
    assert numbers["validationMmcMean"] is None  # no meta model in the sandbox: not made up


def test_a_reset_releases_paused_jobs_and_bad_settings_are_refused(emulator: Any) -> None:
    set_jobs_paused(emulator.url, True)
    emulator.reset()
    refused = httpx.post(f"{emulator.url}/_emulator/jobs", json={"paused": "yes"}, timeout=30)
    assert refused.status_code == 400 and refused.json() == {"error": "paused must be true or false"}
    assert set_jobs_paused(emulator.url, False) == {"paused": False}


@pytest.mark.slow
def test_a_311_pickle_on_the_312_image_fails_with_numerais_segfault_text(api: Gql, test_cache_dir: Path,
                                                                         tmp_path: Path) -> None:
    built = build_pickle("3.11", GOOD_ONE_ARG, tmp_path / "built311.pkl", cache_dir=test_cache_dir)
    created = upload_pickle(api, built, model_id=api.model_id(), python="3.12")
    validated = wait_for_validation(api, created["id"])
    assert validated["validationStatus"] == "failed"
    assert validated["triggers"][0]["statuses"][-1] == {"status": "failed", "description": SEGFAULT,
                                                        "insertedAt": validated["triggers"][0]["statuses"][-1]["insertedAt"]}
    pickle, run = _diagnostics(api, created["id"])
    assert (pickle["diagnosticsStatus"], pickle["diagnosticsStatusDescription"]) == ("failed", SEGFAULT)
    assert (run["status"], run["message"]) == ("failed", SEGFAULT)
    logs = api.data("query($p: ID!) { diagnosticsTriggerLogs(pickleId: $p) { message } }", {"p": created["id"]})
    assert any("built with Python 3.11" in line["message"] for line in logs["diagnosticsTriggerLogs"])
