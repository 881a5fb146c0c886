"""`numerai-mcp evaluate PKL`: score a pickle on validation data era by era, print the numbers, write the plots.

Exit status: 0 the pickle ran on every era and was scored, 1 it failed, 2 bad arguments or no data (nothing run).
Progress goes to stderr; `--json` prints only the Evaluation JSON on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from numerai_mcp.harness.evaluate import Evaluation


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numerai-mcp evaluate",
        description="Run a model-upload pickle on validation data one era at a time (sandboxed, as validation runs "
                    "it) and score it with numerai-tools: per-era CORR, mean, std, Sharpe, max drawdown, the "
                    "benchmark's CORR, correlation with the benchmark, BMC and max feature exposure.",
    )
    parser.add_argument("pickle", type=Path, help="the predict pickle to evaluate")
    parser.add_argument("--eras", default=None, help="N most recent eras with targets (default 100), 'all', or era "
                                                     "labels: 0575,0580-0600")
    parser.add_argument("--data-version", help="Numerai data version whose validation files to use (default: the "
                                               "current one)")
    parser.add_argument("--validation-data", type=Path, help="your own validation parquet (indexed by id, with era, "
                                                             "the features and target) instead of Numerai's")
    parser.add_argument("--benchmark-data", type=Path, help="benchmark-model predictions for --validation-data")
    parser.add_argument("--python", default="auto", help="target Python: auto (from the bytecode) or 3.10-3.13")
    parser.add_argument("--timeout", type=float, help="wall-clock limit of the whole run in seconds "
                                                      "(default 600 + 60 per era)")
    parser.add_argument("--allow-unsafe", action="store_true", help="run a pickle the static scan calls dangerous "
                                                                    "(still sandboxed)")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="write the PNG plots into DIR")
    parser.add_argument("--no-cache", action="store_true", help="evaluate again even if this file was evaluated "
                                                                "on the same data and eras")
    parser.add_argument("--json", action="store_true", help="print the evaluation as JSON on stdout")
    return parser


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_evaluation(evaluation: Evaluation, last: int = 20) -> str:
    """The evaluation as a short report: headline numbers, the last eras, the plots."""
    lines = [evaluation.summary, ""]
    lines.append(f"  file      {evaluation.path} (sha256 {evaluation.sha256[:12]}…)")
    lines.append(f"  python    {evaluation.python_version} ({evaluation.runtime})")
    lines.append(f"  data      {evaluation.data_source}: {evaluation.era_count} eras, {evaluation.rows} rows "
                 f"({evaluation.eras_requested})")
    if evaluation.synthetic:
        lines.append("  NOTE      synthetic data: these numbers say nothing about the model on Numerai's data")
    if evaluation.passed:
        lines += ["", f"  CORR mean {_number(evaluation.validation_corr_mean)}   std "
                      f"{_number(evaluation.validation_corr_std)}   sharpe {_number(evaluation.validation_corr_sharpe, 2)}"
                      f"   max drawdown {_number(evaluation.validation_max_drawdown)}",
                  f"  benchmark {evaluation.benchmark_model or '—'}: CORR {_number(evaluation.validation_benchmark_corr_mean)}"
                  f", correlation with it {_number(evaluation.validation_corr_w_benchmark, 3)}, BMC "
                  f"{_number(evaluation.validation_bmc_mean)}",
                  f"  max feature exposure {_number(evaluation.validation_feature_corr_max, 3)}", "",
                  f"  {'era':>8} {'CORR':>8} {'bench':>8} {'BMC':>8} {'exposure':>8}"]
        rows = evaluation.per_era[-last:]
        if len(evaluation.per_era) > last:
            lines.append(f"  … {len(evaluation.per_era) - last} earlier eras (--json lists them all)")
        lines += [f"  {row.era:>8} {_number(row.corr):>8} {_number(row.benchmark_corr):>8} {_number(row.bmc):>8} "
                  f"{_number(row.feature_corr_max, 3):>8}" for row in rows]
    for check in evaluation.checks:
        lines.append(f"  [{check.status}] {check.name}: {check.message}")
    if evaluation.fixes:
        lines += ["", "Next steps:"] + [f"  - {fix}" for fix in evaluation.fixes]
    if evaluation.plots:
        lines += ["", "Plots:"] + [f"  {path}" for path in evaluation.plots.values()]
    if not evaluation.passed and evaluation.log_tail:
        lines += ["", "Log tail:"] + [f"  {line}" for line in evaluation.log_tail[-12:]]
    timing = ", ".join(f"{k} {v:.2f}s" for k, v in evaluation.timings.items())
    memory = f", peak memory {evaluation.peak_memory_mb:.0f} MB" if evaluation.peak_memory_mb else ""
    return "\n".join([*lines, "", f"Timings: {timing}{memory}{' (cached)' if evaluation.cached else ''}"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    from numerai_mcp.config import Settings
    from numerai_mcp.errors import NumeraiMcpError
    from numerai_mcp.harness.evaluate import ValidationData, evaluate_pickle, parse_eras
    from numerai_mcp.redact import install_log_redaction, redact

    install_log_redaction()
    started = time.perf_counter()

    def progress(done: float, total: float | None, message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    def fail(message: str) -> int:
        print(f"numerai-mcp evaluate: {redact(message)}", file=sys.stderr)
        return 2

    try:
        parse_eras(args.eras)
        settings = Settings.from_env(strict_credentials=False)  # Numerai's datasets need no key
        if args.validation_data is not None:
            data = ValidationData(args.validation_data, args.benchmark_data)
        elif args.benchmark_data is not None:
            return fail("--benchmark-data goes with --validation-data (your own validation file).")
        else:
            data = asyncio.run(_numerai_data(settings, args.data_version, progress))
        evaluation = evaluate_pickle(
            args.pickle, data, eras=args.eras, python_version=args.python, timeout_s=args.timeout,
            allow_unsafe=args.allow_unsafe, plot_dir=args.plot, use_cache=not args.no_cache,
            cache_dir=settings.cache_dir, progress=progress)
    except NumeraiMcpError as exc:  # bad arguments or data, no interpreter or isolation, the API refused
        return fail(str(exc))
    print(evaluation.model_dump_json(indent=2) if args.json else format_evaluation(evaluation))
    return 0 if evaluation.passed else 1


async def _numerai_data(settings, data_version, progress):  # type: ignore[no-untyped-def]
    from numerai_mcp.api.client import NumeraiClient
    from numerai_mcp.api.datasets import validation_files
    from numerai_mcp.harness.evaluate import ValidationData

    async def report(done: float, total: float | None, message: str) -> None:
        progress(done, total, message)

    async with NumeraiClient(settings) as client:
        files = await validation_files(client, settings.cache_dir, data_version, progress=report)
    return ValidationData(files.validation, files.benchmarks, files.source, files.data_version)
