"""World records as the GraphQL types of schema.graphql (plain dicts, camelCase keys)."""

from __future__ import annotations

import time
from typing import Any

from numerai_mcp.emulator.catalog import data_version, docker_image
from numerai_mcp.emulator.state import ApiKey, Model, Pickle, Round, Trigger, World, now_iso

DAY_S = 24 * 3600


def api_token(key: ApiKey) -> dict[str, Any]:
    return {"name": key.name, "publicId": key.public_id, "scopes": list(key.scopes)}


def account(world: World, account_id: str) -> dict[str, Any]:
    record = world.accounts[account_id]
    return {
        "username": record.username,
        "maxModelSlots": record.max_model_slots,
        "models": [model(world, m) for m in world.models_of(account_id)],
        "apiTokens": [api_token(k) for k in world.keys.values() if k.account_id == account_id],
    }


def model(world: World, record: Model) -> dict[str, Any]:
    assigned = world.pickles.get(record.assigned_pickle_id) if record.assigned_pickle_id else None
    return {
        "id": record.id, "name": record.name, "tournament": record.tournament, "username": record.name,
        "submissionWebhook": record.submission_webhook,
        "computeEnabled": assigned is not None or bool(record.submission_webhook),
        "computePickleUpload": pickle(world, assigned) if assigned else None,
    }


def trigger(record: Trigger) -> dict[str, Any]:
    return {
        "id": record.id, "computePickleUploadId": record.pickle_id, "roundId": record.round_id,
        "submissionId": record.submission_id, "type": record.type, "status": record.status,
        "insertedAt": record.inserted_at, "updatedAt": record.updated_at,
        "statuses": [{"id": s.id, "computePickleTriggerId": record.id, "status": s.status,
                      "description": s.description, "insertedAt": s.inserted_at, "updatedAt": s.inserted_at}
                     for s in record.statuses],
    }


def pickle(world: World, record: Pickle) -> dict[str, Any]:
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
        "diagnosticsId": None,
        # newest first (creation order reversed: insertedAt has only second resolution)
        "triggers": [trigger(t) for t in reversed(triggers)],
    }


def logs(record: Trigger) -> list[dict[str, Any]]:
    return [{"timestamp": line.timestamp, "message": line.message} for line in record.logs]


def round_view(record: Round, tournament: int) -> dict[str, Any]:
    """The current round; while open its deadlines keep moving ahead of the clock."""
    now = time.time()
    opened = record.opened_at
    close_staking = max(opened + 3600, now + 3600) if record.open else (record.closed_at or opened)
    return _round(record.id, record.number, tournament, opened, close_staking, resolved=False)


def past_round(number: int, tournament: int, opened: float) -> dict[str, Any]:
    from numerai_mcp.emulator.catalog import stable_id

    return _round(stable_id("round", str(number)), number, tournament, opened, opened + 3600, resolved=True)


def _round(round_id: str, number: int, tournament: int, opened: float, close_staking: float,
           resolved: bool) -> dict[str, Any]:
    return {
        "id": round_id, "number": number, "tournament": tournament, "openTime": now_iso(opened),
        "closeStakingTime": now_iso(close_staking), "closeTime": now_iso(close_staking + DAY_S),
        "scoreTime": now_iso(opened + 3 * DAY_S), "resolveTime": now_iso(opened + 30 * DAY_S),
        "resolvedGeneral": resolved, "resolvedStaking": resolved,
        "dataDatestamp": int(time.strftime("%Y%m%d", time.gmtime(opened))), "isDaily": True, "target": "ender20",
    }
