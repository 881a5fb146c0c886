"""The emulator's world (accounts, keys, models, pickles, triggers, stored objects, round)
and its persistence.

Everything lives in memory behind one re-entrant lock, because request handlers (event
loop) and validation workers (threads) both change it. With a state file, every change
is written atomically (temp file, fsync, rename), so a crash or restart never leaves a
half-written file and a restart finds exactly what clients saw. No API secret is ever
stored: key secrets are derived from `master_key` (see auth.py), which is written with
mode 0600 like any server signing key.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from numerai_mcp.emulator.clock import CLOCK

log = logging.getLogger("numerai_mcp.emulator")

STATE_VERSION = 1
FIRST_ROUND = 1200


def now_iso(at: float | None = None) -> str:
    """Numerai-style `Time`: ISO-8601 UTC with a Z."""
    moment = datetime.fromtimestamp(CLOCK.now() if at is None else at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Account:
    id: str
    username: str
    max_model_slots: int
    inserted_at: str


@dataclass
class ApiKey:
    public_id: str
    name: str
    scopes: list[str]
    account_id: str


@dataclass
class Model:
    id: str
    name: str
    tournament: int
    account_id: str
    inserted_at: str
    submission_webhook: str | None = None
    assigned_pickle_id: str | None = None
    archived_at: str | None = None  # archived models are hidden from account.models and free their slot

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


@dataclass
class StatusEntry:
    id: str
    status: str
    description: str
    inserted_at: str


@dataclass
class LogLine:
    timestamp: int  # epoch seconds (GraphQL Int is 32-bit)
    message: str


@dataclass
class Trigger:
    id: str
    pickle_id: str
    type: str  # "validation" | "manual"
    status: str  # "pending" | "running" | "succeeded" | "failed"
    inserted_at: str
    updated_at: str
    statuses: list[StatusEntry] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    round_id: str | None = None
    submission_id: str | None = None
    model_id: str | None = None  # the slot a run submits for (runs only)


@dataclass
class Pickle:
    id: str
    account_id: str
    filename: str
    model_id: str | None  # owner slot
    docker_image_id: str
    data_version_id: str
    version: int
    inserted_at: str
    updated_at: str
    source: str | None = None
    label: str | None = None
    validation_status: str = "pending"
    trigger_status: str | None = None
    diagnostics_status: str | None = None
    diagnostics_description: str | None = None
    diagnostics: dict[str, Any] | None = None  # computed V2Diagnostics fields (camelCase) once they succeeded
    trigger_ids: list[str] = field(default_factory=list)


@dataclass
class Submission:
    """A round's predictions, recorded when a run of a pickle succeeds."""

    id: str
    account_id: str
    model_id: str
    pickle_id: str
    trigger_id: str
    round_number: int
    round_opened_at: float
    filename: str  # live_predictions-<12 hex>.csv, as numerai-predict names its output
    inserted_at: str


@dataclass
class StoredObject:
    key: str  # e.g. "pickles/model-Kc5pT9r85SRD.pkl"
    size: int
    md5: str
    account_id: str
    public_id: str
    stored_at: str


@dataclass
class Round:
    number: int
    open: bool
    opened_at: float
    closed_at: float | None = None

    @property
    def id(self) -> str:
        from numerai_mcp.emulator.catalog import stable_id

        return stable_id("round", str(self.number))


@dataclass
class World:
    master_key: str
    demo_public_id: str
    accounts: dict[str, Account] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    pickles: dict[str, Pickle] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    objects: dict[str, StoredObject] = field(default_factory=dict)
    submissions: dict[str, Submission] = field(default_factory=dict)
    round: Round = field(default_factory=lambda: Round(FIRST_ROUND, True, CLOCK.now()))
    generation: int = 0  # bumped by reset, so late results of old jobs are dropped

    # -- lookups ----------------------------------------------------------------------------
    def account_by_name(self, username: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.username == username), None)

    def models_of(self, account_id: str, *, archived: bool = True) -> list[Model]:
        return [m for m in self.models.values() if m.account_id == account_id and (archived or not m.archived)]

    def submissions_of(self, model_id: str) -> list[Submission]:
        """Oldest first."""
        return [s for s in self.submissions.values() if s.model_id == model_id]

    def assigned_slots(self, pickle_id: str) -> list[str]:
        return [m.id for m in self.models.values() if m.assigned_pickle_id == pickle_id]

    # -- serialisation ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["state_version"] = STATE_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        if data.get("state_version") != STATE_VERSION:
            raise ValueError(f"unsupported state_version {data.get('state_version')!r} (expected {STATE_VERSION})")

        def table(name: str, kind: type, build: Any = None) -> dict[str, Any]:
            return {k: (build or (lambda v: kind(**v)))(v) for k, v in data.get(name, {}).items()}

        def trigger(v: dict[str, Any]) -> Trigger:
            v = dict(v)
            v["statuses"] = [StatusEntry(**s) for s in v.get("statuses", [])]
            v["logs"] = [LogLine(**line) for line in v.get("logs", [])]
            return Trigger(**v)

        return cls(
            master_key=data["master_key"], demo_public_id=data["demo_public_id"],
            accounts=table("accounts", Account), keys=table("keys", ApiKey), models=table("models", Model),
            pickles=table("pickles", Pickle), triggers=table("triggers", Trigger, trigger),
            objects=table("objects", StoredObject), submissions=table("submissions", Submission),
            round=Round(**data["round"]),
            generation=int(data.get("generation", 0)),
        )


def new_master_key() -> str:
    return secrets.token_hex(32)


class StateStore:
    """The world, its lock, and (optionally) the file it is mirrored to."""

    def __init__(self, world: World, path: Path | None = None) -> None:
        self.world = world
        self.path = path
        self.lock = threading.RLock()

    @classmethod
    def load(cls, path: Path) -> World | None:
        """The world saved at `path`, or None when there is no file yet."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return World.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"The state file {path} is not a readable emulator state ({exc}). "
                "Move it away to start fresh, or point --state at another file."
            ) from None

    @contextmanager
    def change(self) -> Iterator[World]:
        """Hold the lock while the caller changes the world, then persist it."""
        with self.lock:
            yield self.world
            self.save()

    @contextmanager
    def read(self) -> Iterator[World]:
        with self.lock:
            yield self.world

    def replace(self, world: World) -> None:
        with self.lock:
            self.world = world
            self.save()

    def save(self) -> None:
        """Mirror the world to the state file. A failed write is logged, never raised: the
        in-memory world stays authoritative and the next change tries again."""
        if self.path is None:
            return
        with self.lock:
            payload = json.dumps(self.world.to_json(), separators=(",", ":"))
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except OSError as exc:
                log.error("could not save the emulator state to %s: %s", self.path, exc)
                Path(tmp).unlink(missing_ok=True)
