"""How the emulator decides whether an uploaded pickle is valid: a pluggable `Validator`.

    Validator = Callable[[Path, python_version "3.12", data_version "v5.2"], ValidationOutcome]

The untrusted pickle never runs in the emulator process. The default validator is the
full harness (`numerai_mcp.harness.validate.validate_pickle`: static scan, pinned runtime,
sandbox) when it is installed; otherwise `minimal_validator`, which runs
`validate_runner.py` in a separate, limited process (own session, 4 GiB address space, no
core dumps, scrubbed environment, wall-clock timeout) with an interpreter of the image's
minor version that has pandas. Swapping validators is the one line in `default_validator`.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numerai_mcp.emulator.datasets import Datasets
from numerai_mcp.emulator.pythons import python_with
from numerai_mcp.redact import redact

MEMORY_LIMIT_BYTES = 4 * 1024**3  # Numerai's 4 GB
SEGFAULT = "Segmentation fault! Ensure python and library versions match our environment."
MAX_LOG_LINES = 400
_RUNNER = Path(__file__).with_name("validate_runner.py")
# Distributions a pickle commonly needs beyond the runner's own, found by name in its bytes
# (only used to grow a harness runtime for the minimal validator).
_KNOWN_DISTRIBUTIONS = {b"lightgbm": "lightgbm", b"sklearn": "scikit-learn", b"xgboost": "xgboost",
                        b"scipy": "scipy", b"catboost": "catboost", b"torch": "torch"}


@dataclass(frozen=True)
class ValidationOutcome:
    passed: bool
    description: str
    logs: list[str] = field(default_factory=list)


Validator = Callable[[Path, str, str], ValidationOutcome]


@dataclass(frozen=True)
class ValidatorContext:
    """What a validator may use: the served live files, caches, known interpreters, limits."""

    datasets: Datasets
    cache_dir: Path | None = None
    pythons: Mapping[str, Path] = field(default_factory=dict)
    timeout_s: float = 600.0
    work_dir: Path | None = None  # the emulator's own scratch space (under its data dir)


def harness_available() -> bool:
    try:
        return importlib.util.find_spec("numerai_mcp.harness.validate") is not None
    except ImportError:
        return False


def default_validator(ctx: ValidatorContext, choice: str = "auto") -> tuple[str, Validator]:
    """(name, validator): "auto" is the harness when installed, else the minimal fallback."""
    if choice == "auto":
        choice = "harness" if harness_available() else "minimal"
    if choice == "harness" and not harness_available():
        raise ValueError("--validator harness: numerai_mcp.harness.validate is not installed; use --validator minimal")
    if choice not in ("harness", "minimal"):
        raise ValueError(f"unknown validator {choice!r}: use auto, harness or minimal")
    return choice, harness_validator(ctx) if choice == "harness" else minimal_validator(ctx)


# -- the full harness --------------------------------------------------------------------------

def harness_cache(ctx: ValidatorContext) -> Path | None:
    """A cache dir for the harness that shares the user's pinned runtimes but keeps the rest private.

    The emulator plays Numerai's servers: its verdicts (remembered by sha256), scratch files and
    live data must not land in the user's cache, where the upload gate reads verdicts. Only
    `runtimes/` (venvs and pins, the expensive part) is shared, through a symlink.
    """
    if ctx.work_dir is None:
        return ctx.cache_dir
    from numerai_mcp.config import default_cache_dir

    shared = Path(ctx.cache_dir or default_cache_dir(os.environ)) / "runtimes"
    private = ctx.work_dir / "harness-cache"
    link = private / "runtimes"
    if not link.is_symlink() and not link.exists():
        shared.mkdir(parents=True, exist_ok=True)
        private.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(shared.resolve(), target_is_directory=True)
        except FileExistsError:  # another worker made it first
            pass
    return private


def harness_validator(ctx: ValidatorContext) -> Validator:
    """Validate with the project's harness, on the emulator's own live files."""

    def validate(path: Path, python_version: str, data_version: str) -> ValidationOutcome:
        from numerai_mcp.harness.validate import validate_pickle

        live, bench = ctx.datasets.live_files(data_version)
        # no NumeraiFacts: the harness calls no API by itself, and the emulator gives it its own live files
        wanted = {"python_version": python_version, "live_data": live, "benchmark_data": bench,
                  "backend": "local", "timeout_s": ctx.timeout_s, "cache_dir": harness_cache(ctx)}
        accepted = inspect.signature(validate_pickle).parameters
        try:
            verdict = validate_pickle(path, **{k: v for k, v in wanted.items() if k in accepted})
        except Exception as exc:  # noqa: BLE001 - an emulator-side error, reported like Numerai's "Error"
            return ValidationOutcome(False, f"The emulator could not validate this pickle: {redact(exc)}",
                                     [f"ERROR:root:{redact(exc)}"])
        return outcome_from_verdict(verdict)

    return validate


def outcome_from_verdict(verdict: Any) -> ValidationOutcome:
    """Numerai's decision from a harness Verdict: only its own ("numerai: …") checks count.

    The harness's stricter checks (column name, constant output, …) are reported in the
    description but do not fail the upload, because Numerai does not apply them. A pickle
    the harness refused to run (dangerous, wrong Python) has no passing Numerai check and fails.
    """
    checks = list(verdict.checks)
    ran = any(c.name.startswith("numerai: ") and c.status == "pass" for c in checks)
    numerai_failed = [c for c in checks if c.name.startswith("numerai: ") and c.status == "fail"]
    logs = [str(line) for line in verdict.log_tail]
    if ran and not numerai_failed:
        stricter = [c.name for c in checks if c.status == "fail"]
        extra = f" Stricter local checks flagged: {', '.join(stricter)}." if stricter else ""
        return ValidationOutcome(True, f"Validation succeeded on {verdict.runtime}.{extra}", logs)
    description = numerai_failed[0].message if numerai_failed else str(verdict.summary)
    if "segmentation fault" in description.lower():  # Numerai's own words; the harness's detail goes to the logs
        logs, description = [*logs, f"ERROR:root:{description}"], SEGFAULT
    return ValidationOutcome(False, description, logs)


# -- the minimal fallback ------------------------------------------------------------------------

_active: set[subprocess.Popen[bytes]] = set()
_active_lock = threading.Lock()


def kill_active_validations() -> None:
    """Stop every running minimal-validator process (emulator shutdown)."""
    with _active_lock:
        running = list(_active)
    for proc in running:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _needed_distributions(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError:
        return []
    return [dist for marker, dist in _KNOWN_DISTRIBUTIONS.items() if marker in data]


def _harness_runtime(python_version: str, path: Path, ctx: ValidatorContext) -> tuple[Path, dict[str, str]] | None:
    """A pinned harness runtime when the harness can provision one, else None."""
    try:
        from numerai_mcp.harness.runtime import ensure_runtime

        runtime = ensure_runtime(python_version, _needed_distributions(path), cache_dir=ctx.cache_dir)
    except Exception:  # noqa: BLE001 - any failure just means "use a plain local interpreter"
        return None
    return Path(runtime.python), dict(runtime.env)


def _find_runtime(python_version: str, path: Path, ctx: ValidatorContext) -> tuple[Path, dict[str, str]] | None:
    if python_version in ctx.pythons:
        return Path(ctx.pythons[python_version]), {}
    found = _harness_runtime(python_version, path, ctx)
    if found:
        return found
    local = python_with(python_version, ("pandas",), ctx.pythons)
    return (local, {}) if local else None


def _runner_env(home: str, extra: Mapping[str, str]) -> dict[str, str]:
    """An allow-listed environment: no credentials or anything else of ours leaks in."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    if os.environ.get("LD_LIBRARY_PATH"):
        env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    env.update(extra)
    return env


def _describe(returncode: int | None, lines: list[str], timeout_s: float) -> str:
    if returncode is None:
        return f"Timed out: the model ran longer than {timeout_s:g} s (Numerai stops runs after 10 minutes)."
    if returncode in (-signal.SIGSEGV, 128 + signal.SIGSEGV):
        return SEGFAULT
    if returncode == 0:
        generated = next((m.group(1) for line in lines if (m := re.search(r"Generated (\d+) predictions", line))), "?")
        return f"Validation succeeded: {generated} predictions, all in [0, 1]."
    if any("MemoryError" in line for line in lines) or returncode in (-signal.SIGKILL, 137):
        return "Out of memory: the model needs more than the 4 GB Numerai allows."
    errors = [line.split(":", 2)[2] for line in lines if line.startswith("ERROR:root:")]
    if errors:
        return errors[0]
    return f"The runner exited with status {returncode}: {lines[-1] if lines else 'no output'}"


def minimal_validator(ctx: ValidatorContext) -> Validator:
    """Unpickle and run predict in a separate limited process, numerai-predict style."""

    def validate(path: Path, python_version: str, data_version: str) -> ValidationOutcome:
        found = _find_runtime(python_version, path, ctx)
        if found is None:
            message = (f"No local Python {python_version} interpreter with pandas was found to validate this "
                       f"pickle. Start the sandbox with --python {python_version}=/path/to/venv/bin/python "
                       f"(a venv with Numerai's pinned numpy/pandas/cloudpickle), or install the validation harness.")
            return ValidationOutcome(False, message, [f"ERROR:root:{message}"])
        python, extra_env = found
        live, bench = ctx.datasets.live_files(data_version)
        features = ctx.datasets.features_file(data_version)
        with tempfile.TemporaryDirectory(prefix="numerai-emulator-validate-") as work:
            args = [str(path), str(live or "-"), str(bench or "-"), str(features or "-"), work, python_version]
            returncode, lines = _run_limited([str(python), "-I", str(_RUNNER), *args], work, extra_env, ctx.timeout_s)
        lines = [redact(line) for line in lines][-MAX_LOG_LINES:]
        return ValidationOutcome(returncode == 0, _describe(returncode, lines, ctx.timeout_s), lines)

    return validate


def _run_limited(command: list[str], work: str, extra_env: Mapping[str, str],
                 timeout_s: float) -> tuple[int | None, list[str]]:
    """Run `command` in its own session with Numerai-like limits; (exit status or None on timeout, log lines)."""
    limit_kib = MEMORY_LIMIT_BYTES // 1024
    shell = f'ulimit -v {limit_kib} && ulimit -c 0 && exec "$@"'  # one option per ulimit: dash
    log_path = Path(work) / "runner.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(["/bin/sh", "-c", shell, "sh", *command], cwd=work, env=_runner_env(work, extra_env),
                                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)
        with _active_lock:
            _active.add(proc)
        try:
            returncode: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            _kill_group(proc)  # also reaps anything the pickle left running in its session
            proc.wait()
            with _active_lock:
                _active.discard(proc)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return returncode, text.splitlines()
