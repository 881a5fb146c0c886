"""Fixed reference data the emulator serves: scopes, docker images, data versions.

Ids are UUIDv5 of the names, so they stay the same across resets, restarts and
machines, and a test can hard-code nothing but a name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from numerai_mcp.harness.catalogue import image_for, shipped_source

CLASSIC = 8
SIGNALS = 11
CRYPTO = 12
TOURNAMENTS = {CLASSIC: "Numerai Classic", SIGNALS: "Numerai Signals", CRYPTO: "Numerai Crypto"}

_NAMESPACE = uuid.UUID("6f0c5a4e-5f3b-4c1e-9a43-9d8e4b1c2a10")

# Scope names seen at Numerai (numerai-api.md §2.2); descriptions are the emulator's.
SCOPES: dict[str, str] = {
    "upload_submission": "Upload submissions and model pickles, create models, assign and trigger pickles.",
    "download_submission": "Download submissions and model pickles.",
    "read_submission_info": "Read submission and pickle information, triggers and their logs.",
    "read_user_info": "Read account information: username, models, API tokens.",
    "stake": "Change stakes.",
}
ALL_SCOPES: tuple[str, ...] = tuple(SCOPES)

# Short git SHA of numerai/numerai-predict whose pin lists ship with the package: one source of truth, SOURCE.json.
IMAGE_TAG: str = shipped_source()["commit"]


def stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


@dataclass(frozen=True)
class DockerImage:
    python: str  # "3.12"
    default: bool = False
    deprecated: bool = False
    experimental: bool = False
    inserted_at: str = "2025-01-01T00:00:00Z"

    @property
    def id(self) -> str:
        return stable_id("docker-image", self.python)

    @property
    def name(self) -> str:
        return f"Python {self.python}"

    @property
    def image(self) -> str:
        return image_for(self.python)

    @property
    def reference(self) -> str:
        return f"{self.image}:{IMAGE_TAG}"

    def view(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "image": self.image, "tag": IMAGE_TAG, "default": self.default,
                "deprecated": self.deprecated, "experimental": self.experimental, "insertedAt": self.inserted_at}


@dataclass(frozen=True)
class DataVersion:
    name: str  # "v5.2"
    default: bool = False
    deprecated: bool = False
    experimental: bool = False

    @property
    def id(self) -> str:
        return stable_id("data-version", self.name)

    def view(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "version": self.name.removeprefix("v"), "type": "classic",
                "default": self.default, "deprecated": self.deprecated, "experimental": self.experimental}


DOCKER_IMAGES: tuple[DockerImage, ...] = (
    DockerImage("3.10", inserted_at="2024-03-01T00:00:00Z"),
    DockerImage("3.11", inserted_at="2024-09-01T00:00:00Z"),
    DockerImage("3.12", default=True, inserted_at="2025-06-01T00:00:00Z"),
    DockerImage("3.13", experimental=True, inserted_at="2026-01-15T00:00:00Z"),
)
DATA_VERSIONS: tuple[DataVersion, ...] = (
    DataVersion("v4.3", deprecated=True),
    DataVersion("v5.0"),
    DataVersion("v5.1"),
    DataVersion("v5.2", default=True),
)


def docker_image(image_id: str | None) -> DockerImage | None:
    """The image with that id; None selects the default (as Numerai does)."""
    if image_id is None:
        return next(i for i in DOCKER_IMAGES if i.default)
    return next((i for i in DOCKER_IMAGES if i.id == image_id), None)


def data_version(version_id: str | None) -> DataVersion | None:
    if version_id is None:
        return next(v for v in DATA_VERSIONS if v.default)
    return next((v for v in DATA_VERSIONS if v.id == version_id), None)


def data_version_named(name: str) -> DataVersion | None:
    return next((v for v in DATA_VERSIONS if v.name == name), None)


@dataclass(frozen=True)
class ScoreConfig:
    """A score attached to every Classic round (`Round.roundScoreConfigs`).

    INFERRED: Numerai's docs describe the fields but not Classic's live values; the payout
    weights (0.5 x CORR20 + 2 x MMC) are the ones Numerai announced for Classic, and the
    other numbers are the sandbox's own.
    """

    name: str
    version: str
    display_name: str
    default_multiplier: float
    max_multiplier: float
    canon: bool

    def view(self, round_number: int, scoring_start: str, scoring_end: str) -> dict[str, object]:
        return {
            "id": stable_id("round-score-config", f"{round_number}:{self.name}"),
            "scoreConfigId": stable_id("score-config", f"{self.name}:{self.version}"),
            "name": self.name, "version": self.version, "displayName": self.display_name,
            "roundNumberStart": None, "roundNumberEnd": None, "universe": None,
            "totalScoreDays": 20, "returnsLagDays": None, "dataDelayDays": None,
            "isCanonScore": self.canon, "isPayout": self.default_multiplier != 0 or self.max_multiplier != 0,
            "scoringStart": scoring_start, "scoringEnd": scoring_end,
            "minMultiplier": 0.0, "maxMultiplier": self.max_multiplier, "defaultMultiplier": self.default_multiplier,
            "clipThreshold": 0.05, "stakeThreshold": None, "payoutFactor": None,
        }


SCORE_CONFIGS: tuple[ScoreConfig, ...] = (
    ScoreConfig("corr", "2", "CORR20", default_multiplier=0.5, max_multiplier=0.5, canon=True),
    ScoreConfig("mmc", "2", "MMC", default_multiplier=2.0, max_multiplier=2.0, canon=False),
)
