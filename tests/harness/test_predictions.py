"""The trusted side reads what a sandbox hands back: predictions CSV and the runner's status lines.

Both are attacker-controlled. These tests feed them what a hostile pickle could write (links, FIFOs,
huge or malformed files, nesting bombs, wrong types) and what an honest one writes (pandas' own
CSV), and check the decisions against Numerai's checks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from numerai_mcp.harness.predictions import (
    LiveIds,
    UnreadablePredictions,
    numerai_failure,
    read_summary,
    strict_results,
)
from numerai_mcp.harness.runner_report import RunnerReport, parse_status

LIVE = LiveIds(ids=["n1", "n2", "n3", "n4"], eras=["X", "X", "Y", "Y"])


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "predictions.csv"
    path.write_text(text)
    return path


def _strict(summary) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {name: (status, message) for name, status, message in strict_results(summary)}


def test_an_honest_csv_passes_every_check(tmp_path: Path) -> None:
    summary = read_summary(_csv(tmp_path, "id,prediction\nn1,0.1\nn2,0.9\nn3,0.25\nn4,0.75\n"), LIVE)
    assert numerai_failure(summary) is None
    assert {name: status for name, (status, _) in _strict(summary).items()} == {
        "column named prediction": "pass", "index matches live ids": "pass", "row count": "pass",
        "numeric": "pass", "not constant": "pass", "per-era ranks": "pass"}


@pytest.mark.parametrize(("text", "check", "message"), [
    ("id,prediction\n", "not empty", "Pickle function returned 0 predictions"),
    ("id,prediction,other\nn1,0.5,\nn2,0.5,1\n", "no NaN", "Pickle function returned at least 1 NaN prediction"),
    ("id,prediction\nn1,1.5\nn2,0.5\n", "range", "Ensure values are between 0 and 1."),
    ("id,prediction\nn1,inf\nn2,0.5\n", "range", "Ensure values are between 0 and 1."),
    ("id,prediction\nn1,abc\nn2,0.5\n", "range", "holds values that are not numbers"),
])
def test_numerais_output_checks_are_computed_here(tmp_path: Path, text: str, check: str, message: str) -> None:
    failure = numerai_failure(read_summary(_csv(tmp_path, text), LIVE))
    assert failure is not None and failure[0] == check and message in failure[2]


def test_booleans_pass_numerais_range_but_not_ours(tmp_path: Path) -> None:
    summary = read_summary(_csv(tmp_path, "id,prediction\nn1,True\nn2,False\nn3,True\nn4,False\n"), LIVE)
    assert numerai_failure(summary) is None  # pandas' between(0, 1) accepts booleans
    assert _strict(summary)["numeric"][0] == "fail"


def test_the_index_the_rows_and_ties_are_checked_against_the_live_ids(tmp_path: Path) -> None:
    summary = read_summary(_csv(tmp_path, "id,score\nn1,0.5\nn1,0.5\nzz,0.5\n0,0.5\n"), LIVE)
    strict = _strict(summary)
    assert strict["column named prediction"][0] == "fail"
    assert strict["index matches live ids"] == (
        "fail", "the index is not the live ids: 3 missing, 2 extra, 1 duplicated (examples of unknown ids: "
                "['zz', '0'])")
    assert strict["row count"] == ("pass", "4 rows for 4 live rows")  # right count, wrong ids: the index check fails
    assert strict["not constant"][0] == "fail"
    reordered = read_summary(_csv(tmp_path, "id,prediction\nn4,0.1\nn3,0.2\nn2,0.3\nn1,0.4\n"), LIVE)
    assert _strict(reordered)["index matches live ids"] == ("pass", "indexed by the live ids (in a different order)")
    one_era = LiveIds(ids=[f"m{i}" for i in range(6)], eras=["X"] * 6)
    rows = "".join(f"m{i},{0.5 if i else 0.1}\n" for i in range(6))
    tied = read_summary(_csv(tmp_path, "id,prediction\n" + rows), one_era)
    assert _strict(tied)["per-era ranks"][0] == "warn" and "['X']" in _strict(tied)["per-era ranks"][1]


def test_without_live_ids_the_index_is_not_judged(tmp_path: Path) -> None:
    summary = read_summary(_csv(tmp_path, "id,prediction\nn1,0.2\nn2,0.8\n"), None)
    assert _strict(summary)["index matches live ids"][0] == "skip" and "row count" not in _strict(summary)


def test_links_fifos_and_devices_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("id,prediction\nn1,0.5\n")
    link = tmp_path / "link.csv"
    link.symlink_to(secret)
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for path, why in ((link, "cannot be opened"), (fifo, "not a regular file"), (Path("/dev/zero"), "not a regular")):
        with pytest.raises(UnreadablePredictions, match=why):
            read_summary(path, LIVE)  # returns at once: a FIFO is opened non-blocking


def test_size_rows_and_fields_are_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with open(big, "w") as handle:
        handle.write("id,prediction\n" + "n1,0.5\n" * 200_000)
    with pytest.raises(UnreadablePredictions, match="larger than 1 MiB"):
        read_summary(big, LIVE, max_bytes=1024**2)
    with pytest.raises(UnreadablePredictions, match="field larger than field limit"):
        read_summary(_csv(tmp_path, "id,prediction\nn1," + "9" * 200_000 + "\n"), LIVE)
    with pytest.raises(UnreadablePredictions, match="row 1 has 3 fields for 2"):
        read_summary(_csv(tmp_path, "id,prediction\nn1,0.5,0.7\n"), LIVE)
    with pytest.raises(UnreadablePredictions, match="no column"):
        read_summary(_csv(tmp_path, "id\nn1\n"), LIVE)


def test_status_lines_are_sanitised_and_cannot_pass_anything() -> None:
    honest = {"version": 2, "stage": "predict", "error_kind": "predict_exception", "error_line": "boom",
              "exception": {"type": "RuntimeError", "message": "boom", "missing_module": None, "traceback": "tb"},
              "n_params": 1, "timings": {"load": 0.5, "bogus": 9}, "packages": {"numpy": "2.1.3"}}
    report = parse_status([json.dumps(honest)])
    assert report.stage == "predict" and report.error_kind == "predict_exception" and report.error_line == "boom"
    assert dict(report.timings) == {"load": 0.5} and report.n_params == 1
    hostile = {"version": 2, "stage": "../../etc", "error_kind": "<script>", "error_line": ["not", "text"],
               "n_params": True, "timings": {"load": float("inf"), "data": "1"}, "exception": "x" * 10,
               "passed": True, "checks": [{"status": "pass"}]}
    report = parse_status([json.dumps(hostile)])
    assert report == RunnerReport(stage="start", error_kind="load_exception")
    bombs = ['{"version": 2, "x": ' + "[" * 60_000 + "]" * 60_000 + "}", "[" * 70_000, "{" + "x" * 100_000]
    assert parse_status(bombs) == RunnerReport()
    assert parse_status([json.dumps(honest), *bombs]).stage == "predict"  # the last well-formed one counts
