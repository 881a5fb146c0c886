"""evaluate_pickle: how a pickle scores on validation data, run exactly as validation runs it, before uploading.

Steps: static scan (refuse dangerous pickles unless allowed) → the Python that built it → the
pinned runtime, grown by Numerai's pinned numerai-tools and matplotlib → an index of the
validation file (trusted script, cached) → the chosen eras (default: the most recent 100 with
targets) → ONE sandboxed run of era_runner.py: the pickle is loaded once and called era by
era with that era's rows and benchmark rows, like a live call → the predictions it returned
(bounded CSV) scored per era with numerai-tools by a trusted script → headline numbers,
computed here → plots (a separate function) → remembered by (sha256, data, eras).

Limits of the one run: Numerai's 4 GB and 1 CPU for the whole sandbox, all the time; a wall
clock of 600 s (one live call: load + predict) plus 60 s per era, stated in the result.

The server never imports numpy, pandas or matplotlib: the data and the pictures are handled
by scripts run with the runtime's interpreter. Bad arguments or unreadable data raise
EvaluationError (an InvalidInputError) saying what to do; a pickle that fails is not an exception but
an Evaluation with passed=false and the failing check.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from numerai_mcp.errors import InvalidInputError
from numerai_mcp.harness.verdict import Check, collect_fixes
from numerai_mcp.progress import ProgressFn, no_progress
from numerai_mcp.scores import max_drawdown, mean_std_sharpe

if TYPE_CHECKING:
    from numerai_mcp.harness.catalogue import Runtime
    from numerai_mcp.harness.runtime import LocalRuntime
    from numerai_mcp.harness.sandbox import Limits, Mode

DEFAULT_ERAS = 100
BASE_WALL_S = 600.0     # Numerai's limit for one live call: loading the pickle and one predict
PER_ERA_WALL_S = 60.0   # added per era evaluated
MEMORY_BYTES = 4 * 1024**3
SCORING_PACKAGES = ("numerai-tools", "matplotlib")
SCRIPT_TIMEOUT_S = 3600.0
MIN_PREDICTION_BYTES = 64 * 1024**2
BYTES_PER_ROW = 96      # an id and a float as CSV, with room to spare
LOG_TAIL_LINES = 25
_HERE = Path(__file__).resolve().parent
ERA_RUNNER, RUNNER, ERA_READER = _HERE / "era_runner.py", _HERE / "runner.py", _HERE / "era_reader.py"
SCORING_SCRIPT, PLOT_SCRIPT = _HERE / "scoring_script.py", _HERE / "plot_script.py"
ErasArg = int | Sequence[str] | Literal["all"] | None


class EvaluationError(InvalidInputError):
    """An argument or the validation data is wrong; nothing was run. The message says what to do."""


@dataclass(frozen=True)
class ValidationData:
    """Local validation files: features + `era` + target indexed by id, and optionally benchmark models."""

    validation: Path
    benchmarks: Path | None = None
    source: str = ""                 # said in the result, e.g. "Numerai v5.2/validation.parquet (cached)"
    data_version: str | None = None


class EraScore(BaseModel):
    """One era's numbers (numerai-tools), with what was wrong with its rows."""

    era: str
    rows: int
    scored: int = Field(description="Rows with both a prediction and a target.")
    corr: float | None = Field(default=None, description="numerai_corr of the predictions with the target.")
    benchmark_corr: float | None = Field(default=None, description="The benchmark model's own numerai_corr.")
    corr_with_benchmark: float | None = Field(default=None, description="Spearman correlation with the benchmark "
                                              "model's predictions.")
    bmc: float | None = Field(default=None, description="correlation_contribution to the benchmark model.")
    feature_corr_max: float | None = Field(default=None, description="Largest |correlation| with one feature.")
    feature_corr_max_feature: str | None = None
    missing: int = 0
    nan: int = 0
    out_of_range: int = 0


class Evaluation(BaseModel):
    """A pickle's validation scores, computed locally; headline names follow Numerai's V2Diagnostics."""

    passed: bool = Field(description="predict ran on every era within the limits and every row got a usable "
                                     "prediction.")
    summary: str
    sha256: str
    path: str
    size: int
    python_version: str
    runtime: str
    data_source: str
    data_version: str | None = None
    synthetic: bool = Field(description="True when the validation data is the sandbox's synthetic set: its scores "
                                        "say nothing about the model on Numerai's data.")
    target: str
    benchmark_model: str | None = None
    eras_requested: str
    era_count: int = 0
    rows: int = 0
    validation_corr_mean: float | None = None
    validation_corr_std: float | None = Field(default=None, description="Sample standard deviation over eras.")
    validation_corr_sharpe: float | None = Field(default=None, description="Mean / std of the per-era CORR.")
    validation_max_drawdown: float | None = Field(default=None, description="Largest fall of the cumulative "
                                                  "per-era CORR from its previous peak (>= 0).")
    validation_corr_positive_share: float | None = None
    validation_benchmark_corr_mean: float | None = Field(default=None, description="The benchmark model's mean "
                                                         "CORR on the same eras.")
    validation_corr_w_benchmark: float | None = Field(default=None, description="Mean per-era correlation with the "
                                                      "benchmark model's predictions.")
    validation_bmc_mean: float | None = Field(default=None, description="Mean contribution to the benchmark model.")
    validation_feature_corr_max: float | None = Field(default=None, description="Max feature exposure: the largest "
                                                      "per-era |correlation| with a single feature.")
    per_era: list[EraScore] = Field(default_factory=list)
    plots: dict[str, str] = Field(default_factory=dict, description="PNG files: per_era, cumulative.")
    checks: list[Check] = Field(default_factory=list)
    fixes: list[str] = Field(default_factory=list)
    limits: dict[str, float] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    peak_memory_mb: float | None = None
    slowest_era_predict_s: float | None = Field(default=None, description="As the sandboxed runner measured it "
                                                "(informative only).")
    numerai_tools: str | None = None
    log_tail: list[str] = Field(default_factory=list)
    cached: bool = False
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


# ------------------------------------------------------------------ arguments


def parse_eras(value: ErasArg | str) -> int | list[str] | Literal["all"]:
    """`100`, "100", "all", "0575,0576" or a list of era labels (ranges "0575-0600" included) -> a selection."""
    if value is None:
        return DEFAULT_ERAS
    if isinstance(value, bool):
        raise EvaluationError("eras must be a number of eras, 'all', or a list of era labels.")
    if isinstance(value, int):
        if value < 1:
            raise EvaluationError(f"eras must be at least 1, not {value}.")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "all":
            return "all"
        if text.isdigit() and len(text) < 4:
            return parse_eras(int(text))
        value = [part for part in re.split(r"[,\s]+", text) if part]
    labels = [str(v).strip() for v in value if str(v).strip()]
    if not labels:
        raise EvaluationError("eras is empty: give a number of eras, 'all', or era labels such as '0575,0576'.")
    return labels


def _select(index: dict[str, Any], selection: int | list[str] | Literal["all"]) -> tuple[list[str], str]:
    """(eras in file order, how they were chosen). Only eras with targets count for 'recent N' and 'all'."""
    order = [str(era) for era, _rows, _targets in index["eras"]]
    scored = [str(era) for era, _rows, targets in index["eras"] if targets > 0]
    if not scored:
        raise EvaluationError("The validation data has no era with targets: nothing can be scored.")
    if selection == "all":
        return scored, f"all {len(scored)} eras with targets"
    if isinstance(selection, int):
        chosen = scored[-selection:]
        return chosen, f"the most recent {len(chosen)} eras with targets"
    wanted: list[str] = []
    for label in selection:
        if "-" in label and label not in order:
            first, _, last = label.partition("-")
            if first not in order or last not in order or order.index(first) > order.index(last):
                raise EvaluationError(f"Era range {label!r} does not match the data's eras ({order[0]} … {order[-1]}).")
            wanted += order[order.index(first): order.index(last) + 1]
        elif label in order:
            wanted.append(label)
        else:
            raise EvaluationError(f"Era {label!r} is not in the validation data (its eras run {order[0]} … "
                                  f"{order[-1]}).")
    chosen = [era for era in order if era in set(wanted)]
    without = [era for era in chosen if era not in set(scored)]
    if without:
        raise EvaluationError(f"Era(s) {without[:5]} have no targets yet, so they cannot be scored; choose others.")
    return chosen, f"{len(chosen)} chosen era(s)"


def _check_data(data: ValidationData) -> ValidationData:
    for label, path in (("validation data", data.validation), ("benchmark data", data.benchmarks)):
        if path is None:
            continue
        if not Path(path).is_file():
            raise EvaluationError(f"The {label} file {path} does not exist.")
        if Path(path).suffix.lower() != ".parquet":
            raise EvaluationError(f"The {label} file {path} is not a .parquet file.")
    return ValidationData(Path(data.validation).resolve(), Path(data.benchmarks).resolve() if data.benchmarks else
                          None, data.source or f"user file {data.validation}", data.data_version)


# ------------------------------------------------------------------ trusted scripts


def _script_env(runtime: LocalRuntime, cache_dir: Path) -> dict[str, str]:
    """An allow-listed environment (no credentials) for our own scripts in the runtime."""
    home = Path(cache_dir) / "matplotlib"
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home),
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **runtime.env}


def run_script(runtime: LocalRuntime, script: Path, args: Sequence[str], request: dict[str, Any],
               cache_dir: Path, work: Path) -> dict[str, Any]:
    """Run one of our scripts with the runtime's Python; its JSON answer, or EvaluationError with its words."""
    request_file = work / f"{script.stem}-{len(list(work.iterdir()))}.json"
    out = request_file.with_suffix(".out.json")
    request_file.write_text(json.dumps({**request, "out": str(out)}))
    try:
        done = subprocess.run([str(runtime.python), "-I", str(script), *args, str(request_file)], capture_output=True,
                              text=True, env=_script_env(runtime, cache_dir), timeout=SCRIPT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, cwd=work)
    except subprocess.TimeoutExpired:
        raise EvaluationError(f"{script.name} took over {SCRIPT_TIMEOUT_S:.0f} s and was stopped.") from None
    try:
        answer = json.loads(out.read_text())
    except (OSError, ValueError):
        tail = " ".join(done.stderr.strip().splitlines()[-3:])[-600:]
        raise EvaluationError(f"{script.name} failed (exit {done.returncode}): {tail or 'no output'}") from None
    if "error" in answer:
        raise EvaluationError(str(answer["error"])[:1000])
    return dict(answer)


def data_index(runtime: LocalRuntime, data: ValidationData, target: str, cache_dir: Path,
               work: Path) -> dict[str, Any]:
    """The validation file's eras, columns and benchmark columns (cached by the files' identity)."""
    identity = [target] + [[str(p), p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino]
                           for p in (data.validation, data.benchmarks) if p is not None]
    from numerai_mcp.harness.evaluation_store import key_for, root

    cached = root(cache_dir) / "index" / f"{key_for(identity)}.json"
    try:
        return dict(json.loads(cached.read_text()))
    except (OSError, ValueError):
        pass
    answer = run_script(runtime, SCORING_SCRIPT, ["index"], {"validation": str(data.validation), "target": target,
                        "benchmarks": str(data.benchmarks) if data.benchmarks else None}, cache_dir, work)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(answer))
    os.replace(tmp, cached)
    return answer


# ------------------------------------------------------------------ the sandboxed run


class ProgressSink:
    """Reads the runner's per-era lines (untrusted, bounded) only to report progress."""

    def __init__(self, progress: ProgressFn, eras: int, step: float, steps: int) -> None:
        self.progress, self.eras, self.step, self.steps = progress, eras, step, steps
        self.total, self.overflowed, self.done = 0, False, 0
        self.slowest: float | None = None
        self.predict_total = 0.0  # as the untrusted runner says it: for benchmarks only, never for a verdict
        self._pending = b""

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        self._pending = (self._pending + data)[-65536:]
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines[-1000:]:
            try:
                record = json.loads(line[:1000])
                done, predict_s = int(record["era"]), float(record["predict_s"])
            except (ValueError, KeyError, TypeError, RecursionError):
                continue
            if 0 < done <= self.eras and done > self.done:
                self.done = done
                if math.isfinite(predict_s) and 0 <= predict_s < 1e6:
                    self.slowest = max(self.slowest or 0.0, predict_s)
                    self.predict_total += predict_s
                self.progress(self.step + done / self.eras * 0.99, self.steps, f"predicted era {done} of {self.eras}")

    def close(self) -> None:
        pass


@dataclass
class _Run:
    ok: bool
    spool: Path
    checks: list[Check]
    log_tail: list[str]
    peak_memory_mb: float | None
    slowest: float | None
    timings: dict[str, float]


def _sandbox_run(path: Path, runtime: LocalRuntime, data: ValidationData, index: dict[str, Any], eras: list[str],
                 limits: Limits, mode: Mode, target: Runtime, built_with: list[str], ws_keep: Path,
                 progress: ProgressFn) -> _Run:
    from numerai_mcp.harness import sandbox
    from numerai_mcp.harness.outcome import RunContext, local_checks
    from numerai_mcp.harness.runner_report import parse_status

    rows = sum(r for era, r, _t in index["eras"] if str(era) in set(eras))
    ws = sandbox.Workspace()
    try:
        model = ws.add_input(path, "model.pkl")
        runner = ws.add_input(ERA_RUNNER, "era_runner.py")
        ws.add_input(RUNNER, "runner.py")
        ws.add_input(ERA_READER, "era_reader.py")
        bench = index.get("benchmarks")
        plan = {"validation": str(data.validation), "eras": eras, "columns": index["columns"],
                "benchmarks": str(data.benchmarks) if data.benchmarks and bench else None,
                "bench_columns": bench["columns"] if bench else None, "bench_by": bench["by"] if bench else None}
        plan_file = ws.write_input("plan.json", json.dumps(plan))
        ws.mode = mode
        spool = sandbox.FileSink(ws.private / "predictions.csv", max(MIN_PREDICTION_BYTES, rows * BYTES_PER_ROW))
        meter = ProgressSink(progress, len(eras), 3, 6)
        argv = [str(runtime.python), "-I", ws.inner(runner), "--model", ws.inner(model), "--plan", ws.inner(plan_file),
                "--git-ref", target.tag, "--spawned-at", repr(time.time())]
        interpreter_home = Path(runtime.python).resolve().parent.parent
        binds = [runtime.root, interpreter_home, data.validation, *([data.benchmarks] if plan["benchmarks"] else [])]
        outcome = sandbox.run_sandboxed(argv, ws, limits=limits, mode=mode, binds=binds, env=runtime.env,
                                        outputs={"predictions": spool, "progress": meter})  # type: ignore[dict-item]
        kept = ws_keep / "predictions.csv"
        if spool.total and outcome.breach is None and not outcome.timed_out:
            shutil.copyfile(spool.path, kept)
    finally:
        ws.cleanup()
    report = parse_status(outcome.status_lines)
    ok = (outcome.returncode == 0 and outcome.breach is None and not outcome.timed_out and report.error_kind is None
          and kept.is_file() and meter.done == len(eras))
    checks: list[Check] = []
    if not ok:
        ctx = RunContext(python_used=target.python, built_with=built_with, numpy_pin=target.pin("numpy"),
                         memory_bytes=limits.memory_bytes, wall_s=limits.wall_s, docker_ref=target.docker_ref)
        found, _kind = local_checks(report, outcome, None, None, ctx)
        failing = next((c for c in found if c.status == "fail"), None)
        where = f" (after {meter.done} of {len(eras)} eras)"
        if outcome.timed_out:
            failing = Check(name="run predict", status="fail",
                            message=f"Stopped after {limits.wall_s:.0f} s{where}: the evaluation's budget is "
                                    f"{BASE_WALL_S:.0f} s plus {PER_ERA_WALL_S:.0f} s per era.",
                            fix="Evaluate fewer eras (eras=20), pass a longer timeout, or speed predict up.")
        elif failing is None:
            failing = Check(name="run predict", status="fail", message="predict returned no predictions for every "
                            f"era{where}.", fix="Run validate_pickle: it explains what the pickle does wrong.")
        checks.append(failing.model_copy(update={"name": f"evaluate: {failing.name.removeprefix('numerai: ')}",
                                                 "message": failing.message + ("" if "eras)" in failing.message
                                                                               else where)}))
    from numerai_mcp.redact import redact

    log_tail = [redact(line)[:2000] for line in outcome.stderr_tail[-LOG_TAIL_LINES:]]
    peak = round(outcome.peak_memory_bytes / 1024**2, 1) if outcome.peak_memory_bytes else None
    timings = {key: value for key, value in report.timings.items() if key in ("load",)}
    timings["sandbox"] = round(outcome.wall_s, 4)
    timings["predict_reported"] = round(meter.predict_total, 4)
    return _Run(ok, kept, checks, log_tail, peak, meter.slowest, timings)


# ------------------------------------------------------------------ numbers


def headline(rows: Sequence[EraScore]) -> dict[str, float | None]:
    """Numerai-style headline numbers from the per-era rows (an era without CORR counts as 0)."""
    corr = [row.corr if row.corr is not None else 0.0 for row in rows]
    if not corr:
        return {}
    mean, std, sharpe = mean_std_sharpe(corr)

    def mean_of(name: str) -> float | None:
        values = [getattr(row, name) for row in rows if getattr(row, name) is not None]
        return statistics.fmean(values) if values else None

    exposures = [row.feature_corr_max for row in rows if row.feature_corr_max is not None]
    return {
        "validation_corr_mean": mean, "validation_corr_std": std,
        "validation_corr_sharpe": sharpe, "validation_max_drawdown": max_drawdown(corr),
        "validation_corr_positive_share": sum(1 for v in corr if v > 0) / len(corr),
        "validation_benchmark_corr_mean": mean_of("benchmark_corr"),
        "validation_corr_w_benchmark": mean_of("corr_with_benchmark"), "validation_bmc_mean": mean_of("bmc"),
        "validation_feature_corr_max": max(exposures) if exposures else None,
    }


def _row_checks(rows: Sequence[EraScore], duplicated: int, extra: int) -> list[Check]:
    checks = []
    missing, nan, out = (sum(getattr(r, name) for r in rows) for name in ("missing", "nan", "out_of_range"))
    if missing or nan or out or duplicated or extra:
        bad = [r.era for r in rows if r.missing or r.nan or r.out_of_range][:5]
        checks.append(Check(name="evaluate: rows", status="fail",
                            message=f"predict's output does not match the eras' rows: {missing} missing, {nan} NaN, "
                                    f"{out} outside [0, 1], {duplicated} duplicated, {extra} unknown ids (eras {bad}).",
                            fix="Return one prediction in [0, 1] per row of live_features, indexed by its ids; "
                                "validate_pickle names the exact problem."))
    constant = [r.era for r in rows if r.corr is None and r.scored >= 2]
    if constant:
        checks.append(Check(name="evaluate: constant", status="warn",
                            message=f"{len(constant)} era(s) got a constant prediction (CORR undefined, counted as "
                                    f"0), e.g. {constant[:3]}.",
                            fix="A model must rank the rows of an era: check that it sees the feature columns."))
    return checks


def _summary(evaluation: Evaluation) -> str:
    data = "SYNTHETIC validation data (numbers say nothing about Numerai's data)" if evaluation.synthetic else \
        evaluation.data_source
    if not evaluation.passed:
        failed = next((c for c in evaluation.checks if c.status == "fail"), None)
        why = " ".join(failed.message.split())[:300] if failed else "it did not run"
        return f"FAIL: evaluation on {data} stopped: {why}"
    bench = ""
    if evaluation.validation_benchmark_corr_mean is not None:
        bench = (f"; benchmark {evaluation.benchmark_model} CORR {evaluation.validation_benchmark_corr_mean:.4f}, "
                 f"correlation with it {evaluation.validation_corr_w_benchmark or 0:.3f}")
    sharpe = f"{evaluation.validation_corr_sharpe:.2f}" if evaluation.validation_corr_sharpe is not None else "n/a"
    return (f"CORR mean {evaluation.validation_corr_mean:.4f}, std {evaluation.validation_corr_std or 0:.4f}, sharpe "
            f"{sharpe}, max drawdown {evaluation.validation_max_drawdown:.4f} over {evaluation.era_count} eras "
            f"({evaluation.eras_requested}) of {data}{bench}.")


def as_v2_diagnostics(evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation in Numerai's V2Diagnostics terms (camelCase headline fields and perEraDiagnostics).

    The benchmark model stands in for Numerai's example predictions (examplePreds*); MMC needs the meta model,
    which is not here, so its fields are left out rather than made up.
    """
    return {
        "validationCorrMean": evaluation.validation_corr_mean, "validationCorrStd": evaluation.validation_corr_std,
        "validationCorrSharpe": evaluation.validation_corr_sharpe,
        "validationMaxDrawdown": evaluation.validation_max_drawdown,
        "validationCorrMaxDrawdown": evaluation.validation_max_drawdown,
        "validationBmcMean": evaluation.validation_bmc_mean,
        "validationFeatureCorrMax": evaluation.validation_feature_corr_max,
        "examplePredsCorrMean": evaluation.validation_benchmark_corr_mean,
        "validationCorrCorrWExamplePreds": evaluation.validation_corr_w_benchmark,
        "erasAcceptedCount": evaluation.era_count,
        "tickersAcceptedCount": evaluation.rows, "tickersSubmittedCount": evaluation.rows,
        "perEraDiagnostics": [{"era": row.era, "validationCorr": row.corr, "validationBmc": row.bmc,
                               "validationFeatureCorrMax": row.feature_corr_max,
                               "examplePredsCorr": row.benchmark_corr} for row in evaluation.per_era],
    }


# ------------------------------------------------------------------ plots


def plot_evaluation(evaluation: Evaluation, out_dir: Path, runtime: LocalRuntime, cache_dir: Path) -> dict[str, str]:
    """PNG pictures of an evaluation (per-era CORR bars, cumulative CORR; the benchmark's on the same axes)."""
    from numerai_mcp.harness.plots import PerEraSeries, draw

    rows = evaluation.per_era
    series = PerEraSeries(eras=[row.era for row in rows], corr=[row.corr for row in rows],
                          label=Path(evaluation.path).stem, benchmark_corr=[row.benchmark_corr for row in rows],
                          benchmark_name=evaluation.benchmark_model, synthetic=evaluation.synthetic)
    return draw(series, out_dir, runtime, cache_dir)


# ------------------------------------------------------------------ entry point


def _choose_python(requested: str | None, report: Any | None, cache_dir: Path) -> Runtime:
    from numerai_mcp.harness.catalogue import load_catalogue

    catalogue = load_catalogue(cache_dir)
    if requested not in (None, "", "auto"):
        return catalogue.get(str(requested))
    detected = [v for v in (report.python_versions if report is not None else []) if v in catalogue.runtimes]
    return catalogue.get(detected[-1]) if detected else catalogue.default


def _benchmark_column(index: dict[str, Any], wanted: str | None) -> str | None:
    bench = index.get("benchmarks")
    if not bench:
        if wanted:
            raise EvaluationError(f"benchmark {wanted!r} was asked for, but there is no benchmark file.")
        return None
    columns = list(bench["columns"])
    if wanted:
        if wanted not in columns:
            raise EvaluationError(f"The benchmark file has no column {wanted!r} (it has {columns[:8]}).")
        return wanted
    preferred = [c for c in columns if "ender20" in c] or columns
    return preferred[0]


def evaluate_pickle(path: Path, data: ValidationData, *, eras: ErasArg | str = None, python_version: str | None = None,
                    target: str = "target", benchmark: str | None = None, contribution: bool = True,
                    timeout_s: float | None = None, memory_bytes: int | None = None, allow_unsafe: bool = False,
                    plots: bool = True, plot_dir: Path | None = None, use_cache: bool = True,
                    cache_dir: Path | None = None, progress: ProgressFn | None = None) -> Evaluation:
    """Score the pickle at `path` on `data`, era by era, as validation runs it; remembered by sha256.

    eras: a number of most recent eras with targets (default 100), "all", or era labels.
    timeout_s: the whole run's wall clock (default 600 s + 60 s per era).
    """
    from numerai_mcp.harness import evaluation_store
    from numerai_mcp.harness.runtime import ensure_runtime
    from numerai_mcp.harness.sandbox import Limits, require_isolation
    from numerai_mcp.harness.scan import scan_pickle
    from numerai_mcp.harness.scan_target import required_distributions

    report_progress = progress or no_progress
    started = time.perf_counter()
    path = Path(path).expanduser()
    if not path.is_file():
        raise EvaluationError(f"No file at {path}: pass the path of the predict pickle to evaluate.")
    path = path.resolve()
    selection = parse_eras(eras)
    data = _check_data(data)
    if timeout_s is not None and not timeout_s > 0:
        raise EvaluationError(f"timeout_s must be a positive number of seconds, not {timeout_s!r}.")
    if memory_bytes is not None and memory_bytes < 64 * 1024**2:
        raise EvaluationError(f"memory_bytes must be at least 64 MiB, not {memory_bytes!r}.")
    cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    timings: dict[str, float] = {}

    report_progress(0, 6, "scanning the pickle")
    scan = scan_pickle(path)
    target_runtime = _choose_python(python_version, scan, cache)
    if scan.dangerous and not allow_unsafe:
        raise EvaluationError("Refused before loading: the pickle references dangerous functions "
                              f"({'; '.join(f.message for f in scan.dangerous)[:300]}). Rebuild it from your own code; "
                              "pass allowUnsafe=true only for a file you trust (it still runs only in the sandbox).")
    mode = require_isolation(allow_unsafe)
    packages = [*required_distributions(scan, target_runtime), *SCORING_PACKAGES]
    report_progress(1, 6, f"provisioning the Python {target_runtime.python} runtime (+ numerai-tools, matplotlib)")
    runtime = ensure_runtime(target_runtime.python, packages, cache_dir=cache)
    timings["provision"] = round(time.perf_counter() - started, 4)

    scratch = cache / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="evaluate-", dir=scratch))
    try:
        report_progress(2, 6, "reading the validation data's eras")
        mark = time.perf_counter()
        index = data_index(runtime, data, target, cache, work)
        chosen, how = _select(index, selection)
        bench_column = _benchmark_column(index, benchmark)
        timings["index"] = round(time.perf_counter() - mark, 4)
        wall = timeout_s or BASE_WALL_S + PER_ERA_WALL_S * len(chosen)
        limits = Limits(memory_bytes=memory_bytes or MEMORY_BYTES, wall_s=wall)
        key = evaluation_store.key_for({"data": [str(data.validation), str(data.benchmarks), index["rows"],
                                                 index.get("synthetic")], "eras": chosen, "python": runtime.python_version,
                                        "target": target, "benchmark": bench_column, "contribution": contribution,
                                        "pins": runtime.pins_source, "version": 1})
        sha256 = scan.sha256
        source = data.source + (" (synthetic)" if index.get("synthetic") and "synthetic" not in data.source else "")
        if use_cache:
            found = evaluation_store.recall(cache, sha256, key)
            if found is not None and found.passed and (not plots or all(Path(p).is_file() for p in found.plots.values())):
                report_progress(6, 6, "evaluation found in the cache (same file, data and eras)")
                return _export_plots(found.model_copy(update={"cached": True, "path": str(path), "data_source": source}),
                                     plot_dir)

        base = Evaluation(
            passed=False, summary="", sha256=sha256, path=str(path), size=path.stat().st_size,
            python_version=target_runtime.python, runtime=f"{target_runtime.image}:{target_runtime.tag}",
            data_source=source,
            data_version=data.data_version, synthetic=bool(index.get("synthetic")), target=target,
            benchmark_model=bench_column, eras_requested=how, era_count=len(chosen),
            rows=sum(r for era, r, _t in index["eras"] if str(era) in set(chosen)),
            limits={"memory_mb": limits.memory_bytes / 1024**2, "cpus": limits.cpus, "wall_s": limits.wall_s,
                    "base_wall_s": BASE_WALL_S, "per_era_wall_s": PER_ERA_WALL_S},
        )
        report_progress(3, 6, f"running predict in the sandbox on {len(chosen)} eras, one call per era")
        mark = time.perf_counter()
        run = _sandbox_run(path, runtime, data, index, chosen, limits, mode, target_runtime,
                           list(scan.python_versions), work, report_progress)
        timings.update(run.timings)
        timings["run"] = round(time.perf_counter() - mark, 4)
        base = base.model_copy(update={"peak_memory_mb": run.peak_memory_mb, "slowest_era_predict_s": run.slowest,
                                       "log_tail": run.log_tail})
        if not run.ok:
            return _finish(base, run.checks, [], timings, started, None, cache, key, plots=False, plot_dir=None,
                           report_progress=report_progress)
        report_progress(4, 6, "scoring with numerai-tools")
        mark = time.perf_counter()
        scored = run_script(runtime, SCORING_SCRIPT, ["score"], {
            "validation": str(data.validation), "benchmarks": str(data.benchmarks) if bench_column else None,
            "bench_by": (index.get("benchmarks") or {}).get("by"), "benchmark": bench_column, "eras": chosen,
            "features": index["features"], "target": target, "predictions": str(run.spool),
            "contribution": contribution}, cache, work)
        timings["score"] = round(time.perf_counter() - mark, 4)
        rows = [EraScore.model_validate(row) for row in scored["eras"]]
        checks = _row_checks(rows, int(scored.get("duplicated", 0)), int(scored.get("extra", 0)))
        base = base.model_copy(update={**headline(rows), "per_era": rows, "numerai_tools": scored.get("numerai_tools")})
        return _finish(base, checks, rows, timings, started, runtime, cache, key, plots=plots, plot_dir=plot_dir,
                       report_progress=report_progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _finish(base: Evaluation, checks: list[Check], rows: list[EraScore], timings: dict[str, float], started: float,
            runtime: LocalRuntime | None, cache: Path, key: str, *, plots: bool, plot_dir: Path | None,
            report_progress: ProgressFn) -> Evaluation:
    from numerai_mcp.harness import evaluation_store

    passed = bool(rows) and not any(c.status == "fail" for c in checks)
    evaluation = base.model_copy(update={"passed": passed, "checks": checks, "fixes": collect_fixes(checks)})
    if plots and runtime is not None and passed:
        report_progress(5, 6, "drawing the plots")
        mark = time.perf_counter()
        folder = evaluation_store.folder(cache, evaluation.sha256, key)
        evaluation.plots = plot_evaluation(evaluation, folder, runtime, cache)
        timings["plot"] = round(time.perf_counter() - mark, 4)
    timings["total"] = round(time.perf_counter() - started, 4)
    evaluation.timings = timings
    evaluation.summary = _summary(evaluation)
    if passed:
        evaluation_store.remember(evaluation, cache, key)
    report_progress(6, 6, evaluation.summary)
    return _export_plots(evaluation, plot_dir)


def _export_plots(evaluation: Evaluation, plot_dir: Path | None) -> Evaluation:
    """Copy the PNGs where the user asked for them (the result then names those copies)."""
    if plot_dir is None or not evaluation.plots:
        return evaluation
    target = Path(plot_dir).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    copies = {}
    for name, source in evaluation.plots.items():
        copies[name] = str(shutil.copyfile(source, target / Path(source).name))
    return evaluation.model_copy(update={"plots": copies})


def _default_cache_dir() -> Path:
    from numerai_mcp.config import default_cache_dir

    return default_cache_dir(os.environ)
