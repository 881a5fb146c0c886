"""The result of validating a pickle: what passed, what failed, and what to do next.

These pydantic models are the MCP tool's structured output, the CLI's `--json`, and
what the verdict store remembers by sha256, so field names are a public contract.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

CheckStatus = Literal["pass", "fail", "warn", "skip"]
FEATURE_NAMES_SHOWN = 200


class Check(BaseModel):
    """One check, reported separately so a model can relay exactly what failed."""

    name: str
    status: CheckStatus
    message: str
    fix: str | None = None


class Verdict(BaseModel):
    """Everything a caller needs to decide whether a pickle would run at Numerai."""

    passed: bool
    summary: str
    sha256: str
    path: str
    size: int
    python_version_detected: str | None
    python_version_used: str
    backend: Literal["local", "docker"]
    runtime: str
    pins_source: str
    live_data_source: str
    checks: list[Check] = Field(default_factory=list)
    fixes: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    peak_memory_mb: float | None = None
    rows: int | None = None
    log_tail: list[str] = Field(default_factory=list)
    # Feature columns named in the pickle (found by the scan), and those the live data lacks; each list is cut at
    # FEATURE_NAMES_SHOWN names, the counts are whole.
    features_read: list[str] = Field(default_factory=list)
    features_read_count: int = 0
    features_missing: list[str] = Field(default_factory=list)
    features_missing_count: int | None = Field(default=None, description="None when the live columns are unknown.")
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if check.status == "fail"]

    def check(self, name: str) -> Check | None:
        """The first check called `name`, or None."""
        return next((check for check in self.checks if check.name == name), None)


def collect_fixes(checks: list[Check]) -> list[str]:
    """The distinct fixes of failed checks first, then of warnings, in check order."""
    fixes: list[str] = []
    for wanted in ("fail", "warn"):
        for check in checks:
            if check.status == wanted and check.fix and check.fix not in fixes:
                fixes.append(check.fix)
    return fixes
