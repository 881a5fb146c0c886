"""Read what the sandboxed runner said about its run: untrusted, bounded, checked field by field.

The runner sends a JSON snapshot per line on its status stream. Once the pickle is loaded
those lines may be the pickle's own, so they only ever explain a failure (which stage,
numerai-predict's error line, the exception); nothing in them can make a run pass. Each
line is size-capped before it is parsed, parse errors (including a nesting bomb's
RecursionError) drop the line, and only known keys of the right type and length survive.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RESULT_VERSION = 2
MAX_LINE = 64 * 1024
STAGES = ("start", "load", "signature", "data", "predict", "output", "checks", "done")
KINDS = ("unpickling", "python_mismatch", "module_not_found", "memory", "load_exception", "runtime_broken",
         "signature", "data_error", "predict_type_error", "predict_exception", "returned_none", "wrong_type",
         "empty", "nan", "out_of_range", "check_exception")
TIMING_KEYS = ("start", "load", "data", "predict", "output", "checks")


@dataclass(frozen=True)
class RunnerReport:
    """The runner's claims, sanitised. Defaults mean 'it said nothing usable'."""

    stage: str = "start"
    error_kind: str | None = None
    error_line: str | None = None
    exception: Mapping[str, str | None] | None = None
    n_params: int | None = None
    returned: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    python: str | None = None
    packages: Mapping[str, str] = field(default_factory=dict)


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _exception(value: Any) -> dict[str, str | None] | None:
    if not isinstance(value, dict):
        return None
    limits = {"type": 200, "message": 2000, "missing_module": 200, "traceback": 4000}
    return {key: _text(value.get(key), limit) for key, limit in limits.items()}


def sanitize(raw: Mapping[str, Any]) -> RunnerReport:
    stage = raw.get("stage") if raw.get("stage") in STAGES else "start"
    kind = raw.get("error_kind")
    n_params = raw.get("n_params")
    timings = raw.get("timings") if isinstance(raw.get("timings"), dict) else {}
    packages = raw.get("packages") if isinstance(raw.get("packages"), dict) else {}
    return RunnerReport(
        stage=stage,
        error_kind=kind if kind in KINDS else ("load_exception" if kind is not None else None),
        error_line=_text(raw.get("error_line"), 2000),
        exception=_exception(raw.get("exception")),
        n_params=n_params if type(n_params) is int and 0 <= n_params < 1000 else None,
        returned=_text(raw.get("returned"), 200),
        timings={key: round(float(timings[key]), 4) for key in TIMING_KEYS
                 if type(timings.get(key)) in (int, float) and math.isfinite(timings[key])
                 and 0 <= timings[key] < 1e6},
        python=_text(raw.get("python"), 20),
        packages={str(k)[:50]: v[:50] for k, v in list(packages.items())[:10] if isinstance(v, str)},
    )


def parse_status(lines: Sequence[str]) -> RunnerReport:
    """The last well-formed runner snapshot among `lines` (the stream's tail)."""
    for line in reversed(lines):
        if len(line) > MAX_LINE or not line.startswith("{") or line.startswith('{"sandbox'):
            continue
        try:
            raw = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(raw, dict) and raw.get("version") == RESULT_VERSION:
            return sanitize(raw)
    return RunnerReport()
