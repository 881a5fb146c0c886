"""What the installer says: progress on stdout, warnings and errors on stderr, dry runs as plans."""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass
class Console:
    dry_run: bool = False

    def info(self, text: str) -> None:
        print(text, flush=True)

    def step(self, text: str) -> None:
        self.info(f"==> {text}")

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=sys.stderr, flush=True)

    def problem(self, text: str) -> None:
        """A failure that does not stop the run (one client among several)."""
        print(text, file=sys.stderr, flush=True)

    def doing(self, text: str) -> None:
        """Say what would happen in a dry run, or that it happens now."""
        self.info(f"[dry-run] would {text}") if self.dry_run else self.step(text)
