"""Benchmark validate_pickle on Numerai's fixture pickle with 5,800 synthetic rows.

    python bench/validate.py [--pickle PATH] [--repeat N] [--json]

Measures (goals from issue 3 item 9):
- scan alone, in process (goal < 50 ms)
- cold validation: a fresh runtime directory, uv's package cache warm (goal < 20 s)
- warm validation: runtime and synthetic data cached (goal < 3 s end to end; its live-data step,
  reusing the cached synthetic files, goal < 0.1 s)
- the breakdown of each (scan, provision, live data, start, load, predict, checks, sandbox)
Timing goals live here, never in the tests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from numerai_mcp.harness.scan import scan_pickle  # noqa: E402
from numerai_mcp.harness.validate import validate_pickle  # noqa: E402

GOALS = {"scan_ms": 50.0, "cold_s": 20.0, "warm_s": 3.0, "warm_live_data_s": 0.1, "sandbox_added_ms": 300.0}
FIXTURE = REPO / "tests" / "fixtures" / "feature_neutralization.pkl"


def bench_scan(path: Path, repeat: int) -> float:
    scan_pickle(path)  # first call loads the opcode tables
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        scan_pickle(path)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def bench_sandbox(cache_dir: Path, repeat: int) -> dict:
    """Median cost of a sandboxed /bin/true (the runtime bound in, Numerai's limits) vs a bare spawn."""
    import subprocess

    from numerai_mcp.harness import sandbox
    from numerai_mcp.harness.runtime import ensure_runtime

    runtime = ensure_runtime("3.12", cache_dir=cache_dir)
    binds = [runtime.root, Path(runtime.python).resolve().parent.parent]
    bare, boxed = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(["/bin/true"], check=True)
        bare.append(time.perf_counter() - started)
        ws = sandbox.Workspace()
        try:
            started = time.perf_counter()
            result = sandbox.run_sandboxed(["/bin/true"], ws, limits=sandbox.Limits(), binds=binds)
            boxed.append(time.perf_counter() - started)
        finally:
            ws.cleanup()
        if result.returncode != 0:
            raise SystemExit(f"the sandbox could not run /bin/true: {result.stderr_tail}")
    bare_ms, boxed_ms = statistics.median(bare) * 1000, statistics.median(boxed) * 1000
    return {"bare_spawn_ms": round(bare_ms, 2), "sandboxed_ms": round(boxed_ms, 2),
            "added_ms": round(boxed_ms - bare_ms, 2), "limits_by": result.limits_by,
            "bwrap": sandbox.isolation().version}


def bench_validation(path: Path, cache_dir: Path) -> dict:
    started = time.perf_counter()
    verdict = validate_pickle(path, cache_dir=cache_dir, python_version="auto")
    wall = time.perf_counter() - started
    if not verdict.passed:
        raise SystemExit(f"the benchmark pickle failed validation: {verdict.summary}")
    return {"wall_s": round(wall, 3), "timings": verdict.timings, "peak_memory_mb": verdict.peak_memory_mb,
            "rows": verdict.rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pickle", type=Path, default=FIXTURE)
    parser.add_argument("--repeat", type=int, default=5, help="warm runs (median reported)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    results: dict = {"pickle": str(args.pickle), "scan_ms": round(bench_scan(args.pickle, 50), 2)}
    cold_dir = Path(tempfile.mkdtemp(prefix="numerai-mcp-bench-"))
    try:
        results["cold"] = bench_validation(args.pickle, cold_dir)
        warm = [bench_validation(args.pickle, cold_dir) for _ in range(max(1, args.repeat))]
        results["sandbox"] = bench_sandbox(cold_dir, 20)
    finally:
        shutil.rmtree(cold_dir, ignore_errors=True)
    median = sorted(warm, key=lambda r: r["wall_s"])[len(warm) // 2]
    results["warm"] = {**median, "all_wall_s": [r["wall_s"] for r in warm]}
    results["goals"] = {"scan_ms": results["scan_ms"] < GOALS["scan_ms"],
                        "cold_s": results["cold"]["wall_s"] < GOALS["cold_s"],
                        "warm_s": results["warm"]["wall_s"] < GOALS["warm_s"],
                        "warm_live_data_s": results["warm"]["timings"].get("live_data", 0.0) < GOALS["warm_live_data_s"],
                        "sandbox_added_ms": results["sandbox"]["added_ms"] < GOALS["sandbox_added_ms"]}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"pickle: {args.pickle}")
        print(f"scan alone (median of 50): {results['scan_ms']:.2f} ms   goal < {GOALS['scan_ms']:.0f} ms")
        for label, goal in (("cold", GOALS["cold_s"]), ("warm", GOALS["warm_s"])):
            run = results[label]
            print(f"{label} validation: {run['wall_s']:.2f} s   goal < {goal:.0f} s   "
                  f"(rows {run['rows']}, peak {run['peak_memory_mb']} MB)")
            print("  breakdown: " + ", ".join(f"{k} {v:.2f}s" for k, v in run["timings"].items()))
        print(f"warm live data (cached files reused): {results['warm']['timings'].get('live_data', 0.0):.3f} s   "
              f"goal < {GOALS['warm_live_data_s']} s")
        print("warm runs: " + ", ".join(f"{w:.2f}" for w in results["warm"]["all_wall_s"]))
        box = results["sandbox"]
        print(f"sandbox alone (median of 20 runs of /bin/true, bwrap {box['bwrap']}, limits by {box['limits_by']}): "
              f"{box['sandboxed_ms']:.1f} ms vs {box['bare_spawn_ms']:.1f} ms bare = {box['added_ms']:.1f} ms added   "
              f"goal < {GOALS['sandbox_added_ms']:.0f} ms")
    return 0 if all(results["goals"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
