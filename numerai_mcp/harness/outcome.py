"""Turn what happened in the sandbox (and what the scan saw) into checks with concrete fixes.

The decision is made here from trusted evidence: the exit status, the limits the sandbox's
parent measured, and the checks computed from the returned predictions (harness.predictions).
The runner's own report only explains a failure in numerai-predict's words (and the stage a
crash happened in); a limit hit, a segfault or a timeout is explained the way a user needs
it: which limit, which Python, what to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from numerai_mcp.harness.predictions import Summary, numerai_failure, strict_results
from numerai_mcp.harness.runner_report import RunnerReport
from numerai_mcp.harness.verdict import Check
from numerai_mcp.harness.watchdog import Breach

if TYPE_CHECKING:
    from numerai_mcp.harness.sandbox import SandboxResult

NUMERAI_CHECK_NAMES = ("load pickle", "load data", "signature", "run predict", "not None", "type", "not empty",
                       "no NaN", "range")
_STAGE_TO_CHECK = {"start": "load pickle", "load": "load pickle", "signature": "signature", "data": "load data",
                   "predict": "run predict", "output": "run predict", "checks": "run predict", "done": "run predict"}
SIGSEGV_STATUS, SIGKILL_STATUS, SIGXCPU_STATUS, SIGABRT_STATUS = 139, 137, 152, 134


@dataclass(frozen=True)
class RunContext:
    """What the interpretation needs to know about the target and the scan."""

    python_used: str
    built_with: Sequence[str]     # candidate producing versions from the scan ([] when unknown)
    numpy_pin: str | None
    memory_bytes: int
    wall_s: float
    docker_ref: str

    @property
    def built_label(self) -> str | None:
        return " or ".join(self.built_with) if self.built_with else None

    @property
    def version_mismatch(self) -> bool:
        return bool(self.built_with) and self.python_used not in self.built_with


def rebuild_fix(ctx: RunContext) -> str:
    built = ctx.built_with[-1] if ctx.built_with else None
    register = (f", or keep it and register it with the Python {built} image (pythonVersion={built})"
                if built and built in ("3.10", "3.11", "3.12", "3.13") else "")
    return (f"Rebuild the pickle with Python {ctx.python_used} (numerai-mcp build --python {ctx.python_used}, or "
            f"cloudpickle.dump from a Python {ctx.python_used} interpreter with Numerai's pins){register}.")


def _missing_module_fix(module: str | None, ctx: RunContext) -> str:
    top = (module or "").split(".")[0]
    if module and module.startswith("numpy._core") and ctx.numpy_pin and ctx.numpy_pin.startswith("1."):
        return (f"The pickle holds numpy 2 arrays but the runtime has numpy {ctx.numpy_pin}: re-export the arrays "
                "with numpy < 2 (or rebuild for a Python whose image pins numpy 2).")
    if module and module.startswith("numpy."):
        return (f"'{module}' does not exist in the pinned numpy {ctx.numpy_pin}: rebuild the pickle with the "
                "image's numpy version.")
    return (f"Remove the import of '{top}' from the pickled function: define that code inside the function, or "
            f"pickle its module by value (cloudpickle.register_pickle_by_value({top})); only the standard library "
            "and the image's pinned packages exist at Numerai.")


def fix_for(kind: str | None, ctx: RunContext, exception: Mapping[str, Any] | None = None) -> str | None:
    """The next step for a failure category; python-version advice first when the scan saw a mismatch."""
    if kind is None:
        return None
    if ctx.version_mismatch and kind in {"python_mismatch", "segfault", "predict_exception", "load_exception",
                                         "predict_type_error", "unpickling"}:
        return rebuild_fix(ctx)
    limit_gb = ctx.memory_bytes / 1024**3
    fixes = {
        "python_mismatch": rebuild_fix(ctx),
        "unpickling": "The file is not a complete pickle (truncated, or another format such as torch.save/zip): "
                      "write it again with cloudpickle.dump(predict, f) and upload that file.",
        "module_not_found": _missing_module_fix((exception or {}).get("missing_module"), ctx),
        "load_exception": "Loading the pickle raised: rebuild it in the target runtime (numerai-mcp build).",
        "signature": "predict must take exactly 1 parameter (live_features) or 2 (live_features, "
                     "live_benchmark_models): no extra parameters, defaults, *args or **kwargs.",
        "data_error": "The live data could not be read: check the parquet file you passed (index 'id', column 'era').",
        "predict_type_error": "predict raised a TypeError (see the log tail): fix the call inside predict and test it "
                              "on a live_features DataFrame.",
        "predict_exception": "predict raised an exception (see the log tail): fix it and test predict on the live "
                             "data locally. Numerai runs without internet: load nothing from the network or from "
                             "local files inside predict.",
        "returned_none": "Return the predictions: `return pd.DataFrame({'prediction': p}, index=live_features.index)`.",
        "wrong_type": "Return exactly a pandas DataFrame (not a Series, ndarray or subclass): "
                      "`pd.DataFrame({'prediction': p}, index=live_features.index)`.",
        "empty": "predict returned no rows: return one prediction per live row.",
        "nan": "Some predictions are NaN: fill missing features before predicting (e.g. "
               "live_features.fillna(2)) and check the model's output.",
        "out_of_range": "Map predictions into [0, 1], e.g. rank them per era: "
                        "`p.rank(pct=True)` (Numerai only accepts values between 0 and 1).",
        "check_exception": "The returned DataFrame could not be checked: return numeric predictions.",
        "memory": f"predict needs more than the {limit_gb:.0f} GB Numerai allows: predict in batches, use float32, "
                  "drop training-only objects from the closure.",
        "timeout": "predict took longer than Numerai's 10-minute limit on 1 CPU: use fewer trees or features, "
                   "vectorise, and avoid per-row Python loops.",
        "segfault": "A native library crashed: make sure the pickle was built with the image's Python and pinned "
                    f"library versions (debug with `docker run -i --rm -v \"$PWD:$PWD\" {ctx.docker_ref} --debug "
                    "--model $PWD/model.pkl` where Docker is available).",
        "runtime_broken": "The local runtime is broken: delete it from the cache (runtimes/venvs) and retry.",
        "cpu": "Don't widen the CPU affinity or run work in parallel expecting more than 1 CPU: Numerai gives the "
               "container 1 CPU (use n_jobs=1 / num_threads=1).",
        "processes": "Don't start many processes or threads of processes in predict: run the model in-process.",
        "output": "Return one DataFrame with one 'prediction' column and one row per live id; write nothing else.",
        "no_predictions": "predict must return its DataFrame normally: don't exit the process, fork away or "
                          "close the runner's files inside predict.",
        "crash": "The runner died without a Python error: see the log tail.",
    }
    return fixes.get(kind, fixes["crash"])


_LIMIT_KINDS = {"memory": "memory", "cpu": "cpu", "processes": "processes", "output": "output"}
_KIND_TO_CHECK = {"unpickling": "load pickle", "python_mismatch": "load pickle", "module_not_found": "load pickle",
                  "load_exception": "load pickle", "runtime_broken": "load pickle", "signature": "signature",
                  "data_error": "load data", "predict_type_error": "run predict", "predict_exception": "run predict",
                  "returned_none": "not None", "wrong_type": "type", "empty": "not empty", "nan": "no NaN",
                  "out_of_range": "range", "check_exception": "range"}
_LIMIT_WORDS = {"memory": "Numerai's container is killed at 4 GB",
                "cpu": "Numerai's container has 1 CPU: predict must not count on more",
                "processes": "Numerai's container caps its processes too",
                "output": "predict must return one prediction per live row"}


def numerai_sequence(failed_at: str | None, message: str = "", fix: str | None = None,
                     passed: str = "passed", not_reached: str = "not reached") -> list[Check]:
    """Numerai's checks in Numerai's order: pass until the failing one, then skipped."""
    checks: list[Check] = []
    reached = True
    for name in NUMERAI_CHECK_NAMES:
        if name == failed_at:
            checks.append(Check(name=f"numerai: {name}", status="fail", message=message, fix=fix))
            reached = False
        elif reached:
            checks.append(Check(name=f"numerai: {name}", status="pass", message=passed))
        else:
            checks.append(Check(name=f"numerai: {name}", status="skip", message=not_reached))
    return checks


def _crash_kind(returncode: int, timed_out: bool, breach: Breach | None) -> str:
    if breach is not None:
        return _LIMIT_KINDS.get(breach.limit, "crash")
    if timed_out or returncode == SIGXCPU_STATUS:
        return "timeout"
    if returncode == SIGSEGV_STATUS:
        return "segfault"
    return "crash"  # a SIGKILL (137) without a breach is not a memory verdict: nothing measured one


def crash_checks(result: Mapping[str, Any] | None, returncode: int, timed_out: bool, ctx: RunContext,
                 stderr_tail: Sequence[str], breach: Breach | None = None) -> tuple[list[Check], str]:
    """Numerai's checks for a run that crashed, was stopped at a limit or timed out."""
    kind = _crash_kind(returncode, timed_out, breach)
    stage = (result or {}).get("stage", "start")
    failed_at = _STAGE_TO_CHECK.get(stage, "run predict")
    if breach is not None:
        words = _LIMIT_WORDS.get(breach.limit, "")
        message = f"Stopped during {stage}: it {breach.message}" + (f" ({words})" if words else "")
    elif kind == "timeout":
        message = (f"Stopped after {ctx.wall_s:.0f} s during {stage}: Numerai stops a run after 10 minutes "
                   "(600 s) on 1 CPU")
    elif kind == "segfault" and ctx.version_mismatch:
        message = (f"Segmentation fault: the pickle was built with Python {ctx.built_label} but runs on "
                   f"{ctx.python_used} (Numerai reports 'Segmentation fault! Ensure python and library versions "
                   "match our environment.')")
    elif kind == "segfault":
        message = ("Segmentation fault! Ensure python and library versions match our environment. "
                   f"(exit 139 during {stage})")
    else:
        last = next((line for line in reversed(stderr_tail) if line.strip()), "no output")
        message = f"The runner died with exit status {returncode} during {stage}: {last}"
    return numerai_sequence(failed_at, message, fix_for(kind, ctx), passed="passed before the crash"), kind


def local_checks(report: RunnerReport, run: SandboxResult, summary: Summary | None, unreadable: str | None,
                 ctx: RunContext) -> tuple[list[Check], str | None]:
    """Numerai's checks (then the stricter ones) of a local run, decided here from trusted evidence only.

    A run passes only when the process exited 0 within every limit, claimed no failure, and
    produced predictions that pass every check computed from them. The runner's claims only
    explain failures (which stage, numerai-predict's words).
    """
    if run.breach is not None or run.timed_out or run.returncode not in (0, 1):
        return crash_checks({"stage": report.stage}, run.returncode, run.timed_out, ctx, run.stderr_tail,
                            run.breach)
    output_failure = numerai_failure(summary) if summary is not None else None
    kind = report.error_kind
    if kind is not None:
        failed_at = _KIND_TO_CHECK.get(kind) or _STAGE_TO_CHECK.get(report.stage, "run predict")
        message = report.error_line or f"{kind} during {report.stage}"
        if output_failure is not None and kind in ("empty", "nan", "out_of_range", "check_exception"):
            failed_at, kind, message = output_failure
        if kind == "memory":  # RLIMIT_AS gives a MemoryError where Numerai is OOM-killed (pitfall 5)
            failed_at = _STAGE_TO_CHECK.get(report.stage, "run predict")
            message = f"{message} -> it would exceed {ctx.memory_bytes / 1024**3:.0f} GB at Numerai"
        checks = numerai_sequence(failed_at, message, fix_for(kind, ctx, report.exception))
    elif run.returncode != 0:
        return crash_checks({"stage": report.stage}, run.returncode, False, ctx, run.stderr_tail)
    elif summary is None:
        kind = "no_predictions"
        why = unreadable or "the process exited (status 0) without producing them"
        checks = numerai_sequence("run predict", f"predict returned no predictions: {why}", fix_for(kind, ctx))
    elif output_failure is not None:
        failed_at, kind, message = output_failure
        checks = numerai_sequence(failed_at, message, fix_for(kind, ctx))
    else:
        checks = numerai_sequence(None)
    if summary is not None:
        checks += [Check(name=name, status=status, message=message,  # type: ignore[arg-type]
                         fix=strict_fix(name) if status in ("fail", "warn") else None)
                   for name, status, message in strict_results(summary)]
    return checks, kind


def strict_fix(name: str) -> str | None:
    return {
        "column named prediction": "Name the output column 'prediction': "
                                   "`pd.DataFrame({'prediction': p}, index=live_features.index)`.",
        "index matches live ids": "Keep live_features.index as the output's index (don't reset or re-number it).",
        "row count": "Return exactly one prediction per live row.",
        "numeric": "Return float predictions (not strings, booleans or objects).",
        "not constant": "All predictions are equal: check that the model sees the right feature columns.",
        "per-era ranks": "Avoid many ties within an era (e.g. don't round predictions).",
    }.get(name)
