"""Shared pieces of the bundle tests: Numerai-like data, real fitted models with their reference
predictions, raw bundle writing (to craft broken bundles that export() refuses to write), and
running built pickles in a clean pinned runtime that has no numerai_mcp.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

N_FEATURES = 24
FEATURES = [f"feature_{name}" for name in ("alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta",
                                             "iota", "kappa", "lamda", "mu", "nu", "xi", "omicron", "pi", "rho",
                                             "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega")]
assert len(FEATURES) == N_FEATURES


def numerai_frame(rng: np.random.Generator, rows: int, *, eras: tuple[str, ...] = ("0001", "0002", "0003"),
                  nan_share: float = 0.0, features: list[str] = FEATURES) -> pd.DataFrame:
    """Features as Numerai ships them (integers 0-4 as int8, or float when NaN is present), an
    `era` column and a string `id` index, in a shuffled column order (models must select by name)."""
    values = rng.integers(0, 5, size=(rows, len(features))).astype(np.float64)
    if nan_share:
        values[rng.random(values.shape) < nan_share] = np.nan
    frame = pd.DataFrame(values if nan_share else values.astype(np.int8), columns=features)
    frame.index = pd.Index([f"id{rng.integers(1 << 40):011x}{i}" for i in range(rows)], name="id")
    frame.insert(0, "era", np.repeat(eras, -(-rows // len(eras)))[:rows])
    frame["data_type"] = "live"
    shuffled = list(frame.columns)
    rng.shuffle(shuffled)
    return frame[shuffled]


def target(frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    x = frame[FEATURES].to_numpy(dtype=np.float64)
    x = np.nan_to_num(x, nan=2.0)
    signal = x[:, 0] - 0.5 * x[:, 3] + 0.25 * x[:, 7] * x[:, 11] / 4 + np.sin(x[:, 5])
    return (signal - signal.min()) / (signal.max() - signal.min()) + rng.normal(scale=0.05, size=len(frame))


def per_era_ranks(values: np.ndarray, eras: pd.Series) -> np.ndarray:
    return pd.Series(values).groupby(eras.to_numpy()).rank(method="average", pct=True).to_numpy()


@dataclass
class ModelCase:
    """A real fitted model, how to export it, and its own predictions on a frame (the reference)."""

    name: str
    model: Any
    reference: Callable[[pd.DataFrame], np.ndarray]
    tolerance: float                    # raw outputs: 1e-9 for float64 paths, 1e-6 for float32 sources
    export_options: dict[str, Any] = field(default_factory=dict)
    live_nan_share: float = 0.0         # NaN share the live frame may have for this model
    packages: tuple[str, ...] = ()      # extra pinned packages the built pickle needs at load time


def model_cases(seed: int = 7) -> dict[str, ModelCase]:
    """Every exporter, fitted on the same synthetic Numerai-like data."""
    import lightgbm as lgb
    import torch
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    rng = np.random.default_rng(seed)
    train = numerai_frame(rng, 3000, eras=tuple(f"{i:04d}" for i in range(1, 11)))
    y = target(train, rng)
    x = train[FEATURES].to_numpy(dtype=np.float64)
    train_nan = train.copy()
    train_nan[FEATURES] = train[FEATURES].astype(np.float64).mask(rng.random((len(train), N_FEATURES)) < 0.05)

    def features_of(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[FEATURES]

    cases: list[ModelCase] = []
    coef = rng.normal(size=N_FEATURES)
    cases.append(ModelCase(
        "numpy_linear", {"coef": coef, "intercept": 0.25},
        lambda f: f[FEATURES].to_numpy(dtype=np.float64) @ coef + 0.25, 1e-9))
    weights = [rng.normal(scale=0.3, size=(N_FEATURES, 12)), rng.normal(scale=0.3, size=(12, 1))]
    biases = [rng.normal(size=12), rng.normal(size=1)]
    mean, std = x.mean(axis=0), x.std(axis=0)

    def numpy_mlp(frame: pd.DataFrame) -> np.ndarray:
        h = (frame[FEATURES].to_numpy(dtype=np.float64) - mean) / std
        return (np.tanh(h @ weights[0] + biases[0]) @ weights[1] + biases[1])[:, 0]

    cases.append(ModelCase(
        "numpy_mlp", {"weights": weights, "biases": biases, "activation": "tanh", "scale": {"mean": mean, "std": std}},
        numpy_mlp, 1e-9))
    ridge = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), Ridge(alpha=3.0)).fit(train_nan[FEATURES], y)
    cases.append(ModelCase("sklearn_ridge_pipeline", ridge, lambda f: ridge.predict(features_of(f)), 1e-9,
                           live_nan_share=0.05))
    lasso = make_pipeline(MinMaxScaler(), Lasso(alpha=0.001)).fit(x, y)
    cases.append(ModelCase("sklearn_lasso_minmax", lasso,
                           lambda f: lasso.predict(f[FEATURES].to_numpy(dtype=np.float64)), 1e-9))
    enet = ElasticNet(alpha=0.001, l1_ratio=0.3).fit(train[FEATURES], y)
    cases.append(ModelCase("sklearn_elasticnet", enet, lambda f: enet.predict(features_of(f)), 1e-9))
    ols = LinearRegression().fit(train[FEATURES], y)
    cases.append(ModelCase("sklearn_linear_regression", ols, lambda f: ols.predict(features_of(f)), 1e-9))
    mlp = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(16, 8), max_iter=300, random_state=0))
    mlp.fit(train[FEATURES], y)
    cases.append(ModelCase("sklearn_mlp", mlp, lambda f: mlp.predict(features_of(f)), 1e-9))

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(N_FEATURES, 16), torch.nn.ReLU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(16, 8), torch.nn.LeakyReLU(0.05),
        torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.GELU()),
        torch.nn.Linear(8, 1), torch.nn.Sigmoid(),
    ).eval()

    def torch_reference(frame: pd.DataFrame) -> np.ndarray:
        with torch.no_grad():
            return net(torch.tensor(frame[FEATURES].to_numpy(dtype=np.float32))).numpy()[:, 0].astype(np.float64)

    cases.append(ModelCase("torch_sequential", net, torch_reference, 1e-6))
    booster = lgb.LGBMRegressor(n_estimators=120, learning_rate=0.05, num_leaves=15, colsample_bytree=0.5,
                                min_child_samples=10, verbose=-1, n_jobs=1).fit(train_nan[FEATURES], y)
    cases.append(ModelCase("lightgbm", booster, lambda f: booster.predict(features_of(f)), 1e-9, live_nan_share=0.05))
    cases.append(ModelCase("lightgbm_native", booster, lambda f: booster.predict(features_of(f)), 1e-9,
                           export_options={"native_lightgbm": True}, live_nan_share=0.05, packages=("lightgbm",)))
    return {case.name: case for case in cases}


# ------------------------------------------------------------------------- raw bundles


def write_raw_bundle(path: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write a bundle file without any validation (to test that readers reject bad ones)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, array in arrays.items():
            with archive.open(f"arrays/{name}.npy", "w") as handle:
                np.lib.format.write_array(handle, np.asarray(array), allow_pickle=array.dtype == object)
    return path


def read_raw_bundle(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        arrays = {}
        for member in archive.namelist():
            if member.startswith("arrays/"):
                with archive.open(member) as handle:
                    arrays[member[len("arrays/"):-len(".npy")]] = np.lib.format.read_array(handle)
    return manifest, arrays


# ------------------------------------------------------------------- clean-runtime runs

_RUN_PICKLES = r"""
import importlib.util, json, sys
import numpy as np, pandas as pd
spec = json.load(open(sys.argv[1]))
out = {"numerai_mcp_importable": importlib.util.find_spec("numerai_mcp") is not None,
       "python": "%d.%d" % sys.version_info[:2], "numpy": np.__version__, "pandas": pd.__version__}
live = pd.read_parquet(spec["live"])
bench = pd.read_parquet(spec["benchmarks"]) if spec.get("benchmarks") else None
for name, path in spec["pickles"].items():
    predict = pd.read_pickle(path)
    frame = predict(live, bench)
    assert type(frame) is pd.DataFrame and list(frame.columns) == ["prediction"], (name, type(frame))
    assert frame.index.equals(live.index), name
    out[name] = frame["prediction"].tolist()
json.dump(out, open(spec["out"], "w"))
"""


def run_pickles_in_runtime(runtime: Any, pickles: dict[str, Path], live: pd.DataFrame, work: Path,
                           benchmarks: pd.DataFrame | None = None) -> dict[str, Any]:
    """Load each pickle with pandas.read_pickle in `runtime` (run with -I, a plain environment) and
    call it on `live` as Numerai does; returns predictions by name plus what the runtime is."""
    work.mkdir(parents=True, exist_ok=True)
    live.to_parquet(work / "live.parquet")
    spec = {"live": str(work / "live.parquet"), "pickles": {k: str(v) for k, v in pickles.items()},
            "out": str(work / "out.json")}
    if benchmarks is not None:
        benchmarks.to_parquet(work / "bench.parquet")
        spec["benchmarks"] = str(work / "bench.parquet")
    (work / "spec.json").write_text(json.dumps(spec))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
           "OMP_NUM_THREADS": "1", **runtime.env}
    done = subprocess.run([str(runtime.python), "-I", "-c", _RUN_PICKLES, str(work / "spec.json")], env=env,
                          cwd=work, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads((work / "out.json").read_text())
    for name in pickles:
        result[name] = np.asarray(result[name], dtype=np.float64)
    return result


def plain_env_without_secrets() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NUMERAI_")}
