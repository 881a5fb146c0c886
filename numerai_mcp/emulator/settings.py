"""Settings of one emulator process (from `numerai-mcp sandbox` flags)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_URL_LIFETIME_S = 900.0
S3_MAX_OBJECT_SIZE = 5 * 1024**3  # S3's single-PUT limit
DEFAULT_VALIDATION_TIMEOUT_S = 600.0  # Numerai's 10-minute runtime limit


@dataclass(frozen=True)
class EmulatorSettings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    state_file: Path | None = None
    cache_dir: Path | None = None
    error_rate: float = 0.0
    drop_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    url_lifetime_s: float = DEFAULT_URL_LIFETIME_S
    max_object_size: int = S3_MAX_OBJECT_SIZE
    validation_timeout_s: float = DEFAULT_VALIDATION_TIMEOUT_S
    validation_workers: int = 2
    validator: str = "auto"  # "harness" | "minimal" | "auto" (harness when installed)
    diagnostics: bool = True  # score validated pickles on the synthetic validation set (harness validator only)
    # Interpreters to validate pickles with, by minor version ("3.12" -> venv python).
    pythons: dict[str, Path] = field(default_factory=dict)

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"
