"""Fetch what the local work needs from Numerai, for the tool and CLI layers, and hand it to the core as values.

The harness and the bundle builder never call the API: before a validation or a build, the caller gathers the
live runtime images (which Python is the default) and the current round's live files here, asynchronously, with
its own key (over HTTP: the requesting user's), and passes them down as `NumeraiFacts`. Both are best effort with
short timeouts: without them the catalogue's default and synthetic live data are used, and the verdict says why.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from numerai_mcp.api import operations
from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.datasets import LIVE_TIMEOUT_S, current_live_files
from numerai_mcp.api.errors import NumeraiError
from numerai_mcp.config import Settings
from numerai_mcp.harness.facts import NumeraiFacts
from numerai_mcp.harness.livedata import LiveData
from numerai_mcp.redact import redact


async def docker_image_rows(settings: Settings) -> list[dict[str, Any]]:
    """computePickleDockerImages as plain rows; raises NumeraiError subclasses on failure."""
    async with NumeraiClient(settings) as client:
        return [image.model_dump() for image in await operations.docker_images(client)]


def _quick(settings: Settings) -> Settings:
    """A validation must not wait on the network: one short try, no retries."""
    return replace(settings, request_timeout=LIVE_TIMEOUT_S, max_retries=0, connect_retries=0)


async def gather_facts(settings: Settings, *, images: bool, live: bool) -> NumeraiFacts:
    """The live images (when `images` and a key is at hand) and the current live files (when `live`)."""
    rows = None
    if images and settings.credentials is not None:
        try:
            rows = await docker_image_rows(_quick(settings))
        except NumeraiError:
            rows = None  # the catalogue's default applies; never a reason to fail a validation
    data, why = None, "not needed: you gave the live data"
    if live:
        try:
            async with NumeraiClient(_quick(settings), use_settings_credentials=False) as client:  # no key needed
                files = await current_live_files(client, settings.cache_dir)
            data, why = LiveData(files.live, files.benchmarks, files.source), ""
        except Exception as exc:  # any failure falls back to synthetic data; the verdict says why
            why = redact(f"{type(exc).__name__}: {exc}")[:300]
    return NumeraiFacts(images=rows, live=data, live_unavailable=why)


def gather_facts_blocking(settings: Settings, *, images: bool, live: bool) -> NumeraiFacts:
    """gather_facts for the command line (no event loop running there)."""
    return asyncio.run(gather_facts(settings, images=images, live=live))
