"""Benchmark the static pickle scan (issue 3 item 9: goal under 50 ms for Numerai's fixture).

    python bench/scan.py [--repeat N] [--json]

Measures, each as the median of N runs in this process:
- the fixture (3.3 MB, LightGBM closure): first call (loads the opcode tables) and warm;
- real cloudpickles made by pyenv's 3.10-3.13 when the test cache holds them
  (`python -m pytest tests/harness/test_scan_real.py` makes them);
- stress shapes: a 200 MB numpy array, a million-element list, 100k-deep nesting;
- the whole `scan_pickle` in a fresh interpreter (import included), as a CLI would pay it.
Timing goals live here, never in the tests.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from numerai_mcp.harness.scan import scan_pickle  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "feature_neutralization.pkl"
REAL = REPO / ".cache" / "test" / "scan-pickles"
GOAL_MS = 50.0


def median_ms(data: bytes | Path, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        scan_pickle(data)
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 2)


def stress_cases() -> dict[str, bytes]:
    cases = {"list of 1e6 ints": pickle.dumps(list(range(1_000_000)), protocol=5),
             "tuple nested 100k deep": b"\x80\x05)" + b"\x85" * 100_000 + b".",
             "100k open MARKs": b"\x80\x05" + b"(" * 100_000 + b"N."}
    try:
        import numpy as np

        cases["numpy array 200 MB"] = pickle.dumps(np.zeros(25_000_000), protocol=5)
    except ImportError:
        pass
    return cases


def fresh_process_ms(path: Path) -> tuple[float, float]:
    code = (f"import time; t=time.perf_counter(); from numerai_mcp.harness.scan import scan_pickle; "
            f"scan_pickle({str(path)!r}); print((time.perf_counter()-t)*1000)")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    total = (time.perf_counter() - started) * 1000
    return round(float(out.stdout.strip()), 1), round(total, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    results: dict[str, object] = {}
    started = time.perf_counter()
    scan_pickle(FIXTURE)
    results["fixture first call ms"] = round((time.perf_counter() - started) * 1000, 2)
    results["fixture warm ms"] = median_ms(FIXTURE, args.repeat)
    import_ms, process_ms = fresh_process_ms(FIXTURE)
    results["fixture in a fresh process: import+scan ms"] = import_ms
    results["fixture in a fresh process: whole process ms"] = process_ms
    newest: dict[str, Path] = {}
    for folder in sorted(REAL.glob("py3.*-*"), key=lambda f: f.stat().st_mtime):
        if folder.is_dir():
            newest[folder.name.split("-")[0]] = folder
    for version, folder in sorted(newest.items()):
        pickles = sorted(folder.glob("*.pkl"))
        if pickles:
            per = [median_ms(p, args.repeat) for p in pickles]
            results[f"{version} real pickles ({len(pickles)}) max ms"] = max(per)
    for name, data in stress_cases().items():
        results[f"{name} ({len(data) / 1e6:.1f} MB) ms"] = median_ms(data, max(1, args.repeat // 10))
    verdict = "meets" if results["fixture warm ms"] < GOAL_MS else "MISSES"
    if args.json:
        print(json.dumps({**results, "goal_ms": GOAL_MS, "verdict": verdict}, indent=2))
    else:
        width = max(map(len, results))
        for name, value in results.items():
            print(f"{name.ljust(width)}  {value}")
        print(f"\nfixture warm scan {results['fixture warm ms']} ms: {verdict} the {GOAL_MS:.0f} ms goal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
