"""The slot health rules as a table: what Numerai answers about a slot -> the verdict and the exact fix.

The end-to-end tests (tests/server/test_status.py) build real slots on the sandbox; this table covers every rule,
including states the sandbox cannot reach (a run that segfaults after its pickle validated, a stale slot).
"""

from __future__ import annotations

from typing import Any

import pytest

from numerai_mcp.api.health import (
    BuiltWith,
    SlotFacts,
    assign_call,
    create_call,
    judge,
    logs_call,
    upload_call,
    wait_call,
)
from numerai_mcp.api.models import ModelSlot, Pickle

SLOT = "slot-1"
SEGFAULT = "Segmentation fault! Ensure python and library versions match our environment."
RANGE = "Pickle function returned invalid predictions. Ensure values are between 0 and 1."
KNOWN_311 = {"p-1": BuiltWith("3.11", "from its validate_pickle verdict")}


def trigger(kind: str, status: str, description: str, at: str, tid: str = "t-run") -> dict[str, Any]:
    return {"id": tid, "type": kind, "status": status, "insertedAt": at,
            "statuses": [{"status": "pending", "description": "Queued"}, {"status": status, "description": description}]}


VALIDATED = trigger("validation", "succeeded", "Validation succeeded", "2026-01-01T00:00:00Z", "t-val")


def pickle(pid: str = "p-1", *, validation: str = "validated", image: str = "Python 3.12", runs: tuple = (),
           at: str = "2026-01-01T00:00:00Z", diagnostics: str | None = None, triggers: bool = True) -> Pickle:
    rows = [*runs, VALIDATED] if triggers else []
    return Pickle.model_validate({"id": pid, "filename": f"{pid}.pkl", "modelId": SLOT, "dockerImageName": image,
                                  "runtime": f"python{image.split()[-1]}", "validationStatus": validation,
                                  "diagnosticsStatusDescription": diagnostics, "insertedAt": at, "triggers": rows})


def facts(*, assigned: Pickle | None = None, upload: Pickle | None = None, webhook: str | None = None,
          rounds: tuple[int, ...] = (), reference: int | None = 1200,
          built: dict[str, BuiltWith] | None = None) -> SlotFacts:
    slot = ModelSlot.model_validate({
        "id": SLOT, "name": "m", "submissionWebhook": webhook,
        "computePickleUpload": assigned.model_dump(by_alias=True) if assigned else None,
        "latestSubmissions": [{"id": f"s{r}", "roundNumber": r} for r in rounds]})
    return SlotFacts(slot=slot, latest_upload=upload if upload is not None else assigned, reference_round=reference,
                     built_with=built or {})


def run(status: str, description: str, at: str = "2026-01-02T00:00:00Z") -> dict[str, Any]:
    return trigger("manual", status, description, at)


OK_RUN = run("succeeded", "Submission uploaded for round 1200")
CASES = [
    ("healthy", facts(assigned=pickle(runs=(OK_RUN,)), rounds=(1200, 1199)),
     "healthy", None, "healthy: last run succeeded, submitted for round 1200", None),
    ("run segfaults, Python known", facts(assigned=pickle(runs=(run("failed", SEGFAULT),)), built=KNOWN_311),
     "unhealthy", "segfault", "segfault: re-register with the Python 3.11 image", create_call(SLOT, "p-1.pkl", "3.11")),
    ("run segfaults, Python unknown", facts(assigned=pickle(runs=(run("failed", SEGFAULT),))),
     "unhealthy", "segfault", "does not match its Python 3.12 image", "validate_pickle on your local copy"),
    ("segfault on its own Python", facts(assigned=pickle(runs=(run("failed", SEGFAULT),)),
                                          built={"p-1": BuiltWith("3.12", "scan")}),
     "unhealthy", "segfault", "library build mismatch", "build_pickle pythonVersion='3.12'"),
    ("unknown opcode is a Python mismatch", facts(assigned=pickle(runs=(run("failed", "unknown opcode 0"),)),
                                                   built=KNOWN_311),
     "unhealthy", "segfault", "Python 3.11 image", create_call(SLOT, "p-1.pkl", "3.11")),
    ("webhook blocks a validated upload", facts(upload=pickle("p-2"), webhook="https://x.example/h"),
     "unhealthy", "webhook", "webhook set", assign_call(SLOT, "p-2", clear_webhook=True)),
    ("webhook that submits", facts(webhook="https://x.example/h", rounds=(1200,)),
     "healthy", None, "submits through its webhook", None),
    ("webhook that does not submit", facts(webhook="https://x.example/h", rounds=(1190,)),
     "unhealthy", "webhook", "no submission since round 1190", upload_call(SLOT, clear_webhook=True)),
    ("never assigned", facts(), "unhealthy", "no_pickle", "no pickle assigned", upload_call(SLOT)),
    ("submits by API without a pickle", facts(rounds=(1199,)),
     "healthy", None, "submits without a model upload (round 1199)", None),
    ("validated, not assigned", facts(upload=pickle("p-2")),
     "unhealthy", "not_assigned", "waits to be assigned", assign_call(SLOT, "p-2")),
    ("validation failed", facts(upload=pickle("p-2", validation="failed", runs=(
        trigger("validation", "failed", RANGE, "2026-01-03T00:00:00Z", "t-v2"),))),
     "unhealthy", "validation_failed", "between 0 and 1", "rank them per era"),
    ("validation segfault known only from the diagnostics text", facts(upload=pickle(
        "p-1", validation="failed", diagnostics=SEGFAULT, triggers=False), built=KNOWN_311),
     "unhealthy", "segfault", "Python 3.11 image (validation of p-1.pkl)", create_call(SLOT, "p-1.pkl", "3.11")),
    ("validating", facts(upload=pickle("p-2", validation="validating")),
     "pending", "validating", "being validated (validating)", wait_call("p-2")),
    ("running", facts(assigned=pickle(runs=(run("running", "Running round 1200"),))),
     "pending", "running", "under way (running)", logs_call("p-1", "t-run")),
    ("assigned, not run yet", facts(assigned=pickle()),
     "pending", "not_run_yet", "has not run yet", "operation='trigger'"),
    ("no open round", facts(assigned=pickle(runs=(run("failed", "No currently open rounds!"),))),
     "pending", "no_open_round", "no open round (not a model problem)", "Nothing to fix"),
    ("no open round after submitting", facts(assigned=pickle(runs=(run("failed", "No currently open rounds!"),)),
                                             rounds=(1200,)),
     "healthy", None, "submitted for round 1200", None),
    ("stale", facts(assigned=pickle(runs=(OK_RUN,)), rounds=(1190,)),
     "unhealthy", "stale", "no submission since round 1190", logs_call("p-1", "t-run")),
    ("run failed", facts(assigned=pickle(runs=(run("failed", "Pickle function returned at least 1 NaN prediction"),))),
     "unhealthy", "run_failed", "last run failed: Pickle function returned at least 1 NaN", logs_call("p-1", "t-run")),
    ("Python mismatch before any run", facts(assigned=pickle(runs=(OK_RUN,)), rounds=(1200,), built=KNOWN_311),
     "unhealthy", "python_mismatch", "built with Python 3.11, registered on the Python 3.12",
     create_call(SLOT, "p-1.pkl", "3.11")),
    ("assigned pickle failed re-validation", facts(assigned=pickle(validation="failed", runs=(
        trigger("validation", "failed", RANGE, "2026-01-03T00:00:00Z", "t-v2"),))),
     "unhealthy", "validation_failed", "between 0 and 1", upload_call(SLOT)),
    ("no reference round: any listed submission counts", facts(assigned=pickle(runs=(OK_RUN,)), rounds=(1100,),
                                                               reference=None),
     "healthy", None, "submitted for round 1100", None),
]


@pytest.mark.parametrize(("case", "slot", "level", "problem", "verdict", "fix"), CASES, ids=[c[0] for c in CASES])
def test_each_rule(case: str, slot: SlotFacts, level: str, problem: str | None, verdict: str, fix: str | None) -> None:
    health = judge(slot)
    assert (health.level, health.problem) == (level, problem), health
    assert verdict in health.verdict
    if fix is None:
        assert level == "healthy"
    else:
        assert health.fix is not None and fix in health.fix, health.fix


def test_a_shared_pickle_counts_only_this_slots_runs() -> None:
    shared = pickle(runs=(trigger("manual", "succeeded", "Submission uploaded", "2026-01-02T00:00:00Z", "t-a"),))
    shared.assigned_model_slots = ["other-slot", SLOT]
    shared.triggers[0].submission_id = "sub-of-other-slot"
    health = judge(facts(assigned=shared))
    assert (health.level, health.problem) == ("pending", "not_run_yet"), health
    shared.triggers[0].submission_id = "s1200"
    assert judge(facts(assigned=shared, rounds=(1200,))).level == "healthy"


def test_a_newer_failed_upload_is_noted_on_a_healthy_slot() -> None:
    newer = pickle("p-2", validation="failed", at="2026-02-01T00:00:00Z",
                   runs=(trigger("validation", "failed", RANGE, "2026-02-01T00:00:00Z", "t-v2"),))
    health = judge(facts(assigned=pickle(runs=(OK_RUN,)), upload=newer, rounds=(1200,)))
    assert health.level == "healthy"
    assert health.notes == ("A newer upload, p-2.pkl, failed validation (" + RANGE + "); the slot still runs p-1.pkl.",)


def test_numerais_text_is_cut_to_one_line() -> None:
    flood = "x" * 5000 + "\n" * 100
    health = judge(facts(assigned=pickle(runs=(run("failed", flood),))))
    assert len(health.verdict) < 260 and "\n" not in health.verdict
