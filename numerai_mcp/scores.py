"""Summary numbers of a per-era score series, shared by Numerai's diagnostics (api) and local evaluations (harness),
and how two series of the same file agree.

Pure Python on purpose: the server never imports numpy or pandas.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def mean_std_sharpe(values: Sequence[float]) -> tuple[float, float | None, float | None]:
    """(mean, sample standard deviation as pandas computes it, mean / std); std and sharpe need two values."""
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std, (mean / std if std else None)


def max_drawdown(values: Sequence[float]) -> float:
    """Largest fall of the cumulative sum from its previous peak (>= 0); the running peak starts at 0."""
    cumulative = peak = drawdown = 0.0
    for value in values:
        cumulative += value
        peak = max(peak, cumulative)
        drawdown = max(drawdown, peak - cumulative)
    return drawdown


# Numerai and numerai-mcp score the same file on the same data with the same functions (numerai-tools); what is
# left is float rounding (Numerai may score in float32). Beyond this, the file or the data differ.
ERA_TOLERANCE = 0.002
MEAN_TOLERANCE = 0.001


@dataclass(frozen=True)
class PerEraAgreement:
    """How two per-era CORR series of one file agree on the eras both have."""

    eras_compared: int
    first_mean: float | None
    second_mean: float | None
    largest_difference: float | None
    largest_difference_era: str | None
    agree: bool | None  # None: no era in common, nothing to judge


def compare_per_era(first: Mapping[str, float | None], second: Mapping[str, float | None]) -> PerEraAgreement:
    """Compare two {era: CORR} series on their common eras (an era without a value in either is skipped)."""
    common = sorted(era for era in first.keys() & second.keys()
                    if first[era] is not None and second[era] is not None)
    if not common:
        return PerEraAgreement(0, None, None, None, None, None)
    differences = {era: abs(float(first[era]) - float(second[era])) for era in common}  # type: ignore[arg-type]
    worst = max(common, key=lambda era: differences[era])
    mean_first = statistics.fmean(float(first[era]) for era in common)  # type: ignore[arg-type]
    mean_second = statistics.fmean(float(second[era]) for era in common)  # type: ignore[arg-type]
    agree = differences[worst] <= ERA_TOLERANCE and abs(mean_first - mean_second) <= MEAN_TOLERANCE
    return PerEraAgreement(len(common), mean_first, mean_second, differences[worst], worst, agree)
