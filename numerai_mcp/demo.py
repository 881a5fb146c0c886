"""`numerai-mcp demo`: the whole model-upload story, end to end, with no account and no internet.

It attaches to the user's shared sandbox emulator (the one `serve --sandbox` uses; started
when needed), starts this MCP server as a real stdio subprocess, connects a real MCP client,
and walks the workflow an agent would: check credentials, create a slot, train a small model
and export its bundle, build the pickle in Numerai's runtime, validate it, upload, wait for
Numerai's validation, assign, trigger, read the logs. The client answers the server's
confirmation questions "yes" and says so in the transcript. Exit status 0 only when every
step succeeded.

The walkthrough runs under an account of its own in the sandbox (a new one each run), so the
sandbox's demo account, which the user's own agent works with, is left exactly as it was. An
emulator the demo had to start is stopped at the end unless a server process is using it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from numerai_mcp.config import default_cache_dir

TOTAL_STEPS = 13


class StepFailed(Exception):
    pass


class Transcript:
    """Prints one line per step with its duration; remembers whether everything passed."""

    def __init__(self, out: Any = sys.stdout) -> None:
        self.out, self.started, self.step = out, time.monotonic(), 0

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def run(self, title: str, action: Callable[[], Awaitable[str]]) -> None:
        self.step += 1
        self.say(f"[{self.step:>2}/{TOTAL_STEPS}] {title}")
        began = time.monotonic()
        try:
            detail = await action()
        except StepFailed as exc:
            self.say(f"       FAILED after {time.monotonic() - began:.1f} s: {exc}")
            raise
        self.say(f"       {detail}  ({time.monotonic() - began:.1f} s)")


def train_demo_model(features: list[str], rows: int = 6000, seed: int = 7) -> tuple[dict[str, Any], float]:
    """A ridge regression on synthetic int8 features 0–4 (the shape of Numerai's data), named like the live data."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_features = len(features)
    x = rng.integers(0, 5, size=(rows, n_features)).astype("float64")
    true_w = rng.normal(0, 1, n_features)
    y = x @ true_w + rng.normal(0, 4, rows)
    mean, std = x.mean(axis=0), x.std(axis=0)
    z = (x - mean) / std
    ridge = 10.0
    coef = np.linalg.solve(z.T @ z + ridge * np.eye(n_features), z.T @ (y - y.mean()))
    fitted = z @ coef
    corr = float(np.corrcoef(fitted, y)[0, 1])
    model = {"coef": coef, "intercept": float(y.mean()), "scale": {"mean": mean, "std": std},
             "fill_values": np.full(n_features, 2.0)}
    return model, corr


@contextmanager
def _walkthrough_account(transcript: Transcript, cache_dir: Path) -> Iterator[tuple[str, str]]:
    """(API URL, key) of a new account on the shared sandbox; afterwards, stop the emulator if this
    demo started it and no server process uses it."""
    from numerai_mcp.emulator.catalog import ALL_SCOPES
    from numerai_mcp.emulator.shared import SandboxInUse, attach_shared_emulator, release, stop_shared_emulator

    transcript.say("Attaching to the local Numerai API emulator (the sandbox: no account, no network)…")
    emulator = attach_shared_emulator(cache_dir)
    try:
        transcript.say(f"  {emulator.describe()}")
        walkthrough = f"walkthrough_{secrets.token_hex(3)}"
        auth = emulator.add_key(list(ALL_SCOPES), username=walkthrough, name="walkthrough key")
        transcript.say(f"  this walkthrough uses an account of its own, {walkthrough!r}; the sandbox's demo account "
                       "is left as it was")
        yield emulator.url, auth
    finally:
        release(emulator.home)
        if emulator.how != "running":
            try:
                stop_shared_emulator(emulator.home.root)
                transcript.say(f"Stopped the sandbox emulator this demo started (its state stays in {emulator.home.root}).")
            except SandboxInUse:
                transcript.say(f"The sandbox emulator keeps running at {emulator.url}: a server process uses it.")


async def _story(transcript: Transcript, work: Path, cache_dir: Path, python: str) -> None:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.types import ElicitResult

    async def on_elicit(_ctx: Any, params: Any) -> ElicitResult:
        transcript.say(f"       ? {params.message} → yes (the demo answers for you)")
        return ElicitResult(action="accept", content={"confirm": True})

    async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        result = await client.call_tool(tool, args, read_timeout_seconds=900)
        if result.is_error:
            raise StepFailed(" ".join(getattr(b, "text", "") for b in result.content))
        return result.structured_content or {}

    with _walkthrough_account(transcript, cache_dir) as (api_url, auth):
        env = {"NUMERAI_API_URL": api_url, "NUMERAI_MCP_AUTH": auth,
               "NUMERAI_MCP_CACHE_DIR": str(cache_dir), "NUMERAI_MCP_CREDENTIALS_FILE": str(work / "no-credentials")}
        params = StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve", "--log-level", "WARNING"],
                                       env=env)
        errlog = (work / "server.log").open("w")
        transcript.say("Starting `numerai-mcp serve` over stdio and connecting an MCP client…\n")
        async with Client(stdio_client(params, errlog=errlog), elicitation_callback=on_elicit) as client:
            state: dict[str, Any] = {}

            async def credentials() -> str:
                report = await call(client, "check_api_credentials", {})
                if not report.get("readyForUpload"):
                    raise StepFailed(report.get("problem") or "credentials not ready")
                image = report.get("defaultDockerImage") or {}
                return (f"account {report['accountUsername']!r}, key {report['tokenName']!r}, scopes "
                        f"{', '.join(report['scopes'])}; default runtime {image.get('name')}")

            async def create() -> str:
                name = f"demo_{secrets.token_hex(3)}"
                created = await call(client, "create_model", {"name": name})
                state["model_id"] = created["id"]
                return f"model slot {name!r} created, id {created['id']}"

            async def train() -> str:
                import httpx

                from numerai_mcp.bundle import export

                # like a user would: the feature set from Numerai's features.json, fetched through the API
                found = await call(client, "graphql_query", {"query": 'query { dataset(filename: "v5.2/features.json") }'})
                async with httpx.AsyncClient(timeout=30) as http:
                    response = await http.get(found["data"]["dataset"])
                    response.raise_for_status()
                features = response.json()["feature_sets"]["medium"]
                model, corr = train_demo_model(features)
                state["bundle"] = export(model, features, work / "demo_model.bundle.npz")
                return (f"ridge regression on 6,000 synthetic rows × {len(features)} features of the 'medium' set "
                        f"(train corr {corr:.3f}); bundle {Path(state['bundle']).name} "
                        f"({Path(state['bundle']).stat().st_size:,} bytes)")

            async def build() -> str:
                built = await call(client, "build_pickle", {"bundlePath": str(state["bundle"]), "pythonVersion": python,
                                                            "outputPath": str(work / "demo_model.pkl"), "validate": False})
                state["pickle"] = built["path"]
                return (f"{Path(built['path']).name}: {built['size']:,} bytes written by Python {built['pythonVersion']} "
                        f"({built['runtime']}, {built['pythonVersionSource']})")

            async def validate() -> str:
                verdict = await call(client, "validate_pickle", {"localPath": state["pickle"]})
                if not verdict["passed"]:
                    raise StepFailed(verdict["summary"])
                passed = sum(1 for c in verdict["checks"] if c["status"] == "pass")
                return f"{verdict['summary']} ({passed} checks passed)"

            async def upload() -> str:
                uploaded = await call(client, "upload_model", {"operation": "upload", "modelId": state["model_id"],
                                                               "localPath": state["pickle"]})
                state["pickle_id"] = uploaded["pickle"]["id"]
                image = uploaded["dockerImage"]
                return (f"pickle {state['pickle_id']}: {uploaded['put']['size']:,} bytes, MD5 verified; image "
                        f"{image['name']} ({image['chosenBecause']})")

            async def wait() -> str:
                listed = await call(client, "upload_model", {"operation": "list", "pickleId": state["pickle_id"],
                                                             "wait": True, "waitSeconds": 600})
                if listed["pickle"]["validationStatus"] != "validated":
                    raise StepFailed(listed["summary"])
                return "Numerai (emulated) validationStatus: validated"

            async def assign() -> str:
                done = await call(client, "upload_model", {"operation": "assign", "modelId": state["model_id"],
                                                           "pickleId": state["pickle_id"]})
                return done["summary"]

            async def trigger() -> str:
                ran = await call(client, "upload_model", {"operation": "trigger", "pickleId": state["pickle_id"],
                                                          "wait": True, "waitSeconds": 600})
                state["trigger_id"] = ran["triggerId"]
                status = (ran.get("trigger") or {}).get("status")
                if status and "fail" in status.lower():
                    raise StepFailed(ran["summary"])
                return ran["summary"]

            async def logs() -> str:
                page = await call(client, "upload_model", {"operation": "get_logs", "triggerId": state["trigger_id"]})
                lines = [entry.get("message", "") for entry in page.get("logs") or []]
                if not lines:
                    raise StepFailed("the run left no log lines")
                for line in lines[-4:]:
                    transcript.say(f"       | {line}")
                return f"{page['logsTotal']} log lines"

            async def diagnostics() -> str:
                found = await call(client, "upload_model", {"operation": "diagnostics", "pickleId": state["pickle_id"],
                                                            "wait": True, "waitSeconds": 600})
                if not (found.get("diagnostics") or {}).get("succeeded"):
                    raise StepFailed(found["summary"])
                for name, path in (found.get("plots") or {}).items():
                    transcript.say(f"       | plot {name}: {path}")
                return found["summary"]

            async def status() -> str:
                overview = await call(client, "model_status", {"modelId": state["model_id"]})
                slot = overview["slots"][0]
                if slot["health"] != "healthy":
                    raise StepFailed(f"{slot['name']}: {slot['verdict']}")
                return f"{slot['name']}: {slot['health']} ({slot['verdict']})"

            await transcript.run("check_api_credentials", credentials)
            await transcript.run("create_model (asks you to confirm)", create)
            await transcript.run("train a small model on synthetic data and export its bundle", train)
            where = "Numerai's default runtime" if python == "auto" else f"the Python {python} runtime"
            await transcript.run(f"build_pickle in {where}", build)
            await transcript.run("validate_pickle: run it as Numerai would (sandboxed, 1 CPU, 4 GB, no network)", validate)
            await transcript.run("upload_model operation='upload' (streamed, verified)", upload)
            await transcript.run("upload_model operation='list' wait=true (Numerai's validation)", wait)
            await transcript.run("upload_model operation='assign' (asks you to confirm)", assign)
            await transcript.run("upload_model operation='trigger' wait=true", trigger)
            await transcript.run("upload_model operation='get_logs'", logs)
            await transcript.run("graphql_query: read the slot back", lambda: _read_back(call, client, state))
            await transcript.run("upload_model operation='diagnostics' wait=true (scored on validation data, with "
                                 "plots)", diagnostics)
            await transcript.run("model_status: how the slot is doing", status)


async def _read_back(call: Any, client: Any, state: dict[str, Any]) -> str:
    data = await call(client, "graphql_query", {"query": "query { account { models { id name computePickleUpload { id } } } }"})
    slot = next(m for m in data["data"]["account"]["models"] if m["id"] == state["model_id"])
    assigned = (slot.get("computePickleUpload") or {}).get("id")
    if assigned != state["pickle_id"]:
        raise StepFailed(f"slot {slot['name']} shows pickle {assigned}, expected {state['pickle_id']}")
    return f"slot {slot['name']!r} runs pickle {assigned}"


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside the task groups of the MCP client."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="numerai-mcp demo", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the work directory (bundle, pickle, logs)")
    parser.add_argument("--python", default="auto", help="runtime to build for: auto (Numerai's default) or 3.10…3.13")
    args = parser.parse_args(argv)
    transcript = Transcript()
    cache_dir = default_cache_dir(os.environ)
    work = Path(tempfile.mkdtemp(prefix="numerai-mcp-demo-"))
    transcript.say("numerai-mcp demo: the whole model-upload story against a local Numerai sandbox\n")
    try:
        asyncio.run(_story(transcript, work, cache_dir, args.python))
    except Exception as exc:  # any failure is a failed demo, with the reason shown
        cause = _leaf(exc)
        reason = "" if isinstance(cause, StepFailed) else f": {type(cause).__name__}: {cause}"
        transcript.say(f"\nDEMO FAILED after {time.monotonic() - transcript.started:.1f} s{reason} (work dir: {work})")
        return 1
    transcript.say(f"\nAll {TOTAL_STEPS} steps passed in {time.monotonic() - transcript.started:.1f} s. "
                   "Next: ./install-mcp.sh to use numerai-mcp from Codex, Claude Code or Cursor with your own key.")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    else:
        transcript.say(f"Work directory kept: {work}")
    return 0
