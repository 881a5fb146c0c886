"""Resolvers for what runs produce: submissions, per-round performances and diagnostics.

A submission is recorded when a run of a pickle succeeds (jobs.record_submission); the
sandbox does not score rounds, so performances carry no scores. A pickle's validation is
its diagnostics run (`ComputePickleUpload.diagnosticsId`). Uploading predictions for
diagnostics is not emulated: those calls fail with a message that says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from numerai_mcp.emulator import views
from numerai_mcp.emulator.context import RequestContext, fail
from numerai_mcp.emulator.state import ApiKey

DIAGNOSTICS_UPLOADS = ("The sandbox does not emulate diagnostics uploads of prediction files. Upload a pickle "
                       "instead: its validation is its diagnostics run (computePickleUpload.diagnosticsId, "
                       "diagnostics(modelId)).")  # emulator-chosen


def _of_account(records: Iterable[Any], key: ApiKey, model_id: str | None) -> list[Any]:
    """The caller's records (submissions or pickles), optionally only one model's, in creation order."""
    return [r for r in records if r.account_id == key.account_id and (model_id is None or r.model_id == str(model_id))]


def submissions(ctx: RequestContext, key: ApiKey, id: str | None = None,  # noqa: A002
                model_id: str | None = None) -> list[dict[str, Any]]:
    """The account's submissions, newest first, optionally one id or one model's."""
    with ctx.emulator.store.read() as world:
        found = [s for s in _of_account(world.submissions.values(), key, model_id) if id is None or s.id == str(id)]
        return [views.submission(world, s) for s in reversed(found)]


def v2_round_model_performances(ctx: RequestContext, key: ApiKey | None, model_id: str,
                                tournament: int | None = 8, **filters: Any) -> list[dict[str, Any]]:
    """A model's rounds with a submission (the latest per round), newest first; public, like Numerai's."""
    with ctx.emulator.store.read() as world:
        model = world.models.get(str(model_id))
        if model is None or (tournament is not None and model.tournament != tournament):
            return []
        current = world.round.number
        rounds = {s.round_number: s for s in world.submissions_of(model.id)}  # oldest first: the latest wins
        found = [views.round_performance(world, rounds[n]) for n in sorted(rounds, reverse=True)]
    return _filter_rounds(found, current, **filters)


def _filter_rounds(found: list[dict[str, Any]], current: int, *, last_n_rounds: int | None = None,
                   round_number_eq: int | None = None, round_number_gte: int | None = None,
                   round_number_lte: int | None = None, resolved_only: bool | None = None,
                   limit: int | None = None, offset: int | None = None, **_ignored: Any) -> list[dict[str, Any]]:
    """Numerai's filters that the sandbox's data can answer; the others (scoring dates) select everything."""
    checks = [
        (last_n_rounds, lambda r: r["roundNumber"] > current - last_n_rounds),
        (round_number_eq, lambda r: r["roundNumber"] == round_number_eq),
        (round_number_gte, lambda r: r["roundNumber"] >= round_number_gte),
        (round_number_lte, lambda r: r["roundNumber"] <= round_number_lte),
        (resolved_only or None, lambda r: r["roundResolved"]),
    ]
    for value, keep in checks:
        if value is not None:
            found = [r for r in found if keep(r)]
    start = max(offset or 0, 0)
    return found[start:start + limit] if limit is not None and limit >= 0 else found[start:]


def diagnostics(ctx: RequestContext, key: ApiKey, id: str | None = None,  # noqa: A002
                model_id: str | None = None) -> list[dict[str, Any]]:
    """The diagnostics runs of the account's pickles (their validations), newest first."""
    with ctx.emulator.store.read() as world:
        runs = [views.diagnostics(p) for p in reversed(_of_account(world.pickles.values(), key, model_id))]
    return [r for r in runs if id is None or r["id"] == str(id)]


def diagnostics_upload_auth(ctx: RequestContext, key: ApiKey, filename: str, tournament: int,
                            model_id: str | None = None) -> dict[str, Any]:
    raise fail(DIAGNOSTICS_UPLOADS)


def create_diagnostics(ctx: RequestContext, key: ApiKey, filename: str, tournament: int,
                       model_id: str | None = None) -> dict[str, Any]:
    raise fail(DIAGNOSTICS_UPLOADS)


def delete_diagnostics(ctx: RequestContext, key: ApiKey, v2_diagnostics_ids: list[str]) -> str:
    raise fail(DIAGNOSTICS_UPLOADS)
