"""What the tool and CLI layers fetch from Numerai for the core (numerai_mcp.facts), against the emulator as a real
process: the live runtime images, the current round's live files (downloaded once per round), and validations
that use them. The core itself never calls the API (tests/test_layers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from numerai_mcp.api.credentials import Credentials
from numerai_mcp.config import Settings
from numerai_mcp.facts import gather_facts_blocking
from numerai_mcp.harness.validate import validate_pickle
from tests.support.pickles import GOOD_ONE_ARG, build_pickle


def test_an_unreachable_api_falls_back_and_is_remembered(tmp_path: Path) -> None:
    settings = Settings(api_url="http://127.0.0.1:9", cache_dir=tmp_path,
                        credentials=Credentials.parse("UNREACHABLEPUBLIC$unreachablesecret0123"))
    facts = gather_facts_blocking(settings, images=True, live=True)
    assert facts.images is None and facts.live is None and "Connect" in facts.live_unavailable
    again = gather_facts_blocking(settings, images=False, live=True)
    assert again.live is None and "unreachable a few minutes ago" in again.live_unavailable


def test_nothing_is_fetched_that_was_not_asked_for(tmp_path: Path) -> None:
    facts = gather_facts_blocking(Settings(api_url="http://127.0.0.1:9", cache_dir=tmp_path), images=True, live=False)
    assert facts.images is None and facts.live is None and "you gave the live data" in facts.live_unavailable
    assert not (tmp_path / "livedata").exists()


@pytest.mark.slow
def test_live_files_are_downloaded_once_per_round(emulator: Any, tmp_path: Path) -> None:
    settings = Settings(api_url=emulator.url, cache_dir=tmp_path)  # no key: the dataset query needs none
    first = gather_facts_blocking(settings, images=False, live=True).live
    assert first is not None
    assert first.source.startswith("Numerai v5.2/live.parquet (round ") and first.source.endswith("downloaded)")
    live = pd.read_parquet(first.live)
    assert live.index.name == "id" and {"era", "data_type"} <= set(live.columns)
    assert pd.read_parquet(first.benchmarks).index.equals(live.index)
    again = gather_facts_blocking(settings, images=False, live=True).live
    assert again is not None and again.live == first.live and again.source.endswith("cached)")


@pytest.mark.slow
def test_live_images_need_a_key(emulator: Any, tmp_path: Path) -> None:
    with_key = Settings(api_url=emulator.url, credentials=Credentials.parse(emulator.auth), cache_dir=tmp_path)
    rows = gather_facts_blocking(with_key, images=True, live=False).images
    assert rows and [r["image"] for r in rows if r["default"]] == ["numerai_predict_py_3_12"]
    assert gather_facts_blocking(Settings(api_url=emulator.url, cache_dir=tmp_path), images=True, live=False).images is None


@pytest.mark.slow
def test_a_validation_uses_what_was_fetched(emulator: Any, test_cache_dir: Path, tmp_path: Path) -> None:
    from numerai_mcp.emulator.catalog import IMAGE_TAG

    settings = Settings(api_url=emulator.url, credentials=Credentials.parse(emulator.auth), cache_dir=tmp_path)
    pickle = build_pickle("3.12", GOOD_ONE_ARG, tmp_path / "good.pkl", cache_dir=test_cache_dir)
    verdict = validate_pickle(pickle, facts=gather_facts_blocking(settings, images=True, live=True),
                              cache_dir=test_cache_dir)
    assert verdict.passed, verdict.summary
    assert verdict.runtime == f"numerai_predict_py_3_12:{IMAGE_TAG}"
    assert verdict.live_data_source.startswith("Numerai v5.2/live.parquet (round "), verdict.live_data_source
    assert emulator.auth.split("$")[1] not in verdict.model_dump_json()


def test_without_facts_the_catalogue_and_synthetic_data_decide(test_cache_dir: Path, tmp_path: Path) -> None:
    pickle = build_pickle("3.12", GOOD_ONE_ARG, tmp_path / "good.pkl", cache_dir=test_cache_dir)
    verdict = validate_pickle(pickle, cache_dir=test_cache_dir)
    assert verdict.runtime.startswith("numerai_predict_py_3_12:") and verdict.pins_source.startswith("shipped")
    assert verdict.live_data_source.startswith("synthetic") and "were not fetched" in verdict.live_data_source
