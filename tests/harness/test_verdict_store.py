"""Verdicts remembered by sha256: round trip, replacement, and damaged or bad keys."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from numerai_mcp.harness.verdict import Check, Verdict, collect_fixes
from numerai_mcp.harness.verdict_store import recall, remember


def make_verdict(passed: bool, sha: str) -> Verdict:
    checks = [Check(name="numerai: no NaN", status="pass" if passed else "fail", message="m", fix=None if passed else "f")]
    return Verdict(passed=passed, summary="s", sha256=sha, path="/x.pkl", size=3, python_version_detected="3.12",
                   python_version_used="3.12", backend="local", runtime="numerai_predict_py_3_12:19d1769",
                   pins_source="shipped", live_data_source="synthetic", checks=checks, fixes=collect_fixes(checks))


def test_round_trip_and_newest_wins(tmp_path: Path) -> None:
    sha = hashlib.sha256(b"pickle").hexdigest()
    assert recall(sha, tmp_path) is None
    remember(make_verdict(False, sha), tmp_path)
    assert recall(sha, tmp_path).passed is False
    remember(make_verdict(True, sha), tmp_path)
    again = recall(sha.upper(), tmp_path)
    assert again is not None and again.passed and again == make_verdict(True, sha).model_copy(
        update={"created_at": again.created_at})
    assert [p.name for p in (tmp_path / "verdicts").iterdir()] == [f"{sha}.json"]


def test_damaged_file_reads_as_unknown(tmp_path: Path) -> None:
    sha = "a" * 64
    (tmp_path / "verdicts").mkdir()
    (tmp_path / "verdicts" / f"{sha}.json").write_text("{not json")
    assert recall(sha, tmp_path) is None


@pytest.mark.parametrize("bad", ["../../etc/passwd", "abc", "g" * 64])
def test_bad_digests_are_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        recall(bad, tmp_path)
    with pytest.raises(ValueError, match="sha256"):
        remember(make_verdict(True, bad), tmp_path)


def test_fixes_list_failures_before_warnings() -> None:
    checks = [Check(name="a", status="warn", message="", fix="warn fix"), Check(name="b", status="fail", message="",
                                                                             fix="fail fix"),
              Check(name="c", status="fail", message="", fix="fail fix")]
    assert collect_fixes(checks) == ["fail fix", "warn fix"]
