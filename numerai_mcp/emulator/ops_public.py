"""Resolvers that need no key: rounds, datasets and the CryptoSignals page."""

from __future__ import annotations

from typing import Any

from numerai_mcp.emulator import views
from numerai_mcp.emulator.catalog import CLASSIC, CRYPTO
from numerai_mcp.emulator.context import RequestContext, fail
from numerai_mcp.emulator.core import DATASET_PREFIX
from numerai_mcp.emulator.state import ApiKey, now_iso

PAST_ROUNDS = 4
DAY_S = 24 * 3600
# numerapi's comment quotes this text for `rounds(number: 0)` between rounds.
ROUND_NOT_OPEN = "Current round not open for submissions"


def rounds(ctx: RequestContext, key: ApiKey | None, limit: int | None = None, number: int | None = None,
           status: str | None = None, target: str | None = None, tournament: int | None = None) -> list[dict[str, Any]]:
    """The current round (OPEN, or RESOLVING once closed) and a few RESOLVED ones, newest first."""
    tournament = CLASSIC if tournament is None else tournament
    with ctx.emulator.store.read() as world:
        current = world.round
        listed = [(views.round_view(current, tournament), "OPEN" if current.open else "RESOLVING")]
        listed += [(views.past_round(current.number - i, tournament, current.opened_at - i * DAY_S), "RESOLVED")
                   for i in range(1, PAST_ROUNDS + 1)]
    if number == 0:
        if not current.open:
            raise fail(ROUND_NOT_OPEN)
        listed = listed[:1]
    elif number is not None:
        listed = [item for item in listed if item[0]["number"] == number]
    if status is not None:
        listed = [item for item in listed if item[1] == status]
    if target is not None:
        listed = [item for item in listed if item[0]["target"] == target]
    found = [view for view, _ in listed]
    return found[:limit] if limit is not None and limit >= 0 else found


def list_datasets(ctx: RequestContext, key: ApiKey | None, round: int | None = None,  # noqa: A002
                  tournament: int | None = None) -> list[str]:
    if tournament not in (None, CLASSIC):
        return []
    try:
        return ctx.emulator.datasets.files()
    except RuntimeError as exc:
        raise fail(str(exc)) from None


def dataset(ctx: RequestContext, key: ApiKey | None, filename: str, round: int | None = None,  # noqa: A002
            tournament: int | None = None) -> str:
    try:
        path = ctx.emulator.datasets.resolve(filename)
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    if path is None or tournament not in (None, CLASSIC):
        raise fail(f"Dataset file '{filename}' not found; listDatasets gives the available files.")  # emulator-chosen
    return ctx.emulator.presign(ctx.base_url, "GET", DATASET_PREFIX + filename, owner="")


def cryptosignals_meta_model_page(ctx: RequestContext, key: ApiKey | None) -> dict[str, Any]:
    """The CryptoSignals meta model's holdings: nobody stakes in the sandbox, so an empty table."""
    return {"tournament": CRYPTO, "tableData": [], "totalStakes": 0, "totalAtStake": views.NMR_ZERO,
            "lastUpdated": now_iso()}
