"""Run a model-upload pickle the way Numerai's runner does (executed by the target interpreter).

Usage: python -I validate_runner.py MODEL LIVE BENCHMARKS FEATURES_JSON OUT_DIR PYTHON_LABEL
(LIVE / BENCHMARKS may be "-": synthetic data is then built from FEATURES_JSON.)

This is the emulator's *minimal* validator, used only when the full harness
(numerai_mcp.harness.validate) is not installed. It follows numerai-predict's order and
wording (shared/reference/pickle-runtime.md §5): load with pandas.read_pickle, count the
parameters, load the live data (benchmarks only for 2+ parameters), call predict once,
then check None, exact DataFrame type, empty, NaN, and the first column in [0, 1]. Log
lines go to stderr as `LEVEL:root:message`; exit status 0 means the pickle passed.
Imports nothing from numerai_mcp: the target interpreter does not have our package.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import pickle
import secrets
import sys

SYNTHETIC_ROWS = 500


def _fail(message: str) -> None:
    logging.error(message)
    sys.exit(1)


def _synthetic(features_json: str, benchmarks: bool):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    with open(features_json, encoding="utf-8") as handle:
        names = json.load(handle)["feature_sets"]["all"]
    rng = np.random.default_rng(0)
    ids = pd.Index([f"n{i:015x}" for i in range(SYNTHETIC_ROWS)], name="id")
    if benchmarks:
        return pd.DataFrame({"v52_lgbm_ender20": rng.uniform(0.001, 0.999, SYNTHETIC_ROWS)}, index=ids)
    frame = pd.DataFrame(rng.integers(0, 5, (SYNTHETIC_ROWS, len(names)), dtype=np.int8), index=ids, columns=names)
    frame.insert(0, "data_type", "live")
    frame.insert(0, "era", "X")
    return frame


def _load(path: str, features_json: str, benchmarks: bool):  # type: ignore[no-untyped-def]
    import pandas as pd

    if path != "-":
        logging.info(f"Using local {path} for live data")
        logging.info(f"Loading live features {path}")
        try:
            return pd.read_parquet(path)
        except ImportError as exc:  # no parquet engine in this interpreter
            logging.info(f"Cannot read parquet here ({exc}); using synthetic live data")
    logging.info(f"Using synthetic live data ({SYNTHETIC_ROWS} rows)")
    return _synthetic(features_json, benchmarks)


def main(argv: list[str]) -> int:
    model_path, live_path, bench_path, features_json, out_dir, python_label = argv
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    logging.info(f"Running numerai-predict:emulator Python{python_label}")
    import pandas as pd

    logging.info(f"Loading model {model_path}")
    try:
        model = pd.read_pickle(model_path)
    except pickle.UnpicklingError as exc:
        _fail(f"Invalid pickle - {exc}")
    except TypeError as exc:
        logging.error(f"Pickle incompatible with {python_label}")
        _fail(str(exc))
    except ModuleNotFoundError as exc:
        _fail(f"Import error reading pickle - {exc}")
    except Exception as exc:  # noqa: BLE001 - anything else unpickling raises is still an invalid pickle
        _fail(f"Invalid pickle - {type(exc).__name__}: {exc}")

    try:
        num_args = len(inspect.signature(model).parameters)
    except (TypeError, ValueError) as exc:
        _fail(f"Pickle function is invalid - {exc}")
    live = _load(live_path, features_json, benchmarks=False)
    bench = _load(bench_path, features_json, benchmarks=True) if num_args > 1 else None
    if num_args not in (1, 2):
        _fail(f"Invalid pickle function - {model_path} must have 1 or 2 arguments")
    logging.info(f"Predicting on {len(live)} rows of live features")
    try:
        result = model(live) if num_args == 1 else model(live, bench)
    except TypeError as exc:
        _fail(f"Pickle function is invalid - {exc}")
    except Exception as exc:  # noqa: BLE001 - numerai-predict logs any exception with its traceback
        logging.exception(exc)
        sys.exit(1)
    if result is None:
        _fail("Pickle function is invalid - returned None")
    if type(result) is not pd.DataFrame:
        _fail(f"Pickle function is invalid - returned {type(result)} instead of pd.DataFrame")
    if len(result) == 0:
        _fail("Pickle function returned 0 predictions")
    if result.isna().any().any():
        _fail("Pickle function returned at least 1 NaN prediction")
    if not result.iloc[:, 0].between(0, 1).all():
        _fail("Pickle function returned invalid predictions. Ensure values are between 0 and 1.")
    logging.info(f"Generated {len(result)} predictions")
    target = os.path.join(out_dir, f"live_predictions-{secrets.token_hex(6)}.csv")
    logging.info(f"Saving predictions to {target}")
    result.to_csv(target)
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # skip interpreter teardown: pyarrow's thread pool sometimes aborts there (exit 134)
