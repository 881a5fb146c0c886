"""Numerai's dataset files (`listDatasets`, `dataset`): which data version is current, its features.json, and
its validation files.

Agents need the feature names a model must be fed (Numerai's skill: "ensure feature order in inference matches
training order exactly"), and they are in the data version's `features.json` (`feature_sets`: small, medium,
all, …). Evaluating a pickle needs `validation.parquet` and `validation_benchmark_models.parquet` (GBs at
Numerai): streamed to disk with progress, resumed where a broken download stopped, never held in memory. Each
file is downloaded once per data version into a per-API cache; the sandbox serves its own (synthetic) files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from numerai_mcp.api import operations
from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.errors import ApiServerError, FlowError, GraphQLError, NumeraiError
from numerai_mcp.progress import AsyncProgress

FALLBACK_DATA_VERSION = "v5.2"  # what numerai-predict reads when nothing says otherwise
MAX_FEATURES_JSON_BYTES = 32 * 1024**2
MAX_VALIDATION_BYTES = 64 * 1024**3  # Numerai's validation.parquet is a few GB
VALIDATION_FILE, VALIDATION_BENCHMARKS_FILE = "validation.parquet", "validation_benchmark_models.parquet"
PROGRESS_STEP_BYTES = 8 * 1024**2


@dataclass(frozen=True)
class FeaturesDocument:
    data_version: str
    feature_sets: dict[str, list[str]]
    targets: list[str]
    source: str  # "downloaded from <api>" or "cached"


async def current_data_version(client: NumeraiClient) -> str:
    """The data version pickles run on: the API's default one when the key may ask, else the newest version that
    has a features.json in `listDatasets` (which needs no key), else numerai-predict's default."""
    if client.has_credentials:
        try:
            versions = [v for v in await operations.data_versions(client) if not v.deprecated]
        except GraphQLError:
            versions = []
        chosen = next((v for v in versions if v.default), None)
        if chosen is not None and (chosen.name or chosen.version):
            return str(chosen.name or chosen.version)
    names = await operations.list_datasets(client)
    versions_with_features = [name.split("/", 1)[0] for name in names if name.endswith("/features.json")]
    return max(versions_with_features, key=_version_key, default=FALLBACK_DATA_VERSION)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


async def download_dataset(client: NumeraiClient, filename: str, target: Path, *, max_bytes: int,
                           timeout_s: float = 120.0, round_number: int | None = None,
                           progress: AsyncProgress | None = None, resume: bool = False) -> Path:
    """Stream one dataset file to `target` (atomically, refusing more than `max_bytes`).

    With `resume`, the bytes already in `target`'s `.part` file (a download that broke) are kept and the rest is
    asked for with a Range request (a server that ignores it sends the whole file again). One process at a time
    downloads a given target (a lock beside it); `progress(bytes, total bytes, message)` is called as bytes arrive.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with _download_lock(target):
        if resume and target.is_file():
            return target  # another process finished it while we waited
        part = target.with_name(f".{target.name}.part" if resume else f".{target.name}.{os.getpid()}.tmp")
        url = await operations.dataset_url(client, filename, round_number=round_number)
        try:
            await _stream(url, filename, part, max_bytes=max_bytes, timeout_s=timeout_s, progress=progress,
                          resume=resume)
            os.replace(part, target)
        except httpx.HTTPError as exc:
            raise ApiServerError(f"Downloading {filename} failed: {type(exc).__name__}"
                                 f"{' (run again to resume it)' if resume else ''}.") from None
        finally:
            if not resume:
                part.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def _download_lock(target: Path) -> Iterator[None]:
    with open(target.with_name(f".{target.name}.lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def _stream(url: str, filename: str, part: Path, *, max_bytes: int, timeout_s: float,
                  progress: AsyncProgress | None, resume: bool) -> None:
    have = part.stat().st_size if resume and part.is_file() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_s)) as http:
        async with http.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and have:  # the part file already holds everything
                return
            if response.status_code not in (200, 206):
                raise ApiServerError(f"Downloading {filename} failed with HTTP {response.status_code}.")
            if response.status_code == 200:
                have = 0  # the server sent the whole file: start over
            length = response.headers.get("content-length")
            total = have + int(length) if length and length.isdigit() else None
            if total is not None and total > max_bytes:
                raise ApiServerError(f"{filename} is larger than {max_bytes} bytes; not downloaded.")
            written, reported = have, have
            with open(part, "ab" if have else "wb") as handle:
                async for chunk in response.aiter_bytes(1 << 20):
                    written += len(chunk)
                    if written > max_bytes:
                        raise ApiServerError(f"{filename} is larger than {max_bytes} bytes; not downloaded.")
                    handle.write(chunk)
                    if progress is not None and written - reported >= PROGRESS_STEP_BYTES:
                        reported = written
                        await progress(written, total, f"downloading {filename}: {_size(written)}"
                                                       f"{' of ' + _size(total) if total else ''}")
            if total is not None and written != total:
                raise ApiServerError(f"Downloading {filename} stopped after {written} of {total} bytes"
                                     f"{'; run again to resume it' if resume else ''}.")
    if progress is not None:
        await progress(written, total or written, f"downloaded {filename} ({_size(written)})")


def _size(count: int) -> str:
    return f"{count / 1024**3:.2f} GB" if count >= 1024**3 else f"{count / 1024**2:.1f} MB"


@dataclass(frozen=True)
class ValidationFiles:
    """Numerai's validation files of one data version, on local disk."""

    data_version: str
    validation: Path
    benchmarks: Path | None
    source: str  # "Numerai v5.2/validation.parquet (downloaded from <api>)" or "(cached)"


async def validation_files(client: NumeraiClient, cache_dir: Path, data_version: str | None = None, *,
                           progress: AsyncProgress | None = None, refresh: bool = False) -> ValidationFiles:
    """validation.parquet (and validation_benchmark_models.parquet when listed) of `data_version` (default: the
    current one), downloaded once into the cache (`refresh` downloads again). Raises FlowError when Numerai lists
    no validation file for that version, ApiServerError when a download fails (run again: it resumes)."""
    version = data_version or await current_data_version(client)
    listed = await operations.list_datasets(client)
    if f"{version}/{VALIDATION_FILE}" not in listed:
        having = sorted({name.split("/", 1)[0] for name in listed if name.endswith("/" + VALIDATION_FILE)})
        raise FlowError(f"Numerai lists no {version}/{VALIDATION_FILE}"
                        f"{'; data versions that have one: ' + ', '.join(having) if having else ''}. "
                        "Pass one of those as dataVersion, or your own file as validationData.")
    folder = Path(cache_dir) / "datasets" / _cache_key(client.url) / version
    paths: dict[str, Path | None] = {}
    fetched = []
    for name in (VALIDATION_FILE, VALIDATION_BENCHMARKS_FILE):
        if f"{version}/{name}" not in listed:
            paths[name] = None
            continue
        target = folder / name
        if refresh and target.is_file():
            target.unlink()
        if not target.is_file():
            await download_dataset(client, f"{version}/{name}", target, max_bytes=MAX_VALIDATION_BYTES,
                                   timeout_s=120.0, progress=progress, resume=True)
            fetched.append(name)
        paths[name] = target
    how = f"downloaded from {client.url}" if fetched else "cached"
    validation = paths[VALIDATION_FILE]
    assert validation is not None
    return ValidationFiles(version, validation, paths[VALIDATION_BENCHMARKS_FILE],
                           f"Numerai {version}/{VALIDATION_FILE} ({how})")


def _parse_features(data: Any, data_version: str, source: str) -> FeaturesDocument:
    if not isinstance(data, dict) or not isinstance(data.get("feature_sets"), dict):
        raise ApiServerError(f"{data_version}/features.json has no 'feature_sets' object.")
    sets = {str(name): [str(f) for f in names] for name, names in data["feature_sets"].items()
            if isinstance(names, list)}
    targets = [str(t) for t in data.get("targets") or [] if isinstance(t, str)]
    return FeaturesDocument(data_version, sets, targets, source)


async def features_document(client: NumeraiClient, cache_dir: Path, data_version: str | None = None) -> FeaturesDocument:
    """features.json of `data_version` (default: the current one), from the cache when it was fetched before."""
    version = data_version or await current_data_version(client)
    cached = Path(cache_dir) / "datasets" / _cache_key(client.url) / version / "features.json"
    if cached.is_file():
        return _parse_features(json.loads(cached.read_text(encoding="utf-8")), version, "cached")
    await download_dataset(client, f"{version}/features.json", cached, max_bytes=MAX_FEATURES_JSON_BYTES)
    try:
        return _parse_features(json.loads(cached.read_text(encoding="utf-8")), version, f"downloaded from {client.url}")
    except (ValueError, ApiServerError):
        cached.unlink(missing_ok=True)  # never keep a file we cannot read
        raise


def _cache_key(api_url: str) -> str:
    """The sandbox's files must not pass for Numerai's: cache per API."""
    return hashlib.sha256(api_url.rstrip("/").encode()).hexdigest()[:12]


# ------------------------------------------------------------------ the current round's live files

LIVE_TIMEOUT_S = 5.0  # a validation must not wait on the network: short, and no retries
UNREACHABLE_TTL_S = 600.0  # an unreachable API is remembered this long, so offline validation stays fast


@dataclass(frozen=True)
class LiveFiles:
    live: Path
    benchmarks: Path
    source: str  # "Numerai v5.2/live.parquet (round 1234, cached)"


def _unreachable_marker(cache_dir: Path) -> Path:
    return Path(cache_dir) / "livedata" / "unreachable.json"


def recently_unreachable(cache_dir: Path, api_url: str) -> bool:
    try:
        data = json.loads(_unreachable_marker(cache_dir).read_text())
    except (OSError, ValueError):
        return False
    return data.get("url") == api_url and time.time() - float(data.get("at", 0)) < UNREACHABLE_TTL_S


def _remember_unreachable(cache_dir: Path, api_url: str) -> None:
    marker = _unreachable_marker(cache_dir)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"url": api_url, "at": time.time()}))


async def current_live_files(client: NumeraiClient, cache_dir: Path, *, data_version: str = FALLBACK_DATA_VERSION,
                             max_bytes: int = 4 * 1024**3) -> LiveFiles:
    """Numerai's live.parquet and live_benchmark_models.parquet of the open round, downloaded once per round into
    `<cache>/livedata/<version>/round-N/`. Give `client` short timeouts: callers fall back to synthetic data.

    Raises NumeraiError (or OSError) when they cannot be had; an unreachable API is remembered for a few minutes
    so that the next validations do not wait for it again."""
    if recently_unreachable(cache_dir, client.url):
        raise ApiServerError(f"the API at {client.url} was unreachable a few minutes ago")
    names = (f"{data_version}/live.parquet", f"{data_version}/live_benchmark_models.parquet")
    try:
        round_number = await operations.current_round(client)
        folder = Path(cache_dir) / "livedata" / data_version / (
            f"round-{round_number}" if round_number is not None else time.strftime("day-%Y%m%d"))
        targets = (folder / "live.parquet", folder / "live_benchmark_models.parquet")
        label = f"Numerai {names[0]} (round {round_number if round_number is not None else 'unknown'}"
        if all(t.is_file() for t in targets):
            return LiveFiles(targets[0], targets[1], label + ", cached)")
        for name, target in zip(names, targets, strict=True):
            await download_dataset(client, name, target, max_bytes=max_bytes, round_number=round_number,
                                   timeout_s=max(client.settings.request_timeout, 60.0))
    except (NumeraiError, OSError):
        _remember_unreachable(cache_dir, client.url)
        raise
    return LiveFiles(targets[0], targets[1], label + ", downloaded)")
