"""Pickles for the static scanner's tests: crafted ones, and real ones made by each pyenv Python.

Crafted pickles are written by the standard `pickle` module from objects whose
`__reduce__` names a callable (so nothing runs while *building* them), or assembled opcode
by opcode for streams `pickle` never writes. No test loads them: the scanner only reads.

Real pickles come from `make_real_pickles(python, …)`: a throwaway venv per Python minor
version (cloudpickle and numpy at that image's pins, built with uv under the session cache
dir and reused) runs a script as `__main__`, so functions are pickled by value exactly as
from a notebook.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import struct
import subprocess
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"


# ------------------------------------------------------------------ crafted


class Reduce:
    """An object that pickles as `func(*args)`; callable itself so it can be the func of another."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args

    def __call__(self, *args: Any) -> None:  # pragma: no cover - never called, only pickled
        raise AssertionError("crafted payloads are never executed")


def crafted(obj: Any, protocol: int = pickle.DEFAULT_PROTOCOL) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


def op(name: str, arg: bytes | str | int | None = None) -> bytes:
    """One opcode with its argument encoded the way pickletools reads it."""
    code = {
        "PROTO": b"\x80", "FRAME": b"\x95", "STOP": b".", "MARK": b"(", "GLOBAL": b"c", "STACK_GLOBAL": b"\x93",
        "SHORT_BINUNICODE": b"\x8c", "BINUNICODE": b"X", "TUPLE": b"t", "TUPLE1": b"\x85", "TUPLE2": b"\x86",
        "EMPTY_TUPLE": b")", "EMPTY_DICT": b"}", "EMPTY_LIST": b"]", "REDUCE": b"R", "BUILD": b"b", "INST": b"i",
        "OBJ": b"o", "NEWOBJ": b"\x81", "PERSID": b"P", "BINPERSID": b"Q", "EXT1": b"\x82", "BINGET": b"h",
        "BINPUT": b"q", "MEMOIZE": b"\x94", "POP": b"0", "NONE": b"N", "BININT1": b"K", "SETITEM": b"s",
        "APPEND": b"a", "DICT": b"d", "LIST": b"l", "SHORT_BINBYTES": b"C", "NEWTRUE": b"\x88",
    }[name]
    if arg is None:
        return code
    if name in ("GLOBAL", "INST"):  # "module name" -> two lines, as pickle writes them
        return code + str(arg).replace(" ", "\n").encode() + b"\n"
    if name == "PERSID":
        return code + str(arg).encode() + b"\n"
    if name == "SHORT_BINUNICODE":
        raw = str(arg).encode()
        return code + bytes([len(raw)]) + raw
    if name == "BINUNICODE":
        raw = str(arg).encode()
        return code + struct.pack("<I", len(raw)) + raw
    if name == "SHORT_BINBYTES":
        assert isinstance(arg, bytes)
        return code + bytes([len(arg)]) + arg
    if name == "FRAME":
        return code + struct.pack("<Q", int(arg))  # type: ignore[arg-type]
    if name in ("PROTO", "BINGET", "BINPUT", "BININT1", "EXT1"):
        return code + bytes([int(arg)])  # type: ignore[arg-type]
    raise ValueError(name)


def assemble(*ops: bytes, protocol: int | None = 4) -> bytes:
    """A pickle from opcodes (STOP appended)."""
    head = op("PROTO", protocol) if protocol is not None else b""
    return head + b"".join(ops) + op("STOP")


def stack_global(module: str, name: str) -> bytes:
    return op("SHORT_BINUNICODE", module) + op("SHORT_BINUNICODE", name) + op("STACK_GLOBAL")


def code_object(code: bytes, *, argcount: int = 1, kwonly: int = 0, flags: int = 3, names: tuple[str, ...] = (),
                qualname: str = "predict") -> bytes:
    """cloudpickle's `_builtin_type('CodeType')(…18 args…)` with a given co_code (3.11+ shape)."""
    def text(s: str) -> bytes:
        return op("SHORT_BINUNICODE", s)

    args = [
        op("BININT1", argcount), op("BININT1", 0), op("BININT1", kwonly), op("BININT1", argcount),
        op("BININT1", 4), op("BININT1", flags), op("SHORT_BINBYTES", code), op("NONE") + op("TUPLE1"),
        op("MARK") + b"".join(text(n) for n in names) + op("TUPLE"), op("EMPTY_TUPLE"), text("<dynamic-code>"),
        text(qualname), text(qualname), op("BININT1", 1), op("SHORT_BINBYTES", b""), op("SHORT_BINBYTES", b""),
        op("EMPTY_TUPLE"), op("EMPTY_TUPLE"),
    ]
    factory = stack_global("cloudpickle.cloudpickle", "_builtin_type") + text("CodeType") + op("TUPLE1") + op("REDUCE")
    return factory + op("MARK") + b"".join(args) + op("TUPLE") + op("REDUCE")


def cloudpickle_function(code: bytes, **kwargs: Any) -> bytes:
    """`_make_function(code, {}, name, None, None)` as cloudpickle 3 writes it (no state)."""
    body = code_object(code, **kwargs)
    return (stack_global("cloudpickle.cloudpickle", "_make_function") + op("MARK") + body + op("EMPTY_DICT")
            + op("SHORT_BINUNICODE", kwargs.get("qualname", "predict")) + op("NONE") + op("NONE") + op("TUPLE")
            + op("REDUCE"))


# ------------------------------------------------------------------ real, per interpreter


def interpreter(python: str) -> Path | None:
    """The newest pyenv CPython of that minor version, if installed."""
    found = sorted(PYENV_VERSIONS.glob(f"{python}.*/bin/python{python}"),
                   key=lambda p: [int(x) for x in p.parts[-3].split(".") if x.isdigit()])
    return found[-1] if found else None


@contextmanager
def _locked(path: Path):  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def scan_venv(python: str, cache_dir: Path) -> Path:
    """A cached venv of that pyenv Python with cloudpickle and numpy at the image's pins; returns its python."""
    from numerai_mcp.harness.catalogue import load_catalogue

    base = interpreter(python)
    if base is None:
        raise FileNotFoundError(f"no pyenv Python {python}")
    runtime = load_catalogue(cache_dir / "scan-venvs" / "no-cache").get(python)
    packages = [f"cloudpickle=={runtime.pin('cloudpickle')}", f"numpy=={runtime.pin('numpy')}"]
    root = cache_dir / "scan-venvs" / f"py{python}-{'-'.join(p.replace('==', '') for p in packages)}"
    exe = root / "bin" / "python"
    with _locked(root.parent / f"{root.name}.lock"):
        if exe.exists():
            return exe
        aside = root.with_name(root.name + f".building-{os.getpid()}")
        shutil.rmtree(aside, ignore_errors=True)
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        subprocess.run([_uv(), "venv", "-q", "--python", str(base), str(aside)], check=True, env=env,
                       capture_output=True, timeout=300)
        subprocess.run([_uv(), "pip", "install", "-q", "--python", str(aside / "bin" / "python"), *packages],
                       check=True, env=env, capture_output=True, timeout=600)
        os.rename(aside, root)  # only bin/python is used, and a venv finds its site-packages relative to it
    return exe


# Each entry: file name -> the object to dump, defined in the script run as __main__.
REAL_PICKLES_SCRIPT = r'''
import enum, json, os, sys
import cloudpickle
import numpy as np
sys.path.insert(0, sys.argv[2])
import agents.models  # a repo-local package: exists here, not at Numerai

out = sys.argv[1]
WEIGHTS = np.linspace(0.0, 1.0, 5)
FEATURES = ["feature_alpha_beta_gamma", "feature_delta_epsilon_zeta"]

def predict_one(live_features):
    cols = [c for c in live_features.columns if c in FEATURES]
    return live_features[cols].mean(axis=1).rank(pct=True).to_frame("prediction")

def predict_two(live_features, live_benchmark_models):
    return live_benchmark_models.mean(axis=1).rank(pct=True).to_frame("prediction")

def make_closure():
    scale = 2.0
    def predict_closure(live_features):
        def inner(x):
            return x * scale
        return [inner(v) for v in live_features]
    return predict_closure

def predict_generator(live_features):
    for row in live_features:
        yield row

def predict_array(live_features):
    return live_features.dot(WEIGHTS)

def predict_three(live_features, live_benchmark_models, extra):
    return live_features

def predict_varargs(live_features, *rest):
    return live_features

def predict_kwargs(live_features, benchmarks=None, **options):
    return live_features

def predict_agents(live_features):
    return agents.models.score(live_features)

def predict_shells_out(live_features):
    os.system("curl http://example.com")
    return live_features

class Color(enum.Enum):
    RED = 1

def predict_enum(live_features):
    return live_features * Color.RED.value

class Scorer:
    def __init__(self):
        self.bias = 0.5
    def __call__(self, live_features):
        return live_features + self.bias

class Sneaky:
    def __init__(self):
        self.weights = [1.0]
    def __setstate__(self, state):
        open(os.path.join(sys.argv[1], "MARKER"), "w").write("pwned")
        self.__dict__.update(state)
    def __call__(self, live_features):
        return live_features

class LoadTimeCall:
    def __reduce__(self):
        def payload():
            open(os.path.join(sys.argv[1], "MARKER"), "w").write("pwned")
        return payload, ()

objects = {
    "one_arg": predict_one, "two_arg": predict_two, "closure": make_closure(), "generator": predict_generator,
    "array": predict_array, "three_arg": predict_three, "varargs": predict_varargs, "kwargs": predict_kwargs,
    "agents_subimport": predict_agents, "agents_by_reference": agents.models.score,
    "shells_out": predict_shells_out, "enum": predict_enum, "instance": Scorer(),
    "identity_lambda": lambda x: x, "loadtime_call": LoadTimeCall(), "setstate_class": Sneaky(),
}
for name, obj in objects.items():
    with open(os.path.join(out, name + ".pkl"), "wb") as handle:
        cloudpickle.dump(obj, handle)
print(json.dumps({"numpy": np.__version__, "cloudpickle": cloudpickle.__version__}))
'''

AGENTS_MODELS = '''
def score(live_features):
    return live_features
'''


def make_real_pickles(python: str, cache_dir: Path) -> dict[str, Path]:
    """Pickles of REAL_PICKLES_SCRIPT's objects written by that Python (cached per version)."""
    exe = scan_venv(python, cache_dir)
    out = cache_dir / "scan-pickles" / f"py{python}-{_script_digest()}"
    with _locked(out.parent / f"{out.name}.lock"):
        if not (out / "done").exists():
            shutil.rmtree(out, ignore_errors=True)
            (out / "src" / "agents").mkdir(parents=True)
            (out / "src" / "agents" / "__init__.py").write_text("")
            (out / "src" / "agents" / "models.py").write_text(textwrap.dedent(AGENTS_MODELS))
            script = out / "src" / "make.py"
            script.write_text(REAL_PICKLES_SCRIPT)
            done = subprocess.run([str(exe), "-I", str(script), str(out), str(out / "src")], capture_output=True,
                                  text=True, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"making pickles with Python {python} failed:\n{done.stderr[-2000:]}")
            (out / "done").write_text(done.stdout)
            for stale in out.parent.glob(f"py{python}-*"):  # pickles of an older script version
                if stale.is_dir() and stale != out:
                    shutil.rmtree(stale, ignore_errors=True)
    return {p.stem: p for p in out.glob("*.pkl")}


def _script_digest() -> str:
    import hashlib

    return hashlib.sha256((REAL_PICKLES_SCRIPT + AGENTS_MODELS).encode()).hexdigest()[:12]
