"""Benchmark the slot overview (model_status, `numerai-mcp status`) on a sandbox account with many slots.

    python bench/status.py [--extra-slots 40] [--latency-ms 0 50] [--repeat 10] [--cache-dir DIR] [--json]

The account: the five slots of tests/support/slots.py (healthy, segfaulting, webhook, never assigned, validation
failed) plus `--extra-slots` more with a validated pickle assigned. Measures, for each emulator latency (added to
every GraphQL request, to stand in for the network to Numerai):
- the core overview in process (api.status.overview_remembering), median of --repeat calls;
- model_status through a real stdio server (`numerai-mcp serve`): the first call and the median of the others;
- `numerai-mcp status` from process start to exit, median of 3.
Goal (issue 13): an overview of every slot in under 2 s against the sandbox. Timing goals live here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from numerai_mcp.api.client import NumeraiClient  # noqa: E402
from numerai_mcp.api.models import is_trigger_finished  # noqa: E402
from numerai_mcp.api.status import overview_remembering  # noqa: E402
from numerai_mcp.emulator.control import start_emulator  # noqa: E402
from tests.support.emulator_api import Gql, pickle_view  # noqa: E402
from tests.support.mcp_helpers import fast_settings, in_process  # noqa: E402
from tests.support.slots import ADD_MODEL, ASSIGN, five_slot_account  # noqa: E402

GOAL_S = 2.0
RUN_SLOT = "mutation($m: ID) { triggerComputePickleUpload(modelId: $m) { id } }"
FIXTURE = REPO / "tests" / "fixtures" / "feature_neutralization.pkl"


async def build_account(api: Gql, settings: object, work: Path, cache: Path, extra: int) -> int:
    # the demo account has 10 slots; make room for the extra ones (the control API's key call sets the limit)
    room = httpx.post(f"{api.url}/_emulator/keys", json={"scopes": [], "username": "demo",
                                                         "max_model_slots": extra + 10}, timeout=30)
    room.raise_for_status()
    async with in_process(settings) as client:  # type: ignore[arg-type]
        five = await five_slot_account(api, client, work, cache, FIXTURE)
    good = five.pickles["good_model"]
    for index in range(extra):  # healthy slots like good_model: the same pickle, assigned and run for each slot
        model_id = api.data(ADD_MODEL, {"n": f"extra_{index:03d}"})["addModel"]["id"]
        api.data(ASSIGN, {"m": model_id, "p": good})
        api.data(RUN_SLOT, {"m": model_id})
    while any(not is_trigger_finished(t["status"]) for t in pickle_view(api, good)["triggers"]):
        await anyio.sleep(0.5)
    return len(five.ids) + extra


async def core_samples(settings: object, repeat: int) -> tuple[list[float], dict[str, int]]:
    samples, counts = [], {}
    async with NumeraiClient(settings) as client:  # type: ignore[arg-type]
        for _ in range(repeat):
            started = time.perf_counter()
            found = await overview_remembering(client, settings.cache_dir)  # type: ignore[attr-defined]
            samples.append(time.perf_counter() - started)
            counts = found.counts
    return samples, counts


async def stdio_samples(env: dict[str, str], repeat: int) -> list[float]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve"], env=env)
    samples = []
    with open(os.devnull, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            for _ in range(repeat + 1):
                started = time.perf_counter()
                result = await client.call_tool("model_status", {})
                samples.append(time.perf_counter() - started)
                assert not result.is_error, result.content
    return samples


def cli_samples(env: dict[str, str], repeat: int = 3) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "numerai_mcp", "status"], env=env, capture_output=True, text=True,
                              timeout=120)
        samples.append(time.perf_counter() - started)
        assert done.returncode in (0, 1), done.stderr
    return samples


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    cache = Path(args.cache_dir).resolve()
    results: dict[str, object] = {"goal_s": GOAL_S, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-status-") as tmp, \
            start_emulator(data_dir=Path(tmp) / "emulator", cache_dir=cache) as emulator:
        api = Gql(emulator.url, emulator.auth)
        settings = fast_settings(emulator.url, emulator.auth, cache)
        slots = await build_account(api, settings, Path(tmp), cache, args.extra_slots)
        results["slots"] = slots
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUMERAI_")}
        env.update(NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth, NUMERAI_MCP_CACHE_DIR=str(cache),
                   NUMERAI_MCP_CREDENTIALS_FILE=str(Path(tmp) / "none"))
        for latency in args.latency_ms:
            emulator.set_faults(latency_ms=latency)
            core, counts = await core_samples(settings, args.repeat)
            stdio = await stdio_samples(env, args.repeat)
            cli = cli_samples(env)
            results["runs"].append({  # type: ignore[union-attr]
                "latency_ms": latency, "counts": counts,
                "core_median_s": round(statistics.median(core), 4),
                "stdio_first_s": round(stdio[0], 4), "stdio_median_s": round(statistics.median(stdio[1:]), 4),
                "cli_median_s": round(statistics.median(cli), 3),
            })
        emulator.set_faults()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-slots", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cache-dir", default=os.environ.get("NUMERAI_MCP_TEST_CACHE") or str(REPO / ".cache" / "test"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = anyio.run(main_async, args)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"slot overview of {results['slots']} slots (goal < {GOAL_S} s)")
    for run in results["runs"]:  # type: ignore[union-attr]
        print(f"  latency {run['latency_ms']:>5.0f} ms/request: core {run['core_median_s']:.3f} s, stdio model_status "
              f"first {run['stdio_first_s']:.3f} s / median {run['stdio_median_s']:.3f} s, "
              f"`numerai-mcp status` {run['cli_median_s']:.2f} s   {run['counts']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
