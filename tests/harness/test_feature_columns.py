"""validate_pickle names the feature columns a pickle reads, and those the live data lacks (issue: agents could not
tell why predict raised a KeyError)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from numerai_mcp.harness.livedata import write_synthetic_live_files
from numerai_mcp.harness.scan import scan_pickle
from numerai_mcp.harness.validate import validate_pickle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fixture_features(fixture_pickle: Path) -> list[str]:
    names = scan_pickle(fixture_pickle).features
    assert len(names) > 10
    return names


def test_the_columns_the_live_data_lacks_are_named(fixture_pickle: Path, fixture_features: list[str], runtime312,  # type: ignore[no-untyped-def]
                                                   private_cache: Path, tmp_path: Path) -> None:
    dropped = [fixture_features[1], fixture_features[5], fixture_features[-1]]
    live, _ = write_synthetic_live_files(tmp_path / "data", features=[f for f in fixture_features if f not in dropped],
                                         rows=300, runtime=runtime312)
    verdict = validate_pickle(fixture_pickle, live_data=live, cache_dir=private_cache)
    check = verdict.check("feature columns")
    assert not verdict.passed and check is not None and check.status == "fail"
    assert verdict.features_missing == dropped and verdict.features_missing_count == 3
    assert verdict.features_read == fixture_features and verdict.features_read_count == len(fixture_features)
    assert all(name in check.message for name in dropped) and check.fix and "numerai://features" in check.fix
    assert verdict.summary.startswith("FAIL (feature columns)")

    cli = subprocess.run([sys.executable, "-m", "numerai_mcp", "validate", str(fixture_pickle), "--live-data", str(live)],
                         capture_output=True, text=True, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NUMERAI_MCP_CACHE_DIR": str(private_cache),
                              "NUMERAI_MCP_CREDENTIALS_FILE": str(tmp_path / "none")})
    assert cli.returncode == 1, cli.stderr
    assert f"reads {len(fixture_features)} columns" in cli.stdout and "the live data lacks 3:" in cli.stdout
    assert all(name in cli.stdout for name in dropped)


def test_complete_live_data_passes_the_check(fixture_pickle: Path, fixture_features: list[str], runtime312,  # type: ignore[no-untyped-def]
                                             private_cache: Path, tmp_path: Path) -> None:
    live, _ = write_synthetic_live_files(tmp_path / "data", features=["feature_extra", *fixture_features], rows=300,
                                         runtime=runtime312)
    verdict = validate_pickle(fixture_pickle, live_data=live, cache_dir=private_cache)
    check = verdict.check("feature columns")
    assert verdict.passed, verdict.summary
    assert check is not None and check.status == "pass" and verdict.features_missing == []
    assert verdict.features_missing_count == 0 and verdict.features_read_count == len(fixture_features)
