"""validate_pickle: run a pickle the way Numerai would, before it is uploaded.

Steps: static scan (refuse dangerous pickles before anything loads them) → pick the Python
version (explicit, else what the bytecode says, else Numerai's default) → provision the
pinned runtime → choose live data → run the runner in the sandbox (or Numerai's own image
under Docker) → one Verdict with every check, the fixes and the timings, remembered by
sha256. A bad pickle never raises: it is a failed verdict. Bad arguments raise ValueError
(or InterpreterNotFoundError) with a message that says what to do.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from numerai_mcp.errors import InvalidInputError
from numerai_mcp.harness.facts import NO_FACTS, NumeraiFacts
from numerai_mcp.harness.outcome import RunContext, local_checks
from numerai_mcp.harness.reproduce import MAX_EXPECTED_BYTES, Expected, load_expected
from numerai_mcp.harness.runner_report import RunnerReport, parse_status
from numerai_mcp.harness.verdict import FEATURE_NAMES_SHOWN, Check, Verdict, collect_fixes
from numerai_mcp.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from numerai_mcp.harness.catalogue import Runtime
    from numerai_mcp.harness.livedata import LiveData
    from numerai_mcp.harness.runtime import LocalRuntime
    from numerai_mcp.harness.sandbox import Limits, Mode, SandboxResult

Backend = Literal["auto", "local", "docker"]
NUMERAI_MEMORY_BYTES = 4 * 1024**3
NUMERAI_WALL_S = 600.0
RUNNER = Path(__file__).with_name("runner.py")
LOG_TAIL_LINES = 25


class ValidationArgumentError(InvalidInputError):
    """An argument of validate_pickle is wrong; nothing was run."""


@dataclass
class _Clock:
    timings: dict[str, float]

    def add(self, key: str, started: float) -> float:
        now = time.perf_counter()
        self.timings[key] = round(self.timings.get(key, 0.0) + now - started, 4)
        return now


def _check_arguments(path: Path, backend: str, timeout_s: float | None, memory_bytes: int | None) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise ValidationArgumentError(f"No file at {path}: pass the path of the predict pickle to validate.")
    if not path.is_file():
        raise ValidationArgumentError(f"{path} is not a file: pass the path of the predict pickle itself.")
    if backend not in ("auto", "local", "docker"):
        raise ValidationArgumentError(f"backend must be 'auto', 'local' or 'docker', not {backend!r}.")
    if timeout_s is not None and not timeout_s > 0:
        raise ValidationArgumentError(f"timeout_s must be a positive number of seconds, not {timeout_s!r}.")
    if memory_bytes is not None and memory_bytes < 64 * 1024**2:
        raise ValidationArgumentError(f"memory_bytes must be at least 64 MiB, not {memory_bytes!r}.")
    return path.resolve()


# ------------------------------------------------------------------ scan


def _scan(path: Path) -> tuple[Any | None, str | None]:
    """(ScanReport, None) or (None, why the scan is unavailable)."""
    try:
        from numerai_mcp.harness.scan import scan_pickle
    except ImportError as exc:
        return None, f"the static scanner is not available ({exc})"
    return scan_pickle(path), None


_SEVERITY = {"error": "fail", "danger": "fail", "warn": "warn", "info": "pass"}


def _scan_checks(report: Any | None, target_findings: Sequence[Any], allow_unsafe: bool, unavailable: str | None,
                 ctx: RunContext) -> list[Check]:
    from numerai_mcp.harness.outcome import rebuild_fix

    if report is None:
        return [Check(name="scan", status="warn", message=f"Not scanned: {unavailable}.")]
    checks = [Check(name="scan", status="pass", message=_scan_summary(report))]
    seen: set[tuple[str, str]] = set()
    for finding in [*report.findings, *target_findings]:
        if (finding.code, finding.message) in seen:
            continue
        seen.add((finding.code, finding.message))
        status = _SEVERITY.get(finding.severity, "warn")
        fix = None
        if finding.severity == "danger":
            status = "warn" if allow_unsafe else "fail"
            fix = ("Do not upload a pickle you did not build: rebuild it from your own code. "
                   "If you trust it, validate with allowUnsafe=true (it still runs only in the sandbox).")
        elif finding.code == "python_mismatch":
            fix = rebuild_fix(ctx)
        elif finding.code == "missing_module":
            fix = "Remove that import from the pickled function, or use only the image's pinned packages."
        elif finding.code == "bad_signature":
            fix = "predict must take exactly 1 (live_features) or 2 (live_features, live_benchmark_models) parameters."
        checks.append(Check(name=f"scan: {finding.code}", status=status, message=finding.message, fix=fix))
    return checks


def _scan_summary(report: Any) -> str:
    parts = [f"protocol {report.protocol}" if getattr(report, "protocol", None) is not None else "unknown protocol"]
    if report.python_versions:
        parts.append(f"built with Python {' or '.join(report.python_versions)}")
    if report.function_arg_count is not None:
        parts.append(f"{report.function_arg_count}-parameter function")
    parts.append(f"imports {', '.join(m for m in report.modules[:8])}" if report.modules else "imports nothing")
    if report.features:
        parts.append(f"{len(report.features)} feature names")
    return "Static scan: " + "; ".join(parts) + "."


# ------------------------------------------------------------------ python version


def _choose_python(requested: str | None, report: Any | None, cache_dir: Path, facts: NumeraiFacts,
                   ) -> tuple[Runtime, str | None]:
    """(catalogue runtime, detected version label)."""
    from numerai_mcp.harness.catalogue import load_catalogue

    detected = report.python_versions if report is not None else []
    detected_label = " or ".join(detected) if detected else None
    explicit = requested not in (None, "", "auto")
    catalogue = load_catalogue(cache_dir, live_images=None if explicit else facts.images)
    if explicit:
        return catalogue.get(str(requested)), detected_label
    supported = [v for v in detected if v in catalogue.runtimes]
    if len(supported) == 1:
        return catalogue.get(supported[0]), detected_label
    if catalogue.default_python in supported or not supported:
        return catalogue.default, detected_label
    return catalogue.get(supported[-1]), detected_label


# ------------------------------------------------------------------ live data


def _live_data(runtime: LocalRuntime | None, cache_dir: Path, live: Path | None, bench: Path | None,
               features: Sequence[str], facts: NumeraiFacts, scratch: Path) -> LiveData:
    from numerai_mcp.harness import livedata

    live, bench = livedata.user_live_data(live, bench)
    if live is not None:
        source = f"user file {live}"
        if bench is None:
            bench = livedata.write_benchmarks_for(live, scratch, runtime=runtime)
            source += " (synthetic benchmark columns)"
        else:
            source += f" and {bench}"
        return livedata.LiveData(live, bench, source)
    why = facts.live_unavailable
    downloaded = facts.live
    if downloaded is not None:
        if bench is not None:
            return livedata.LiveData(downloaded.live, bench, f"{downloaded.source} with user file {bench}")
        return downloaded
    synthetic = livedata.synthetic_live_data(cache_dir, features=features, runtime=runtime)
    source = f"{synthetic.source}; Numerai's files not used: {why}"
    if bench is not None:
        return livedata.LiveData(synthetic.live, bench, f"{source}, benchmarks from user file {bench}", synthetic.rows)
    return livedata.LiveData(synthetic.live, synthetic.benchmarks, source, synthetic.rows)


# ------------------------------------------------------------------ local run


@dataclass
class LocalRun:
    checks: list[Check]
    report: RunnerReport
    log_tail: list[str]
    kind: str | None
    peak_memory_mb: float | None
    rows: int | None
    values: dict[str, float] | None = None   # the first column by id, for the ids asked for (values_for)
    eras: dict[str, str] | None = None       # those ids' eras in the live data
    live_columns: list[str] | None = None


def _run_local(path: Path, runtime: LocalRuntime, data: LiveData, limits: Limits, target: Runtime,
               ctx: RunContext, clock: _Clock, mode: Mode, cache_dir: Path,
               values_for: Collection[str] | None = None) -> LocalRun:
    """One sandboxed run, judged from what the sandbox's parent saw and the predictions it returned (and, for the
    ids in `values_for`, the numbers it returned, read back bounded)."""
    from numerai_mcp.harness import sandbox
    from numerai_mcp.harness.live_index import live_ids
    from numerai_mcp.harness.predictions import MAX_PREDICTION_BYTES, UnreadablePredictions, read_summary, read_values

    live, why_no_ids = live_ids(data.live, runtime.python, {"PATH": "/usr/bin:/bin", **runtime.env}, cache_dir)
    ws = sandbox.Workspace()
    try:
        model = ws.add_input(path, "model.pkl")
        live_file = ws.add_input(data.live, "live.parquet")
        bench = ws.add_input(data.benchmarks, "live_benchmark_models.parquet")
        runner = ws.add_input(RUNNER, "runner.py")
        ws.mode = mode
        spool = sandbox.FileSink(ws.private / "predictions.csv", MAX_PREDICTION_BYTES)
        argv = [str(runtime.python), "-I", ws.inner(runner), "--model", ws.inner(model), "--dataset",
                ws.inner(live_file), "--benchmarks", ws.inner(bench), "--git-ref", target.tag,
                "--spawned-at", repr(time.time())]
        interpreter_home = Path(runtime.python).resolve().parent.parent
        outcome = sandbox.run_sandboxed(argv, ws, limits=limits, mode=mode, binds=[runtime.root, interpreter_home],
                                        env=runtime.env, outputs={"predictions": spool})
        report = parse_status(outcome.status_lines)
        summary, unreadable, values = None, None, None
        if spool.total and outcome.breach is None and not outcome.timed_out:
            try:
                summary = read_summary(spool.path, live)
                values = read_values(spool.path, values_for) if values_for is not None else None
            except UnreadablePredictions as exc:
                unreadable = str(exc)
    finally:
        ws.cleanup()
    checks, kind = local_checks(report, outcome, summary, unreadable, ctx)
    log_tail = _log_tail(outcome.stderr_tail)
    if outcome.breach is not None:
        log_tail.append(f"ERROR:numerai-mcp:stopped: it {outcome.breach.message}")
    elif outcome.timed_out:
        log_tail.append(f"ERROR:numerai-mcp:stopped after {limits.wall_s:.0f} s (wall-clock limit)")
    elif outcome.returncode not in (0, 1):
        log_tail.append(f"ERROR:numerai-mcp:the runner exited with status {outcome.returncode}")
    checks += _sandbox_checks(outcome, report, limits, why_no_ids if live is None else None)
    for key, value in report.timings.items():
        clock.timings[key] = value
    if outcome.start_s is not None:
        clock.timings["sandbox_start"] = round(outcome.start_s, 4)
        if "start" in clock.timings:  # the runner's start counts from the spawn: keep only the interpreter's part
            clock.timings["start"] = round(max(0.0, clock.timings["start"] - outcome.start_s), 4)
    clock.timings["sandbox"] = round(outcome.wall_s, 4)
    peak = round(outcome.peak_memory_bytes / 1024**2, 1) if outcome.peak_memory_bytes else None
    rows = len(live.ids) if live is not None else (summary.rows if summary is not None else None)
    columns = list(live.columns) if live is not None and live.columns is not None else None
    eras = None
    if values_for is not None and live is not None and live.eras is not None:
        wanted = set(values_for)
        eras = {i: str(e) for i, e in zip(live.ids, live.eras) if i in wanted}
    return LocalRun(checks, report, log_tail, kind, peak, rows, values, eras, columns)


def _reproduction(path: Path, runtime: LocalRuntime, expected: Expected, main: LocalRun, limits: Limits,
                  target: Runtime, ctx: RunContext, mode: Mode, cache_dir: Path) -> Check:
    """'reproduces the training model': the main run's numbers, or a run on the probe rows, against `expected`."""
    from numerai_mcp.harness.livedata import LiveData
    from numerai_mcp.harness.reproduce import reproduction_check

    run = main
    if expected.live is not None and expected.benchmarks is not None:
        run = _run_local(path, runtime, LiveData(expected.live, expected.benchmarks, "probe rows"), limits, target,
                         ctx, _Clock({}), mode, cache_dir, values_for=list(expected.values))
    if not run.values:  # predictions that fail Numerai's output checks are still compared
        failed = next((c for c in run.checks if c.status == "fail"), None)
        return reproduction_check(expected, None, None, failed.message[:300] if failed else None)
    return reproduction_check(expected, run.values, run.eras)


def _pinned_but_missing(run: LocalRun, target: Runtime, runtime: LocalRuntime) -> str | None:
    """The pinned distribution to add when the run failed only because the local venv lacks it."""
    if run.kind != "module_not_found":
        return None
    from numerai_mcp.harness.modules import distribution_for_module

    module = (run.report.exception or {}).get("missing_module") or ""
    distribution = distribution_for_module(module) if module else None
    if distribution is None or target.pin(distribution) is None or runtime.has(distribution):
        return None
    return distribution


def _log_tail(lines: Sequence[str]) -> list[str]:
    from numerai_mcp.redact import redact

    return [redact(line)[:2000] for line in lines[-LOG_TAIL_LINES:]]


def _sandbox_checks(outcome: SandboxResult, report: RunnerReport, limits: Limits,
                    no_ids: str | None) -> list[Check]:
    checks = []
    cpus = "1 CPU" if limits.cpus == 1 else f"{limits.cpus} CPUs"
    if outcome.not_enforced:
        checks.append(Check(name="sandbox: isolation", status="warn",
                            message="Ran WITHOUT isolation (allowUnsafe): " + "; ".join(outcome.not_enforced) + ".",
                            fix="Install bubblewrap or enable user namespaces (see the refusal's reason) so pickles "
                                "run isolated."))
    else:
        by = "a cgroup" if outcome.limits_by == "cgroup" else "a watchdog over all its processes"
        checks.append(Check(name="sandbox: isolation", status="pass",
                            message=f"Ran isolated (bubblewrap): no network, nothing of this machine visible but the "
                                    f"read-only runtime, {cpus} and {limits.memory_bytes / 1024**3:.1f} GiB for all "
                                    f"its processes ({by})."))
    if outcome.leftover_killed:
        checks.append(Check(name="sandbox: leftover processes", status="warn",
                            message=f"predict left {outcome.leftover_killed} process(es) running; they were killed.",
                            fix="Don't start background processes in predict: Numerai kills them."))
    if no_ids:
        checks.append(Check(name="live ids", status="warn", message=f"The index could not be checked: {no_ids}."))
    predict_s = report.timings.get("predict")
    if predict_s is not None and predict_s > 0.5 * limits.wall_s:
        checks.append(Check(name="time budget", status="warn",
                            message=f"predict took {predict_s:.0f} s, over half of the {limits.wall_s:.0f} s limit.",
                            fix="Speed predict up: Numerai's CPU may be slower than this machine."))
    peak = outcome.peak_memory_bytes
    if outcome.breach is None and peak > 0.75 * limits.memory_bytes:
        checks.append(Check(name="memory budget", status="warn",
                            message=f"peak memory {peak / 1024**2:.0f} MB is close to the "
                                    f"{limits.memory_bytes / 1024**2:.0f} MB limit.",
                            fix="Reduce memory use in predict (batches, float32)."))
    return checks


# ------------------------------------------------------------------ entry point


def _summary(passed: bool, checks: list[Check], python: str, runtime_label: str, data_source: str,
             timings: dict[str, float], fixes: list[str]) -> str:
    if passed:
        warnings = sum(1 for c in checks if c.status == "warn")
        extra = f", {warnings} warning(s)" if warnings else ""
        return (f"PASS: predict ran like Numerai would on Python {python} ({runtime_label}) with "
                f"{data_source.split(';')[0]} in {timings.get('total', 0):.1f} s{extra}.")
    failed = next(c for c in checks if c.status == "fail")
    message = " ".join(failed.message.split())
    if len(message) > 300:
        message = message[:299] + "…"
    fix = f" Fix: {fixes[0]}" if fixes else ""
    return f"FAIL ({failed.name}): {message.rstrip('.')}.{fix}"


def _feature_check(read: Sequence[str], columns: Sequence[str] | None, passed: bool,
                   data_source: str) -> tuple[Check | None, list[str] | None]:
    """Which feature columns the pickle names that the live data lacks: the first thing to know when predict
    raises a KeyError, and a warning when it quietly filled them in."""
    if not read:
        return None, None
    if columns is None:
        return Check(name="feature columns", status="skip",
                     message=f"The pickle names {len(read)} feature columns; the live data's columns are unknown, "
                             "so they were not compared."), None
    present = set(columns)
    missing = [name for name in read if name not in present]
    if not missing:
        return Check(name="feature columns", status="pass",
                     message=f"The live data has all {len(read)} feature columns the pickle names."), []
    shown = ", ".join(missing[:12]) + (f", … ({len(missing) - 12} more)" if len(missing) > 12 else "")
    return Check(
        name="feature columns", status="warn" if passed else "fail",
        message=f"The live data ({data_source.split(';')[0]}) lacks {len(missing)} of the {len(read)} feature columns "
                f"the pickle names: {shown}.",
        fix="Train on the feature set of the data version the pickle will run on (numerai://features lists it), "
            "or register the pickle with the data version it was trained on (upload_model dataVersion=…); for a "
            "local check, pass liveData with those columns."), missing


def validate_pickle(path: Path, *, python_version: str | None = None, live_data: Path | None = None,
                    benchmark_data: Path | None = None, backend: Backend = "auto", timeout_s: float | None = None,
                    memory_bytes: int | None = None, allow_unsafe: bool = False, cache_dir: Path | None = None,
                    facts: NumeraiFacts = NO_FACTS, features: Sequence[str] | None = None,
                    expected_predictions: Path | None = None, expected: Expected | None = None,
                    progress: ProgressFn | None = None) -> Verdict:
    """Run the pickle at `path` as numerai_predict_py_3_X would and return the Verdict (also remembered).

    expected_predictions: predictions made in the training environment on the same live data (parquet or CSV
    indexed by id); `expected`: the same from a bundle's probe (build_pickle). Either adds the check
    'reproduces the training model'."""
    from numerai_mcp.harness import livedata, verdict_store
    from numerai_mcp.harness.runtime import ensure_runtime
    from numerai_mcp.harness.sandbox import Limits
    from numerai_mcp.redact import redact

    report_progress = progress or no_progress
    started = time.perf_counter()
    clock = _Clock({})
    path = _check_arguments(path, backend, timeout_s, memory_bytes)
    if python_version not in (None, "", "auto"):
        from numerai_mcp.harness.catalogue import parse_python_version

        parse_python_version(str(python_version))  # a malformed version fails before anything runs
    livedata.user_live_data(live_data, benchmark_data)
    if expected_predictions is not None:
        expected_file = Path(expected_predictions).expanduser()
        if not expected_file.is_file() or expected_file.suffix.lower() not in (".parquet", ".csv"):
            raise ValidationArgumentError(f"expected predictions {expected_file}: give an existing .parquet or .csv "
                                          "file indexed by id (the predictions made in the training environment).")
        if expected_file.stat().st_size > MAX_EXPECTED_BYTES:
            raise ValidationArgumentError(f"expected predictions {expected_file} is over "
                                          f"{MAX_EXPECTED_BYTES // 1024**2} MiB; give the predictions for the live "
                                          "data only.")
        expected = Expected(file=expected_file.resolve())
    if cache_dir is None:
        cache_dir = _default_cache_dir()
    cache_dir = Path(cache_dir)

    report_progress(0, 5, "scanning the pickle")
    mark = time.perf_counter()
    report, unavailable = _scan(path)
    mark = clock.add("scan", mark)
    target, detected = _choose_python(python_version, report, cache_dir, facts)
    limits = Limits(memory_bytes=memory_bytes or NUMERAI_MEMORY_BYTES, wall_s=timeout_s or NUMERAI_WALL_S)
    ctx = RunContext(python_used=target.python, built_with=list(report.python_versions) if report else [],
                     numpy_pin=target.pin("numpy"), memory_bytes=limits.memory_bytes, wall_s=limits.wall_s,
                     docker_ref=target.docker_ref)
    target_findings: list[Any] = []
    packages: list[str] = []
    if report is not None:
        from numerai_mcp.harness.scan_target import check_against_runtime, required_distributions

        target_findings = list(check_against_runtime(report, target))
        packages = list(required_distributions(report, target))
    checks = _scan_checks(report, target_findings, allow_unsafe, unavailable, ctx)
    feature_names = list(features) if features else list(report.features if report is not None else [])

    def finish(passed: bool, data_source: str, backend_used: str, *, peak_memory_mb: float | None = None,
               rows: int | None = None, log_tail: list[str] | None = None,
               missing: list[str] | None = None) -> Verdict:
        clock.timings["total"] = round(time.perf_counter() - started, 4)
        checks[:] = [c.model_copy(update={"message": redact(c.message)}) for c in checks]
        fixes = collect_fixes(checks)
        runtime_label = f"{target.image}:{target.tag}"
        read = feature_names if report is not None and report.features else []
        verdict = Verdict(
            features_read=read[:FEATURE_NAMES_SHOWN], features_read_count=len(read),
            features_missing=(missing or [])[:FEATURE_NAMES_SHOWN],
            features_missing_count=None if missing is None else len(missing),
            passed=passed, summary=_summary(passed, checks, target.python, runtime_label, data_source, clock.timings,
                                            fixes),
            sha256=report.sha256 if report is not None else verdict_store.file_sha256(path), path=str(path),
            size=path.stat().st_size, python_version_detected=detected, python_version_used=target.python,
            backend=backend_used, runtime=runtime_label, pins_source=target.pins_source,
            live_data_source=data_source, checks=checks, fixes=fixes, timings=clock.timings,
            peak_memory_mb=peak_memory_mb, rows=rows,
            log_tail=log_tail or [],
        )
        verdict_store.remember(verdict, cache_dir)
        report_progress(5, 5, verdict.summary)
        return verdict

    if report is not None and report.dangerous and not allow_unsafe:
        checks.append(Check(name="safety", status="fail",
                            message="Refused before loading: the pickle references dangerous functions "
                                    f"({'; '.join(f.message for f in report.dangerous)[:400]}).",
                            fix="Rebuild the pickle from your own code; pass allowUnsafe=true only for a file you "
                                "trust (it then runs in the sandbox)."))
        return finish(False, "not loaded (refused by the static scan)", "local")

    from numerai_mcp.harness import docker_backend

    use_docker = backend == "docker" or (backend == "auto" and docker_backend.engine_available())
    if use_docker:
        report_progress(1, 5, f"running {target.docker_ref} in Docker")
        run = docker_backend.run_in_docker(path, target, ctx=ctx, limits=limits, cache_dir=cache_dir,
                                           live_data=live_data, benchmark_data=benchmark_data, facts=facts,
                                           features=feature_names, timings=clock.timings,
                                           progress=lambda message: report_progress(2, 5, message))
        checks += run.checks
        if expected is not None:
            checks.append(Check(name="reproduces the training model", status="skip",
                                message="not compared: the Docker backend returns no predictions to compare; "
                                        "validate with backend='local' to compare them."))
        passed = not any(c.status == "fail" for c in checks)
        return finish(passed, run.live_data_source, "docker", rows=run.result.get("rows"), log_tail=run.log_tail)

    from numerai_mcp.harness.sandbox import require_isolation

    mode = require_isolation(allow_unsafe)  # refuses, saying why, before anything is provisioned
    report_progress(1, 5, f"provisioning the Python {target.python} runtime ({', '.join(packages) or 'base'})")
    runtime = ensure_runtime(target.python, packages, cache_dir=cache_dir, progress=_sub_progress(report_progress, 1))
    mark = clock.add("provision", mark)
    report_progress(2, 5, "preparing live data")
    scratch = Path(cache_dir) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    import tempfile

    scratch_dir = Path(tempfile.mkdtemp(prefix="validate-", dir=scratch))
    try:
        data = _live_data(runtime, cache_dir, live_data, benchmark_data, feature_names, facts, scratch_dir)
        if expected is not None and expected.file is not None:
            expected = load_expected(expected, runtime.python, {"PATH": "/usr/bin:/bin", **runtime.env}, data.live,
                                     scratch_dir)
        mark = clock.add("live_data", mark)
        report_progress(3, 5, f"running predict in the sandbox on {data.source.split(';')[0]}")
        wanted = list(expected.values) if expected is not None and expected.live is None else None
        for _attempt in range(3):
            local = _run_local(path, runtime, data, limits, target, ctx, clock, mode, cache_dir, values_for=wanted)
            extra = _pinned_but_missing(local, target, runtime)
            if extra is None:
                break
            # The scan missed a pinned package the pickle imports: Numerai's image has it, so add it and rerun.
            report_progress(3, 5, f"adding the pinned package {extra} and running again")
            runtime = ensure_runtime(target.python, [*runtime.packages, extra], cache_dir=cache_dir)
        read = feature_names if report is not None and report.features else []
        ran_clean = not any(c.status == "fail" for c in [*checks, *local.checks])
        feature_check, missing = _feature_check(read, local.live_columns, ran_clean, data.source)
        if feature_check is not None and feature_check.status == "fail":  # the likely cause goes first, with its fix
            checks.append(feature_check)
            feature_check = None
        checks += local.checks + ([feature_check] if feature_check is not None else [])
        if expected is not None:
            report_progress(4, 5, f"comparing with the training predictions on {expected.what}")
            checks.append(_reproduction(path, runtime, expected, local, limits, target, ctx, mode, cache_dir))
        clock.add("run", mark)
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    passed = not any(c.status == "fail" for c in checks)
    return finish(passed, data.source, "local", peak_memory_mb=local.peak_memory_mb, rows=local.rows,
                  log_tail=local.log_tail, missing=missing)


def _sub_progress(progress: ProgressFn, step: int) -> ProgressFn:
    def report(done: float, total: float | None, message: str) -> None:
        progress(step, 5, message)

    return report


def _default_cache_dir() -> Path:
    import os

    from numerai_mcp.config import default_cache_dir

    return default_cache_dir(os.environ)
