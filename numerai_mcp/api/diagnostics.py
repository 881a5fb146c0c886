"""Numerai's diagnostics of an uploaded pickle: find its run, wait while it is pending, sum up what it says.

Numerai scores every validated pickle on its validation data: the pickle carries `diagnosticsId`,
`diagnosticsStatus` and `diagnosticsStatusDescription`, and `diagnostics(id)` returns the run (`V2Diagnostics`)
with its headline numbers and `perEraDiagnostics`. What is read back is bounded: at most MAX_ERAS eras, and
Numerai's texts cut to a line.
"""

from __future__ import annotations

from pydantic import Field

from numerai_mcp.api import deploy
from numerai_mcp.api import operations as ops
from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.errors import FlowError
from numerai_mcp.api.health import failure_description, short
from numerai_mcp.api.models import (
    VALIDATION_OK,
    ApiModel,
    Diagnostics,
    Pickle,
    is_status_success,
    is_trigger_finished,
)
from numerai_mcp.scores import max_drawdown, mean_std_sharpe

MAX_ERAS = 2000  # Numerai's validation data has about 650 eras


class EraStats(ApiModel):
    """The per-era validation CORR in a few numbers (computed here from Numerai's per-era values)."""

    eras: int
    mean: float
    std: float | None = Field(default=None, description="Sample standard deviation (as pandas computes it).")
    sharpe: float | None = Field(default=None, description="mean / std.")
    positive_share: float = Field(description="Share of eras with a positive CORR.")
    worst_era: str | None = None
    worst: float
    best_era: str | None = None
    best: float
    max_drawdown: float = Field(description="Largest fall of the cumulative CORR from its previous peak (≥ 0).")
    final_cumulative: float = Field(description="Cumulative CORR at the last era.")


class DiagnosticsReport(ApiModel):
    """Numerai's diagnostics of one pickle, and what they mean."""

    pickle_id: str
    diagnostics_id: str | None = None
    status: str | None = Field(default=None, description="Numerai's diagnostics status (pending, running, "
                               "succeeded, failed…).")
    finished: bool
    succeeded: bool | None = None
    description: str | None = Field(default=None, description="Numerai's message about the run (the failure reason).")
    diagnostics: Diagnostics | None = Field(default=None, description="Numerai's V2Diagnostics: headline numbers "
                                            "(Numerai's names) and perEraDiagnostics.")
    corr_per_era: EraStats | None = None
    eras_cut: int | None = Field(default=None, description="Eras left out beyond the first MAX_ERAS.")


async def pickle_for(client: NumeraiClient, *, pickle_id: str | None, model_id: str | None) -> Pickle:
    """The pickle named, else the one assigned to the slot, else the newest one uploaded for it."""
    if pickle_id:
        return await deploy.require_pickle(client, pickle_id)
    if not model_id:
        raise FlowError("Diagnostics need pickleId, or modelId of a slot with a pickle.")
    model = await deploy.find_model(client, model_id)
    if model.compute_pickle_upload is not None:
        return await deploy.require_pickle(client, model.compute_pickle_upload.id)
    uploads = await ops.list_pickles(client, model_id=model_id)
    if not uploads:
        raise FlowError(f"Model {model.name!r} has no pickle: upload one with upload_model operation='upload' "
                        f"modelId={model_id!r} localPath=(your validated .pkl).")
    newest = sorted(uploads, key=lambda p: p.inserted_at or "", reverse=True)[0]
    return await deploy.require_pickle(client, newest.id)


async def read(client: NumeraiClient, pickle: Pickle) -> DiagnosticsReport:
    """The pickle's diagnostics run as Numerai reports it now."""
    run = None
    if pickle.diagnostics_id:
        run = next((r for r in await ops.diagnostics(client, diagnostics_id=pickle.diagnostics_id)
                    if r.id == pickle.diagnostics_id), None)
    if run is None and pickle.model_id:  # no id yet, or the id lookup found nothing: search the slot's runs
        mine = [r for r in await ops.diagnostics(client, model_id=pickle.model_id)
                if r.compute_pickle_upload_id == pickle.id]
        run = max(mine, key=lambda r: r.inserted_at or "") if mine else None
    return report(pickle, run)


def report(pickle: Pickle, run: Diagnostics | None) -> DiagnosticsReport:
    """What the run (or, before it exists, the pickle) says: its status, whether it is over, and the numbers."""
    status = (run.status if run else None) or pickle.diagnostics_status
    description = short((run.message if run else None) or pickle.diagnostics_status_description) or None
    if status is None:  # no diagnostics run (yet): they start after validation, and never for a failed pickle
        failed = pickle.validation_finished and (pickle.validation_status or "").lower() != VALIDATION_OK
        why = (short(failure_description(pickle)) or None) if failed else description
        return DiagnosticsReport(pickle_id=pickle.id, diagnostics_id=pickle.diagnostics_id, finished=failed,
                                 succeeded=False if failed else None, description=why)
    finished = is_trigger_finished(status)
    cut = None
    if run is not None and len(run.per_era_diagnostics) > MAX_ERAS:
        cut = len(run.per_era_diagnostics) - MAX_ERAS
        run = run.model_copy(update={"per_era_diagnostics": run.per_era_diagnostics[:MAX_ERAS]})
    if run is not None:
        run = run.model_copy(update={"message": short(run.message) or None})
    return DiagnosticsReport(
        pickle_id=pickle.id, diagnostics_id=(run.id if run else None) or pickle.diagnostics_id, status=status,
        finished=finished, succeeded=is_status_success(status) if finished else None, description=description,
        diagnostics=run, corr_per_era=era_stats(run), eras_cut=cut,
    )


async def wait(client: NumeraiClient, pickle_id: str, *, timeout_s: float,
               progress: deploy.AsyncProgress | None = None) -> tuple[Pickle, DiagnosticsReport]:
    """Poll until the diagnostics are over or `timeout_s` passes (the report then says it is not finished)."""
    latest: list[tuple[Pickle, DiagnosticsReport]] = []

    async def read_once() -> tuple[bool, str]:
        pickle = await deploy.require_pickle(client, pickle_id)
        found = await read(client, pickle)
        latest[:] = [(pickle, found)]
        return found.finished, f"diagnosticsStatus={found.status or 'not started'}"

    settings = client.settings
    await deploy.poll_until(read_once, timeout_s=timeout_s, initial=settings.poll_initial, maximum=settings.poll_max,
                            progress=progress)
    return latest[0]


def era_stats(run: Diagnostics | None) -> EraStats | None:
    """Mean, spread, worst and best era, and drawdown of the per-era validation CORR (None without values)."""
    rows = [(e.era, e.validation_corr) for e in (run.per_era_diagnostics if run else []) if e.validation_corr is not None]
    if not rows:
        return None
    values = [value for _, value in rows]
    mean, std, sharpe = mean_std_sharpe(values)
    worst = min(rows, key=lambda r: r[1])
    best = max(rows, key=lambda r: r[1])
    return EraStats(eras=len(values), mean=mean, std=std, sharpe=sharpe,
                    positive_share=sum(1 for v in values if v > 0) / len(values), worst_era=worst[0], worst=worst[1],
                    best_era=best[0], best=best[1], max_drawdown=max_drawdown(values), final_cumulative=sum(values))


_HEADLINE = (("validation_corr_mean", "CORR mean"), ("validation_corr_sharpe", "Sharpe"),
             ("validation_max_drawdown", "max drawdown"), ("validation_bmc_mean", "BMC mean"),
             ("validation_mmc_mean", "MMC mean"), ("validation_feature_corr_max", "max feature exposure"),
             ("validation_corr_corr_w_example_preds", "corr. with example preds"))


def headline(found: DiagnosticsReport) -> str:
    """Numerai's headline numbers in one line, or what is there instead."""
    run = found.diagnostics
    numbers = [f"{label} {value:.4f}" for name, label in _HEADLINE
               if run is not None and (value := getattr(run, name)) is not None]
    stats = found.corr_per_era
    if stats is not None:
        numbers.append(f"{stats.eras} eras, {stats.positive_share:.0%} with positive CORR")
    return ", ".join(numbers) if numbers else "Numerai reported no metrics for it"
