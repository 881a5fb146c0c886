"""evaluate_pickle end to end: real pickles built in the pinned 3.12 runtime, run era by era in the real sandbox,
scored by numerai-tools in the runtime, on the sandbox's synthetic validation set (written by the emulator's own
make_live_data.py). Our numbers are checked against numerai-tools run independently here, in the test's Python."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from numerai_mcp.harness import evaluation_store
from numerai_mcp.harness.evaluate import Evaluation, EvaluationError, ValidationData, evaluate_pickle
from tests.support.pickles import build_pickle

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ERAS_IN_FILE = 12

SIGNAL = """
import pandas as pd
def predict(live_features, live_benchmark_models):
    f = [c for c in live_features.columns if c.startswith("feature_")]
    score = live_features[f[0]] + 0.7 * live_features[f[1]] - 0.5 * live_features[f[2]]
    return pd.DataFrame({"prediction": score.rank(pct=True)}, index=live_features.index)
"""

CONSTANT = """
import pandas as pd
def predict(live_features):
    return pd.DataFrame({"prediction": 0.5}, index=live_features.index)
"""

RANDOM = """
import numpy as np
import pandas as pd
def predict(live_features):
    rng = np.random.default_rng(len(live_features) + int(live_features.index[0][1:8], 16))
    return pd.DataFrame({"prediction": rng.random(len(live_features))}, index=live_features.index)
"""

# logs what each call receives (stderr reaches the evaluation's log tail), and refuses anything but one era
OBSERVER = """
import sys
import pandas as pd
def predict(live_features, live_benchmark_models):
    eras = sorted(set(live_features["era"]))
    assert len(eras) == 1, "more than one era in one call: %s" % eras
    assert not [c for c in live_features.columns if c.startswith("target")], "targets reached predict"
    assert live_benchmark_models.index.equals(live_features.index), "benchmarks not aligned"
    print("CALL era=%s rows=%d bench=%d data_type=%s" % (eras[0], len(live_features), len(live_benchmark_models),
          live_features["data_type"].iloc[0]), file=sys.stderr, flush=True)
    return pd.DataFrame({"prediction": live_benchmark_models.iloc[:, 0].rank(pct=True)}, index=live_features.index)
"""

FAILS_IN_THIRD_ERA = """
import pandas as pd
CALLS = []
def predict(live_features):
    CALLS.append(1)
    if len(CALLS) == 3:
        raise ValueError("boom in call %d" % len(CALLS))
    return pd.DataFrame({"prediction": live_features.iloc[:, 2].rank(pct=True)}, index=live_features.index)
"""

LEAKS = """
import numpy as np
import pandas as pd
KEPT = []
def predict(live_features):
    KEPT.append(np.ones(150 * 1024 * 1024 // 8))  # 150 MB kept per call, never freed
    return pd.DataFrame({"prediction": live_features.iloc[:, 2].rank(pct=True)}, index=live_features.index)
"""

WRONG_IDS = """
import pandas as pd
def predict(live_features):
    frame = pd.DataFrame({"prediction": live_features.iloc[:, 2].rank(pct=True)}, index=live_features.index)
    return frame.reset_index(drop=True)
"""


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory, runtime312) -> ValidationData:  # type: ignore[no-untyped-def]
    """The emulator's synthetic data files (small: 12 eras x 250 rows), written by its own script."""
    folder = tmp_path_factory.mktemp("validation")
    names = folder / "feature_names.txt"
    names.write_text((REPO / "numerai_mcp" / "emulator" / "feature_names.txt").read_text())
    done = subprocess.run([str(runtime312.python), "-I", str(REPO / "numerai_mcp" / "emulator" / "make_live_data.py"),
                           str(folder), str(names), "100", "0", str(ERAS_IN_FILE), "250"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return ValidationData(folder / "validation.parquet", folder / "validation_benchmark_models.parquet",
                          "the emulator's synthetic files")


@pytest.fixture(scope="session")
def pickles(tmp_path_factory: pytest.TempPathFactory, test_cache_dir: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("eval-pickles")

    def make(source: str, name: str) -> Path:
        return build_pickle("3.12", source, folder / f"{name}.pkl", cache_dir=test_cache_dir)

    return make


@pytest.fixture
def evaluate(test_cache_dir: Path):  # type: ignore[no-untyped-def]
    def run(path: Path, data: ValidationData, **kwargs) -> Evaluation:  # type: ignore[no-untyped-def]
        return evaluate_pickle(path, data, cache_dir=test_cache_dir, **{"use_cache": False, "plots": False, **kwargs})

    return run


def independent_scores(data: ValidationData, eras: list[str]) -> list[tuple[float, float]]:
    """(numerai_corr, max_feature_correlation) per era of the planted-signal ranking, computed here with the test's
    own numerai-tools."""
    import pandas as pd
    from numerai_tools.scoring import max_feature_correlation, numerai_corr

    frame = pd.read_parquet(data.validation).sort_index()
    features = [c for c in frame.columns if c.startswith("feature_")]
    scores = []
    for era in eras:
        rows = frame[frame["era"] == era]
        signal = rows[features[0]] + 0.7 * rows[features[1]] - 0.5 * rows[features[2]]
        predictions = signal.rank(pct=True).rename("prediction")
        corr = float(numerai_corr(predictions.to_frame(), rows["target"].astype("float64"))["prediction"])
        scores.append((corr, float(max_feature_correlation(predictions, rows[features].astype("float64"))[1])))
    return scores


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_planted_signal_is_recovered_and_matches_numerai_tools(evaluate, pickles, synthetic, test_cache_dir: Path,
                                                               tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pickles(SIGNAL, "signal"), synthetic, plots=True, plot_dir=tmp_path / "plots")
    assert result.passed, result.summary
    assert result.synthetic and "SYNTHETIC" in result.summary
    eras = [f"{575 + i:04d}" for i in range(ERAS_IN_FILE)]
    assert [row.era for row in result.per_era] == eras and result.era_count == ERAS_IN_FILE
    assert result.eras_requested == f"the most recent {ERAS_IN_FILE} eras with targets"
    independent = independent_scores(synthetic, eras)
    expected = [corr for corr, _exposure in independent]
    assert [row.corr for row in result.per_era] == pytest.approx(expected, abs=1e-9)
    assert [row.feature_corr_max for row in result.per_era] == pytest.approx([e for _c, e in independent], abs=1e-9)
    assert result.validation_corr_mean == pytest.approx(sum(expected) / len(expected), abs=1e-9)
    assert result.validation_corr_mean > 0.08 and result.validation_corr_sharpe > 1
    assert all(row.rows == row.scored == 250 and not row.missing for row in result.per_era)
    assert result.benchmark_model == "v52_lgbm_ender20" and result.validation_benchmark_corr_mean > 0.05
    assert result.validation_corr_w_benchmark > 0.5 and result.validation_bmc_mean is not None
    assert 0 < result.validation_feature_corr_max <= 1
    assert result.limits["memory_mb"] == 4096 and result.limits["wall_s"] == 600 + 60 * ERAS_IN_FILE
    assert result.peak_memory_mb and result.peak_memory_mb < 1024
    # the plots: PNGs of the stated size, copied where asked
    assert set(result.plots) == {"per_era", "cumulative"}
    for path in result.plots.values():
        assert Path(path).parent == tmp_path / "plots" and png_size(Path(path)) == (1000, 450)
    # remembered by sha256: the next call with the same file, data and eras is answered from the cache
    assert evaluation_store.latest(test_cache_dir, result.sha256).validation_corr_mean == result.validation_corr_mean
    again = evaluate(pickles(SIGNAL, "signal"), synthetic, plots=True, use_cache=True)
    assert again.cached and again.per_era == result.per_era and all(Path(p).is_file() for p in again.plots.values())


def test_each_call_gets_one_era_with_its_benchmarks_in_order(evaluate, pickles, synthetic) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pickles(OBSERVER, "observer"), synthetic, eras=["0576", "0578-0580"])
    assert result.passed, result.summary
    calls = [line.split("CALL ", 1)[1] for line in result.log_tail if "CALL " in line]
    assert calls == [f"era={era} rows=250 bench=250 data_type=validation" for era in ("0576", "0578", "0579", "0580")]
    assert [row.era for row in result.per_era] == ["0576", "0578", "0579", "0580"]
    # it ranks the benchmark model itself: its CORR is the benchmark's, and it correlates perfectly with it
    assert [row.corr for row in result.per_era] == pytest.approx([row.benchmark_corr for row in result.per_era])
    assert result.validation_corr_w_benchmark == pytest.approx(1.0)


def test_recent_eras_are_the_last_ones(evaluate, pickles, synthetic) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pickles(SIGNAL, "signal"), synthetic, eras=3)
    assert [row.era for row in result.per_era] == ["0584", "0585", "0586"]
    assert result.limits["wall_s"] == 600 + 3 * 60


@pytest.mark.parametrize("source", [CONSTANT, RANDOM], ids=["constant", "random"])
def test_constant_or_random_predictions_score_about_zero(evaluate, pickles, synthetic, source: str) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pickles(source, "noise"), synthetic)
    assert result.passed, result.summary
    assert abs(result.validation_corr_mean) < 0.05
    if source == CONSTANT:
        assert all(row.corr is None for row in result.per_era) and result.validation_corr_mean == 0
        assert any(c.name == "evaluate: constant" and c.status == "warn" for c in result.checks)


def test_a_failure_in_one_era_stops_with_the_reason(evaluate, pickles, synthetic) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pickles(FAILS_IN_THIRD_ERA, "fails"), synthetic, eras=5)
    assert not result.passed and not result.per_era
    failed = [c for c in result.checks if c.status == "fail"]
    assert failed and "boom in call 3" in failed[0].message and "after 2 of 5 eras" in failed[0].message
    assert failed[0].fix and result.summary.startswith("FAIL")


def test_memory_is_bounded_for_the_whole_run(evaluate, pickles, synthetic) -> None:  # type: ignore[no-untyped-def]
    limit = 1024**3
    fine = evaluate(pickles(SIGNAL, "signal"), synthetic, memory_bytes=limit)
    assert fine.passed and fine.peak_memory_mb < 1024
    leaking = evaluate(pickles(LEAKS, "leaks"), synthetic, memory_bytes=limit)
    assert not leaking.passed
    failed = next(c for c in leaking.checks if c.status == "fail")
    assert "would exceed 1 GB" in failed.message and f"of {ERAS_IN_FILE} eras)" in failed.message, failed.message
    assert "memory" in failed.fix.lower() or "GB" in failed.fix


def test_rows_that_do_not_match_fail(evaluate, pickles, synthetic) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pickles(WRONG_IDS, "wrong-ids"), synthetic, eras=2)
    assert not result.passed
    rows = next(c for c in result.checks if c.name == "evaluate: rows")
    # both eras come back indexed 0..249: the second copy is a duplicate, and none is a real id
    assert "500 missing" in rows.message and "250 duplicated, 250 unknown ids" in rows.message


def test_bad_arguments_and_data_are_clear_errors(evaluate, pickles, synthetic, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pickle_path = pickles(SIGNAL, "signal")
    with pytest.raises(EvaluationError, match="not in the validation data"):
        evaluate(pickle_path, synthetic, eras=["0999"])
    with pytest.raises(EvaluationError, match="at least 1"):
        evaluate(pickle_path, synthetic, eras=0)
    live = synthetic.validation.with_name("live.parquet")
    with pytest.raises(EvaluationError, match="no 'target' column"):
        evaluate(pickle_path, ValidationData(live))
    with pytest.raises(EvaluationError, match="does not exist"):
        evaluate(pickle_path, ValidationData(tmp_path / "nope.parquet"))
    with pytest.raises(EvaluationError, match="no column 'nope'"):
        evaluate(pickle_path, synthetic, benchmark="nope")


def test_scripts_run_on_310_without_numerai_mcp_and_the_server_stays_light(test_cache_dir: Path) -> None:
    """The sandboxed runner and the trusted scripts parse on the oldest runtime (Python 3.10; tests/test_layers.py
    checks they import nothing of ours); the server imports the evaluation modules without numpy, pandas, pyarrow
    or matplotlib."""
    from numerai_mcp.harness.runtime import ensure_runtime

    python310 = ensure_runtime("3.10", cache_dir=test_cache_dir).python
    for name in ("era_runner.py", "runner.py", "scoring_script.py", "plot_script.py"):
        path = REPO / "numerai_mcp" / "harness" / name
        done = subprocess.run([str(python310), "-I", "-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())",
                               str(path)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (name, done.stderr)
    code = ("import sys, numerai_mcp.server.app, numerai_mcp.harness.evaluate, numerai_mcp.commands.evaluate, numerai_mcp.tools.evaluate; "
            "print(sorted(m for m in ('numpy', 'pandas', 'pyarrow', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
