"""Run a model-upload pickle the way numerai-predict does, inside the target runtime.

This file is executed as a script (`python -I runner.py …`) by the sandboxed target
interpreter, never imported by the server: it must not import numerai_mcp, must run on
Python 3.10–3.13 with only the stdlib plus pandas/numpy/pyarrow, and must keep its own
globals few (a pickle that references `__main__` would see them).

It mirrors numerai-predict's order and wording (load with pandas.read_pickle, count
parameters with inspect.signature, load the data, call predict, check the result) and
logs in its `LEVEL:root:message` format on stderr. After Numerai's checks it applies
stricter ones Numerai skips. The outcome goes to a JSON file that is rewritten after
every stage, so a crash (segfault, OOM kill, timeout) still tells the caller how far it got.
"""

import argparse
import json
import logging
import os
import sys
import time
import traceback

RESULT_VERSION = 1
_T0 = time.time()


class _Run:
    """Mutable record of the run, flushed to the result file after every stage."""

    def __init__(self, result_path, spawned_at):
        self.path = result_path
        self.data = {
            "version": RESULT_VERSION, "stage": "start", "ok": False, "error_kind": None, "error_line": None,
            "exception": None, "n_params": None, "checks": [], "timings": {}, "peak_memory_mb": None,
            "rows": None, "python": "%d.%d.%d" % sys.version_info[:3], "packages": {},
        }
        if spawned_at:
            self.data["timings"]["start"] = round(max(0.0, _T0 - spawned_at), 4)
        self.mark = time.perf_counter()

    def stage(self, name, timing_key=None):
        """Enter a stage; the time since the previous mark is booked under timing_key."""
        now = time.perf_counter()
        if timing_key:
            timings = self.data["timings"]
            timings[timing_key] = round(timings.get(timing_key, 0.0) + now - self.mark, 4)
        self.mark = now
        self.data["stage"] = name
        self.flush()

    def check(self, name, status, message):
        self.data["checks"].append({"name": name, "status": status, "message": message})

    def fail(self, kind, line, exc=None, log_traceback=False, extra_line=None):
        """Record a failure the way numerai-predict logs it, then stop with exit status 1."""
        logging.error(line)
        if extra_line:
            logging.error(extra_line)
        if log_traceback and exc is not None:
            logging.error("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
        self.data["error_kind"] = kind
        self.data["error_line"] = line
        if exc is not None:
            self.data["exception"] = {
                "type": type(exc).__name__,
                "message": str(exc),
                "missing_module": getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
                "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:],
            }
        self.finish(1)

    def finish(self, status):
        self.data["ok"] = status == 0
        self.data["peak_memory_mb"] = _peak_memory_mb()
        self.flush()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)  # skip interpreter teardown: numerai-predict sometimes aborts there (exit 134)

    def flush(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(self.data, handle)
        os.replace(tmp, self.path)


def _peak_memory_mb():
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


NUMERAI_CHECKS = (
    ("load pickle", "loaded with pandas.read_pickle"),
    ("load data", "read the live parquet file(s)"),
    ("signature", "predict takes 1 or 2 parameters"),
    ("run predict", "predict ran without raising"),
    ("not None", "predict returned a value"),
    ("type", "predict returned a pandas DataFrame"),
    ("not empty", "predict returned at least one row"),
    ("no NaN", "no NaN in any column"),
    ("range", "first column within [0, 1]"),
)


def _record_numerai_checks(run, failed_at=None, failed_message=None):
    """Numerai's checks in Numerai's order: pass until the failing one, then skipped."""
    reached = True
    for name, passed_message in NUMERAI_CHECKS:
        if name == failed_at:
            run.check("numerai: " + name, "fail", failed_message)
            reached = False
        elif reached:
            run.check("numerai: " + name, "pass", passed_message)
        else:
            run.check("numerai: " + name, "skip", "not reached: numerai-predict stops at the first failure")


def _fail_numerai(run, check_name, kind, line, exc=None, log_traceback=False):
    _record_numerai_checks(run, check_name, line)
    run.fail(kind, line, exc, log_traceback)


def _package_versions():
    from importlib import metadata

    found = {}
    for name in ("numpy", "pandas", "pyarrow", "cloudpickle"):
        try:
            found[name] = metadata.version(name)
        except Exception:
            pass
    return found


def _load_model(run, pd, model_path, python_label):
    import pickle

    logging.info("Loading model %s", model_path)
    try:
        return pd.read_pickle(model_path)
    except pickle.UnpicklingError as exc:
        _fail_numerai(run, "load pickle", "unpickling", "Invalid pickle - %s" % exc, exc)
    except TypeError as exc:
        line = "Pickle incompatible with %s" % python_label
        _record_numerai_checks(run, "load pickle", line)
        run.fail("python_mismatch", line, exc, extra_line=str(exc))
    except ModuleNotFoundError as exc:
        _fail_numerai(run, "load pickle", "module_not_found", "Import error reading pickle - %s" % exc, exc)
    except MemoryError as exc:
        _fail_numerai(run, "load pickle", "memory", "MemoryError while loading the pickle: %s" % exc, exc, True)
    except BaseException as exc:  # numerai-predict would crash with a traceback here
        _fail_numerai(run, "load pickle", "load_exception", "%s: %s" % (type(exc).__name__, exc), exc, True)


def _read_live(pd, path):
    logging.info("Using local %s for live data", path)
    logging.info("Loading live features %s", path)
    return pd.read_parquet(path)


def _call_predict(run, pd, model, n_params, live, benchmarks, model_path):
    try:
        if n_params == 1:
            return model(live)
        if n_params == 2:
            return model(live, benchmarks)
        _fail_numerai(run, "signature", "signature",
                      "Invalid pickle function - %s must have 1 or 2 arguments" % model_path)
    except TypeError as exc:
        _fail_numerai(run, "run predict", "predict_type_error", "Pickle function is invalid - %s" % exc, exc)
    except MemoryError as exc:
        _fail_numerai(run, "run predict", "memory", str(exc) or "MemoryError", exc, True)
    except Exception as exc:
        _fail_numerai(run, "run predict", "predict_exception", str(exc), exc, True)


def _numerai_output_checks(pd, predictions):
    """(check name, kind, message) of numerai-predict's first failing output check, or None."""
    if predictions is None:
        return "not None", "returned_none", "Pickle function is invalid - returned None"
    if type(predictions) is not pd.DataFrame:
        return ("type", "wrong_type",
                "Pickle function is invalid - returned %s instead of pd.DataFrame" % type(predictions))
    if len(predictions) == 0:
        return "not empty", "empty", "Pickle function returned 0 predictions"
    if predictions.isna().any().any():
        return "no NaN", "nan", "Pickle function returned at least 1 NaN prediction"
    if not predictions.iloc[:, 0].between(0, 1).all():
        return "range", "out_of_range", "Pickle function returned invalid predictions. Ensure values are between 0 and 1."
    return None


def _strict_checks(run, pd, predictions, live):
    """Checks numerai-predict skips but a good submission needs."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    columns = [str(c) for c in predictions.columns]
    if columns == ["prediction"]:
        run.check("column named prediction", "pass", "one column named 'prediction'")
    elif "prediction" in columns:
        run.check("column named prediction", "warn",
                  "columns %s: only the first is scored; return just 'prediction'" % columns[:5])
    else:
        run.check("column named prediction", "fail",
                  "the output columns are %s, not ['prediction']: Numerai's docs require a 'prediction' column"
                  % columns[:5])

    ids, got = live.index, predictions.index
    if got.equals(ids):
        run.check("index matches live ids", "pass", "indexed by the %d live ids, in order" % len(ids))
    else:
        missing = ids.difference(got)
        extra = got.difference(ids)
        duplicated = int(got.duplicated().sum())
        if len(missing) == 0 and len(extra) == 0 and duplicated == 0:
            run.check("index matches live ids", "pass", "indexed by the live ids (in a different order)")
        else:
            run.check("index matches live ids", "fail",
                      "the index is not the live ids: %d missing, %d extra, %d duplicated%s"
                      % (len(missing), len(extra), duplicated,
                         " (examples of unknown ids: %s)" % list(map(str, extra[:3])) if len(extra) else ""))
    if len(predictions) == len(live):
        run.check("row count", "pass", "%d rows for %d live rows" % (len(predictions), len(live)))
    else:
        run.check("row count", "fail", "%d rows returned for %d live rows" % (len(predictions), len(live)))

    non_numeric = [str(c) for c in predictions.columns
                   if not is_numeric_dtype(predictions[c]) or is_bool_dtype(predictions[c])]
    if non_numeric:
        run.check("numeric", "fail", "non-numeric prediction column(s): %s" % non_numeric[:5])
        return
    run.check("numeric", "pass", "all columns numeric")

    first = predictions.iloc[:, 0]
    if first.nunique(dropna=True) <= 1:
        run.check("not constant", "fail", "every prediction is the same value (%r): it carries no signal"
                  % (first.iloc[0] if len(first) else None))
    else:
        run.check("not constant", "pass", "%d distinct values" % first.nunique())
    eras = live["era"].reindex(first.index) if "era" in live.columns else None
    if eras is None or eras.isna().all():
        run.check("per-era ranks", "skip", "no era column in the live data")
        return
    tied = []
    for era, values in first.groupby(eras):
        if len(values) > 1 and values.nunique() / float(len(values)) < 0.5:
            tied.append(str(era))
    if tied:
        run.check("per-era ranks", "warn",
                  "more than half of the predictions tie within era(s) %s: Numerai ranks per era, so ties lose "
                  "information" % tied[:3])
    else:
        run.check("per-era ranks", "pass", "predictions rank cleanly within each era (values in [0, 1])")


def main(argv=None):
    parser = argparse.ArgumentParser(description="numerai-mcp sandboxed runner")
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--benchmarks", required=True)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--git-ref", default="None")
    parser.add_argument("--spawned-at", type=float, default=0.0)
    args = parser.parse_args(argv)

    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    run = _Run(args.result, args.spawned_at)
    python_label = "%d.%d" % sys.version_info[:2]
    logging.info("Running numerai-predict:%s - Python %s", args.git_ref, python_label)
    try:
        import pandas as pd
    except BaseException as exc:
        run.fail("runtime_broken", "The runtime cannot import pandas: %s" % exc, exc, True)
    run.data["packages"] = _package_versions()
    run.stage("load", "start")

    model = _load_model(run, pd, args.model, python_label)
    run.stage("signature", "load")
    from inspect import signature

    try:
        n_params = len(signature(model).parameters)
    except (TypeError, ValueError) as exc:
        _fail_numerai(run, "signature", "signature", "Pickle function is invalid - %s" % exc, exc)
    run.data["n_params"] = n_params
    run.stage("data")

    try:
        live = _read_live(pd, args.dataset)
        benchmarks = _read_live(pd, args.benchmarks) if n_params > 1 else None
    except MemoryError as exc:
        _fail_numerai(run, "load data", "memory", "MemoryError while reading the live data: %s" % exc, exc, True)
    except Exception as exc:
        _fail_numerai(run, "load data", "data_error", "%s: %s" % (type(exc).__name__, exc), exc, True)
    run.data["rows"] = len(live)
    logging.info("Predicting on %d rows of live features", len(live))
    run.stage("predict", "data")

    predictions = _call_predict(run, pd, model, n_params, live, benchmarks, args.model)
    run.stage("checks", "predict")
    try:
        failure = _numerai_output_checks(pd, predictions)
    except TypeError as exc:
        failure = ("range", "predict_type_error", "Pickle function is invalid - %s" % exc)
    except Exception as exc:
        failure = ("range", "check_exception", str(exc))
    if isinstance(predictions, pd.DataFrame):
        _record_numerai_checks(run, failure[0] if failure else None, failure[2] if failure else None)
        try:
            _strict_checks(run, pd, predictions, live)
        except Exception as exc:
            run.check("stricter checks", "warn", "could not complete: %s: %s" % (type(exc).__name__, exc))
        run.stage("checks", "checks")
        if failure:
            run.fail(failure[1], failure[2])
    else:
        _fail_numerai(run, failure[0], failure[1], failure[2])

    logging.info("Generated %d predictions", len(predictions))
    out = os.path.join(args.output_dir, "live_predictions-%s.csv" % os.urandom(6).hex())
    logging.info("Saving predictions to %s", out)
    predictions.to_csv(out)
    run.stage("done", "checks")
    run.finish(0)


if __name__ == "__main__":
    main()
