"""How long an emulator process lives: the shared sandbox's claim on its home, and the idle stop.

A shared emulator holds `running` for its whole life (so exactly one runs per home, and anyone can
tell it is alive without trusting a pid), and stops by itself once it has been idle for the idle
timeout: no API request, no request in flight, no validation pending or running, and (for the shared
one) no server process attached. Its state stays on disk for the next start.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from numerai_mcp.emulator.home import SandboxHome, flock_within, try_flock

log = logging.getLogger("numerai_mcp.emulator")

CLAIM_WAIT_S = 5.0  # probes hold `running` shared for microseconds; a real second emulator holds it for good
FORCED_EXIT_S = 60.0  # an idle stop that has not finished by then ends the process anyway
NOT_ACTIVITY = ("/_emulator/health",)  # attach and status checks must not keep an idle emulator alive


class AlreadyRunning(RuntimeError):
    """Another emulator already serves this sandbox home."""


def claim(home: SandboxHome) -> int:
    """Take `running` for the life of this process (the descriptor is never closed on purpose)."""
    try:
        return flock_within(home.running_file, fcntl.LOCK_EX, CLAIM_WAIT_S)
    except TimeoutError:
        raise AlreadyRunning(f"another emulator already serves the sandbox in {home.root}") from None


class ActivityTracker:
    """ASGI wrapper that records when the last request ended and how many are in flight."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.in_flight = 0
        self.last_activity = time.monotonic()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("path") in NOT_ACTIVITY:
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.in_flight += 1
            self.last_activity = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.last_activity = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last request ended; 0 while one is in flight."""
        with self._lock:
            return 0.0 if self.in_flight else time.monotonic() - self.last_activity


class IdleMonitor(threading.Thread):
    """Calls `stop` once the emulator has been idle for `timeout_s` (see the module docstring).

    For a shared emulator the final decision is taken under the home's attach lock, which is then
    kept until the process exits: a process that attaches at that moment waits, finds it gone and
    starts a fresh one, instead of attaching to an emulator that is about to leave.
    """

    def __init__(self, timeout_s: float, tracker: ActivityTracker, busy: Callable[[], bool],
                 stop: Callable[[], None], home: SandboxHome | None = None) -> None:
        super().__init__(name="emulator-idle", daemon=True)
        self.timeout_s, self.tracker, self.busy, self.stop_server, self.home = timeout_s, tracker, busy, stop, home
        self.interval = min(max(timeout_s / 4, 0.2), 30.0)
        self._said_attached = False
        self._held_lock: int | None = None

    def _idle(self) -> bool:
        return self.tracker.idle_for() >= self.timeout_s and not self.busy()

    def run(self) -> None:
        while True:
            time.sleep(self.interval)
            if self._idle() and self._stop_if_still_idle():
                return

    def _stop_if_still_idle(self) -> bool:
        if self.home is not None:
            fd = try_flock(self.home.lock_file, fcntl.LOCK_EX)
            if fd is None:  # someone is attaching right now: look again later
                return False
            if not self._idle() or self.home.anyone_attached():
                if self.home.anyone_attached() and not self._said_attached:
                    log.info("idle for %g s, but server processes are attached (pids %s): staying up",
                             self.timeout_s, self.home.attached_pids() or "unknown")
                    self._said_attached = True
                os.close(fd)
                return False
            self._held_lock = fd  # released by the kernel when this process exits
        log.info("idle for %g s (no API request, no validation running%s): stopping; the state stays on disk",
                 self.timeout_s, ", no server attached" if self.home else "")
        self.stop_server()
        watchdog = threading.Timer(FORCED_EXIT_S, lambda: os._exit(0))
        watchdog.daemon = True
        watchdog.start()
        return True


def validations_pending(emulator: Any) -> bool:
    """True while any validation, run or diagnostics is queued or running (the emulator is working, not idle)."""
    from numerai_mcp.emulator.jobs import TERMINAL, diagnostics_due

    with emulator.store.read() as world:
        return (any(t.status not in TERMINAL for t in world.triggers.values())
                or any(diagnostics_due(p) for p in world.pickles.values()))
