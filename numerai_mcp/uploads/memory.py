"""What the server learns about the files it uploads, kept on disk for every later server process.

Clients that start a new server per call (the MCP Inspector CLI, agents that restart between steps) must get
the same safety as one long session: `create` has to know which Python built the file that `put_file` sent in
another process, and which server-side name Numerai gave the `model.pkl` an agent asked for. So every fact is
written at once to a small SQLite database under the cache (`<cache>/uploads.sqlite3`): SQLite's locking makes
concurrent server processes safe, and a crash mid-write loses nothing already committed.

Facts are kept per account (a digest of the API URL and the key's public id; no secret is stored) and per
server-side filename: the model it was issued for, the name the agent asked for, the presigned URL's path, the
local file, its sha256 and size, the Python that built it (and how we know), the local verdict, and the pickle id
it was registered as.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import unquote, urlsplit

DB_NAME = "uploads.sqlite3"
BUSY_TIMEOUT_S = 30.0
KEEP_DAYS = 120  # presigned URLs live minutes; a registration is looked up for weeks at most

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    account TEXT NOT NULL,
    server_filename TEXT NOT NULL,
    model_id TEXT,
    requested_filename TEXT,
    url_path TEXT,
    local_path TEXT,
    sha256 TEXT,
    size INTEGER,
    python TEXT,
    python_source TEXT,
    verdict_passed INTEGER,
    verdict_summary TEXT,
    pickle_id TEXT,
    docker_image TEXT,
    issued_at REAL,
    uploaded_at REAL,
    registered_at REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (account, server_filename)
);
CREATE INDEX IF NOT EXISTS uploads_by_request ON uploads (account, model_id, requested_filename, issued_at);
CREATE INDEX IF NOT EXISTS uploads_by_url ON uploads (account, url_path);
CREATE INDEX IF NOT EXISTS uploads_by_pickle ON uploads (account, pickle_id);
"""


@dataclass(frozen=True)
class UploadRecord:
    """Everything known about one server-side file of one account."""

    server_filename: str
    model_id: str | None = None
    requested_filename: str | None = None
    url_path: str | None = None
    local_path: str | None = None
    sha256: str | None = None
    size: int | None = None
    python: str | None = None
    python_source: str | None = None  # how `python` is known: "verdict", "scan", "image"
    verdict_passed: bool | None = None
    verdict_summary: str | None = None
    pickle_id: str | None = None
    docker_image: str | None = None
    issued_at: float | None = None
    uploaded_at: float | None = None
    registered_at: float | None = None

    @property
    def uploaded(self) -> bool:
        return self.uploaded_at is not None


_COLUMNS = [f.name for f in fields(UploadRecord)]


def account_key(api_url: str, public_id: str) -> str:
    """A stable, non-secret name for one key on one API (the public id alone is not secret, but is not needed)."""
    return hashlib.sha256(f"{api_url.rstrip('/')}\n{public_id}".encode()).hexdigest()[:24]


def url_path(url: str) -> str:
    """The presigned URL without its query (the signature): what identifies the object it writes."""
    parts = urlsplit(url)
    return f"{parts.netloc}{unquote(parts.path)}"


def filename_in_url(url: str) -> str:
    """The object key's last segment, which is the server-side filename at Numerai and in the sandbox."""
    return unquote(urlsplit(url).path).rsplit("/", 1)[-1]


class UploadMemory:
    """One account's upload facts. Every method is one short transaction; safe across processes and threads."""

    def __init__(self, cache_dir: Path, account: str) -> None:
        self.path = Path(cache_dir) / DB_NAME
        self.account = account

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as conn:
            if created:
                os.chmod(self.path, 0o600)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            conn.row_factory = sqlite3.Row
            yield conn

    def _upsert(self, server_filename: str, **values: object) -> None:
        """Insert or update the named columns only; other facts about the file stay as they were."""
        values = {k: v for k, v in values.items() if v is not None}
        values["updated_at"] = time.time()
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{name} = excluded.{name}" for name in values)
        sql = (f"INSERT INTO uploads (account, server_filename, {names}) VALUES (?, ?, {marks}) "
               f"ON CONFLICT (account, server_filename) DO UPDATE SET {updates}")
        with self._db() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, (self.account, server_filename, *values.values()))
            conn.execute("DELETE FROM uploads WHERE updated_at < ?", (time.time() - KEEP_DAYS * 86400,))
            conn.execute("COMMIT")

    def issued(self, *, server_filename: str, model_id: str | None, requested_filename: str | None,
               url: str) -> None:
        """get_upload_auth answered: this server name (and URL) now stands for the name the agent asked for."""
        self._upsert(server_filename, model_id=model_id, requested_filename=requested_filename,
                     url_path=url_path(url), issued_at=time.time())

    def uploaded(self, *, url: str, local_path: Path, sha256: str, size: int, python: str | None,
                 python_source: str | None, verdict_passed: bool | None, verdict_summary: str | None) -> UploadRecord:
        """put_file stored these bytes at `url`; returns the record (its server name from the URL when never issued here)."""
        issued = self.by_url(url)
        server_filename = issued.server_filename if issued else filename_in_url(url)
        self._upsert(server_filename, url_path=url_path(url), local_path=str(local_path), sha256=sha256, size=size,
                     python=python, python_source=python_source,
                     verdict_passed=None if verdict_passed is None else int(verdict_passed),
                     verdict_summary=verdict_summary, uploaded_at=time.time())
        record = self.get(server_filename)
        assert record is not None
        return record

    def registered(self, *, server_filename: str, pickle_id: str, docker_image: str | None, python: str | None,
                   model_id: str | None) -> None:
        """createComputePickleUpload made it pickle `pickle_id` on `docker_image`."""
        self._upsert(server_filename, pickle_id=pickle_id, docker_image=docker_image, python=python,
                     model_id=model_id, registered_at=time.time())

    def _one(self, where: str, args: tuple[object, ...]) -> UploadRecord | None:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM uploads WHERE account = ? AND {where} LIMIT 1"
        with self._db() as conn:
            row = conn.execute(sql, (self.account, *args)).fetchone()
        if row is None:
            return None
        data = dict(row)
        if data["verdict_passed"] is not None:
            data["verdict_passed"] = bool(data["verdict_passed"])
        return UploadRecord(**data)

    def get(self, server_filename: str) -> UploadRecord | None:
        return self._one("server_filename = ?", (server_filename,))

    def by_url(self, url: str) -> UploadRecord | None:
        return self._one("url_path = ? ORDER BY issued_at DESC, rowid DESC", (url_path(url),))

    def by_pickle(self, pickle_id: str) -> UploadRecord | None:
        return self._one("pickle_id = ?", (pickle_id,))

    def latest_for_request(self, requested_filename: str, model_id: str | None) -> UploadRecord | None:
        """The most recent server name issued for the name the agent asked for (for that model, when given)."""
        if model_id:
            return self._one("requested_filename = ? AND model_id = ? ORDER BY issued_at DESC, rowid DESC",
                             (requested_filename, model_id))
        return self._one("requested_filename = ? ORDER BY issued_at DESC, rowid DESC", (requested_filename,))

    def resolve(self, filename: str, model_id: str | None) -> UploadRecord | None:
        """The file an agent means by `filename`: a server-side name we know, else the latest one issued for that
        requested name (Numerai's skill passes the name it asked for, e.g. 'model.pkl', to create)."""
        return self.get(filename) or self.latest_for_request(filename, model_id)
