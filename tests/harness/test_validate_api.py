"""validate_pickle with API settings (the emulator as a real process): the live default image,
live tags, and Numerai's current live files are used."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerai_mcp.api.credentials import Credentials
from numerai_mcp.config import Settings
from numerai_mcp.harness.validate import validate_pickle
from tests.support.pickles import GOOD_ONE_ARG

pytestmark = pytest.mark.slow


def test_auto_python_uses_the_live_images_and_live_files(emulator, make_pickle, test_cache_dir: Path,  # type: ignore[no-untyped-def]
                                                         tmp_path: Path) -> None:
    from numerai_mcp.emulator.catalog import IMAGE_TAG

    settings = Settings(api_url=emulator.url, credentials=Credentials.parse(emulator.auth), cache_dir=tmp_path)
    verdict = validate_pickle(make_pickle(GOOD_ONE_ARG), settings=settings, cache_dir=test_cache_dir)
    assert verdict.passed, verdict.summary
    assert verdict.runtime == f"numerai_predict_py_3_12:{IMAGE_TAG}"
    assert verdict.live_data_source.startswith("Numerai v5.2/live.parquet (round ")
    assert emulator.auth.split("$")[1] not in verdict.model_dump_json()


def test_live_images_are_read_only_with_credentials(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from numerai_mcp.api.blocking import live_image_rows_or_none as _live_images

    with_key = Settings(api_url=emulator.url, credentials=Credentials.parse(emulator.auth), cache_dir=tmp_path)
    rows = _live_images(with_key)
    assert rows and [r["image"] for r in rows if r["default"]] == ["numerai_predict_py_3_12"]
    assert _live_images(Settings(api_url=emulator.url, cache_dir=tmp_path)) is None
    unreachable = Settings(api_url="http://127.0.0.1:9", credentials=Credentials.parse(emulator.auth))
    assert _live_images(unreachable) is None


def test_without_credentials_the_catalogue_decides(make_pickle, test_cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    verdict = validate_pickle(make_pickle(GOOD_ONE_ARG), cache_dir=test_cache_dir)
    assert verdict.runtime.startswith("numerai_predict_py_3_12:") and verdict.pins_source.startswith("shipped")
