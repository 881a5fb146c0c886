"""Numerai's dataset files (`listDatasets`, `dataset`): which data version is current, and its features.json.

Agents need the feature names a model must be fed (Numerai's skill: "ensure feature order in inference matches
training order exactly"), and they are in the data version's `features.json` (`feature_sets`: small, medium,
all, …). It is downloaded once per data version into the cache; the sandbox serves its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from numerai_mcp.api import operations
from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.errors import ApiServerError, GraphQLError, NumeraiError

FALLBACK_DATA_VERSION = "v5.2"  # what numerai-predict reads when nothing says otherwise
MAX_FEATURES_JSON_BYTES = 32 * 1024**2


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
                           timeout_s: float = 120.0, round_number: int | None = None) -> Path:
    """Stream one dataset file to `target` (atomically, refusing more than `max_bytes`)."""
    url = await operations.dataset_url(client, filename, round_number=round_number)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_s)) as http:
            async with http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise ApiServerError(f"Downloading {filename} failed with HTTP {response.status_code}.")
                written = 0
                with open(tmp, "wb") as handle:
                    async for chunk in response.aiter_bytes(1 << 20):
                        written += len(chunk)
                        if written > max_bytes:
                            raise ApiServerError(f"{filename} is larger than {max_bytes} bytes; not downloaded.")
                        handle.write(chunk)
        os.replace(tmp, target)
    except httpx.HTTPError as exc:
        raise ApiServerError(f"Downloading {filename} failed: {type(exc).__name__}.") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


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
