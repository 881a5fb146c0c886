"""Write small synthetic Numerai live files (run as a script by an interpreter with pandas).

Usage: python make_live_data.py OUT_DIR FEATURES_FILE ROWS SEED

Writes OUT_DIR/live.parquet (index `id`, `era` "X", `data_type` "live", one int8 column
0–4 per feature name), OUT_DIR/live_benchmark_models.parquet and
OUT_DIR/live_example_preds.parquet (floats strictly inside (0, 1)). Each file is written
aside and renamed, so a reader never sees half a file. Imports nothing from numerai_mcp:
the interpreter running it may not have our package.
"""

from __future__ import annotations

import os
import sys

BENCHMARK_MODELS = ("v52_lgbm_ender20", "v52_lgbm_ender60", "v52_lgbm_teager2b20", "v5_lgbm_ct_blend")


def _write(frame, path: str) -> None:  # type: ignore[no-untyped-def]
    tmp = f"{path}.{os.getpid()}.tmp"
    frame.to_parquet(tmp)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    out_dir, features_file, rows, seed = argv[0], argv[1], int(argv[2]), int(argv[3])
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
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # skip interpreter teardown: pyarrow's thread pool sometimes aborts there (exit 134)
