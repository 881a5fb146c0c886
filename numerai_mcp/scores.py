"""Summary numbers of a per-era score series, shared by Numerai's diagnostics (api) and local evaluations (harness).

Pure Python on purpose: the server never imports numpy or pandas.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


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
