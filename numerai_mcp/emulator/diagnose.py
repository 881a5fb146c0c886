"""How the emulator computes a validated pickle's diagnostics, as Numerai does after validation succeeds.

    Diagnoser = Callable[[Path, python_version "3.12", data_version "v5.2"], DiagnosticsOutcome]

The default is the harness's `evaluate_pickle` on the emulator's synthetic validation set (every era,
the same sandbox and the same numerai-tools scoring as the `evaluate_pickle` tool), turned into
V2Diagnostics fields. The untrusted pickle never runs in the emulator process. Numbers on synthetic
data say nothing about a model; the run's message says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numerai_mcp.emulator.validation import ValidatorContext, harness_cache
from numerai_mcp.errors import NumeraiMcpError
from numerai_mcp.redact import redact


@dataclass(frozen=True)
class DiagnosticsOutcome:
    passed: bool
    description: str
    fields: dict[str, Any] = field(default_factory=dict)  # V2Diagnostics fields (camelCase), perEraDiagnostics too


Diagnoser = Callable[[Path, str, str], DiagnosticsOutcome]


def v2_fields(evaluation: Any, process_secs: float) -> dict[str, Any]:
    """An Evaluation as a V2Diagnostics run's fields (the harness's mapping, plus what the run itself reports)."""
    from numerai_mcp.harness.evaluate import as_v2_diagnostics

    return {**as_v2_diagnostics(evaluation), "processSecs": round(process_secs, 3), "erasMissing": [],
            "trainedOnVal": False}


def harness_diagnoser(ctx: ValidatorContext) -> Diagnoser:
    """Score with the harness's evaluate_pickle on the emulator's own validation files."""

    def diagnose(path: Path, python_version: str, data_version: str) -> DiagnosticsOutcome:
        from numerai_mcp.harness.evaluate import ValidationData, evaluate_pickle

        validation, benchmarks = ctx.datasets.validation_files(data_version)
        if validation is None:
            return DiagnosticsOutcome(False, f"The sandbox has no validation data for {data_version}.")
        started = time.perf_counter()
        try:
            evaluation = evaluate_pickle(
                path, ValidationData(validation, benchmarks, f"the sandbox's synthetic {data_version} validation data",
                                     data_version),
                eras="all", python_version=python_version, plots=False, cache_dir=harness_cache(ctx))
        except NumeraiMcpError as exc:  # no isolation here, no runtime, unreadable data: the run fails, says why
            return DiagnosticsOutcome(False, f"The sandbox could not compute diagnostics: {redact(exc)}")
        if not evaluation.passed:
            return DiagnosticsOutcome(False, evaluation.summary.removeprefix("FAIL: "))
        return DiagnosticsOutcome(True, f"Diagnostics computed on {evaluation.era_count} eras of synthetic validation "
                                        "data (the sandbox's: the numbers say nothing about a model).",
                                  v2_fields(evaluation, time.perf_counter() - started))

    return diagnose
