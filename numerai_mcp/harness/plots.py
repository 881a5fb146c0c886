"""Per-era CORR pictures (bars and cumulative, a benchmark's on the same axes) for any series of scores.

Local evaluations and Numerai's diagnostics draw the same two PNGs, so users compare like with like.
Drawing runs plot_script.py with a pinned runtime's interpreter (matplotlib is pinned in Numerai's
images); the server itself never imports matplotlib. The request holds only numbers and labels.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from numerai_mcp.progress import ProgressFn

if TYPE_CHECKING:
    from numerai_mcp.harness.runtime import LocalRuntime

FILES = {"per_era": "corr_per_era.png", "cumulative": "corr_cumulative.png"}  # as plot_script.py names them


@dataclass(frozen=True)
class PerEraSeries:
    """What a plot shows: per-era CORR of a model, optionally a benchmark's, and where the numbers come from."""

    eras: Sequence[str]
    corr: Sequence[float | None]
    label: str
    benchmark_corr: Sequence[float | None] | None = None
    benchmark_name: str | None = None
    synthetic: bool = False
    source: str = "Validation"  # the title's first word(s), e.g. "Numerai diagnostics: validation"


def already_drawn(out_dir: Path) -> dict[str, str] | None:
    """{name: path} when `out_dir` holds both pictures (drawn earlier for the same numbers), else None."""
    found = {name: Path(out_dir) / file for name, file in FILES.items()}
    return {name: str(path) for name, path in found.items()} if all(p.is_file() for p in found.values()) else None


def draw(series: PerEraSeries, out_dir: Path, runtime: LocalRuntime, cache_dir: Path) -> dict[str, str]:
    """Write per_era and cumulative PNGs into `out_dir`; {name: path} (empty for an empty series)."""
    from numerai_mcp.harness.evaluate import PLOT_SCRIPT, run_script

    if not series.eras:
        return {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bench = list(series.benchmark_corr) if series.benchmark_corr and any(
        v is not None for v in series.benchmark_corr) else None
    with tempfile.TemporaryDirectory(prefix="numerai-plot-") as work:
        answer = run_script(runtime, PLOT_SCRIPT, [], {
            "eras": list(series.eras), "corr": list(series.corr), "benchmark_corr": bench,
            "benchmark_name": series.benchmark_name, "label": series.label, "synthetic": series.synthetic,
            "source": series.source, "out_dir": str(out_dir)}, cache_dir, Path(work))
    return {str(name): str(path) for name, path in answer["written"].items()}


def draw_with_pinned_runtime(series: PerEraSeries, out_dir: Path, cache_dir: Path, python_version: str | None = None,
                             progress: ProgressFn | None = None) -> dict[str, str]:
    """`draw` with the pinned runtime evaluations use (provisioned on first use, with progress, then reused)."""
    from numerai_mcp.harness.catalogue import CATALOGUE_DEFAULT_PYTHON
    from numerai_mcp.harness.evaluate import SCORING_PACKAGES
    from numerai_mcp.harness.runtime import ensure_runtime

    runtime = ensure_runtime(python_version or CATALOGUE_DEFAULT_PYTHON, list(SCORING_PACKAGES), cache_dir=cache_dir,
                             progress=progress)
    return draw(series, out_dir, runtime, cache_dir)
