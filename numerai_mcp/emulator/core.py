"""The running emulator: world, store, faults, datasets and background jobs, wired together."""

from __future__ import annotations

import logging
import shutil
import threading
from collections import Counter
from pathlib import Path

from numerai_mcp.emulator import signing
from numerai_mcp.emulator.auth import auth_header
from numerai_mcp.emulator.clock import CLOCK
from numerai_mcp.emulator.datasets import Datasets
from numerai_mcp.emulator.diagnose import Diagnoser, harness_diagnoser
from numerai_mcp.emulator.faults import Faults
from numerai_mcp.emulator.fresh import fresh_world
from numerai_mcp.emulator.jobs import Jobs
from numerai_mcp.emulator.reaper import kill_descendants
from numerai_mcp.emulator.settings import EmulatorSettings
from numerai_mcp.emulator.state import Pickle, StateStore
from numerai_mcp.emulator.validation import Validator, ValidatorContext, default_validator

log = logging.getLogger("numerai_mcp.emulator")

PICKLE_PREFIX = "pickles/"
DATASET_PREFIX = "datasets/"


class Emulator:
    """Everything a request handler or the control API needs."""

    def __init__(self, settings: EmulatorSettings, validator: Validator | None = None,
                 diagnoser: Diagnoser | None = None) -> None:
        self.settings = settings
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        loaded = StateStore.load(settings.state_file) if settings.state_file else None
        self.store = StateStore(loaded or fresh_world(), settings.state_file)
        self.restored = loaded is not None
        self.store.save()
        self.faults = Faults(error_rate=settings.error_rate, drop_rate=settings.drop_rate,
                             latency_ms=settings.latency_ms, seed=settings.seed)
        self.url_lifetime_s = settings.url_lifetime_s
        self.requests: Counter[str] = Counter()  # processed requests by kind, for tests and the state view
        self._count_lock = threading.Lock()
        self.datasets = Datasets(settings.datasets_dir, settings.pythons, settings.cache_dir)
        context = ValidatorContext(self.datasets, settings.cache_dir, settings.pythons, settings.validation_timeout_s,
                                   work_dir=settings.data_dir / "validation")
        self.validator_name, chosen = ("custom", validator) if validator else default_validator(context,
                                                                                                settings.validator)
        # Diagnostics are scored with the harness, like evaluate_pickle; a custom or minimal validator gets none
        # unless one is given (its diagnostics then mirror validation, without numbers).
        if diagnoser is None and self.validator_name == "harness" and settings.diagnostics:
            diagnoser = harness_diagnoser(context)
        self.jobs = Jobs(self.store, chosen, self.pickle_path, settings.validation_workers, diagnoser)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self.datasets.start()
        self.jobs.start()
        if self.restored:
            self.jobs.recover()

    def stop(self) -> None:
        self.jobs.stop()
        if killed := kill_descendants():
            log.info("stopped %d validation process(es) still running", killed)
        self.store.save()

    def reset(self) -> str:
        """Fresh demo state (same demo key), faults off, wall clock, round open, jobs running; returns the demo auth."""
        CLOCK.reset()
        with self.store.read() as old:
            world = fresh_world(old.master_key, old.demo_public_id, generation=old.generation + 1)
        self.store.replace(world)
        pickles = self.settings.store_dir / PICKLE_PREFIX
        shutil.rmtree(pickles, ignore_errors=True)
        self.faults.configure()
        self.jobs.resume()
        self.url_lifetime_s = self.settings.url_lifetime_s
        with self._count_lock:
            self.requests.clear()
        return self.demo_auth

    # -- helpers -------------------------------------------------------------------------------
    def count(self, kind: str) -> None:
        with self._count_lock:
            self.requests[kind] += 1

    @property
    def demo_auth(self) -> str:
        with self.store.read() as world:
            return auth_header(world.master_key, world.demo_public_id)

    def object_path(self, key: str) -> Path:
        if key.startswith(DATASET_PREFIX):
            return self.settings.datasets_dir / key.removeprefix(DATASET_PREFIX)
        return self.settings.store_dir / key

    def pickle_path(self, pickle: Pickle) -> Path:
        return self.object_path(PICKLE_PREFIX + pickle.filename)

    def presign(self, base_url: str, method: str, key: str, owner: str) -> str:
        with self.store.read() as world:
            master = world.master_key
        return signing.presign(base_url, master, method, key, lifetime_s=self.url_lifetime_s, owner=owner)
