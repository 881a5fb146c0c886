"""Whether a model slot is healthy, and the one call that fixes it when it is not.

Plain functions of what Numerai answered about one slot (its webhook, assigned pickle and that pickle's triggers, the
newest pickle uploaded for it, its last rounds' submissions) and of what numerai-mcp remembers about the files it
uploaded (which Python built them). No I/O, so every rule is tested as a table (tests/api/test_health.py).

The first rule that matches decides; the order is the order in which a user should act: a webhook blocks everything,
then the assigned pickle (its validation, a failed newest run, a known Python mismatch, whether it ran and still
submits), then, for a slot without a pickle, its newest upload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from numerai_mcp.api.deploy import explain_failure
from numerai_mcp.api.models import (
    VALIDATION_OK,
    ModelSlot,
    Pickle,
    Trigger,
    is_status_success,
    is_trigger_finished,
    is_validation_trigger,
)
from numerai_mcp.pyversion import find_python_version

Level = Literal["healthy", "pending", "unhealthy", "unknown"]
# Numerai's descriptions of a pickle run by another Python (numerai-api.md §5), matched on words.
_PYTHON_MISMATCH = ("segmentation fault", "unknown opcode", "pickle incompatible")
_NO_OPEN_ROUND = "no currently open rounds"
GRACE_ROUNDS = 1  # a slot may lag the open round by this many rounds (its run comes shortly after the round opens)
MAX_TEXT = 200  # longest piece of Numerai's text quoted in a verdict


@dataclass(frozen=True)
class BuiltWith:
    """What numerai-mcp knows about the Python that built an uploaded file, and how it knows."""

    python: str
    how: str


@dataclass(frozen=True)
class SlotFacts:
    """Everything the rules look at for one slot."""

    slot: ModelSlot
    latest_upload: Pickle | None = None  # the newest pickle uploaded for this slot (it may be the assigned one)
    reference_round: int | None = None  # the open round, else the newest round any slot submitted for
    built_with: Mapping[str, BuiltWith] = field(default_factory=dict)  # pickle id -> its Python, when known


@dataclass(frozen=True)
class Health:
    level: Level
    problem: str | None  # a short code: segfault, webhook, no_pickle, validation_failed, run_failed, …
    verdict: str  # one line
    fix: str | None = None  # the exact next call, or what to do where no call fixes it
    notes: tuple[str, ...] = ()


def short(text: str | None, limit: int = MAX_TEXT) -> str:
    """Numerai's (untrusted, unbounded) text cut to one readable line."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- the calls a fix names -------------------------------------------------------------------------


def create_call(model_id: str, filename: str | None, python: str) -> str:
    return (f"upload_model operation='create' modelId={model_id!r} filename={filename or '(its server filename)'!r} "
            f"dockerImage='Python {python}'")


def assign_call(model_id: str, pickle_id: str, *, clear_webhook: bool = False) -> str:
    return (f"upload_model operation='assign' modelId={model_id!r} pickleId={pickle_id!r}"
            + (" clearWebhook=true" if clear_webhook else ""))


def upload_call(model_id: str, *, clear_webhook: bool = False) -> str:
    then = " then assign it with clearWebhook=true" if clear_webhook else " then wait for validation and assign it"
    return f"upload_model operation='upload' modelId={model_id!r} localPath=(your validated .pkl),{then}"


def wait_call(pickle_id: str) -> str:
    return f"upload_model operation='list' pickleId={pickle_id!r} wait=true"


def logs_call(pickle_id: str, trigger_id: str | None) -> str:
    trigger = f" triggerId={trigger_id!r}" if trigger_id else ""
    return f"upload_model operation='get_logs' pickleId={pickle_id!r}{trigger}"


# -- what happened to a pickle ---------------------------------------------------------------------


def failure_description(pickle: Pickle, trigger: Trigger | None = None) -> str | None:
    """Numerai's reason for a failed validation or run: the trigger's own words, else the pickle's diagnostics text."""
    if trigger is not None and trigger.last_description:
        return trigger.last_description
    newest_validation = next((t for t in pickle.newest_triggers(len(pickle.triggers)) if is_validation_trigger(t)), None)
    if newest_validation is not None and newest_validation.last_description:
        return newest_validation.last_description
    return pickle.diagnostics_status_description


def is_python_mismatch(description: str | None) -> bool:
    text = (description or "").lower()
    return any(words in text for words in _PYTHON_MISMATCH)


def is_no_open_round(description: str | None) -> bool:
    return _NO_OPEN_ROUND in (description or "").lower()


def _segfault(facts: SlotFacts, pickle: Pickle, description: str | None, where: str) -> Health:
    """A pickle run by another Python (or numpy build) than the one that wrote it: name the image to use."""
    model_id = facts.slot.id
    image_python = find_python_version(pickle.docker_image_name, pickle.runtime)
    known = facts.built_with.get(pickle.id)
    said = short(description, 120)
    if known and image_python and known.python == image_python:
        return Health("unhealthy", "segfault",
                      f"segfault on the image of its own Python {image_python}: a library build mismatch ({where})",
                      f"Rebuild the pickle with build_pickle pythonVersion='{image_python}' (Numerai's pinned "
                      f"libraries), then {upload_call(model_id)}.", (f"Numerai said: {said}",))
    if known:
        return Health("unhealthy", "segfault", f"segfault: re-register with the Python {known.python} image ({where})",
                      create_call(model_id, pickle.filename, known.python),
                      (f"Built with Python {known.python} ({known.how}); registered on "
                       f"{pickle.docker_image_name or 'another image'}. Numerai said: {said}",))
    on = f"its {pickle.docker_image_name} image" if pickle.docker_image_name else "its image"
    return Health("unhealthy", "segfault",
                  f"segfault: the Python that built the pickle does not match {on} ({where})",
                  "Find which Python built it (validate_pickle on your local copy reports it), then "
                  f"{create_call(model_id, pickle.filename, '3.X')} with that version.",
                  (f"numerai-mcp has no record of the Python that built {pickle.filename or pickle.id} "
                   f"(it was not uploaded through numerai-mcp). Numerai said: {said}",))


def _failed(facts: SlotFacts, pickle: Pickle, trigger: Trigger | None, *, validation: bool) -> Health:
    description = failure_description(pickle, trigger)
    where = f"{'validation' if validation else 'last run'} of {pickle.filename or pickle.id}"
    if is_python_mismatch(description):
        return _segfault(facts, pickle, description, where)
    python = facts.built_with.get(pickle.id)
    python_fix = create_call(facts.slot.id, pickle.filename, python.python if python else "3.X")
    advice = explain_failure(description, python_fix=python_fix)
    logs = logs_call(pickle.id, trigger.id if trigger else None)
    if validation:
        return Health("unhealthy", "validation_failed", f"validation failed: {short(description) or 'no reason given'}",
                      f"{advice} Logs: {logs}. Once validate_pickle passes on the fixed file: "
                      f"{upload_call(facts.slot.id)}.")
    return Health("unhealthy", "run_failed", f"last run failed: {short(description) or 'no reason given'}",
                  f"{advice} Logs: {logs}.")


# -- submissions -----------------------------------------------------------------------------------


def newest_round(slot: ModelSlot) -> int | None:
    rounds = [s.round_number for s in slot.latest_submissions or [] if s.round_number is not None]
    return max(rounds) if rounds else None


def submits(facts: SlotFacts) -> bool:
    """The slot submitted recently: within GRACE_ROUNDS of the reference round (any listed round without one)."""
    latest = newest_round(facts.slot)
    if latest is None:
        return False
    return facts.reference_round is None or latest >= facts.reference_round - GRACE_ROUNDS


def _stale(facts: SlotFacts) -> str:
    latest = newest_round(facts.slot)
    return f"no submission since round {latest}" if latest is not None else "no submission in the rounds listed"


# -- the rules -------------------------------------------------------------------------------------


def judge(facts: SlotFacts) -> Health:
    """The slot's health: the first rule that matches, in the order a user should act."""
    health = _webhook(facts) or (_assigned(facts) if facts.slot.compute_pickle_upload else _unassigned(facts))
    notes = _newer_upload_notes(facts)
    return Health(health.level, health.problem, health.verdict, health.fix, health.notes + notes) if notes else health


def _webhook(facts: SlotFacts) -> Health | None:
    slot = facts.slot
    if not slot.submission_webhook:
        return None
    ready = next((p for p in (slot.compute_pickle_upload, facts.latest_upload)
                  if p is not None and (p.validation_status or "").lower() == VALIDATION_OK), None)
    if ready is not None:
        return Health("unhealthy", "webhook", "webhook set: the slot cannot run its pickle until it is removed "
                      "(clearWebhook=true)", assign_call(slot.id, ready.id, clear_webhook=True))
    if submits(facts):
        return Health("healthy", None, "healthy: submits through its webhook (not a model upload)")
    return Health("unhealthy", "webhook", f"webhook set, and {_stale(facts)}",
                  "Check the service behind the webhook, or switch to a model upload: "
                  + upload_call(slot.id, clear_webhook=True) + ".")


def _assigned(facts: SlotFacts) -> Health:
    slot, pickle = facts.slot, facts.slot.compute_pickle_upload
    assert pickle is not None
    status = (pickle.validation_status or "").lower()
    if status != VALIDATION_OK:
        if pickle.validation_finished:
            return _failed(facts, pickle, None, validation=True)
        return Health("pending", "validating", f"its pickle {pickle.filename or pickle.id} is being validated "
                      f"({pickle.validation_status or 'pending'})", wait_call(pickle.id))
    run = next(iter(_runs_for(slot, pickle)), None)
    label = pickle.filename or pickle.id
    failed = run is not None and is_trigger_finished(run.status) and not is_status_success(run.status)
    if failed and run is not None and not is_no_open_round(run.last_description):
        return _failed(facts, pickle, run, validation=False)
    known = facts.built_with.get(pickle.id)
    image_python = find_python_version(pickle.docker_image_name, pickle.runtime)
    if known and image_python and known.python != image_python:
        return Health("unhealthy", "python_mismatch",
                      f"Python mismatch: built with Python {known.python}, registered on the Python {image_python} "
                      "image (its runs will segfault)", create_call(slot.id, pickle.filename, known.python),
                      (f"Python {known.python}: {known.how}.",))
    if run is None:
        if submits(facts):
            return Health("healthy", None, f"healthy: {label} is assigned, submitted for round {newest_round(slot)}")
        return Health("pending", "not_run_yet", f"{label} is assigned and has not run yet: Numerai runs it when "
                      "the next round opens", f"Nothing to do; to run it now: upload_model operation='trigger' "
                      f"modelId={slot.id!r} wait=true")
    if not is_trigger_finished(run.status):
        return Health("pending", "running", f"a run of {label} is under way ({run.status})",
                      f"Follow it: {logs_call(pickle.id, run.id)}")
    if failed:  # no open round: not the model's fault
        if submits(facts):
            return Health("healthy", None, f"healthy: submitted for round {newest_round(slot)} (its last "
                          "run found no open round, which is not a model problem)")
        return Health("pending", "no_open_round", "its last run found no open round (not a model problem)",
                      "Nothing to fix: Numerai runs it when the next round opens.")
    if not submits(facts):
        return Health("unhealthy", "stale", f"{_stale(facts)}, although its last run succeeded",
                      f"Read the last run's logs: {logs_call(pickle.id, run.id)}; then run it again: "
                      f"upload_model operation='trigger' modelId={slot.id!r} wait=true")
    latest = newest_round(slot)
    where = f", submitted for round {latest}" if latest is not None else ""
    return Health("healthy", None, f"healthy: last run succeeded{where} ({label} on "
                  f"{pickle.docker_image_name or 'its image'})")


def _runs_for(slot: ModelSlot, pickle: Pickle) -> list[Trigger]:
    """The pickle's runs, newest first, that can be this slot's: when several slots share the pickle, a run that
    submitted for another slot is not this one's (a failed run counts: the same pickle fails everywhere)."""
    runs = pickle.newest_triggers(len(pickle.triggers), runs_only=True)
    if len(pickle.assigned_model_slots or []) <= 1:
        return runs
    mine = {s.id for s in slot.latest_submissions or [] if s.id}
    return [t for t in runs if not t.submission_id or t.submission_id in mine]


def _unassigned(facts: SlotFacts) -> Health:
    slot, upload = facts.slot, facts.latest_upload
    if upload is None:
        if submits(facts):
            return Health("healthy", None, f"healthy: submits without a model upload (round {newest_round(slot)})")
        return Health("unhealthy", "no_pickle", "no pickle assigned", upload_call(slot.id),
                      ("Build and check the pickle first with build_pickle or validate_pickle.",))
    status = (upload.validation_status or "").lower()
    if status == VALIDATION_OK:
        return Health("unhealthy", "not_assigned", f"no pickle assigned: {upload.filename or upload.id} is validated "
                      "and waits to be assigned", assign_call(slot.id, upload.id),
                      ("Ask the user before assigning: Numerai will run it every round.",))
    if upload.validation_finished:
        return _failed(facts, upload, None, validation=True)
    return Health("pending", "validating", f"no pickle assigned yet: {upload.filename or upload.id} is being "
                  f"validated ({upload.validation_status or 'pending'})", wait_call(upload.id))


def _newer_upload_notes(facts: SlotFacts) -> tuple[str, ...]:
    """What the newest upload says when it is not the pickle the slot runs."""
    assigned, upload = facts.slot.compute_pickle_upload, facts.latest_upload
    if assigned is None or upload is None or upload.id == assigned.id:
        return ()
    if (upload.inserted_at or "") < (assigned.inserted_at or ""):
        return ()
    name = upload.filename or upload.id
    status = (upload.validation_status or "").lower()
    if status == VALIDATION_OK:
        return (f"A newer upload, {name}, is validated but not assigned: {assign_call(facts.slot.id, upload.id)}.",)
    if upload.validation_finished:
        reason = short(failure_description(upload), 120) or "no reason given"
        return (f"A newer upload, {name}, failed validation ({reason}); the slot still runs {assigned.filename}.",)
    return (f"A newer upload, {name}, is being validated: {wait_call(upload.id)}.",)
