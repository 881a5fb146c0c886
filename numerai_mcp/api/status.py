"""The slot overview: every Classic slot (or one) with its assigned pickle, its recent runs and submissions, and a
health verdict with the fix (api.health), read in as few round trips as Numerai's schema allows.

All slots: one query reads every slot with its assigned pickle, that pickle's triggers and the last rounds'
submissions, plus a light list of every upload; the open round is read beside it. Only a slot whose newest upload
failed validation needs one more request (that upload's triggers, for Numerai's reason); those run in parallel, at
most MAX_PARALLEL at a time, each within its own timeout, so one slow slot is reported as such and holds up nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from pydantic import Field

from numerai_mcp.api import operations as ops
from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.errors import FlowError, NumeraiError
from numerai_mcp.api.health import BuiltWith, Level, SlotFacts, judge, newest_round, short
from numerai_mcp.api.models import VALIDATION_OK, ApiModel, LatestSubmission, ModelSlot, Pickle
from numerai_mcp.config import CLASSIC_TOURNAMENT
from numerai_mcp.redact import redact
from numerai_mcp.uploads.memory import UploadMemory, account_key

DEFAULT_ROUNDS = 5
DEFAULT_TRIGGERS = 5
MAX_PARALLEL = 8
SLOT_TIMEOUT_S = 20.0
_SEVERITY: dict[str, int] = {"unhealthy": 0, "unknown": 1, "pending": 2, "healthy": 3}

# (pickle id, server filename) -> the Python that built it, when numerai-mcp knows; called in a worker thread
PythonLookup = Callable[[str, str | None], BuiltWith | None]


class TriggerRow(ApiModel):
    """One run or validation of the assigned pickle, with Numerai's final word on it."""

    id: str
    type: str | None = None
    status: str | None = None
    inserted_at: str | None = None
    round_id: str | None = None
    submission_id: str | None = None
    description: str | None = Field(default=None, description="The last status description (the failure reason).")


class PickleSummary(ApiModel):
    id: str
    filename: str | None = None
    label: str | None = None
    docker_image_name: str | None = Field(default=None, description="The runtime image it runs on.")
    runtime: str | None = None
    data_version: str | None = None
    validation_status: str | None = None
    diagnostics_id: str | None = None
    diagnostics_status: str | None = None
    diagnostics_status_description: str | None = None
    inserted_at: str | None = None
    built_with_python: str | None = Field(default=None, description="The Python that built it, when numerai-mcp "
                                          "uploaded it (else unknown).")


class SlotStatus(ApiModel):
    model_id: str
    name: str
    health: Level
    problem: str | None = Field(default=None, description="Short code: segfault, webhook, no_pickle, "
                                "validation_failed, run_failed, python_mismatch, not_assigned, stale, validating, …")
    verdict: str = Field(description="One line on the slot's state.")
    fix: str | None = Field(default=None, description="The exact next call that fixes it (or what to do).")
    notes: list[str] = Field(default_factory=list)
    webhook: str | None = Field(default=None, description="The submission webhook's origin, when one is set.")
    pickle: PickleSummary | None = Field(default=None, description="The pickle assigned to the slot.")
    latest_upload: PickleSummary | None = Field(default=None, description="The newest pickle uploaded for the slot, "
                                                "when it is not the assigned one.")
    triggers: list[TriggerRow] = Field(default_factory=list, description="The assigned pickle's newest runs and "
                                       "validations, newest first.")
    submissions: list[LatestSubmission] = Field(default_factory=list, description="The last rounds' submissions, "
                                                "newest first.")
    read_error: str | None = Field(default=None, description="What could not be read for this slot.")


class Overview(ApiModel):
    summary: str
    next_step: str
    account: str | None = None
    current_round: int | None = Field(default=None, description="The open round; null between rounds.")
    counts: dict[str, int] = Field(default_factory=dict, description="Slots by health.")
    slots: list[SlotStatus] = Field(default_factory=list, description="Unhealthy slots first.")


# -- reading ------------------------------------------------------------------------------------------


async def overview(client: NumeraiClient, *, model: str | None = None, rounds: int = DEFAULT_ROUNDS,
                   triggers: int = DEFAULT_TRIGGERS, lookup: PythonLookup | None = None,
                   slot_timeout_s: float = SLOT_TIMEOUT_S, parallel: int = MAX_PARALLEL) -> Overview:
    """Every Classic slot's state and health (or only `model`, an id or a name)."""
    client.require_credentials()
    found: dict[str, Any] = {}

    async def read_round() -> None:
        try:
            found["round"] = await ops.current_round(client)
        except Exception:  # noqa: BLE001 - the round is context, never a reason to fail the overview
            found["round"] = None

    async def read_slots() -> None:
        try:
            found["slots"] = await _read_slots(client, model, rounds)
        except Exception as exc:  # noqa: BLE001 - re-raised below as itself, not inside an ExceptionGroup
            found["error"] = exc

    async with anyio.create_task_group() as group:
        group.start_soon(read_round)
        group.start_soon(read_slots)
    if "error" in found:
        raise found["error"]
    account, slots, uploads = found["slots"]
    current: int | None = found["round"]
    newest = _newest_uploads(uploads)
    reference = current or max((r for s in slots if (r := newest_round(s)) is not None), default=None)
    limiter = anyio.CapacityLimiter(max(1, parallel))
    statuses: list[SlotStatus] = []

    async def one(slot: ModelSlot) -> None:
        try:
            statuses.append(await _slot_status(client, slot, newest.get(slot.id), reference, triggers=triggers,
                                               lookup=lookup, limiter=limiter, timeout_s=slot_timeout_s))
        except Exception as exc:  # noqa: BLE001 - one slot's failure is reported on that slot only
            statuses.append(_unreadable(slot, exc))

    async with anyio.create_task_group() as group:
        for slot in slots:
            group.start_soon(one, slot)
    ordered = sorted(statuses, key=lambda s: (_SEVERITY[s.health], s.name.lower()))
    return _summarise(account, current, ordered)


async def _read_slots(client: NumeraiClient, model: str | None,
                      rounds: int) -> tuple[str | None, list[ModelSlot], list[Pickle]]:
    """(account name, the Classic slots asked for, the uploads of those slots)."""
    if model is None:
        account, uploads = await ops.slots(client, rounds=rounds)
        return account.username, _classic(account.models), uploads
    names = await ops.slot_names(client)
    wanted = _find(_classic(names.models), model)
    slot, uploads = await ops.slot(client, wanted.id, rounds=rounds)
    return names.username, [slot or wanted], uploads


def _classic(models: list[ModelSlot]) -> list[ModelSlot]:
    return [m for m in models if m.tournament in (None, CLASSIC_TOURNAMENT)]


def _find(slots: list[ModelSlot], wanted: str) -> ModelSlot:
    """A slot by id, else by name (any case)."""
    text = wanted.strip()
    found = next((s for s in slots if s.id == text), None) or next(
        (s for s in slots if s.name.lower() == text.lower()), None)
    if found is None:
        listing = ", ".join(f"{s.name} ({s.id})" for s in slots) or "none"
        raise FlowError(f"No Classic model slot with id or name {text!r}. Yours: {listing}.")
    return found


def _newest_uploads(uploads: list[Pickle]) -> dict[str, Pickle]:
    """Each slot's newest upload (the API lists newest first; insertedAt decides across seconds)."""
    newest: dict[str, Pickle] = {}
    for pickle in sorted(uploads, key=lambda p: p.inserted_at or "", reverse=True):
        if pickle.model_id and pickle.model_id not in newest:
            newest[pickle.model_id] = pickle
    return newest


async def _slot_status(client: NumeraiClient, slot: ModelSlot, upload: Pickle | None, reference: int | None, *,
                       triggers: int, lookup: PythonLookup | None, limiter: anyio.CapacityLimiter,
                       timeout_s: float) -> SlotStatus:
    """Read what the one query left out (a failed upload's reason, what we know of the Pythons), judge, shape."""
    assigned = slot.compute_pickle_upload
    built: dict[str, BuiltWith] = {}
    error: str | None = None
    async with limiter:
        with anyio.move_on_after(timeout_s) as scope:
            try:
                if _needs_reason(upload, assigned):
                    assert upload is not None
                    upload = await ops.get_pickle(client, upload.id) or upload
                if lookup is not None:
                    for pickle in (p for p in (assigned, upload) if p is not None):
                        known = await anyio.to_thread.run_sync(lookup, pickle.id, pickle.filename)
                        if known is not None:
                            built[pickle.id] = known
            except NumeraiError as exc:
                error = f"Details of this slot could not be read: {exc.message}"
        if scope.cancelled_caught:
            error = f"Details of this slot were not read within {timeout_s:g} s (the rest of the overview was)."
    health = judge(SlotFacts(slot=slot, latest_upload=upload, reference_round=reference, built_with=built))
    newer = upload if upload is not None and (assigned is None or upload.id != assigned.id) else None
    return SlotStatus(
        model_id=slot.id, name=slot.name, health=health.level, problem=health.problem, verdict=health.verdict,
        fix=health.fix, notes=list(health.notes), webhook=_origin(slot.submission_webhook),
        pickle=_summary(assigned, built), latest_upload=_summary(newer, built),
        triggers=[_row(t) for t in assigned.newest_triggers(triggers)] if assigned else [],
        submissions=sorted(slot.latest_submissions or [], key=lambda s: s.round_number or 0, reverse=True),
        read_error=error,
    )


def _unreadable(slot: ModelSlot, exc: Exception) -> SlotStatus:
    reason = exc.message if isinstance(exc, NumeraiError) else f"{type(exc).__name__}: {short(redact(exc))}"
    return SlotStatus(model_id=slot.id, name=slot.name, health="unknown", problem="unreadable",
                      verdict="could not be judged", fix=f"Call model_status modelId={slot.id!r} again.",
                      read_error=reason)


def _needs_reason(upload: Pickle | None, assigned: Pickle | None) -> bool:
    """A failed upload the slot does not run: its triggers hold Numerai's reason, which the light list lacks."""
    return (upload is not None and not upload.triggers and upload.validation_finished
            and (upload.validation_status or "").lower() != VALIDATION_OK
            and (assigned is None or upload.id != assigned.id))


def _origin(webhook: str | None) -> str | None:
    """Where a webhook points, without its path or query (which may hold a token)."""
    if not webhook:
        return None
    parts = urlsplit(webhook.strip())
    return f"{parts.scheme}://{parts.hostname}/…" if parts.scheme and parts.hostname else "(set)"


def _summary(pickle: Pickle | None, built: dict[str, BuiltWith]) -> PickleSummary | None:
    if pickle is None:
        return None
    known = built.get(pickle.id)
    return PickleSummary(
        id=pickle.id, filename=pickle.filename, label=pickle.label, docker_image_name=pickle.docker_image_name,
        runtime=pickle.runtime, data_version=pickle.data_version, validation_status=pickle.validation_status,
        diagnostics_id=pickle.diagnostics_id, diagnostics_status=pickle.diagnostics_status,
        diagnostics_status_description=short(pickle.diagnostics_status_description) or None,
        inserted_at=pickle.inserted_at, built_with_python=known.python if known else None,
    )


def _row(trigger: Any) -> TriggerRow:
    return TriggerRow(id=trigger.id, type=trigger.type, status=trigger.status, inserted_at=trigger.inserted_at,
                      round_id=trigger.round_id, submission_id=trigger.submission_id,
                      description=short(trigger.last_description) or None)


def _summarise(account: str | None, current: int | None, slots: list[SlotStatus]) -> Overview:
    counts = {level: sum(1 for s in slots if s.health == level) for level in _SEVERITY}
    round_text = f"round {current} is open" if current is not None else "no round is open"
    parts = [f"{counts[level]} {level}" for level in ("healthy", "pending", "unhealthy", "unknown") if counts[level]]
    summary = f"{len(slots)} Classic slot{'s' if len(slots) != 1 else ''}: {', '.join(parts) or 'none'}; {round_text}."
    broken = [s for s in slots if s.health in ("unhealthy", "unknown")]
    if broken:
        first = broken[0]
        next_step = f"Start with {first.name}: {(first.fix or 'call model_status again').rstrip('.')}."
        if len(broken) > 1:
            next_step += f" Then the {len(broken) - 1} other unhealthy slot(s), each with its own fix."
    elif not slots:
        next_step = "No Classic slots yet: create one with create_model."
    else:
        next_step = "Nothing to fix. Check again after the next round with model_status."
    return Overview(summary=summary, next_step=next_step, account=account, current_round=current,
                    counts=counts, slots=slots)


async def overview_remembering(client: NumeraiClient, cache_dir: Path, **options: Any) -> Overview:
    """`overview` with what numerai-mcp remembers of this account's uploads under `cache_dir` (the tool, the
    resource and the CLI all read it this way)."""
    credentials = client.require_credentials()
    memory = UploadMemory(cache_dir, account_key(client.url, credentials.public_id))
    return await overview(client, lookup=remembered_python(memory), **options)


# -- what numerai-mcp remembers -----------------------------------------------------------------------

_HOW = {"verdict": "from its validate_pickle verdict, recorded when numerai-mcp uploaded it",
        "scan": "read from the file when numerai-mcp uploaded it"}


def remembered_python(memory: UploadMemory) -> PythonLookup:
    """The Python that built a pickle, from the upload memory: by pickle id, else by server filename (a file sent
    through numerai-mcp but registered by another tool). Only what was read from the file counts, not a guess."""

    def lookup(pickle_id: str, filename: str | None) -> BuiltWith | None:
        record = memory.by_pickle(pickle_id) or (memory.get(filename) if filename else None)
        if record is None or not record.python or record.python_source not in _HOW:
            return None
        return BuiltWith(record.python, _HOW[record.python_source])

    return lookup
