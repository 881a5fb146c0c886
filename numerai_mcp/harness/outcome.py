"""Turn what happened in the sandbox (and what the scan saw) into checks with concrete fixes.

The runner reports handled failures itself, in numerai-predict's words. What it cannot
report (a segfault, an OOM kill, a timeout) is read here from the exit status and the last
stage the runner recorded, and explained the way a user needs it: which limit, which
Python, what to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from numerai_mcp.harness.verdict import Check

NUMERAI_CHECK_NAMES = ("load pickle", "load data", "signature", "run predict", "not None", "type", "not empty",
                       "no NaN", "range")
_STAGE_TO_CHECK = {"start": "load pickle", "load": "load pickle", "signature": "signature", "data": "load data",
                   "predict": "run predict", "checks": "run predict", "done": "run predict"}
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
        "crash": "The runner died without a Python error: see the log tail.",
    }
    return fixes.get(kind, fixes["crash"])


def _crash_kind(result: Mapping[str, Any] | None, returncode: int, timed_out: bool) -> tuple[str, str]:
    """(kind, message) for a run that ended without the runner's own verdict."""
    stage = (result or {}).get("stage", "start")
    if timed_out or returncode == SIGXCPU_STATUS:
        return "timeout", ""
    if returncode == SIGSEGV_STATUS:
        return "segfault", stage
    if returncode == SIGKILL_STATUS:
        return "memory", stage
    return "crash", stage


def crash_checks(result: Mapping[str, Any] | None, returncode: int, timed_out: bool, ctx: RunContext,
                 stderr_tail: Sequence[str]) -> tuple[list[Check], str]:
    """Numerai's checks for a run that crashed, was killed or timed out."""
    kind, _ = _crash_kind(result, returncode, timed_out)
    stage = (result or {}).get("stage", "start")
    failed_at = _STAGE_TO_CHECK.get(stage, "run predict")
    if kind == "timeout":
        message = (f"Stopped after {ctx.wall_s:.0f} s during {stage}: Numerai stops a run after 10 minutes "
                   "(600 s) on 1 CPU")
    elif kind == "segfault" and ctx.version_mismatch:
        message = (f"Segmentation fault: the pickle was built with Python {ctx.built_label} but runs on "
                   f"{ctx.python_used} (Numerai reports 'Segmentation fault! Ensure python and library versions "
                   "match our environment.')")
    elif kind == "segfault":
        message = ("Segmentation fault! Ensure python and library versions match our environment. "
                   f"(exit 139 during {stage})")
    elif kind == "memory":
        message = (f"Killed during {stage}: it would exceed {ctx.memory_bytes / 1024**3:.0f} GB of memory "
                   "(Numerai's container is killed at 4 GB)")
    else:
        last = next((line for line in reversed(stderr_tail) if line.strip()), "no output")
        message = f"The runner died with exit status {returncode} during {stage}: {last}"
    checks: list[Check] = []
    reached = True
    for name in NUMERAI_CHECK_NAMES:
        if name == failed_at:
            checks.append(Check(name=f"numerai: {name}", status="fail", message=message, fix=fix_for(kind, ctx)))
            reached = False
        elif reached:
            checks.append(Check(name=f"numerai: {name}", status="pass", message="passed before the crash"))
        else:
            checks.append(Check(name=f"numerai: {name}", status="skip", message="not reached"))
    return checks, kind


def runner_checks(result: Mapping[str, Any], ctx: RunContext) -> tuple[list[Check], str | None]:
    """The runner's own checks, with a fix on the failing one."""
    kind = result.get("error_kind")
    checks: list[Check] = []
    for raw in result.get("checks", []):
        check = Check(name=raw["name"], status=raw["status"], message=raw["message"])
        if check.status == "fail" and check.name.startswith("numerai: "):
            message = check.message
            if kind == "memory":  # RLIMIT_AS gives a MemoryError where Numerai is OOM-killed (pitfall 5)
                message = f"{message} -> it would exceed {ctx.memory_bytes / 1024**3:.0f} GB at Numerai"
            check = check.model_copy(update={"message": message,
                                             "fix": fix_for(kind, ctx, result.get("exception"))})
        elif check.status in ("fail", "warn"):
            check = check.model_copy(update={"fix": strict_fix(check.name)})
        checks.append(check)
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
