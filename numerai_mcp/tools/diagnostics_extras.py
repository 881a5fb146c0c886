"""What upload_model operation='diagnostics' adds to Numerai's numbers: the plots and the local evaluation beside them.

Plots are the same two PNGs evaluate_pickle draws (per-era CORR bars and cumulative CORR, the example
predictions' on the same axes), written under the cache and returned as images. The local evaluation is
the newest evaluate_pickle result for the same file (by sha256), compared era by era with Numerai's values:
same file, same data and same scoring agree up to rounding; beyond that the file or the data differ.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from pathlib import Path

import anyio.to_thread
from pydantic import Field

from numerai_mcp.api.diagnostics import DiagnosticsReport
from numerai_mcp.api.models import ApiModel, Pickle
from numerai_mcp.errors import NumeraiMcpError
from numerai_mcp.progress import ProgressFn
from numerai_mcp.scores import ERA_TOLERANCE, MEAN_TOLERANCE, compare_per_era

log = logging.getLogger(__name__)


class LocalEvaluation(ApiModel):
    """evaluate_pickle's result for the same file (by sha256), beside Numerai's diagnostics."""

    sha256: str
    evaluated_at: str
    data_source: str
    synthetic: bool
    eras: int = Field(description="Eras the local evaluation scored.")
    eras_compared: int = Field(description="Eras both the local evaluation and Numerai's diagnostics have.")
    local_corr_mean: float | None = Field(default=None, description="Local mean CORR over the compared eras.")
    numerai_corr_mean: float | None = Field(default=None, description="Numerai's mean CORR over the compared eras.")
    largest_difference: float | None = Field(default=None, description="Largest per-era |local - Numerai| CORR.")
    largest_difference_era: str | None = None
    agree: bool | None = Field(default=None, description="Within rounding noise (per era ≤ 0.002, mean ≤ 0.001); "
                               "null when no era is in both.")
    verdict: str
    plots: dict[str, str] = Field(default_factory=dict, description="The local evaluation's PNG files.")


def numerai_series(found: DiagnosticsReport) -> dict[str, float | None]:
    run = found.diagnostics
    return {str(e.era): e.validation_corr for e in (run.per_era_diagnostics if run else []) if e.era is not None}


def local_evaluation(cache_dir: Path, sha256: str | None, found: DiagnosticsReport) -> LocalEvaluation | None:
    """The newest local evaluation of the file, compared with Numerai's per-era CORR (None when there is none)."""
    from numerai_mcp.harness.evaluation_store import latest

    if not sha256:
        return None
    try:
        evaluation = latest(cache_dir, sha256)
    except ValueError:
        return None
    if evaluation is None:
        return None
    local = {row.era: row.corr for row in evaluation.per_era}
    agreement = compare_per_era(local, numerai_series(found))
    if agreement.agree is None:
        verdict = (f"No era in common: the local evaluation scored {len(local)} eras of {evaluation.data_source}, "
                   "Numerai's diagnostics others; nothing to compare.")
    elif agreement.agree:
        verdict = (f"Agrees with Numerai on {agreement.eras_compared} eras (largest per-era difference "
                   f"{agreement.largest_difference:.2g}): the uploaded file is the one evaluated locally.")
    else:
        verdict = (f"DISAGREES with Numerai beyond rounding noise (per era > {ERA_TOLERANCE}, or mean > "
                   f"{MEAN_TOLERANCE}): era {agreement.largest_difference_era} differs by "
                   f"{agreement.largest_difference:.4f}, mean CORR {agreement.first_mean:.4f} here vs "
                   f"{agreement.second_mean:.4f} at Numerai. The file or the validation data differ: check that the "
                   "uploaded pickle is the evaluated one and the data version is the one registered.")
    return LocalEvaluation(
        sha256=evaluation.sha256, evaluated_at=evaluation.created_at, data_source=evaluation.data_source,
        synthetic=evaluation.synthetic, eras=evaluation.era_count, eras_compared=agreement.eras_compared,
        local_corr_mean=agreement.first_mean, numerai_corr_mean=agreement.second_mean,
        largest_difference=agreement.largest_difference, largest_difference_era=agreement.largest_difference_era,
        agree=agreement.agree, verdict=verdict,
        plots={name: path for name, path in evaluation.plots.items() if Path(path).is_file()})


async def draw_plots(cache_dir: Path, pickle: Pickle, found: DiagnosticsReport,
                     progress: ProgressFn | None = None) -> tuple[dict[str, str], list[str]]:
    """({name: PNG path}, warnings) for finished diagnostics with per-era values; drawing problems are warnings.
    The first drawing may provision the plotting runtime (matplotlib): `progress` hears about it."""
    from numerai_mcp.harness.plots import PerEraSeries, already_drawn, draw_with_pinned_runtime

    run = found.diagnostics
    eras = [e for e in (run.per_era_diagnostics if run else []) if e.era is not None]
    if not found.succeeded or not eras:
        return {}, []
    series = PerEraSeries(
        eras=[str(e.era) for e in eras], corr=[e.validation_corr for e in eras],
        label=Path(pickle.filename or pickle.id).stem, benchmark_corr=[e.example_preds_corr for e in eras],
        benchmark_name="example predictions", synthetic="synthetic" in (found.description or "").lower(),
        source="Numerai diagnostics: validation")
    # one folder per run and per set of numbers: asking again reuses the pictures, new numbers get new ones
    digest = hashlib.sha256(json.dumps([series.eras, series.corr, series.benchmark_corr, series.label,
                                        series.synthetic]).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", found.diagnostics_id or pickle.id)[:100]
    folder = cache_dir / "diagnostics" / f"{name}-{digest}"
    if (drawn := already_drawn(folder)) is not None:
        return drawn, []
    try:
        draw = functools.partial(draw_with_pinned_runtime, series, folder, cache_dir, progress=progress)
        return await anyio.to_thread.run_sync(draw), []
    except NumeraiMcpError as exc:  # no interpreter or runtime for matplotlib here: the numbers still stand
        log.info("diagnostics plots not drawn: %s", exc)
        return {}, [f"The plots could not be drawn here ({exc}); the numbers above are complete."]
