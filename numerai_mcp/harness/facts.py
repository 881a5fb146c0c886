"""What Numerai says that the local work needs, handed in as plain values.

The harness never calls the API itself: the tool and CLI layers fetch these (asynchronously, with the caller's
own key) and pass them down, so a validation run over HTTP uses the requesting user's key and nobody else's, and
the emulator, which must not reach for any API, simply passes none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from numerai_mcp.harness.livedata import LiveData


@dataclass(frozen=True)
class NumeraiFacts:
    # computePickleDockerImages rows (id, name, image, tag, default, …): the live default Python and image tags.
    # None when unknown (no key, API unreachable): the catalogue's default applies.
    images: Sequence[Mapping[str, Any]] | None = None
    # Numerai's current live files, already downloaded; None when they are not available.
    live: LiveData | None = None
    # Why `live` is None, said in the verdict when synthetic data is used instead.
    live_unavailable: str = "Numerai's current files were not fetched"


NO_FACTS = NumeraiFacts()
