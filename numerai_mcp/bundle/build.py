"""build_pickle: an inference bundle -> a predict pickle written by Numerai's own runtime, then validated.

The pickle must be written by the Python minor version and libraries of the image that will
run it (a cloudpickled function is bytecode; another minor version segfaults or fails to load),
so this module never pickles anything itself: it provisions the pinned runtime (shared with
validate_pickle), runs `build_script.py` there with a scrubbed environment, moves the result
into place atomically and hands it to the harness's validate_pickle.

Free of MCP and of numpy: the server imports it and calls it in a worker thread.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from numerai_mcp.bundle.fileformat import BundleError, read_manifest
from numerai_mcp.errors import InvalidInputError, SetupError
from numerai_mcp.harness.facts import NO_FACTS, NumeraiFacts
from numerai_mcp.harness.verdict import Verdict
from numerai_mcp.harness.verdict_store import file_sha256
from numerai_mcp.progress import ProgressFn, no_progress
from numerai_mcp.redact import redact

if TYPE_CHECKING:
    from numerai_mcp.harness.catalogue import Runtime
    from numerai_mcp.harness.reproduce import Expected
    from numerai_mcp.harness.runtime import LocalRuntime

BUILD_TIMEOUT_S = 600.0
_HERE = Path(__file__).resolve().parent
_SOURCES = {"fileformat": _HERE / "fileformat.py", "template": _HERE / "template.py"}
_SCRIPT = _HERE / "build_script.py"


class BuildError(SetupError):
    """Building failed for a reason other than the bundle itself; the message says what to do."""


class BuildResult(BaseModel):
    """What build_pickle made, how, and whether it passed validation."""

    path: str
    size: int
    sha256: str
    python_version: str                  # the minor version that wrote the pickle, e.g. "3.12"
    python_version_source: str           # "requested", or where the default came from
    runtime: str                         # "numerai_predict_py_3_12:<tag>"
    pins_source: str
    libraries: dict[str, str] = Field(default_factory=dict)   # what wrote the pickle (numpy, pandas, cloudpickle, …)
    features: int
    kind: str                            # linear | mlp | trees
    engine: str                          # numpy | lightgbm (native booster inside the pickle)
    transform: str
    benchmark_column: str | None = None
    notes: list[str] = Field(default_factory=list)
    verdict: Verdict | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    summary: str


def build_pickle(bundle_path: Path, output_path: Path, *, python_version: str = "auto", validate: bool = True,
                 cache_dir: Path | None = None, facts: NumeraiFacts = NO_FACTS,
                 allowed_roots: Sequence[Path] | None = None, progress: ProgressFn | None = None) -> BuildResult:
    """Write `output_path` (.pkl) from the bundle inside the target runtime, then validate it.

    python_version: "auto" (Numerai's live default, from `facts.images`, else the catalogue's) or "3.X".
    `facts` is what the caller fetched from Numerai (live default image, live files); `allowed_roots` confine
    both paths when given.
    Raises BundleError for a bad bundle, ValueError for bad arguments (unknown version, bad paths),
    InterpreterNotFoundError / RuntimeProvisionError when the runtime cannot be made, BuildError
    when the build process fails. A pickle that fails validation is not an exception: see `.verdict`.
    """
    report = progress or no_progress
    started = time.perf_counter()
    timings: dict[str, float] = {}
    bundle_path, output_path = _check_paths(bundle_path, output_path, allowed_roots)
    manifest = read_manifest(bundle_path)
    cache = _cache_dir(cache_dir)

    report(0, 4, "choosing the target runtime")
    mark = time.perf_counter()
    target, version_source = resolve_target(python_version, cache, facts)
    packages = packages_for(manifest, target)
    report(0, 4, f"provisioning the Python {target.python} runtime")
    from numerai_mcp.harness.runtime import ensure_runtime

    runtime = ensure_runtime(target.python, packages, cache_dir=cache, progress=_stage(report, 0, 4))
    mark = _lap(timings, "provision", mark)

    with tempfile.TemporaryDirectory(prefix="numerai-build-") as work_dir:
        work = Path(work_dir)
        needs_probe_files = _needs_probe_files(manifest, facts)
        report(1, 4, f"writing the pickle with Python {target.python} ({runtime.python})")
        result = _run_build_script(runtime, bundle_path, output_path, work, probe_files=needs_probe_files)
        mark = _lap(timings, "build", mark)
        digest, size = file_sha256(output_path), output_path.stat().st_size
        verdict = None
        if validate:
            report(2, 4, "validating the pickle as Numerai would")
            verdict = _validate(output_path, target.python, manifest, result, cache, facts, _stage(report, 2, 4))
            mark = _lap(timings, "validate", mark)
    timings["total"] = round(time.perf_counter() - started, 4)
    build = BuildResult(
        path=str(output_path), size=size, sha256=digest, python_version=target.python,
        python_version_source=version_source, runtime=f"{target.image}:{target.tag}", pins_source=runtime.pins_source,
        libraries=result.get("libraries", {}), features=int(result["features"]), kind=str(result["kind"]),
        engine=str(result["engine"]), transform=str(result["transform"]), benchmark_column=result.get("benchmark_column"),
        notes=list(result.get("notes", [])), verdict=verdict, timings=timings, summary="",
    )
    build.summary = summarize(build)
    report(4, 4, build.summary)
    return build


# ------------------------------------------------------------------------------ arguments


def _check_paths(bundle_path: Path, output_path: Path, roots: Sequence[Path] | None) -> tuple[Path, Path]:
    bundle = Path(bundle_path).expanduser().resolve()
    output = Path(output_path).expanduser().resolve()
    if not bundle.is_file():
        raise BundleError(f"bundle not found: {bundle}. Export one first: numerai_mcp.bundle.export(model, features, path).")
    if output.suffix != ".pkl":
        raise InvalidInputError(f"output path must end in .pkl (Numerai's upload expects a .pkl), got {output.name!r}.")
    if output.is_dir():
        raise InvalidInputError(f"output path {output} is a directory; give a file name ending in .pkl.")
    if not output.parent.is_dir():
        raise InvalidInputError(f"cannot write {output}: the directory {output.parent} does not exist.")
    if output == bundle:
        raise InvalidInputError("output path is the bundle itself; choose another file name.")
    if roots:
        for what, path in (("bundle", bundle), ("output", output)):
            if not any(path.is_relative_to(root) for root in roots):
                raise InvalidInputError(f"the {what} path {path} lies outside the allowed roots ({', '.join(map(str, roots))}).")
    return bundle, output


def _cache_dir(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    from numerai_mcp.config import default_cache_dir

    return default_cache_dir(os.environ)


def resolve_target(python_version: str | None, cache_dir: Path, facts: NumeraiFacts = NO_FACTS) -> tuple[Runtime, str]:
    """(catalogue runtime, why this version): explicit, else Numerai's live default, else the catalogue's."""
    from numerai_mcp.harness.catalogue import load_catalogue

    if python_version not in (None, "", "auto"):
        return load_catalogue(cache_dir).get(str(python_version)), "requested"
    catalogue = load_catalogue(cache_dir, live_images=facts.images)
    return catalogue.default, f"default from {catalogue.default_source}"


def packages_for(manifest: dict[str, Any], target: Runtime) -> list[str]:
    """Pinned packages the build needs beyond the runner's: LightGBM for a native build, when the image
    pins it (when it does not, the build script falls back to numpy trees and says so)."""
    if manifest["model"].get("native") and target.pin("lightgbm") is not None:
        return ["lightgbm"]
    return []


# ------------------------------------------------------------------------------ building


def _build_env(runtime: LocalRuntime, work: Path) -> dict[str, str]:
    """An allow-listed environment: nothing from ours (no credentials) reaches the build process."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    }
    env.update(runtime.env)
    return env


def _run_build_script(runtime: LocalRuntime, bundle: Path, output: Path, work: Path, *, probe_files: bool) -> dict[str, Any]:
    sources = {}
    for name, source in _SOURCES.items():
        sources[name] = str(shutil.copy(source, work / source.name))
    script = shutil.copy(_SCRIPT, work / _SCRIPT.name)
    handle, temp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.close(handle)
    temp_output = Path(temp_name)
    request = {
        "bundle": str(bundle), "output": str(temp_output), "result": str(work / "result.json"), "sources": sources,
        "work_dir": str(work), "probe_dir": str(work) if probe_files else None,
    }
    (work / "request.json").write_text(json.dumps(request))
    try:
        try:
            done = subprocess.run(
                [str(runtime.python), "-I", str(script), str(work / "request.json")], cwd=work,
                env=_build_env(runtime, work), capture_output=True, encoding="utf-8", errors="replace",
                timeout=BUILD_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise BuildError(f"the build in Python {runtime.python_version} took over {BUILD_TIMEOUT_S:.0f} s and was stopped.") from None
        result = _read_result(work / "result.json")
        if result is None:
            tail = "\n".join(redact(done.stderr).strip().splitlines()[-12:])
            raise BuildError(f"the Python {runtime.python_version} build process failed (exit {done.returncode}) "
                             f"without a result:\n{tail}")
        if not result.get("ok"):
            message = redact(result.get("message", "unknown error"))
            if result.get("error") == "bundle":
                raise BundleError(message)
            raise BuildError(f"building in Python {runtime.python_version} failed: {result.get('error')}: {message}")
        os.replace(temp_output, output)
    finally:
        temp_output.unlink(missing_ok=True)
    return result


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _needs_probe_files(manifest: dict[str, Any], facts: NumeraiFacts) -> bool:
    """Synthetic live files are ours to write only when the harness could not supply the benchmark
    column: it synthesises only Numerai's usual benchmark names, and Numerai's real files are not here."""
    column = manifest.get("benchmark_column")
    if column is None or facts.live is not None:
        return False
    from numerai_mcp.harness.livedata import BENCHMARK_COLUMNS

    return column not in BENCHMARK_COLUMNS


def _validate(path: Path, python: str, manifest: dict[str, Any], result: dict[str, Any], cache: Path,
              facts: NumeraiFacts, progress: ProgressFn) -> Verdict:
    from numerai_mcp.harness.validate import validate_pickle

    features = [f for f in manifest["features"] if f != manifest.get("benchmark_column")]
    files = result.get("probe_files") or {}
    live = Path(files["live"]) if files else None
    bench = Path(files["benchmarks"]) if files else None
    return validate_pickle(path, python_version=python, live_data=live, benchmark_data=bench, cache_dir=cache,
                           facts=facts, features=features, expected=_probe_expectation(result.get("probe")),
                           progress=progress)


def _probe_expectation(probe: Any) -> Expected | None:
    """The bundle's probe as what the built pickle must reproduce (None when the bundle has no probe)."""
    if not isinstance(probe, dict):
        return None
    from numerai_mcp.harness.reproduce import Expected

    ids = [str(i) for i in probe["ids"]]
    return Expected(values={i: float(v) for i, v in zip(ids, probe["expected"])}, live=Path(probe["live"]),
                    benchmarks=Path(probe["benchmarks"]), eras=dict(zip(ids, (str(e) for e in probe["eras"]))),
                    by_ranks=bool(probe["by_ranks"]), nan_rows=set(probe["nan_rows"]),
                    explained_by=[str(n) for n in probe["explained_by"]],
                    what=f"the bundle's {probe['rows']} probe rows ({probe['source']})")


# ------------------------------------------------------------------------------ reporting


def _lap(timings: dict[str, float], name: str, mark: float) -> float:
    now = time.perf_counter()
    timings[name] = round(now - mark, 4)
    return now


def _stage(report: ProgressFn, step: int, total: int) -> ProgressFn:
    """Map a sub-task's own progress into [step, step + 1) of the build's `total` steps."""
    def forward(done: float, sub_total: float | None, message: str) -> None:
        fraction = min(1.0, done / sub_total) if sub_total else 0.0
        report(step + fraction * 0.99, total, message)

    return forward


def summarize(build: BuildResult) -> str:
    size = f"{build.size / 1e6:.1f} MB" if build.size >= 100_000 else f"{build.size / 1e3:.1f} kB"
    head = (f"Built {Path(build.path).name} ({size}, sha256 {build.sha256[:12]}) with Python {build.python_version} "
            f"({build.runtime}) from a {build.kind} bundle of {build.features} features, {build.engine} engine")
    if build.verdict is None:
        return f"{head}; not validated: run validate_pickle before uploading."
    reproduced = build.verdict.check("reproduces the training model")
    if reproduced is None and build.verdict.passed:
        head += " (the bundle has no probe: its training predictions were not checked)"
    elif reproduced is not None and reproduced.status == "pass":
        head += "; it reproduces the training predictions"
    if build.verdict.passed:
        return f"{head}; validation passed. {build.verdict.summary}"
    return f"{head}; VALIDATION FAILED, do not upload. {build.verdict.summary}"
