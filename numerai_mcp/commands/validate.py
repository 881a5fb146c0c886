"""`numerai-mcp validate PKL`: run a pickle the way Numerai would and print the verdict.

Exit status: 0 the pickle passes, 1 it fails, 2 bad arguments (nothing was run).
Progress goes to stderr; `--json` prints only the Verdict JSON on stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from numerai_mcp.harness.verdict import Verdict

_MARK = {"pass": "ok  ", "fail": "FAIL", "warn": "warn", "skip": "skip"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numerai-mcp validate",
        description="Run a model-upload pickle as Numerai's numerai_predict_py_3_X container would (sandboxed, "
                    "pinned libraries, 1 CPU, 4 GB, 10 minutes, no network) and print the verdict.",
    )
    parser.add_argument("pickle", type=Path, help="the predict pickle to validate")
    parser.add_argument("--python", default="auto", help="target Python: auto (from the bytecode) or 3.10-3.13")
    parser.add_argument("--live-data", type=Path, help="your live.parquet (default: Numerai's current file, "
                                                       "else synthetic data)")
    parser.add_argument("--benchmark-data", type=Path, help="your live_benchmark_models.parquet")
    parser.add_argument("--backend", choices=("auto", "local", "docker"), default="auto")
    parser.add_argument("--timeout", type=float, help="wall-clock limit in seconds (Numerai: 600)")
    parser.add_argument("--memory-mb", type=float, help="memory limit for all of predict's processes, in MiB "
                                                        "(Numerai: 4096)")
    parser.add_argument("--allow-unsafe", action="store_true",
                        help="run a pickle the static scan calls dangerous (still sandboxed); where the sandbox "
                             "cannot isolate, run it without isolation instead of refusing")
    parser.add_argument("--expected", type=Path, metavar="FILE",
                        help="predictions made in the training environment on the same live data (parquet or CSV "
                             "indexed by id): also check that the pickle reproduces them")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON on stdout")
    return parser


def format_verdict(verdict: Verdict) -> str:
    """The verdict as a short human-readable report."""
    lines = [verdict.summary, ""]
    lines.append(f"  file      {verdict.path} ({verdict.size} bytes, sha256 {verdict.sha256[:12]}…)")
    lines.append(f"  python    detected {verdict.python_version_detected or 'unknown'}, "
                 f"used {verdict.python_version_used} ({verdict.runtime}, {verdict.backend})")
    lines.append(f"  pins      {verdict.pins_source}")
    lines.append(f"  live data {verdict.live_data_source}")
    if verdict.features_read_count:
        shown = ", ".join(verdict.features_read[:8])
        more = f", … ({verdict.features_read_count - 8} more)" if verdict.features_read_count > 8 else ""
        lines.append(f"  features  reads {verdict.features_read_count} columns: {shown}{more}")
        if verdict.features_missing_count:
            lacking = ", ".join(verdict.features_missing[:12])
            extra = f", … ({verdict.features_missing_count - 12} more)" if verdict.features_missing_count > 12 else ""
            lines.append(f"            the live data lacks {verdict.features_missing_count}: {lacking}{extra}")
    lines.append("")
    for check in verdict.checks:
        lines.append(f"  [{_MARK[check.status]}] {check.name}: {_one_line(check.message)}")
    if verdict.fixes:
        lines += ["", "Next steps:"] + [f"  - {fix}" for fix in verdict.fixes]
    timing = ", ".join(f"{k} {v:.2f}s" for k, v in verdict.timings.items())
    memory = f", peak memory {verdict.peak_memory_mb:.0f} MB" if verdict.peak_memory_mb else ""
    lines += ["", f"Timings: {timing}{memory}"]
    if not verdict.passed and verdict.log_tail:
        lines += ["", "Log tail:"] + [f"  {line}" for line in verdict.log_tail[-12:]]
    return "\n".join(lines)


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def main(argv: list[str]) -> int:
    """Entry point of `numerai-mcp validate`."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    from numerai_mcp.config import Settings
    from numerai_mcp.errors import InvalidInputError, NumeraiMcpError
    from numerai_mcp.facts import gather_facts_blocking
    from numerai_mcp.harness.validate import validate_pickle
    from numerai_mcp.redact import redact

    started = time.perf_counter()

    def progress(done: float, total: float | None, message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        if not args.pickle.is_file():  # before anything is fetched
            raise InvalidInputError(f"No file at {args.pickle}: pass the path of the predict pickle to validate.")
        settings = Settings.from_env(strict_credentials=False)  # validation needs no key
        progress(0, None, "asking Numerai for the default runtime and the current live data")
        facts = gather_facts_blocking(settings, images=args.python in ("", "auto"), live=args.live_data is None)
        verdict = validate_pickle(
            args.pickle, python_version=args.python, live_data=args.live_data, benchmark_data=args.benchmark_data,
            backend=args.backend, timeout_s=args.timeout, allow_unsafe=args.allow_unsafe, facts=facts,
            cache_dir=settings.cache_dir, memory_bytes=int(args.memory_mb * 1024**2) if args.memory_mb else None,
            expected_predictions=args.expected, progress=progress,
        )
    except NumeraiMcpError as exc:  # bad arguments; no interpreter, isolation or Docker engine: the message says what to do
        print(f"numerai-mcp validate: {redact(str(exc))}", file=sys.stderr)
        return 2
    if args.json:
        print(verdict.model_dump_json(indent=2))
    else:
        print(format_verdict(verdict))
    return 0 if verdict.passed else 1
