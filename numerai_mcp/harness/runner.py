"""Run a model-upload pickle the way numerai-predict does, inside the target runtime.

This file is executed as a script (`python -I runner.py …`) by the sandboxed target
interpreter, never imported by the server: it must not import numerai_mcp, must run on
Python 3.10–3.13 with only the stdlib plus pandas/numpy/pyarrow, and must keep its own
globals few (a pickle that references `__main__` would see them).

It mirrors numerai-predict's order and wording (load with pandas.read_pickle, count
parameters with inspect.signature, load the data, call predict, check the result) and
logs in its `LEVEL:root:message` format on stderr.

It decides nothing. Once the pickle is loaded, anything this process says may come from
the pickle, so the server treats both of its outputs as untrusted evidence:
- the status fd: a JSON snapshot per line of how far the run got and, on failure, numerai-
  predict's error (used only to explain a failure: a claim cannot make a run pass);
- the predictions fd: the returned DataFrame as CSV (index + columns), from which the
  server computes every check itself.
"""

import argparse
import json
import logging
import os
import sys
import time
import traceback

RESULT_VERSION = 2
_T0 = time.time()


class _Run:
    """Mutable record of the run, sent as one JSON line after every stage."""

    def __init__(self, status_fd, spawned_at):
        self.fd = status_fd
        self.data = {
            "version": RESULT_VERSION, "stage": "start", "error_kind": None, "error_line": None,
            "exception": None, "n_params": None, "timings": {}, "returned": None,
            "python": "%d.%d.%d" % sys.version_info[:3], "packages": {},
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

    def fail(self, kind, line, exc=None, log_traceback=False, extra_line=None):
        """Report a failure the way numerai-predict logs it, then stop with exit status 1."""
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
                "message": str(exc)[:2000],
                "missing_module": getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
                "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:],
            }
        self.finish(1)

    def finish(self, status):
        self.flush()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)  # skip interpreter teardown: numerai-predict sometimes aborts there (exit 134)

    def flush(self):
        line = (json.dumps(self.data) + "\n").encode()
        try:
            while line:
                line = line[os.write(self.fd, line):]
        except OSError:
            pass


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
        run.fail("unpickling", "Invalid pickle - %s" % exc, exc)
    except TypeError as exc:
        run.fail("python_mismatch", "Pickle incompatible with %s" % python_label, exc, extra_line=str(exc))
    except ModuleNotFoundError as exc:
        run.fail("module_not_found", "Import error reading pickle - %s" % exc, exc)
    except MemoryError as exc:
        run.fail("memory", "MemoryError while loading the pickle: %s" % exc, exc, True)
    except BaseException as exc:  # numerai-predict would crash with a traceback here
        run.fail("load_exception", "%s: %s" % (type(exc).__name__, exc), exc, True)


def _read_live(pd, path):
    logging.info("Using local %s for live data", path)
    logging.info("Loading live features %s", path)
    return pd.read_parquet(path)


def _call_predict(run, model, n_params, live, benchmarks, model_path):
    try:
        if n_params == 1:
            return model(live)
        if n_params == 2:
            return model(live, benchmarks)
        run.fail("signature", "Invalid pickle function - %s must have 1 or 2 arguments" % model_path)
    except TypeError as exc:
        run.fail("predict_type_error", "Pickle function is invalid - %s" % exc, exc)
    except MemoryError as exc:
        run.fail("memory", str(exc) or "MemoryError", exc, True)
    except Exception as exc:
        run.fail("predict_exception", str(exc), exc, True)


def _numerai_output_failure(pd, predictions):
    """(kind, message) of numerai-predict's first failing output check, or None."""
    if predictions is None:
        return "returned_none", "Pickle function is invalid - returned None"
    if type(predictions) is not pd.DataFrame:
        return "wrong_type", "Pickle function is invalid - returned %s instead of pd.DataFrame" % type(predictions)
    if len(predictions) == 0:
        return "empty", "Pickle function returned 0 predictions"
    if predictions.isna().any().any():
        return "nan", "Pickle function returned at least 1 NaN prediction"
    if not predictions.iloc[:, 0].between(0, 1).all():
        return "out_of_range", "Pickle function returned invalid predictions. Ensure values are between 0 and 1."
    return None


def _write_predictions(fd, predictions):
    """The DataFrame as CSV on the predictions fd: index label 'id', one header per column."""
    frame = predictions.copy(deep=False)
    frame.columns = [str(column) for column in frame.columns]
    if frame.index.nlevels > 1:
        frame.index = frame.index.to_flat_index().map(str)
    with os.fdopen(os.dup(fd), "w", newline="", encoding="utf-8") as handle:
        frame.to_csv(handle, index=True, index_label="id")


def _start(run, model_path, python_label):
    """(pandas, the loaded model, its parameter count): how every runner starts, failing as numerai-predict does."""
    try:
        import pandas as pd
    except BaseException as exc:
        run.fail("runtime_broken", "The runtime cannot import pandas: %s" % exc, exc, True)
    run.data["packages"] = _package_versions()
    run.stage("load", "start")

    model = _load_model(run, pd, model_path, python_label)
    run.stage("signature", "load")
    from inspect import signature

    try:
        n_params = len(signature(model).parameters)
    except (TypeError, ValueError) as exc:
        run.fail("signature", "Pickle function is invalid - %s" % exc, exc)
    run.data["n_params"] = n_params
    return pd, model, n_params


def main(argv=None):
    parser = argparse.ArgumentParser(description="numerai-mcp sandboxed runner")
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--benchmarks", required=True)
    # the sandbox names the pipes it reads in the environment
    parser.add_argument("--status-fd", type=int, default=int(os.environ.get("NUMERAI_MCP_FD_STATUS", "2")))
    parser.add_argument("--predictions-fd", type=int, default=int(os.environ.get("NUMERAI_MCP_FD_PREDICTIONS", "-1")))
    parser.add_argument("--git-ref", default="None")
    parser.add_argument("--spawned-at", type=float, default=0.0)
    args = parser.parse_args(argv)

    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    run = _Run(args.status_fd, args.spawned_at)
    python_label = "%d.%d" % sys.version_info[:2]
    logging.info("Running numerai-predict:%s - Python %s", args.git_ref, python_label)
    pd, model, n_params = _start(run, args.model, python_label)
    run.stage("data")

    try:
        live = _read_live(pd, args.dataset)
        benchmarks = _read_live(pd, args.benchmarks) if n_params > 1 else None
    except MemoryError as exc:
        run.fail("memory", "MemoryError while reading the live data: %s" % exc, exc, True)
    except Exception as exc:
        run.fail("data_error", "%s: %s" % (type(exc).__name__, exc), exc, True)
    logging.info("Predicting on %d rows of live features", len(live))
    run.stage("predict", "data")

    predictions = _call_predict(run, model, n_params, live, benchmarks, args.model)
    run.data["returned"] = "DataFrame" if type(predictions) is pd.DataFrame else repr(type(predictions))[:200]
    run.stage("output", "predict")
    if type(predictions) is pd.DataFrame:
        try:
            _write_predictions(args.predictions_fd, predictions)
        except Exception as exc:
            run.fail("check_exception", "The predictions could not be written: %s: %s" % (type(exc).__name__, exc),
                     exc)
    try:
        failure = _numerai_output_failure(pd, predictions)
    except TypeError as exc:
        failure = ("predict_type_error", "Pickle function is invalid - %s" % exc)
    except Exception as exc:
        failure = ("check_exception", str(exc))
    run.stage("checks", "output")
    if failure:
        run.fail(failure[0], failure[1])
    logging.info("Generated %d predictions", len(predictions))
    run.stage("done", "checks")
    run.finish(0)


if __name__ == "__main__":
    main()
