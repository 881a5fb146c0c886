"""Background work on pickles: validations and runs, off the request path.

Status vocabulary (close to numerai-api.md §4; Numerai's full sets are unknown):
- pickle `validationStatus`: pending → validating → validated | failed
- pickle `diagnosticsStatus`: pending → running → succeeded | failed. With a diagnoser, diagnostics
  start once validation succeeded (a failed validation fails them too) and run on their own worker,
  so a slow scoring never delays a validation; without one they mirror validation.
  `diagnosticsStatusDescription` holds the run's description.
- pickle `triggerStatus` (latest run): null → pending → running → submission_succeeded | submission_failed
- trigger `status` and each `statuses[].status`: pending → running → succeeded | failed
- trigger `type`: "validation" (after createComputePickleUpload, or triggerValidation=true)
  or "manual" (triggerComputePickleUpload); a manual run with no open round fails with
  "No currently open rounds!".

A fixed pool of daemon threads takes trigger ids from a queue, one more thread takes pickle ids
to diagnose; the validator and the diagnoser run the pickle in another process. Results of jobs
that started before a reset are dropped (the world's `generation` changed). On start, `recover()`
re-queues validations and diagnostics that a restart interrupted and fails interrupted runs, so
nothing stays pending forever.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from numerai_mcp.emulator.catalog import data_version, docker_image
from numerai_mcp.emulator.clock import CLOCK
from numerai_mcp.emulator.diagnose import Diagnoser, DiagnosticsOutcome
from numerai_mcp.emulator.state import (
    LogLine,
    Pickle,
    StateStore,
    StatusEntry,
    Submission,
    Trigger,
    World,
    now_iso,
)
from numerai_mcp.emulator.validation import ValidationOutcome, Validator, kill_active_validations

log = logging.getLogger("numerai_mcp.emulator")

NO_OPEN_ROUND = "No currently open rounds!"
INTERRUPTED = "Interrupted by an emulator restart; trigger the run again."
TERMINAL = ("succeeded", "failed")


def add_status(trigger: Trigger, status: str, description: str) -> None:
    trigger.status = status
    trigger.updated_at = now_iso()
    trigger.statuses.append(StatusEntry(str(uuid.uuid4()), status, description, trigger.updated_at))


def add_logs(trigger: Trigger, lines: list[str]) -> None:
    stamp = int(CLOCK.now())
    trigger.logs.extend(LogLine(stamp, line) for line in lines)


def new_trigger(world: World, pickle: Pickle, kind: str, description: str, model_id: str | None = None) -> Trigger:
    """Create a pending trigger on `pickle` (caller holds the lock); a run submits for `model_id`."""
    stamp = now_iso()
    trigger = Trigger(str(uuid.uuid4()), pickle.id, kind, "pending", stamp, stamp, model_id=model_id)
    add_status(trigger, "pending", description)
    world.triggers[trigger.id] = trigger
    pickle.trigger_ids.append(trigger.id)
    pickle.updated_at = stamp
    if kind == "validation":
        pickle.validation_status, pickle.diagnostics_status = "pending", "pending"
        pickle.diagnostics = None  # the numbers of an earlier validation no longer describe this one
    else:
        pickle.trigger_status = "pending"
    return trigger


def diagnostics_due(pickle: Pickle) -> bool:
    """Validated, with diagnostics queued or running: work the emulator still owes this pickle."""
    return pickle.validation_status == "validated" and pickle.diagnostics_status in ("pending", "running")


def record_submission(world: World, trigger: Trigger, pickle: Pickle) -> None:
    """The submission a successful run made for its slot (none when the run had no slot)."""
    model_id = trigger.model_id
    if trigger.submission_id is None or model_id is None or model_id not in world.models:
        return
    world.submissions[trigger.submission_id] = Submission(
        trigger.submission_id, pickle.account_id, model_id, pickle.id, trigger.id, world.round.number,
        world.round.opened_at, f"live_predictions-{secrets.token_hex(6)}.csv", now_iso())


class Jobs:
    """Runs queued triggers with the validator, a few at a time."""

    def __init__(self, store: StateStore, validator: Validator, pickle_path: Callable[[Pickle], Path],
                 workers: int = 2, diagnoser: Diagnoser | None = None) -> None:
        self.store, self.validator, self.pickle_path = store, validator, pickle_path
        self.diagnoser = diagnoser
        self.workers = max(1, workers)
        self._queue: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._diagnostics: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        # Cleared while paused (control API): queued work then waits, so a test can observe the pending states
        # that real validations pass through without racing them.
        self._go = threading.Event()
        self._go.set()
        self._stopping = False

    def start(self) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"emulator-jobs-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.diagnoser is not None:
            thread = threading.Thread(target=self._diagnose_work, name="emulator-diagnostics", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping = True
        self._go.set()
        for _ in range(self.workers):
            self._queue.put(None)
        self._diagnostics.put(None)
        kill_active_validations()

    def pause(self) -> None:
        """Hold queued validations and runs (they stay pending) until `resume`; a running one finishes."""
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    def submit(self, generation: int, trigger_id: str) -> None:
        self._queue.put((generation, trigger_id))

    def recover(self) -> None:
        """After loading a state file: re-queue interrupted validations, fail interrupted runs."""
        requeue: list[str] = []
        diagnose: list[str] = []
        with self.store.change() as world:
            for pickle in world.pickles.values():
                if self.diagnoser is not None and diagnostics_due(pickle):
                    pickle.diagnostics_status = "pending"
                    diagnose.append(pickle.id)
            for trigger in world.triggers.values():
                if trigger.status in TERMINAL:
                    continue
                pickle = world.pickles.get(trigger.pickle_id)
                if trigger.type == "validation":
                    add_status(trigger, "pending", "Requeued after an emulator restart")
                    if pickle:
                        pickle.validation_status, pickle.diagnostics_status = "pending", "pending"
                    requeue.append(trigger.id)
                else:
                    add_status(trigger, "failed", INTERRUPTED)
                    if pickle:
                        pickle.trigger_status = "submission_failed"
            generation = world.generation
        for trigger_id in requeue:
            self.submit(generation, trigger_id)
        for pickle_id in diagnose:
            self._diagnostics.put((generation, pickle_id))

    # -- the workers -----------------------------------------------------------------------------
    def _serve(self, work: queue.Queue[tuple[int, str] | None], job: Callable[[int, str], None],
               crashed: Callable[[int, str], None]) -> None:
        """Take (generation, id) items until the stop marker; a crashing job is logged and failed, never fatal."""
        while (item := work.get()) is not None:
            self._go.wait()
            if self._stopping:
                return
            generation, key = item
            try:
                job(generation, key)
            except Exception:  # noqa: BLE001 - a worker must survive any single job
                log.exception("emulator job for %s crashed", key)
                crashed(generation, key)

    def _work(self) -> None:
        self._serve(self._queue, self._run, lambda generation, trigger_id: self._finish(
            generation, trigger_id, ValidationOutcome(False, "The emulator failed while running this job (see its "
                                                             "log).", [])))

    def _run(self, generation: int, trigger_id: str) -> None:
        with self.store.change() as world:
            if world.generation != generation or trigger_id not in world.triggers:
                return
            trigger = world.triggers[trigger_id]
            pickle = world.pickles[trigger.pickle_id]
            image, version = docker_image(pickle.docker_image_id), data_version(pickle.data_version_id)
            assert image is not None and version is not None  # checked when the pickle was created
            if trigger.type != "validation" and not world.round.open:
                add_logs(trigger, [f"ERROR:root:{NO_OPEN_ROUND}"])
                add_status(trigger, "failed", NO_OPEN_ROUND)
                pickle.trigger_status, pickle.updated_at = "submission_failed", now_iso()
                return
            what = "Validating the pickle" if trigger.type == "validation" else f"Running round {world.round.number}"
            add_status(trigger, "running", f"{what} with {image.name} ({image.reference}) on {version.name} live data")
            add_logs(trigger, [f"INFO:root:{what} in {image.reference}"])
            if trigger.type == "validation":
                # with a diagnoser, diagnostics wait for validation; without, they mirror it
                pickle.validation_status = "validating"
                pickle.diagnostics_status = "pending" if self.diagnoser is not None else "running"
            else:
                pickle.trigger_status = "running"
            pickle.updated_at = now_iso()
            path = self.pickle_path(pickle)
        if not path.is_file():
            outcome = ValidationOutcome(False, "The uploaded pickle file is missing from the store.", [])
        else:
            outcome = self.validator(path, image.python, version.name)
        self._finish(generation, trigger_id, outcome)

    def _finish(self, generation: int, trigger_id: str, outcome: ValidationOutcome) -> None:
        with self.store.change() as world:
            trigger = world.triggers.get(trigger_id)
            if world.generation != generation or trigger is None or trigger.status in TERMINAL:
                return
            pickle = world.pickles[trigger.pickle_id]
            add_logs(trigger, outcome.logs)
            pickle.updated_at = now_iso()
            if trigger.type == "validation":
                pickle.validation_status = "validated" if outcome.passed else "failed"
                pickle.diagnostics = None
                if outcome.passed and self.diagnoser is not None:
                    pickle.diagnostics_status = "pending"
                    pickle.diagnostics_description = "Waiting for validation diagnostics to start"
                    self._diagnostics.put((generation, pickle.id))
                else:
                    pickle.diagnostics_status = "succeeded" if outcome.passed else "failed"
                    pickle.diagnostics_description = outcome.description
                add_status(trigger, "succeeded" if outcome.passed else "failed", outcome.description)
                return
            if outcome.passed:
                trigger.submission_id, trigger.round_id = str(uuid.uuid4()), world.round.id
                record_submission(world, trigger, pickle)
                description = f"Submission {trigger.submission_id} uploaded for round {world.round.number}"
                add_logs(trigger, [f"INFO:root:{description}"])
                add_status(trigger, "succeeded", description)
                pickle.trigger_status = "submission_succeeded"
            else:
                add_status(trigger, "failed", outcome.description)
                pickle.trigger_status = "submission_failed"

    # -- diagnostics -----------------------------------------------------------------------------
    def _diagnose_work(self) -> None:
        self._serve(self._diagnostics, self._diagnose, lambda generation, pickle_id: self._diagnosed(
            generation, pickle_id, DiagnosticsOutcome(False, "The emulator failed while computing these diagnostics "
                                                             "(see its log).")))

    def _diagnose(self, generation: int, pickle_id: str) -> None:
        assert self.diagnoser is not None
        with self.store.change() as world:
            pickle = world.pickles.get(pickle_id)
            if (world.generation != generation or pickle is None or pickle.diagnostics_status != "pending"
                    or pickle.validation_status != "validated"):
                return  # reset, deleted, or being validated again (that validation queues its own diagnostics)
            image, version = docker_image(pickle.docker_image_id), data_version(pickle.data_version_id)
            assert image is not None and version is not None
            pickle.diagnostics_status = "running"
            pickle.diagnostics_description = f"Scoring the pickle on {version.name} validation data"
            pickle.updated_at = now_iso()
            path = self.pickle_path(pickle)
        if not path.is_file():
            outcome = DiagnosticsOutcome(False, "The uploaded pickle file is missing from the store.")
        else:
            outcome = self.diagnoser(path, image.python, version.name)
        self._diagnosed(generation, pickle_id, outcome)

    def _diagnosed(self, generation: int, pickle_id: str, outcome: DiagnosticsOutcome) -> None:
        with self.store.change() as world:
            pickle = world.pickles.get(pickle_id)
            if world.generation != generation or pickle is None or pickle.diagnostics_status != "running":
                return  # reset, deleted, or validated again meanwhile (a new run is queued)
            pickle.diagnostics_status = "succeeded" if outcome.passed else "failed"
            pickle.diagnostics_description = outcome.description
            pickle.diagnostics = dict(outcome.fields) if outcome.passed else None
            pickle.updated_at = now_iso()
