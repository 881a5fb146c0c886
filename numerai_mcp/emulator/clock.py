"""The emulator's time: the wall clock, or one that tests freeze and move through the control API.

Everything the emulator stamps or compares with the time (round deadlines, `insertedAt`,
log timestamps, presigned URL expiry) reads `CLOCK.now()`, never `time.time()`, so a
test can freeze the clock and read the same answer twice, or advance it an hour to
expire a URL, instead of sleeping. One emulator runs per process, so one clock per
process is the emulator's clock; `reset` (as the control API's reset does) goes back to
the wall clock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ClockState:
    now: float
    frozen: bool
    offset_s: float

    def view(self) -> dict[str, object]:
        return {"now": self.now, "frozen": self.frozen, "offset_s": self.offset_s}


class Clock:
    """Wall time plus an offset, or a frozen instant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset_s = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        with self._lock:
            return self._frozen_at if self._frozen_at is not None else time.time() + self._offset_s

    def state(self) -> ClockState:
        with self._lock:
            frozen = self._frozen_at is not None
            now = self._frozen_at if self._frozen_at is not None else time.time() + self._offset_s
            return ClockState(now, frozen, self._offset_s)

    def set(self, *, frozen: bool | None = None, at: float | None = None, advance_s: float = 0.0) -> ClockState:
        """Jump to `at` (epoch seconds) if given, then advance, then freeze or let run.

        A running clock keeps the jump as an offset from the wall clock; a frozen one
        stays at its instant until moved again.
        """
        with self._lock:
            current = self._frozen_at if self._frozen_at is not None else time.time() + self._offset_s
            target = (current if at is None else at) + advance_s
            keep_frozen = self._frozen_at is not None if frozen is None else frozen
            if keep_frozen:
                self._frozen_at = target
                self._offset_s = 0.0
            else:
                self._frozen_at = None
                self._offset_s = target - time.time()
        return self.state()

    def reset(self) -> None:
        with self._lock:
            self._offset_s, self._frozen_at = 0.0, None


CLOCK = Clock()
