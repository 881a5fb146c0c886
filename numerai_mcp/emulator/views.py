"""World records as the GraphQL types of numerai_schema.graphql (plain dicts, camelCase keys).

A view holds the fields the sandbox has data for; every other field of the type is absent
and resolves to null, as Numerai answers for data an account does not have. A field that
takes arguments is a function of them (graphql-core's default resolver calls it with the
field's arguments, defaults included), computed from what was read under the state lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from numerai_mcp.emulator.catalog import CLASSIC, SCORE_CONFIGS, data_version, docker_image, stable_id
from numerai_mcp.emulator.clock import CLOCK
from numerai_mcp.emulator.state import ApiKey, Model, Pickle, Round, Submission, Trigger, World, now_iso

DAY_S = 24 * 3600
NMR_ZERO = "0.000000000000000000"  # Numerai's Nmr strings carry 18 decimals
View = dict[str, Any]


def with_args(function: Callable[..., Any]) -> Callable[..., Any]:
    """A field value computed from the field's arguments (the resolve info is not needed)."""
    return lambda _info, **args: function(**args)


def api_token(key: ApiKey) -> View:
    return {"name": key.name, "publicId": key.public_id, "scopes": list(key.scopes)}


def account(world: World, account_id: str) -> View:
    record = world.accounts[account_id]
    slots = record.max_model_slots
    models = [model(world, m) for m in world.models_of(account_id)]
    return {
        "id": record.id, "username": record.username, "email": f"{record.username}@example.com",
        "status": "VERIFIED", "insertedAt": record.inserted_at, "walletAddress": None,
        "availableNmr": NMR_ZERO, "mfaEnabled": False, "acceptedTos": True,
        "maxModelSlots": with_args(lambda tournament=None: slots),
        "models": with_args(lambda showArchived=False: [m for m in models if showArchived or not m["archived"]]),
        "apiTokens": [api_token(k) for k in world.keys.values() if k.account_id == account_id],
    }


def model(world: World, record: Model) -> View:
    assigned = world.pickles.get(record.assigned_pickle_id) if record.assigned_pickle_id else None
    runs = bool(assigned) or bool(record.submission_webhook)
    submitted = [submission(world, s) for s in reversed(world.submissions_of(record.id))]  # newest first
    latest = [latest_submission(world, s) for s in _latest_per_round(world.submissions_of(record.id))]
    current = world.round.number
    return {
        "id": record.id, "name": record.name, "tournament": record.tournament, "username": record.name,
        "insertedAt": record.inserted_at, "archived": record.archived, "archivedAt": record.archived_at,
        "hidden": False, "submissionWebhook": record.submission_webhook,
        "computeEnabled": runs, "computeLiteEnabled": runs, "isComputeWeekdayEnabled": True,
        "computePickleUpload": pickle(world, assigned) if assigned else None,
        "v2Stake": {"tournamentNumber": record.tournament},
        "submissions": submitted, "latestSubmission": submitted[:1],
        "latestSubmissionV2": submitted[0] if submitted else None,
        "signalsSubmissions": [], "latestSignalsSubmission": [], "latestSignalsSubmissionV2": None,
        "latestSubmissions": with_args(lambda latestNRounds=20: [
            s for s in latest if latestNRounds is None or s["roundNumber"] > current - latestNRounds]),
    }


def _latest_per_round(records: list[Submission]) -> list[Submission]:
    """The newest submission of each round, newest round first."""
    newest: dict[int, Submission] = {}
    for record in records:  # oldest first, so later ones win
        newest[record.round_number] = record
    return [newest[n] for n in sorted(newest, reverse=True)]


def submission(world: World, record: Submission) -> View:
    the_round = round_by_number(world, record.round_number, record.round_opened_at, CLASSIC)
    return {
        "id": record.id, "filename": record.filename, "insertedAt": record.inserted_at, "triggerId": record.trigger_id,
        "round": the_round, "dataDatestamp": the_round["dataDatestamp"],
    }


def latest_submission(world: World, record: Submission) -> View:
    the_round = round_by_number(world, record.round_number, record.round_opened_at, CLASSIC)
    return {
        "id": record.id, "filename": record.filename, "timestamp": record.inserted_at,
        "roundNumber": record.round_number, "roundOpen": the_round["openTime"][:10],
        "roundCloseStaking": the_round["closeStakingTime"][:10], "roundClose": the_round["closeTime"][:10],
    }


def round_performance(world: World, record: Submission) -> View:
    """A V2RoundModelPerformance without scores (the sandbox does not score rounds)."""
    the_round = round_by_number(world, record.round_number, record.round_opened_at, CLASSIC)
    return {
        "roundId": the_round["id"], "roundNumber": record.round_number, "roundOpenTime": the_round["openTime"],
        "roundCloseStakingTime": the_round["closeStakingTime"], "roundScoreTime": the_round["scoreTime"],
        "roundResolveTime": the_round["resolveTime"], "roundResolved": the_round["resolvedGeneral"],
        "roundTarget": the_round["target"], "roundDataDatestamp": the_round["dataDatestamp"],
        "submissionId": record.id, "submissionScores": [], "allSubmissionScores": [],
        "intraRoundSubmissionScores": [],
    }


def diagnostics_id(pickle_id: str) -> str:
    return stable_id("diagnostics", pickle_id)


def diagnostics(record: Pickle) -> View:
    """A pickle's diagnostics run as V2Diagnostics: its status and message, and once computed its numbers."""
    return {
        "id": diagnostics_id(record.id), "computePickleUploadId": record.id, "filename": record.filename,
        "tournament": CLASSIC, "status": record.diagnostics_status, "message": record.diagnostics_description,
        "insertedAt": record.inserted_at, "updatedAt": record.updated_at, "perEraDiagnostics": [],
        **(record.diagnostics or {}),
    }


def trigger(record: Trigger) -> View:
    return {
        "id": record.id, "computePickleUploadId": record.pickle_id, "roundId": record.round_id,
        "submissionId": record.submission_id, "type": record.type, "status": record.status,
        "insertedAt": record.inserted_at, "updatedAt": record.updated_at,
        "statuses": [{"id": s.id, "computePickleTriggerId": record.id, "status": s.status,
                      "description": s.description, "insertedAt": s.inserted_at, "updatedAt": s.inserted_at}
                     for s in record.statuses],
    }


def pickle(world: World, record: Pickle) -> View:
    image, version = docker_image(record.docker_image_id), data_version(record.data_version_id)
    triggers = [world.triggers[t] for t in record.trigger_ids if t in world.triggers]
    return {
        "id": record.id, "filename": record.filename, "label": record.label, "version": record.version,
        "insertedAt": record.inserted_at, "updatedAt": record.updated_at, "modelId": record.model_id,
        "assignedModelSlots": world.assigned_slots(record.id),
        "dataVersion": version.name if version else None, "dataVersionId": record.data_version_id,
        "dockerImage": image.reference if image else None, "dockerImageId": record.docker_image_id,
        "dockerImageName": image.name if image else None,
        "runtime": f"python{image.python}" if image else None,
        "validationStatus": record.validation_status, "triggerStatus": record.trigger_status,
        "diagnosticsStatus": record.diagnostics_status,
        "diagnosticsStatusDescription": record.diagnostics_description,
        "diagnosticsId": diagnostics_id(record.id),
        # newest first (creation order reversed: insertedAt has only second resolution)
        "triggers": [trigger(t) for t in reversed(triggers)],
    }


def logs(record: Trigger) -> list[View]:
    return [{"timestamp": line.timestamp, "message": line.message} for line in record.logs]


def round_view(record: Round, tournament: int) -> View:
    """The current round; while open its deadlines keep moving ahead of the (emulator's) clock."""
    now = CLOCK.now()
    opened = record.opened_at
    close_staking = max(opened + 3600, now + 3600) if record.open else (record.closed_at or opened)
    return _round(record.id, record.number, tournament, opened, close_staking, resolved=False)


def past_round(number: int, tournament: int, opened: float) -> View:
    return _round(stable_id("round", str(number)), number, tournament, opened, opened + 3600, resolved=True)


def round_by_number(world: World, number: int, opened: float, tournament: int) -> View:
    """The current round's view when `number` is current, else that past round's."""
    if number == world.round.number:
        return round_view(world.round, tournament)
    return past_round(number, tournament, opened)


def _round(round_id: str, number: int, tournament: int, opened: float, close_staking: float,
           resolved: bool) -> View:
    score_time, resolve_time = now_iso(opened + 3 * DAY_S), now_iso(opened + 30 * DAY_S)
    return {
        "id": round_id, "number": number, "tournament": tournament, "openTime": now_iso(opened),
        "closeStakingTime": now_iso(close_staking), "closeTime": now_iso(close_staking + DAY_S),
        "scoreTime": score_time, "resolveTime": resolve_time,
        "resolvedGeneral": resolved, "resolvedStaking": resolved,
        "dataDatestamp": int(time.strftime("%Y%m%d", time.gmtime(opened))), "isDaily": True, "target": "ender20",
        "roundScoreConfigs": [c.view(number, score_time, resolve_time) for c in SCORE_CONFIGS]
        if tournament == CLASSIC else [],
    }
