"""validate_pickle end to end: real pickles built in real pinned runtimes, run in the real sandbox.

One test per failure category of numerai-predict (its exact wording must appear in the failed
check), our stricter checks, cross-version pickles, hostile pickles and resource abuse.
"""

from __future__ import annotations

import os
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from numerai_mcp.harness.interpreters import InterpreterNotFoundError
from numerai_mcp.harness.validate import ValidationArgumentError, validate_pickle
from numerai_mcp.harness.verdict import Verdict
from numerai_mcp.harness.verdict_store import recall
from tests.support.pickles import GOOD_ONE_ARG, GOOD_TWO_ARG, load_time_code_pickle, malicious_pickle

pytestmark = pytest.mark.slow


@pytest.fixture
def validate(test_cache_dir: Path):  # type: ignore[no-untyped-def]
    def run(path: Path, **kwargs) -> Verdict:  # type: ignore[no-untyped-def]
        return validate_pickle(path, cache_dir=test_cache_dir, **{"timeout_s": 120.0, **kwargs})

    return run


def failed(verdict: Verdict) -> list[str]:
    return [c.name for c in verdict.checks if c.status == "fail"]


def assert_fails_with(verdict: Verdict, check: str, text: str) -> None:
    assert not verdict.passed, verdict.summary
    found = verdict.check(check)
    assert found is not None and found.status == "fail", (check, [(c.name, c.status) for c in verdict.checks])
    assert text in found.message, found.message
    assert found.fix, f"{check} has no fix"
    assert verdict.fixes and verdict.summary.startswith("FAIL")


# ------------------------------------------------------------------ good pickles


def test_numerai_fixture_passes_on_312(validate, fixture_pickle: Path, test_cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    verdict = validate(fixture_pickle)
    assert verdict.passed, verdict.summary
    assert verdict.python_version_detected == "3.12" and verdict.python_version_used == "3.12"
    assert verdict.runtime.startswith("numerai_predict_py_3_12:") and verdict.backend == "local"
    assert verdict.live_data_source.startswith("synthetic (5800 rows, ")
    assert verdict.rows == 5800 and verdict.peak_memory_mb and verdict.peak_memory_mb < 4096
    assert [c.status for c in verdict.checks if c.name.startswith("numerai: ")] == ["pass"] * 9
    assert "INFO:root:Generated 5800 predictions" in verdict.log_tail
    assert {"scan", "provision", "load", "predict", "total"} <= set(verdict.timings)
    assert recall(verdict.sha256, test_cache_dir) == verdict


@pytest.mark.parametrize("python", ["3.11", "3.13"])
def test_numerai_fixture_is_flagged_before_running_elsewhere(validate, fixture_pickle: Path, python: str) -> None:  # type: ignore[no-untyped-def]
    verdict = validate(fixture_pickle, python_version=python)
    names = [c.name for c in verdict.checks]
    mismatch = verdict.check("scan: python_mismatch")
    assert mismatch is not None and mismatch.status == "fail"
    assert names.index("scan: python_mismatch") < names.index("numerai: load pickle")
    assert_fails_with(verdict, "numerai: run predict",
                      f"Segmentation fault: the pickle was built with Python 3.12 but runs on {python}")
    assert verdict.fixes[0].startswith(f"Rebuild the pickle with Python {python}")


@pytest.mark.parametrize("python", ["3.12", "3.11"])
def test_good_one_argument_pickle_passes(validate, make_pickle, python: str) -> None:  # type: ignore[no-untyped-def]
    verdict = validate(make_pickle(GOOD_ONE_ARG, python))
    assert verdict.passed, verdict.summary
    assert verdict.python_version_detected == python == verdict.python_version_used


def test_good_two_argument_pickle_reads_benchmarks(validate, make_pickle) -> None:  # type: ignore[no-untyped-def]
    verdict = validate(make_pickle(GOOD_TWO_ARG))
    assert verdict.passed, verdict.summary
    assert sum("Loading live features" in line for line in verdict.log_tail) == 2


def test_user_live_file_is_used(validate, make_pickle, runtime312, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from numerai_mcp.harness.livedata import write_synthetic_live_files

    live, _ = write_synthetic_live_files(tmp_path, features=["feature_a", "feature_b"], rows=123, runtime=runtime312)
    verdict = validate(make_pickle(GOOD_TWO_ARG), live_data=live)
    assert verdict.passed and verdict.rows == 123
    assert verdict.live_data_source.startswith(f"user file {live}")


# ------------------------------------------------------------------ Numerai's output checks

OUTPUT_CASES = {
    "none": ("def predict(df):\n    return None\n", "numerai: not None", "Pickle function is invalid - returned None"),
    "series": ("import pandas as pd\ndef predict(df):\n    return pd.Series(0.5, index=df.index)\n", "numerai: type",
               "Pickle function is invalid - returned <class 'pandas.core.series.Series'> instead of pd.DataFrame"),
    "nan": ("import pandas as pd\ndef predict(df):\n    return pd.DataFrame({'prediction': float('nan')}, index=df.index)\n",
            "numerai: no NaN", "Pickle function returned at least 1 NaN prediction"),
    "range": ("import pandas as pd\ndef predict(df):\n    return pd.DataFrame({'prediction': range(len(df))}, index=df.index)\n",
              "numerai: range", "Pickle function returned invalid predictions. Ensure values are between 0 and 1."),
    "empty": ("import pandas as pd\ndef predict(df):\n    return pd.DataFrame({'prediction': []})\n",
              "numerai: not empty", "Pickle function returned 0 predictions"),
    "typeerror": ("def predict(df):\n    return len(df, 2)\n", "numerai: run predict",
                  "Pickle function is invalid - len() takes exactly one argument (2 given)"),
    "exception": ("def predict(df):\n    raise RuntimeError('boom inside predict')\n", "numerai: run predict",
                  "boom inside predict"),
    "three_args": ("def predict(a, b, c):\n    return None\n", "numerai: signature",
                   "must have 1 or 2 arguments"),
}


@pytest.mark.parametrize("case", sorted(OUTPUT_CASES))
def test_numerai_failure_categories(validate, make_pickle, case: str) -> None:  # type: ignore[no-untyped-def]
    source, check, text = OUTPUT_CASES[case]
    verdict = validate(make_pickle(source))
    assert_fails_with(verdict, check, text)
    assert any(line.startswith("ERROR:root:") and text[:40] in line for line in verdict.log_tail), verdict.log_tail


STRICT_CASES = {
    "column": ("import pandas as pd\ndef predict(df):\n    return pd.DataFrame({'target': df.iloc[:, 2].rank(pct=True)}, index=df.index)\n",
               "column named prediction", "not ['prediction']"),
    "index": ("import pandas as pd\ndef predict(df):\n    return pd.DataFrame({'prediction': df.iloc[:, 2].rank(pct=True).values})\n",
              "index matches live ids", "the index is not the live ids"),
    "constant": ("import pandas as pd\ndef predict(df):\n    return pd.DataFrame({'prediction': 0.5}, index=df.index)\n",
                 "not constant", "every prediction is the same value"),
}


@pytest.mark.parametrize("case", sorted(STRICT_CASES))
def test_stricter_checks_fail_what_numerai_would_accept(validate, make_pickle, case: str) -> None:  # type: ignore[no-untyped-def]
    source, check, text = STRICT_CASES[case]
    verdict = validate(make_pickle(source))
    assert all(c.status == "pass" for c in verdict.checks if c.name.startswith("numerai: "))
    assert_fails_with(verdict, check, text)


# ------------------------------------------------------------------ loading failures


def test_repo_local_module_is_caught(validate, make_pickle) -> None:  # type: ignore[no-untyped-def]
    source = "import agents\nimport pandas as pd\ndef predict(df):\n    return pd.DataFrame({'prediction': agents.score(df)}, index=df.index)\n"
    pickle_path = make_pickle(source, modules={"agents": "def score(df):\n    return 0.5\n"})
    verdict = validate(pickle_path)
    assert "scan: missing_module" in failed(verdict)
    assert_fails_with(verdict, "numerai: load pickle", "Import error reading pickle - No module named 'agents'")
    assert "agents" in verdict.check("numerai: load pickle").fix


def test_numpy2_array_on_numpy1_runtime(validate, make_pickle) -> None:  # type: ignore[no-untyped-def]
    source = "import functools\nimport numpy as np\npredict = functools.partial(np.multiply, np.arange(3.0))\n"
    verdict = validate(make_pickle(source, "3.11"), python_version="3.10")
    assert_fails_with(verdict, "numerai: load pickle", "Import error reading pickle - No module named 'numpy._core")
    assert "numpy < 2" in verdict.check("numerai: load pickle").fix


def test_py310_pickle_is_incompatible_with_312(validate, make_pickle) -> None:  # type: ignore[no-untyped-def]
    verdict = validate(make_pickle(GOOD_ONE_ARG, "3.10"), python_version="3.12")
    assert_fails_with(verdict, "numerai: load pickle", "Pickle incompatible with 3.12")
    assert verdict.python_version_detected and "3.10" in verdict.python_version_detected


def test_py313_pickle_on_312_raises_system_error(validate, make_pickle) -> None:  # type: ignore[no-untyped-def]
    source = "import pandas as pd\nmodel = [0.5]\ndef predict(df):\n    global model\n    x = model\n    del x\n    return pd.DataFrame({'prediction': df.iloc[:, 2].rank(pct=True)}, index=df.index)\n"
    verdict = validate(make_pickle(source, "3.13"), python_version="3.12")
    assert not verdict.passed
    assert "scan: python_mismatch" in failed(verdict)
    assert verdict.fixes[0].startswith("Rebuild the pickle with Python 3.12")


def test_truncated_and_non_pickle_files(validate, make_pickle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = make_pickle(GOOD_ONE_ARG).read_bytes()
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(good[: len(good) // 2])
    assert_fails_with(validate(truncated), "numerai: load pickle", "Invalid pickle - pickle data was truncated")
    archive = tmp_path / "model.pt"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("archive/data.pkl", b"not really")
    assert_fails_with(validate(archive), "numerai: load pickle",
                      "Invalid pickle - A load persistent id instruction was encountered")


# ------------------------------------------------------------------ hostile and abusive pickles


@pytest.mark.parametrize("kind", ["os_system", "subprocess", "exec"])
def test_dangerous_pickle_is_refused_before_loading(validate, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    marker = Path("/tmp") / f"numerai-mcp-pwned-{kind}-{os.getpid()}"
    path = tmp_path / f"{kind}.pkl"
    path.write_bytes(malicious_pickle(kind, marker))
    verdict = validate(path)
    assert_fails_with(verdict, "safety", "Refused before loading")
    assert verdict.live_data_source.startswith("not loaded") and verdict.log_tail == []
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["os_system", "exec"])
def test_unsafe_pickle_allowed_still_cannot_escape(validate, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    marker = Path("/tmp") / f"numerai-mcp-pwned-allowed-{kind}-{os.getpid()}"
    home_marker = tmp_path / "pwned"
    for target in (marker, home_marker):
        path = tmp_path / f"{kind}-{target.name}.pkl"
        path.write_bytes(malicious_pickle(kind, target))
        verdict = validate(path, allow_unsafe=True)
        assert not verdict.passed
        assert verdict.check("scan: dangerous_global") is not None
        assert not target.exists(), f"{kind} escaped the sandbox"


def test_load_time_code_never_touches_the_host(validate, tmp_path: Path, test_cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    marker = Path("/tmp") / f"numerai-mcp-pwned-loadtime-{os.getpid()}"
    path = load_time_code_pickle("3.12", marker, tmp_path / "evil.pkl", cache_dir=test_cache_dir)
    for allow in (False, True):
        verdict = validate(path, allow_unsafe=allow)
        assert not verdict.passed
        assert not marker.exists()


def test_network_is_unreachable_from_predict(validate, make_pickle) -> None:  # type: ignore[no-untyped-def]
    source = "import socket\ndef predict(df):\n    socket.create_connection(('1.1.1.1', 443), timeout=3)\n"
    verdict = validate(make_pickle(source))
    assert_fails_with(verdict, "numerai: run predict", "Network is unreachable")


def test_six_gigabytes_would_exceed_the_memory_limit(validate, make_pickle) -> None:  # type: ignore[no-untyped-def]
    source = "import numpy as np\ndef predict(df):\n    big = np.ones(6 * 1024**3 // 8)\n    return big\n"
    verdict = validate(make_pickle(source))
    assert_fails_with(verdict, "numerai: run predict", "would exceed 4 GB")
    assert "Unable to allocate 6.00 GiB" in verdict.check("numerai: run predict").message


def test_sleeping_past_the_limit_is_stopped(validate, make_pickle) -> None:  # type: ignore[no-untyped-def]
    source = "import time, subprocess\ndef predict(df):\n    subprocess.Popen(['sleep', '4242'])\n    time.sleep(300)\n"
    started = time.perf_counter()
    verdict = validate(make_pickle(source), timeout_s=4)
    assert time.perf_counter() - started < 60
    assert_fails_with(verdict, "numerai: run predict", "Stopped after 4 s")
    assert "10-minute" in verdict.check("numerai: run predict").fix
    _assert_no_process("sleep 4242")


def test_detached_child_is_killed_and_reported(validate, make_pickle) -> None:  # type: ignore[no-untyped-def]
    source = ("import subprocess\nimport pandas as pd\n"
              "def predict(df):\n    subprocess.Popen(['sleep', '5353'], start_new_session=True)\n"
              "    return pd.DataFrame({'prediction': df.iloc[:, 2].rank(pct=True)}, index=df.index)\n")
    verdict = validate(make_pickle(source))
    assert verdict.passed, verdict.summary
    leftover = verdict.check("sandbox: leftover processes")
    assert leftover is not None and leftover.status == "warn"
    _assert_no_process("sleep 5353")


def _assert_no_process(needle: str) -> None:
    for _ in range(30):
        if needle not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout:
            return
        time.sleep(0.1)
    raise AssertionError(f"'{needle}' survived")


# ------------------------------------------------------------------ bad arguments


def test_bad_arguments_raise_clear_value_errors(fixture_pickle: Path, tmp_path: Path, test_cache_dir: Path) -> None:
    with pytest.raises(ValidationArgumentError, match="No file at"):
        validate_pickle(tmp_path / "missing.pkl", cache_dir=test_cache_dir)
    with pytest.raises(ValueError, match="supported versions are"):
        validate_pickle(fixture_pickle, python_version="3.9", cache_dir=test_cache_dir)
    with pytest.raises(ValueError, match="backend must be"):
        validate_pickle(fixture_pickle, backend="podman", cache_dir=test_cache_dir)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="live data file"):
        validate_pickle(fixture_pickle, live_data=tmp_path / "nope.parquet", cache_dir=test_cache_dir)
    with pytest.raises(ValueError, match="timeout_s"):
        validate_pickle(fixture_pickle, timeout_s=0, cache_dir=test_cache_dir)
    assert not (tmp_path / "verdicts").exists()


def test_missing_interpreter_is_reported(fixture_pickle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from numerai_mcp.harness import interpreters

    monkeypatch.setattr(interpreters, "_cache", {})
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "none"))
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(InterpreterNotFoundError, match="pyenv install 3.12"):
        validate_pickle(fixture_pickle, cache_dir=tmp_path)
