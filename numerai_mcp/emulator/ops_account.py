"""Resolvers for the account, tokens, model slots and webhooks.

Model names follow Numerai's rule as far as it is known ("username-safe", at most 20
characters): the emulator allows letters, digits and underscores, and compares names
case-insensitively when checking uniqueness (across all accounts, per tournament). The
error texts are emulator-chosen: Numerai's exact strings are not known.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from numerai_mcp.emulator import views
from numerai_mcp.emulator.catalog import SCOPES, TOURNAMENTS
from numerai_mcp.emulator.context import RequestContext, fail, own_model
from numerai_mcp.emulator.state import ApiKey, Model, World, now_iso

NAME_MAX = 20
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a model name, or None."""
    if not name:
        return "Model name must not be empty."
    if len(name) > NAME_MAX:
        return f"Model name '{name}' is too long: at most {NAME_MAX} characters are allowed."
    if not _NAME.match(name):
        return f"Model name '{name}' is not username-safe: use only letters, digits and underscores."
    return None


def _taken(world: World, name: str, tournament: int, but: str | None = None) -> bool:
    return any(m.name.lower() == name.lower() and m.tournament == tournament and m.id != but
               for m in world.models.values())


def _check_tournament(tournament: int) -> None:
    if tournament not in TOURNAMENTS:
        known = ", ".join(f"{n} ({label})" for n, label in TOURNAMENTS.items())
        raise fail(f"Unknown tournament {tournament}: use one of {known}.")


def account(ctx: RequestContext, key: ApiKey) -> dict[str, Any]:
    with ctx.emulator.store.read() as world:
        return views.account(world, key.account_id)


def model(ctx: RequestContext, key: ApiKey, model_id: str | None = None) -> dict[str, Any] | None:
    if model_id is None:
        return None
    with ctx.emulator.store.read() as world:
        return views.model(world, own_model(world, key, model_id))


def api_token_info(ctx: RequestContext, key: ApiKey) -> dict[str, Any]:
    with ctx.emulator.store.read() as world:
        username = world.accounts[key.account_id].username
    return {"accountUsername": username, **views.api_token(key)}


def api_token_scopes(ctx: RequestContext, key: ApiKey | None) -> list[dict[str, str]]:
    return [{"name": name, "description": text} for name, text in SCOPES.items()]


def model_name_available(ctx: RequestContext, key: ApiKey | None, name: str, tournament: int) -> bool:
    if name_problem(name) or tournament not in TOURNAMENTS:
        return False
    with ctx.emulator.store.read() as world:
        return not _taken(world, name, tournament)


def _check_free_slot(world: World, account_id: str, doing: str) -> None:
    """Archived models do not count against the limit (Numerai: "exclude from model limits")."""
    owner = world.accounts[account_id]
    if len(world.models_of(account_id, archived=False)) >= owner.max_model_slots:
        raise fail(f"Maximum number of model slots reached ({owner.max_model_slots}). Archive a model or "
                   f"earn more slots before {doing}.")


def add_model(ctx: RequestContext, key: ApiKey, name: str, tournament: int) -> dict[str, Any]:
    _check_tournament(tournament)
    if problem := name_problem(name):
        raise fail(problem)
    with ctx.emulator.store.change() as world:
        owner = world.accounts[key.account_id]
        if _taken(world, name, tournament):
            raise fail(f"Model name '{name}' is already taken in tournament {tournament}.")
        _check_free_slot(world, owner.id, "adding another")
        record = Model(str(uuid.uuid4()), name, tournament, owner.id, now_iso())
        world.models[record.id] = record
        return views.model(world, record)


def set_submission_webhook(ctx: RequestContext, key: ApiKey, model_id: str | None = None,
                           new_submission_webhook: str | None = None) -> str:
    webhook = (new_submission_webhook or "").strip() or None
    if webhook and not webhook.startswith(("https://", "http://")):
        raise fail(f"Submission webhook '{webhook}' is not an http(s) URL.")
    with ctx.emulator.store.change() as world:
        record = own_model(world, key, model_id)
        if webhook and record.assigned_pickle_id:
            raise fail(f"Model {record.name} runs an uploaded pickle; unassign it (assignPickleToModel with "
                       "pickleId null) before setting a submission webhook.")
        record.submission_webhook = webhook
    return "true"


def rename_model(ctx: RequestContext, key: ApiKey, model_id: str, name: str) -> dict[str, Any]:
    if problem := name_problem(name):
        raise fail(problem)
    with ctx.emulator.store.change() as world:
        record = own_model(world, key, model_id)
        if _taken(world, name, record.tournament, but=record.id):
            raise fail(f"Model name '{name}' is already taken in tournament {record.tournament}.")
        record.name = name
        return views.model(world, record)


def archive_model(ctx: RequestContext, key: ApiKey, model_id: str) -> dict[str, Any]:
    with ctx.emulator.store.change() as world:
        record = own_model(world, key, model_id)
        if not record.archived:
            record.archived_at = now_iso()
        return views.model(world, record)


def unarchive_model(ctx: RequestContext, key: ApiKey, model_id: str) -> dict[str, Any]:
    with ctx.emulator.store.change() as world:
        record = own_model(world, key, model_id)
        if record.archived:
            _check_free_slot(world, key.account_id, f"unarchiving {record.name}")
            record.archived_at = None
        return views.model(world, record)


def trigger_model_webhook(ctx: RequestContext, key: ApiKey, model_id: str) -> str:
    """The sandbox has no internet: it checks the slot has a webhook and reports success without calling it."""
    with ctx.emulator.store.read() as world:
        record = own_model(world, key, model_id)
        if not record.submission_webhook:
            raise fail(f"Model {record.name} has no submission webhook; set one with setSubmissionWebhook "
                       "first.")  # emulator-chosen
    return "true"


def submission_webhook_test_placeholder(ctx: RequestContext, key: ApiKey) -> None:
    """Numerai's deprecated placeholder: always null."""
    return None


def pending_model_payouts(ctx: RequestContext, key: ApiKey, tournament: int) -> dict[str, Any]:
    """Nobody stakes in the sandbox, so nothing is ever paid out."""
    _check_tournament(tournament)
    return {"actual": [], "pending": []}
