"""Build real test pickles inside real pinned runtimes (shared by harness, bundle and upload tests).

A predict pickle is only realistic when the Python and library versions Numerai pins wrote
it, so `build_pickle` runs `cloudpickle.dump` inside a runtime from `ensure_runtime`: the
source you give is executed as `__main__` there (so functions are pickled by value, as in a
notebook) and the object named `obj` is dumped. Results are cached by content under the
session cache dir, so reruns cost nothing.

Malicious pickles are crafted byte by byte (`malicious_pickle`): building them never runs
their payload, and tests must only ever load them through the sandbox.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import textwrap
from collections.abc import Sequence
from pathlib import Path

_BUILD = r"""
import json, sys
spec = json.loads(open(sys.argv[1]).read())
for extra in spec["sys_path"]:
    sys.path.insert(0, extra)
import cloudpickle
namespace = globals()
exec(compile(spec["source"], "<test-pickle>", "exec"), namespace)
with open(spec["out"], "wb") as handle:
    cloudpickle.dump(namespace[spec["obj"]], handle, protocol=spec["protocol"])
"""

GOOD_ONE_ARG = """
import pandas as pd
def predict(live_features):
    features = [c for c in live_features.columns if c.startswith("feature_")]
    score = live_features[features].astype("float64").mean(axis=1)
    return pd.DataFrame({"prediction": score.rank(pct=True)}, index=live_features.index)
"""

GOOD_TWO_ARG = """
import pandas as pd
def predict(live_features, live_benchmark_models):
    bench = live_benchmark_models.filter(like="v5").mean(axis=1)
    return pd.DataFrame({"prediction": bench.rank(pct=True)}, index=live_features.index)
"""


def build_pickle(python: str, source: str, out: Path, *, cache_dir: Path, obj: str = "predict",
                 packages: Sequence[str] = (), modules: dict[str, str] | None = None, protocol: int = 5) -> Path:
    """Write `obj` from `source`, pickled by cloudpickle inside the pinned Python `python` runtime.

    `modules` maps extra module names to their source: they are importable while building
    (e.g. a repo-local `agents` module the function references) but do not exist at Numerai.
    """
    from numerai_mcp.harness.runtime import ensure_runtime

    source = textwrap.dedent(source)
    key = json.dumps([python, source, obj, sorted(packages), sorted((modules or {}).items()), protocol])
    cached = Path(cache_dir) / "test-pickles" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.pkl"
    if not cached.is_file():
        runtime = ensure_runtime(python, packages, cache_dir=cache_dir)
        cached.parent.mkdir(parents=True, exist_ok=True)
        work = cached.with_suffix(f".{os.getpid()}.work")
        work.mkdir(exist_ok=True)
        for name, text in (modules or {}).items():
            (work / f"{name}.py").write_text(textwrap.dedent(text))
        spec = work / "spec.json"
        tmp = work / "out.pkl"
        spec.write_text(json.dumps({"source": source, "obj": obj, "out": str(tmp), "protocol": protocol,
                                    "sys_path": [str(work)] if modules else []}))
        done = subprocess.run([str(runtime.python), "-I", "-c", _BUILD, str(spec)], capture_output=True, text=True,
                              env={**_plain_env(), **runtime.env}, timeout=300, cwd=work)
        if done.returncode != 0:
            raise RuntimeError(f"building a test pickle on Python {python} failed:\n{done.stderr[-3000:]}")
        os.replace(tmp, cached)
        shutil.rmtree(work, ignore_errors=True)
    out = Path(out)
    out.write_bytes(cached.read_bytes())
    return out


def _plain_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {k: os.environ[k] for k in keep if k in os.environ} | {"PYTHONDONTWRITEBYTECODE": "1"}


class _Reduce:
    """An object whose pickle calls `func(*args)` at load time (the classic pickle attack)."""

    def __init__(self, func: object, args: tuple) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple:
        return self.func, self.args


def malicious_pickle(kind: str, marker: Path) -> bytes:
    """Bytes that try to create `marker` when loaded. kinds: os_system, exec, subprocess.

    Only the bytes are produced here; nothing is executed.
    """
    command = f"touch {marker}"
    if kind == "os_system":
        return pickle.dumps(_Reduce(os.system, (command,)), protocol=4)
    if kind == "subprocess":
        return pickle.dumps(_Reduce(subprocess.Popen, (["touch", str(marker)],)), protocol=4)
    if kind == "exec":
        # protocol 2, spelled as the Python-2 era global `__builtin__ exec`, as crafted attacks do
        code = f"open({str(marker)!r}, 'w').write('pwned')"
        return b"\x80\x02c__builtin__\nexec\nq\x00X" + len(code).to_bytes(4, "little") + code.encode() + b"q\x01\x85q\x02Rq\x03."
    raise ValueError(f"unknown malicious pickle kind {kind!r}")


LOAD_TIME_CODE = """
def _payload():
    import os
    try:
        open(MARKER, "w").write("pwned")
    except OSError:
        pass
    return lambda live_features: None

class Evil:
    def __reduce__(self):
        return (_payload, ())

predict = Evil()
"""


def load_time_code_pickle(python: str, marker: Path, out: Path, *, cache_dir: Path) -> Path:
    """A cloudpickle whose loading runs a by-value function (only cloudpickle globals: hard to spot)."""
    return build_pickle(python, f"MARKER = {str(marker)!r}\n" + LOAD_TIME_CODE, out, cache_dir=cache_dir)
