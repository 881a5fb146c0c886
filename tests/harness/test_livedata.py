"""Live data: synthetic files shaped like Numerai's, and user files. (Numerai's real files are fetched by the
callers: tests/test_facts.py.)"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from numerai_mcp.harness import livedata
from numerai_mcp.harness.livedata import synthetic_live_data, write_synthetic_live_files


def test_synthetic_files_look_like_numerais(tmp_path: Path, runtime312) -> None:  # type: ignore[no-untyped-def]
    names = ["feature_alpha", "feature_beta", "feature_gamma"]
    live_path, bench_path = write_synthetic_live_files(tmp_path, features=names, rows=500, runtime=runtime312)
    live, bench = pd.read_parquet(live_path), pd.read_parquet(bench_path)
    assert live.index.name == "id" and live.index.is_unique and len(live) == 500
    assert list(live.columns) == ["era", "data_type", *names]
    assert set(live["era"]) == {"X"} and set(live["data_type"]) == {"live"}
    assert all(str(live[n].dtype) == "int8" for n in names)
    assert live[names].min().min() == 0 and live[names].max().max() == 4
    assert bench.index.equals(live.index)
    scores = bench.drop(columns=["era", "data_type"])
    assert list(scores.columns) == list(livedata.BENCHMARK_COLUMNS)
    assert ((scores > 0) & (scores < 1)).all().all()


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def test_synthetic_data_is_cached(tmp_path: Path, runtime312) -> None:  # type: ignore[no-untyped-def]
    """The second call reuses the files the first wrote: same inodes, untouched, nothing else written.
    (How fast that is, is bench/validate.py's business.)"""
    first = synthetic_live_data(tmp_path, features=["feature_a"], rows=50, runtime=runtime312)
    files = sorted(p for p in (tmp_path / "livedata").rglob("*"))
    written = {p: _identity(p) for p in (first.live, first.benchmarks)}
    second = synthetic_live_data(tmp_path, features=["feature_a"], rows=50, runtime=runtime312)
    assert (second.live, second.benchmarks) == (first.live, first.benchmarks)
    assert {p: _identity(p) for p in written} == written
    assert sorted(p for p in (tmp_path / "livedata").rglob("*")) == files  # no new generation or temp folder
    assert first.source == "synthetic (50 rows, 1 features)"
    other = synthetic_live_data(tmp_path, features=["feature_b"], rows=50, runtime=runtime312)
    assert other.live != first.live


def test_benchmarks_follow_a_user_live_file(tmp_path: Path, runtime312) -> None:  # type: ignore[no-untyped-def]
    live_path, _ = write_synthetic_live_files(tmp_path / "a", features=["feature_x"], rows=40, runtime=runtime312)
    bench = livedata.write_benchmarks_for(live_path, tmp_path, runtime=runtime312)
    assert pd.read_parquet(bench).index.equals(pd.read_parquet(live_path).index)


def test_user_files_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        livedata.user_live_data(tmp_path / "live.parquet", None)
    text = tmp_path / "live.csv"
    text.write_text("id,era\n")
    with pytest.raises(ValueError, match="not a .parquet file"):
        livedata.user_live_data(text, None)
