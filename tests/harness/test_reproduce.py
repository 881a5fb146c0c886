"""validate_pickle(expectedPredictions=FILE) for pickles we did not build: the pickle's output on the live data,
read back from the sandbox, against predictions made in the training environment (parquet or CSV by id); and the
comparison rules themselves (relative 1e-6, or the per-era order for rank outputs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from numerai_mcp.harness.reproduce import check, compare
from numerai_mcp.harness.validate import ValidationArgumentError, validate_pickle
from tests.support.pickles import GOOD_ONE_ARG

CHECK = "reproduces the training model"


def test_values_match_within_a_relative_millionth() -> None:
    expected = {"a": 1.0, "b": -2.0, "c": 1e6}
    assert compare(expected, {"a": 1.0 + 5e-7, "b": -2.0 * (1 + 9e-7), "c": 1e6 + 0.5}).passed
    off = compare(expected, {"a": 1.0 + 2e-6, "b": -2.0, "c": 1e6})
    assert not off.passed and off.mismatched == ["a"] and off.worst == [("a", 1.0, 1.0 + 2e-6)]
    missing = compare(expected, {"a": 1.0, "b": -2.0})
    assert not missing.passed and missing.missing == ["c"]


def test_ranks_follow_the_per_era_order_and_near_ties_may_swap() -> None:
    expected = {"a": 0.1, "b": 0.2, "c": 0.3 + 1e-9, "d": 0.3, "e": 5.0, "f": 1.0}
    eras = {"a": "1", "b": "1", "c": "1", "d": "1", "e": "2", "f": "2"}
    same_order = {"a": 0.25, "b": 0.5, "c": 0.75, "d": 1.0, "e": 1.0, "f": 0.5}  # c and d nearly tie: any order
    assert compare(expected, same_order, eras=eras, by_ranks=True).passed
    swapped = dict(same_order, a=0.5, b=0.25)
    result = compare(expected, swapped, eras=eras, by_ranks=True)
    assert not result.passed and sorted(result.mismatched) == ["a", "b"]
    found = check(result, what="the test rows")
    assert found.status == "fail" and "2 of 6 rows differ (per-era order)" in found.message and found.fix


@pytest.fixture
def live_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    features = [f"feature_{i:02d}" for i in range(12)]
    frame = pd.DataFrame(rng.integers(0, 5, size=(400, 12)).astype(np.int8), columns=features)
    frame.index = pd.Index([f"n{i:06d}" for i in range(400)], name="id")
    frame.insert(0, "era", "X")
    frame.insert(1, "data_type", "live")
    frame.to_parquet(tmp_path / "live.parquet")
    return tmp_path / "live.parquet"


def training_predictions(live: Path) -> pd.Series:
    """What GOOD_ONE_ARG computes, made here as the training environment would."""
    frame = pd.read_parquet(live)
    features = [c for c in frame.columns if c.startswith("feature_")]
    return frame[features].astype("float64").mean(axis=1)


@pytest.mark.slow
def test_validate_compares_with_predictions_made_in_training(make_pickle, live_file: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                             test_cache_dir: Path) -> None:
    pickle_path = make_pickle(GOOD_ONE_ARG)
    raw = training_predictions(live_file)
    ranked = raw.rank(pct=True).rename("prediction")
    ranked.to_frame().to_csv(tmp_path / "ranked.csv")                  # CSV, the same values
    raw.rename("score").to_frame().to_parquet(tmp_path / "raw.parquet")  # parquet, raw scores: same order
    wrong = pd.read_parquet(live_file)["feature_00"].astype(float).rename("prediction")
    wrong.to_frame().to_parquet(tmp_path / "wrong.parquet")             # another model

    def run(expected: Path):  # type: ignore[no-untyped-def]
        verdict = validate_pickle(pickle_path, live_data=live_file, expected_predictions=expected,
                                  cache_dir=test_cache_dir, timeout_s=120.0)
        return verdict, verdict.check(CHECK)

    verdict, found = run(tmp_path / "ranked.csv")
    assert verdict.passed and found.status == "pass" and "relative 1e-06" in found.message, found.message
    verdict, found = run(tmp_path / "raw.parquet")
    assert verdict.passed and found.status == "pass" and "per-era order" in found.message and "'score'" in found.message
    verdict, found = run(tmp_path / "wrong.parquet")
    assert not verdict.passed and found.status == "fail" and "rows differ" in found.message
    assert "Largest value differences: n0" in found.message and verdict.summary.startswith(f"FAIL ({CHECK})")

    other_ids = ranked.copy()
    other_ids.index = [f"x{i}" for i in range(len(other_ids))]
    other_ids.to_frame().to_csv(tmp_path / "other.csv")
    with pytest.raises(ValueError, match="None of the ids"):
        run(tmp_path / "other.csv")
    with pytest.raises(ValidationArgumentError, match=r"\.parquet or \.csv"):
        run(tmp_path / "live.txt")


@pytest.mark.slow
def test_the_command_line_takes_expected_predictions(make_pickle, live_file: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     test_cache_dir: Path) -> None:
    pickle_path = make_pickle(GOOD_ONE_ARG)
    training_predictions(live_file).rank(pct=True).rename("prediction").to_frame().to_parquet(tmp_path / "e.parquet")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NUMERAI_MCP_CACHE_DIR": str(test_cache_dir),
           "NUMERAI_API_URL": "http://127.0.0.1:9", "NUMERAI_MCP_CREDENTIALS_FILE": str(tmp_path / "none")}
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "validate", str(pickle_path), "--live-data",
                           str(live_file), "--expected", str(tmp_path / "e.parquet"), "--json", "--backend", "local"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks[CHECK]["status"] == "pass"
