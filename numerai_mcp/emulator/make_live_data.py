"""Write small synthetic Numerai data files (run as a script by an interpreter with pandas).

Usage: python make_live_data.py OUT_DIR FEATURES_FILE ROWS SEED [VALIDATION_ERAS ROWS_PER_ERA]

Writes OUT_DIR/live.parquet (index `id`, `era` "X", `data_type` "live", one int8 column
0–4 per feature name), OUT_DIR/live_benchmark_models.parquet and
OUT_DIR/live_example_preds.parquet (floats strictly inside (0, 1)), and the validation set:
OUT_DIR/validation.parquet (eras "0575", "0576", …, `data_type` "validation", the same
features, a `target` in {0, 0.25, 0.5, 0.75, 1} with a planted signal) and
OUT_DIR/validation_benchmark_models.parquet (benchmark columns correlated with the target).

The planted signal: `target` is the per-era quantile bucket (Numerai's 5/20/50/20/5 shares) of
`f0 + 0.7 f1 - 0.5 f2 + noise` over the first three feature names, so a model predicting that
score (or its rank) reaches a clearly positive CORR, and a constant or random one ~0. Both
validation files carry the schema metadata `numerai_mcp_synthetic: 1` and one row group per era,
so they can be read era by era and are never mistaken for Numerai's. Each file is written aside
and renamed, so a reader never sees half a file. Imports nothing from numerai_mcp: the
interpreter running it may not have our package.
"""

from __future__ import annotations

import os
import sys

BENCHMARK_MODELS = ("v52_lgbm_ender20", "v52_lgbm_ender60", "v52_lgbm_teager2b20", "v5_lgbm_ct_blend")
VALIDATION_ERAS = 40
ROWS_PER_ERA = 250
FIRST_ERA = 575
SIGNAL_WEIGHTS = (1.0, 0.7, -0.5)   # on the first three features
NOISE_SD = 12.0                     # latent noise: CORR of the planted score ~0.15
TARGET_SHARES = (0.05, 0.2, 0.5, 0.2, 0.05)
SYNTHETIC_KEY = b"numerai_mcp_synthetic"


def _write(frame, path: str) -> None:  # type: ignore[no-untyped-def]
    tmp = f"{path}.{os.getpid()}.tmp"
    frame.to_parquet(tmp)
    os.replace(tmp, path)


def _write_marked(frame, path: str, row_group_size: int) -> None:  # type: ignore[no-untyped-def]
    """Parquet with the synthetic marker in its schema metadata and one row group per era."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), SYNTHETIC_KEY: b"1"})
    tmp = f"{path}.{os.getpid()}.tmp"
    pq.write_table(table, tmp, row_group_size=row_group_size)
    os.replace(tmp, path)


def _buckets(latent, rng):  # type: ignore[no-untyped-def]
    """Numerai-like targets: quantile buckets of the latent score with shares TARGET_SHARES."""
    import numpy as np

    order = np.argsort(latent + rng.normal(scale=1e-9, size=len(latent)), kind="stable")
    edges = np.cumsum(TARGET_SHARES)[:-1] * len(latent)
    target = np.empty(len(latent))
    target[order] = np.searchsorted(edges, np.arange(len(latent)), side="right") / 4.0
    return target


def write_validation(out_dir: str, features: list[str], eras: int, rows_per_era: int, seed: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(10_000 + seed)  # its own stream: the live files stay as they were
    rows = eras * rows_per_era
    era_labels = np.repeat([f"{FIRST_ERA + i:04d}" for i in range(eras)], rows_per_era)
    values = rng.integers(0, 5, size=(rows, len(features)), dtype=np.int8)
    ids = pd.Index([f"n{v:015x}" for v in rng.choice(16**15, size=rows, replace=False)], name="id")
    planted = min(len(SIGNAL_WEIGHTS), len(features))  # only these columns carry signal: never widen the rest
    signal = (values[:, :planted].astype(np.float64) - 2.0) @ np.asarray(SIGNAL_WEIGHTS[:planted], dtype=np.float64)
    latent = signal + rng.normal(scale=NOISE_SD, size=rows)
    target = np.concatenate([_buckets(latent[i:i + rows_per_era], rng) for i in range(0, rows, rows_per_era)])
    frame = pd.DataFrame(values, index=ids, columns=features)
    frame.insert(0, "data_type", "validation")
    frame.insert(0, "era", era_labels)
    frame["target"] = target.astype(np.float32)
    bench = {}
    for k, name in enumerate(BENCHMARK_MODELS):
        # the benchmark models know the signal (each with its own error), not the target's noise
        score = pd.Series(signal + rng.normal(scale=1.0 + 0.5 * k, size=rows), index=ids)
        bench[name] = score.groupby(era_labels).rank(pct=True).astype(np.float32)
    benchmarks = pd.DataFrame(bench, index=ids)
    benchmarks.insert(0, "era", era_labels)
    _write_marked(frame, os.path.join(out_dir, "validation.parquet"), rows_per_era)
    _write_marked(benchmarks, os.path.join(out_dir, "validation_benchmark_models.parquet"), rows_per_era)


def main(argv: list[str]) -> int:
    out_dir, features_file, rows, seed = argv[0], argv[1], int(argv[2]), int(argv[3])
    eras = int(argv[4]) if len(argv) > 4 else VALIDATION_ERAS
    rows_per_era = int(argv[5]) if len(argv) > 5 else ROWS_PER_ERA
    import numpy as np
    import pandas as pd

    with open(features_file, encoding="utf-8") as handle:
        features = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"n{rng.integers(0, 16**15):015x}" for _ in range(rows)], name="id")
    live = pd.DataFrame(rng.integers(0, 5, size=(rows, len(features)), dtype=np.int8), index=ids, columns=features)
    live.insert(0, "data_type", "live")
    live.insert(0, "era", "X")
    bench = pd.DataFrame({name: rng.uniform(0.001, 0.999, rows) for name in BENCHMARK_MODELS}, index=ids)
    preds = pd.DataFrame({"prediction": rng.uniform(0.001, 0.999, rows)}, index=ids)
    os.makedirs(out_dir, exist_ok=True)
    _write(live, os.path.join(out_dir, "live.parquet"))
    _write(bench, os.path.join(out_dir, "live_benchmark_models.parquet"))
    _write(preds, os.path.join(out_dir, "live_example_preds.parquet"))
    write_validation(out_dir, features, eras, rows_per_era, seed)
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # skip interpreter teardown: pyarrow's thread pool sometimes aborts there (exit 134)
