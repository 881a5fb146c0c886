"""Run a model-upload pickle on validation data one era at a time, inside the sandboxed target runtime.

Executed as a script (`python -I era_runner.py …`) next to a copy of runner.py, never imported
by the server: like runner.py it must not import numerai_mcp, must run on Python 3.10-3.13 with
only the stdlib plus pandas/numpy/pyarrow, and keeps its globals few. It reuses runner.py's
loading, calling and reporting (loaded from the same input folder) so a pickle is treated
exactly as in validation; only the data loop differs.

The call shape is live's: the pickle is loaded once, then for each era `predict(era_rows,
era_benchmarks)` gets that era's rows (index `id`, `era`, `data_type`, the feature columns;
never the targets) and, for a 2-parameter predict, that era's benchmark-model rows. Each era
is read on its own from the parquet file (era_reader.py: the footer parsed once, only the row
groups holding the era decoded), and dropped before the next, so memory stays at one era's worth.

It decides nothing. Its outputs are untrusted evidence, bounded by the server:
- the predictions fd: one CSV (`id,prediction`, the first column predict returned), era after era;
- the progress fd: one JSON line per finished era (for progress messages only);
- the status fd: runner.py's snapshots, plus how many eras were done.
"""

import argparse
import gc
import importlib.util
import json
import logging
import os
import sys
import time

FULL_COLLECTION_EVERY = 8


def _sibling(name, as_name):
    """A script from the same folder (runner.py, era_reader.py), under a neutral module name (not __main__)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    spec = importlib.util.spec_from_file_location(as_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _EraFrames:
    """(era rows, era benchmark rows or None) for one era; each file's footer is parsed once."""

    def __init__(self, pd, plan):
        reader = _sibling("era_reader.py", "numerai_mcp_sandbox_era_reader").EraReader
        self.pd, self.plan = pd, plan
        self.live = reader(plan["validation"], plan["columns"])
        self.bench = reader(plan["benchmarks"], plan["bench_columns"]) \
            if plan.get("benchmarks") and plan["bench_by"] == "era" else None

    def __call__(self, era):
        live = self.live.read(era)
        bench = None
        if self.bench is not None:
            bench = self.bench.read(era)
        elif self.plan.get("benchmarks"):  # a benchmark file without eras: its rows by id
            bench = self.pd.read_parquet(self.plan["benchmarks"], columns=self.plan["bench_columns"],
                                         filters=[("id", "in", [str(i) for i in live.index])])
        return live, bench


def _write_era(fd, predictions, first):
    """The first returned column as `id,prediction` CSV rows (with the header before the first era)."""
    frame = predictions.iloc[:, :1].copy(deep=False)
    frame.columns = ["prediction"]
    if frame.index.nlevels > 1:
        frame.index = frame.index.to_flat_index().map(str)
    with os.fdopen(os.dup(fd), "w", newline="", encoding="utf-8") as handle:
        frame.to_csv(handle, index=True, index_label="id", header=first)


def _say(fd, record):
    if fd < 0:
        return
    line = (json.dumps(record) + "\n").encode()
    try:
        while line:
            line = line[os.write(fd, line):]
    except OSError:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description="numerai-mcp sandboxed era-by-era runner")
    parser.add_argument("--model", required=True)
    parser.add_argument("--plan", required=True, help="JSON: validation, benchmarks, eras, columns, bench_columns")
    parser.add_argument("--status-fd", type=int, default=int(os.environ.get("NUMERAI_MCP_FD_STATUS", "2")))
    parser.add_argument("--predictions-fd", type=int, default=int(os.environ.get("NUMERAI_MCP_FD_PREDICTIONS", "-1")))
    parser.add_argument("--progress-fd", type=int, default=int(os.environ.get("NUMERAI_MCP_FD_PROGRESS", "-1")))
    parser.add_argument("--git-ref", default="None")
    parser.add_argument("--spawned-at", type=float, default=0.0)
    args = parser.parse_args(argv)

    runner = _sibling("runner.py", "numerai_mcp_sandbox_runner")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    run = runner._Run(args.status_fd, args.spawned_at)
    python_label = "%d.%d" % sys.version_info[:2]
    logging.info("Running numerai-predict:%s - Python %s, era by era", args.git_ref, python_label)
    with open(args.plan, encoding="utf-8") as handle:
        plan = json.load(handle)
    run.data["eras_done"] = 0
    pd, model, n_params = runner._start(run, args.model, python_label)
    eras = plan["eras"]
    era_frames = None
    for number, era in enumerate(eras, start=1):
        run.data["era"] = era
        run.stage("data")
        try:
            era_frames = era_frames or _EraFrames(pd, plan)
            live, bench = era_frames(era)
        except MemoryError as exc:
            run.fail("memory", "MemoryError while reading era %s: %s" % (era, exc), exc, True)
        except Exception as exc:
            run.fail("data_error", "era %s: %s: %s" % (era, type(exc).__name__, exc), exc, True)
        run.stage("predict", "data")
        started = time.perf_counter()
        predictions = runner._call_predict(run, model, n_params, live, bench if n_params > 1 else None, args.model)
        predict_s = time.perf_counter() - started
        run.data["returned"] = "DataFrame" if type(predictions) is pd.DataFrame else repr(type(predictions))[:200]
        run.stage("checks", "predict")
        try:
            failure = runner._numerai_output_failure(pd, predictions)
        except TypeError as exc:
            failure = ("predict_type_error", "Pickle function is invalid - %s" % exc)
        except Exception as exc:
            failure = ("check_exception", str(exc))
        if failure:
            run.fail(failure[0], "%s (era %s)" % (failure[1], era))
        run.stage("output", "checks")
        try:
            _write_era(args.predictions_fd, predictions, first=number == 1)
        except Exception as exc:
            run.fail("check_exception", "The predictions of era %s could not be written: %s: %s"
                     % (era, type(exc).__name__, exc), exc)
        run.data["eras_done"] = number
        _say(args.progress_fd, {"era": number, "of": len(eras), "rows": len(live), "predict_s": round(predict_s, 4)})
        del live, bench, predictions
        # frames are freed by reference counting; a full collection (tens of ms at Numerai's width) every few
        # eras catches cycles, so memory stays flat without paying it per era
        gc.collect() if number % FULL_COLLECTION_EVERY == 0 else gc.collect(1)
    logging.info("Generated predictions for %d eras", len(eras))
    run.stage("done", "output")
    run.finish(0)


if __name__ == "__main__":
    main()
