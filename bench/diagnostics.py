"""Benchmark the sandbox's diagnostics: how long after validation a pickle's V2Diagnostics are ready.

    python bench/diagnostics.py [--uploads 3] [--cache-dir DIR] [--json]

Uploads Numerai's feature_neutralization.pkl (a byte-different copy each time, so nothing is remembered) and
once more an identical copy (the emulator remembers the evaluation by sha256), and measures for each:
validation (upload → validated), diagnostics (validated → succeeded) and the run's processSecs; also the
diagnostics operation through the real server the first time (plots drawn) and again (plots reused).
Scoring runs on its own worker, so it never delays a validation; its cost is CPU after each upload.
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

import anyio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from numerai_mcp.emulator.control import start_emulator  # noqa: E402
from tests.support.emulator_api import Gql, upload_pickle, wait_for_diagnostics, wait_for_validation  # noqa: E402
from tests.support.mcp_helpers import fast_settings, in_process  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "feature_neutralization.pkl"
PROCESS_SECS = "query($m: ID) { diagnostics(modelId: $m) { computePickleUploadId processSecs } }"


def one_upload(api: Gql, path: Path) -> dict[str, float | str]:
    start = time.perf_counter()
    created = upload_pickle(api, path, model_id=api.model_id())
    wait_for_validation(api, created["id"])
    validated = time.perf_counter()
    pickle = wait_for_diagnostics(api, created["id"])
    done = time.perf_counter()
    assert pickle["diagnosticsStatus"] == "succeeded", pickle
    secs = next(r["processSecs"] for r in api.data(PROCESS_SECS, {"m": api.model_id()})["diagnostics"]
                if r["computePickleUploadId"] == created["id"])
    return {"pickle": created["id"], "validation_s": round(validated - start, 2),
            "diagnostics_s": round(done - validated, 2), "process_secs": secs}


async def through_server(url: str, auth: str, cache: Path, pickle_id: str) -> tuple[float, float]:
    async with in_process(fast_settings(url, auth, cache)) as client:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            result = await client.call_tool("upload_model", {"operation": "diagnostics", "pickleId": pickle_id})
            assert not result.is_error, result.content
            times.append(time.perf_counter() - start)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "test")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-diagnostics-"))
    try:
        with start_emulator(data_dir=work / "data", cache_dir=args.cache_dir) as emulator:
            api = Gql(emulator.url, emulator.auth)
            rows = []
            for index in range(args.uploads):
                path = work / f"neutral-{index}.pkl"
                path.write_bytes(FIXTURE.read_bytes() + b"\0" * (index + 1))  # trailing bytes: another sha256
                rows.append(one_upload(api, path))
            rows.append({**one_upload(api, Path(shutil.copy(work / "neutral-0.pkl", work / "again.pkl"))),
                         "remembered": "yes"})
            first, again = anyio.run(through_server, emulator.url, emulator.auth, args.cache_dir, rows[0]["pickle"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fresh = rows[:-1]
    summary = {
        "uploads": rows,
        "diagnostics_median_s": statistics.median(float(r["diagnostics_s"]) for r in fresh),
        "process_secs_median": statistics.median(float(r["process_secs"]) for r in fresh),
        "remembered_diagnostics_s": rows[-1]["diagnostics_s"],
        "tool_first_s": round(first, 2), "tool_again_s": round(again, 2),
    }
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    for row in rows:
        print(row)
    print(f"diagnostics after validation: median {summary['diagnostics_median_s']} s (processSecs "
          f"{summary['process_secs_median']}), same file again {summary['remembered_diagnostics_s']} s; "
          f"upload_model diagnostics: first {summary['tool_first_s']} s (plots drawn), again {summary['tool_again_s']} s")


if __name__ == "__main__":
    main()
