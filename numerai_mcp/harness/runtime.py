"""Provision cached local venvs that match a `numerai_predict_py_3_X` image.

A runtime is a venv built with uv from a local interpreter of exactly the image's minor
version, holding Numerai's pinned versions of the packages a pickle needs plus what the
runner needs. The whole pin list is passed as constraints, so transitive dependencies
get Numerai's versions too. Layout (one directory per pin list, so new pins never reuse
an old venv):

    <cache>/runtimes/venvs/py3.12-<pins digest>/
        lock            flock: one builder at a time, across processes
        current ->      gen-N (symlink, swapped atomically)
        gen-N/          a relocatable venv + numerai-mcp-runtime.json (what it holds)

Building happens in `gen-N.tmp` and is renamed into place only when complete, so a
crash never leaves a half-built runtime behind `current`. Growing a runtime starts from
a hard-linked copy of the current generation, so only the new packages are fetched.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from numerai_mcp.errors import InvalidInputError, SetupError
from numerai_mcp.harness.interpreters import find_interpreter
from numerai_mcp.progress import ProgressFn, no_progress

RUNNER_PACKAGES: tuple[str, ...] = ("numpy", "pandas", "pyarrow", "cloudpickle")
MANIFEST = "numerai-mcp-runtime.json"
_UV_TIMEOUT_S = 1800.0
RETIRED_GENERATION_TTL_S = 3600.0  # a replaced venv may still serve a running validation for a while


class RuntimeProvisionError(SetupError):
    """uv could not build the runtime; the message holds uv's own explanation."""


class PackageNotPinnedError(InvalidInputError):
    """A requested package is not among the image's pins, so Numerai cannot import it either."""


@dataclass(frozen=True)
class LocalRuntime:
    """A ready venv that imports like Numerai's image for the packages it holds."""

    python_version: str
    python: Path
    root: Path
    env: Mapping[str, str] = field(default_factory=dict)
    packages: Mapping[str, str] = field(default_factory=dict)
    pins_source: str = ""

    def has(self, distribution: str) -> bool:
        return normalize(distribution) in self.packages


def normalize(name: str) -> str:
    """PEP 503 normalised distribution name (the catalogue's spelling)."""
    from numerai_mcp.harness.catalogue import normalize_distribution

    return normalize_distribution(name)


def _default_cache_dir() -> Path:
    from numerai_mcp.config import default_cache_dir

    return default_cache_dir(os.environ)


def _load_pins(python_version: str, cache_dir: Path) -> tuple[str, Mapping[str, str], str]:
    """(normalised minor version, pins, pins_source) from the runtimes catalogue."""
    from numerai_mcp.harness.catalogue import load_catalogue

    runtime = load_catalogue(cache_dir).get(python_version)
    pins = {normalize(name): version for name, version in runtime.pins.items()}
    return runtime.python, pins, runtime.pins_source


def _wanted(packages: Iterable[str], pins: Mapping[str, str], python: str) -> dict[str, str]:
    names = {normalize(p) for p in [*RUNNER_PACKAGES, *packages] if p.strip()}
    missing = sorted(n for n in names if n not in pins)
    if missing:
        raise PackageNotPinnedError(
            f"numerai_predict_py_{python.replace('.', '_')} does not provide {', '.join(map(repr, missing))}: "
            "it is not in the image's pinned requirements, so a pickle importing it fails at Numerai. "
            "Remove that dependency from the model (or pick a runtime whose pins include it)."
        )
    return {n: pins[n] for n in sorted(names)}


def _pins_digest(pins: Mapping[str, str]) -> str:
    text = "".join(f"{n}=={v}\n" for n, v in sorted(pins.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _read_manifest(gen: Path) -> dict | None:
    try:
        data = json.loads((gen / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if (gen / "bin" / "python").exists() else None


def _as_runtime(gen: Path, manifest: Mapping) -> LocalRuntime:
    return LocalRuntime(
        python_version=manifest["python_version"],
        python=gen / "bin" / "python",
        root=gen,
        env=dict(manifest.get("env", {})),
        packages=dict(manifest["packages"]),
        pins_source=manifest["pins_source"],
    )


@contextmanager
def _locked(path: Path, progress: ProgressFn) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(0, None, "waiting for another process that is building this runtime")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _uv_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(UV_PYTHON_DOWNLOADS="never", UV_PYTHON_PREFERENCE="only-system", UV_NO_PROGRESS="1")
    # Trust the system's certificate store (as pip does): agent clients start servers with a minimal
    # environment, without SSL_CERT_FILE, and uv's bundled roots fail behind a TLS-inspecting proxy.
    env.setdefault("UV_SYSTEM_CERTS", "1")
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "UV_PYTHON"):
        env.pop(name, None)
    return env


def _uv(args: list[str], *, cwd: Path, what: str) -> None:
    from uv import find_uv_bin

    try:
        done = subprocess.run(
            [find_uv_bin(), *args], cwd=cwd, env=_uv_env(), capture_output=True, text=True,
            timeout=_UV_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeProvisionError(f"uv timed out after {exc.timeout:.0f} s while {what}.") from None
    if done.returncode != 0:
        from numerai_mcp.redact import redact

        tail = "\n".join(redact(done.stderr).strip().splitlines()[-15:])
        raise RuntimeProvisionError(
            f"uv failed while {what} (exit {done.returncode}). Check network access to the package index "
            f"or your uv configuration. uv said:\n{tail}"
        )


def _copy_generation(source: Path, target: Path) -> None:
    """Hard-link copy (falls back to copying across filesystems); symlinks stay symlinks."""
    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, symlinks=True, copy_function=link_or_copy)


def _next_generation(home: Path) -> int:
    numbers = [int(m.group(1)) for p in home.iterdir() if (m := re.fullmatch(r"gen-(\d+)(?:\.tmp)?", p.name))]
    return max(numbers, default=0) + 1


def _swap_current(home: Path, gen: Path) -> None:
    link = home / f"current.{os.getpid()}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(gen.name)
    os.replace(link, home / "current")


def _prune(home: Path, keep: set[str]) -> None:
    """Remove leftovers of crashed builds (we hold the lock, so nobody else is building) and
    generations retired long enough ago that no run can still be using them."""
    now = time.time()
    for path in home.iterdir():
        if path.name in keep:
            continue
        crashed = re.fullmatch(r"gen-\d+\.tmp", path.name)
        retired = re.fullmatch(r"gen-\d+", path.name) and now - path.stat().st_mtime > RETIRED_GENERATION_TTL_S
        if crashed or retired:
            shutil.rmtree(path, ignore_errors=True)


def _build(home: Path, base: Path | None, interpreter: Path, python: str, wanted: Mapping[str, str],
           pins: Mapping[str, str], pins_source: str, progress: ProgressFn) -> Path:
    gen = home / f"gen-{_next_generation(home)}"
    work = gen.with_name(gen.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    if base is not None:
        progress(1, 4, "copying the current runtime")
        _copy_generation(base, work)
    else:
        progress(1, 4, f"creating a Python {python} venv from {interpreter}")
        _uv(["venv", "--quiet", "--relocatable", "--python", str(interpreter), str(work)], cwd=home,
            what=f"creating the Python {python} venv")
    constraints = home / "constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    progress(2, 4, f"installing {len(wanted)} pinned packages: {', '.join(wanted)}")
    _uv(["pip", "install", "--quiet", "--compile-bytecode", "--python", str(work / "bin" / "python"),
         "--constraint", str(constraints), *(f"{n}=={v}" for n, v in wanted.items())], cwd=home,
        what=f"installing {', '.join(wanted)} for Python {python}")
    manifest = {"python_version": python, "interpreter": str(interpreter), "packages": dict(wanted),
                "pins_source": pins_source, "env": {}, "built_at": time.time()}
    # Replace, never rewrite: in a grown runtime the manifest is a hard link to the current generation's, which a
    # running validation still trusts (and which must stay true if this build fails).
    staged = work / f".{MANIFEST}.tmp"
    staged.write_text(json.dumps(manifest, indent=1))
    os.replace(staged, work / MANIFEST)
    progress(3, 4, "activating the runtime")
    os.rename(work, gen)
    return gen


def ensure_runtime(python_version: str, packages: Iterable[str] = (), *, cache_dir: Path | None = None,
                   progress: ProgressFn | None = None) -> LocalRuntime:
    """Return a cached runtime for `python_version` holding the pinned `packages` (+ the runner's).

    Builds or grows it when needed. Raises UnknownRuntimeError/ValueError for a bad version,
    PackageNotPinnedError for a package the image lacks, InterpreterNotFoundError when no local
    interpreter of that minor version exists, RuntimeProvisionError when uv fails.
    """
    report = progress or no_progress
    cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    python, pins, pins_source = _load_pins(python_version, cache)
    wanted = _wanted(packages, pins, python)
    home = cache / "runtimes" / "venvs" / f"py{python}-{_pins_digest(pins)}"

    def usable() -> tuple[Path, dict] | None:
        current = home / "current"
        manifest = _read_manifest(current) if current.exists() else None
        return (current.resolve(), manifest) if manifest else None

    found = usable()
    if found and set(wanted) <= set(found[1]["packages"]):
        return _as_runtime(*found)
    interpreter = find_interpreter(python)
    with _locked(home / "lock", report):
        found = usable()
        if found and set(wanted) <= set(found[1]["packages"]):
            return _as_runtime(*found)
        merged = {**(found[1]["packages"] if found else {}), **wanted}
        gen = _build(home, found[0] if found else None, interpreter, python, merged, pins, pins_source, report)
        _swap_current(home, gen)
        _prune(home, keep={gen.name, found[0].name if found else gen.name})
        report(4, 4, f"Python {python} runtime ready")
        return _as_runtime(gen, json.loads((gen / MANIFEST).read_text()))
