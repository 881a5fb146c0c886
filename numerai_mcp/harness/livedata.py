"""Live data for a validation run: the user's files, Numerai's current files, or synthetic.

Order: files the user gives; else Numerai's real files of the current round (downloaded by the caller,
see api.datasets.current_live_files, and handed in through NumeraiFacts); else synthetic files shaped like
Numerai's (index `id`, `era` "X", `data_type` "live", int8 features 0–4, benchmark columns in (0, 1)).

The server process may not have pandas, so parquet files are written by a small script run
with an interpreter that has it (the target runtime), never by importing pandas here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numerai_mcp.harness.runtime import LocalRuntime

DEFAULT_DATA_VERSION = "v5.2"
SYNTHETIC_ROWS = 5800
BENCHMARK_COLUMNS = ("v52_lgbm_ender20", "v52_lgbm_teager2b20", "v5_lgbm_cyrusd20")
DOWNLOAD_TIMEOUT_S = 5.0
UNREACHABLE_TTL_S = 600.0

_SYNTH_SCRIPT = r"""
import json, os, sys
import numpy as np
import pandas as pd
spec = json.loads(sys.argv[1])
rng = np.random.default_rng(spec["seed"])
if spec.get("ids_from"):
    base = pd.read_parquet(spec["ids_from"])
    index = base.index
    eras = base["era"] if "era" in base.columns else pd.Series("X", index=index)
else:
    ids = ["n%015x" % v for v in rng.choice(16 ** 15, size=spec["rows"], replace=False)]
    index = pd.Index(ids, name="id")
    eras = pd.Series("X", index=index)
if spec.get("live"):
    features = rng.integers(0, 5, size=(len(index), len(spec["features"])), dtype=np.int8)
    live = pd.DataFrame(features, index=index, columns=spec["features"])
    live.insert(0, "era", eras.values)
    live.insert(1, "data_type", "live")
    live.to_parquet(spec["live"])
bench = pd.DataFrame({c: rng.uniform(0.001, 0.999, len(index)).astype("float32") for c in spec["benchmarks"]},
                     index=index)
bench.insert(0, "era", eras.values)
bench.insert(1, "data_type", "live")
bench.to_parquet(spec["bench"])
sys.stdout.flush(); sys.stderr.flush()
os._exit(0)  # skip interpreter teardown: pyarrow's thread pool sometimes aborts there (exit 134)
"""


@dataclass(frozen=True)
class LiveData:
    live: Path
    benchmarks: Path
    source: str  # said in the verdict: "user file …", "Numerai v5.2/live.parquet (round 1234, cached)", "synthetic (…)"
    rows: int | None = None


def default_feature_names(count: int = 42) -> list[str]:
    """Names for synthetic features when neither the pickle nor the caller names any."""
    return [f"feature_synthetic_{i:04d}" for i in range(count)]


def _python_with_pandas(runtime: LocalRuntime | None) -> tuple[str, dict[str, str]]:
    if runtime is not None:
        return str(runtime.python), {**os.environ, **runtime.env}
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError(
            "Writing synthetic live data needs pandas and pyarrow: pass a runtime (ensure_runtime(...)) "
            "or install them in this environment."
        ) from None
    return sys.executable, dict(os.environ)


def _run_synth(spec: dict, runtime: LocalRuntime | None) -> None:
    python, env = _python_with_pandas(runtime)
    env.pop("PYTHONPATH", None)
    done = subprocess.run([python, "-I", "-c", _SYNTH_SCRIPT, json.dumps(spec)], capture_output=True, text=True,
                          env=env, timeout=300, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"Could not write synthetic live data: {done.stderr.strip()[-2000:]}")


def write_synthetic_live_files(out_dir: Path, *, features: Sequence[str], rows: int = SYNTHETIC_ROWS, seed: int = 0,
                               runtime: LocalRuntime | None = None) -> tuple[Path, Path]:
    """Write live.parquet and live_benchmark_models.parquet shaped like Numerai's into out_dir."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}.")
    names = list(dict.fromkeys(features)) or default_feature_names()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    live, bench = out_dir / "live.parquet", out_dir / "live_benchmark_models.parquet"
    _run_synth({"seed": seed, "rows": rows, "features": names, "benchmarks": list(BENCHMARK_COLUMNS),
                "live": str(live), "bench": str(bench)}, runtime)
    return live, bench


def write_benchmarks_for(live: Path, out_dir: Path, *, seed: int = 0, runtime: LocalRuntime | None = None) -> Path:
    """Synthetic benchmark columns for the ids (and eras) of a user's live file."""
    bench = Path(out_dir) / "live_benchmark_models.parquet"
    _run_synth({"seed": seed, "ids_from": str(live), "benchmarks": list(BENCHMARK_COLUMNS),
                "bench": str(bench)}, runtime)
    return bench


def synthetic_live_data(cache_dir: Path, *, features: Sequence[str], rows: int = SYNTHETIC_ROWS,
                        runtime: LocalRuntime | None = None) -> LiveData:
    """Synthetic files, cached by (features, rows) so a warm validation does not rebuild them."""
    names = list(dict.fromkeys(features)) or default_feature_names()
    digest = hashlib.sha256(json.dumps([names, rows, list(BENCHMARK_COLUMNS)]).encode()).hexdigest()[:16]
    folder = Path(cache_dir) / "livedata" / "synthetic" / digest
    live, bench = folder / "live.parquet", folder / "live_benchmark_models.parquet"
    if not (live.is_file() and bench.is_file()):
        work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=_mkdir(folder.parent)))
        try:
            write_synthetic_live_files(work, features=names, rows=rows, runtime=runtime)
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
            os.replace(work, folder)
        except OSError:
            if not (live.is_file() and bench.is_file()):  # a concurrent writer did not win either
                raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return LiveData(live, bench, f"synthetic ({rows} rows, {len(names)} features)", rows)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_live_data(live: Path | None, benchmarks: Path | None) -> tuple[Path | None, Path | None]:
    """Check the user's files exist; clear errors otherwise."""
    for label, path in (("live data", live), ("benchmark data", benchmarks)):
        if path is not None and not Path(path).is_file():
            raise ValueError(f"The {label} file {path} does not exist (give a live.parquet path, or omit it to use "
                             "Numerai's current files or synthetic data).")
        if path is not None and Path(path).suffix.lower() != ".parquet":
            raise ValueError(f"The {label} file {path} is not a .parquet file; Numerai's runner reads parquet.")
    return (Path(live) if live else None, Path(benchmarks) if benchmarks else None)
