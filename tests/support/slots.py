"""A sandbox account with five Classic slots in five different states, built the way users get there.

- `good_model`: a validated 3.12 pickle, assigned, run once for the open round (healthy);
- `segv_model`: a pickle built by Python 3.11, sent through numerai-mcp's put_file (so the upload memory knows its
  Python), then registered by another client on the Python 3.12 image: Numerai's validation segfaults;
- `hook_model`: a validated pickle uploaded for it, but the slot has a submission webhook, so it cannot be assigned;
- `demo_model`: the demo account's own slot, never given a pickle;
- `bad_model`: a pickle whose predictions lie outside [0, 1]: validation fails.

Everything goes through the emulator's GraphQL API as any client would, except the one put_file through the MCP
client passed in. Shared by tests/server/test_status.py and bench/status.py.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread

from tests.support.emulator_api import (
    Gql,
    pickle_view,
    upload_pickle,
    wait_for_diagnostics,
    wait_for_trigger,
    wait_for_validation,
)
from tests.support.pickles import GOOD_ONE_ARG, build_pickle

OUT_OF_RANGE = """
import pandas as pd
def predict(live_features):
    return pd.DataFrame({"prediction": 2.0}, index=live_features.index)
"""
WEBHOOK = "https://hooks.example.com/numerai/run?token=hook-secret-123"
ADD_MODEL = "mutation($n: String!) { addModel(name: $n, tournament: 8) { id } }"
CREATE = """mutation($f: String!, $m: ID, $i: ID) { createComputePickleUpload(filename: $f, tournament: 8,
  modelId: $m, dockerImageId: $i) { id } }"""
SET_WEBHOOK = "mutation($m: String, $w: String) { setSubmissionWebhook(modelId: $m, newSubmissionWebhook: $w) }"
ASSIGN = "mutation($m: String, $p: ID) { assignPickleToModel(modelId: $m, pickleId: $p) }"
RUN = "mutation($p: ID) { triggerComputePickleUpload(pickleId: $p) { id } }"
NAMES = ("good_model", "segv_model", "hook_model", "demo_model", "bad_model")


@dataclass
class FiveSlots:
    ids: dict[str, str] = field(default_factory=dict)  # slot name -> model id
    pickles: dict[str, str] = field(default_factory=dict)  # slot name -> its (newest) pickle id
    segv_filename: str = ""  # the server-side name of the 3.11 file


async def five_slot_account(api: Gql, mcp: Any, work: Path, cache_dir: Path, fixture_pickle: Path) -> FiveSlots:
    """Build the five slots on the emulator behind `api`; `mcp` is an MCP client of numerai-mcp on that account."""
    slots = FiveSlots()
    slots.ids["demo_model"] = api.model_id("demo_model")
    for name in ("good_model", "segv_model", "hook_model", "bad_model"):
        slots.ids[name] = api.data(ADD_MODEL, {"n": name})["addModel"]["id"]
    good = Path(shutil.copy(fixture_pickle, work / "neutral.pkl"))
    built_311 = build_pickle("3.11", GOOD_ONE_ARG, work / "built311.pkl", cache_dir=cache_dir)
    out_of_range = build_pickle("3.12", OUT_OF_RANGE, work / "out_of_range.pkl", cache_dir=cache_dir)

    slots.pickles["good_model"] = upload_pickle(api, good, model_id=slots.ids["good_model"])["id"]
    slots.pickles["hook_model"] = upload_pickle(api, good, model_id=slots.ids["hook_model"])["id"]
    slots.pickles["bad_model"] = upload_pickle(api, out_of_range, model_id=slots.ids["bad_model"])["id"]
    auth = await _tool(mcp, {"operation": "get_upload_auth", "modelId": slots.ids["segv_model"],
                             "filename": "built311.pkl"})
    await _tool(mcp, {"operation": "put_file", "presignedUrl": auth["uploadAuth"]["url"], "localPath": str(built_311)})
    slots.segv_filename = auth["uploadAuth"]["filename"]
    slots.pickles["segv_model"] = api.data(CREATE, {"f": slots.segv_filename, "m": slots.ids["segv_model"],
                                                    "i": api.image_id("3.12")})["createComputePickleUpload"]["id"]
    api.data(SET_WEBHOOK, {"m": slots.ids["hook_model"], "w": WEBHOOK})

    for name in ("good_model", "hook_model", "bad_model", "segv_model"):
        await anyio.to_thread.run_sync(wait_for_validation, api, slots.pickles[name])
    for name in ("good_model", "hook_model"):  # scored after validation (the same file: the second is remembered)
        await anyio.to_thread.run_sync(wait_for_diagnostics, api, slots.pickles[name])
    good_id = slots.pickles["good_model"]
    api.data(ASSIGN, {"m": slots.ids["good_model"], "p": good_id})
    api.data(RUN, {"p": good_id})
    run = pickle_view(api, good_id)["triggers"][0]
    finished = await anyio.to_thread.run_sync(wait_for_trigger, api, good_id, run["id"])
    assert finished["status"] == "succeeded", finished["statuses"]
    return slots


async def _tool(mcp: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await mcp.call_tool("upload_model", arguments)
    assert not result.is_error, result.content
    return result.structured_content
