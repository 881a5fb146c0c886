"""model_status, numerai://slots and `numerai-mcp status` over a sandbox account with five slots in five states
(tests/support/slots.py): each gets the right verdict and an exact fix, in one call, and following the fixes works."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import ImageContent

from numerai_mcp.api.health import assign_call, create_call, upload_call
from numerai_mcp.emulator.validation import SEGFAULT
from tests.support.emulator_api import Gql
from tests.support.mcp_helpers import call, error_of, fast_settings, in_process
from tests.support.per_call import minimal_env
from tests.support.processes import isolated_env
from tests.support.secret_watch import WATCH
from tests.support.slots import NAMES, FiveSlots, five_slot_account

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
RANGE = "Pickle function returned invalid predictions. Ensure values are between 0 and 1."


@pytest.fixture
def settings(emulator: Any, test_cache_dir: Path):  # type: ignore[no-untyped-def]
    return fast_settings(emulator.url, emulator.auth, test_cache_dir, allow_server_key=True)


@pytest.fixture
async def five(emulator: Any, settings: Any, tmp_path: Path, test_cache_dir: Path, fixture_pickle: Path) -> FiveSlots:
    async with in_process(settings) as client:
        return await five_slot_account(Gql(emulator.url, emulator.auth), client, tmp_path, test_cache_dir,
                                       fixture_pickle)


def expected(five: FiveSlots, *, python_known: bool = True) -> dict[str, tuple[str, str | None, str, str | None]]:
    """name -> (health, problem, start of the verdict, fix)."""
    ids = five.ids
    segv_verdict = ("segfault: re-register with the Python 3.11 image" if python_known
                    else "segfault: the Python that built the pickle does not match its Python 3.12 image")
    return {
        "good_model": ("healthy", None, "healthy: last run succeeded, submitted for round 1200", None),
        "segv_model": ("unhealthy", "segfault", segv_verdict,
                       create_call(ids["segv_model"], five.segv_filename, "3.11" if python_known else "3.X")),
        "hook_model": ("unhealthy", "webhook", "webhook set",
                       assign_call(ids["hook_model"], five.pickles["hook_model"], clear_webhook=True)),
        "demo_model": ("unhealthy", "no_pickle", "no pickle assigned", upload_call(ids["demo_model"])),
        "bad_model": ("unhealthy", "validation_failed", f"validation failed: {RANGE}", None),
    }


def check_verdicts(overview: dict[str, Any], five: FiveSlots, *, python_known: bool = True) -> dict[str, Any]:
    by_name = {s["name"]: s for s in overview["slots"]}
    assert set(by_name) == set(NAMES)
    for name, (health, problem, verdict, fix) in expected(five, python_known=python_known).items():
        slot = by_name[name]
        assert (slot["health"], slot["problem"]) == (health, problem), slot
        assert slot["verdict"].startswith(verdict), slot["verdict"]
        if fix is not None:
            assert fix in slot["fix"], slot["fix"]
    assert overview["slots"][-1]["name"] == "good_model"  # problems first
    assert overview["counts"] == {"healthy": 1, "pending": 0, "unhealthy": 4, "unknown": 0}
    assert overview["summary"] == "5 Classic slots: 1 healthy, 4 unhealthy; round 1200 is open."
    return by_name


async def test_one_call_judges_five_slots_and_names_each_fix(settings: Any, five: FiveSlots) -> None:
    async with in_process(settings) as client:
        overview = await call(client, "model_status", {"lastRounds": 3, "lastTriggers": 2})
        one = await call(client, "model_status", {"modelId": "SEGV_MODEL"})  # a name, any case
        by_id = await call(client, "model_status", {"modelId": five.ids["good_model"]})
        unknown = await error_of(client, "model_status", {"modelId": "nobody"})
    slots = check_verdicts(overview, five)

    good = slots["good_model"]
    assert good["pickle"]["id"] == five.pickles["good_model"] and good["pickle"]["filename"].startswith("neutral-")
    assert (good["pickle"]["dockerImageName"], good["pickle"]["dataVersion"]) == ("Python 3.12", "v5.2")
    assert (good["pickle"]["validationStatus"], good["pickle"]["diagnosticsStatus"]) == ("validated", "succeeded")
    assert [t["type"] for t in good["triggers"]] == ["manual", "validation"]  # newest first, at most lastTriggers
    assert good["triggers"][0]["status"] == "succeeded" and "uploaded for round 1200" in good["triggers"][0]["description"]
    assert [s["roundNumber"] for s in good["submissions"]] == [1200]
    assert good["submissions"][0]["filename"].startswith("live_predictions-")

    segv = slots["segv_model"]
    assert segv["pickle"] is None and segv["latestUpload"]["builtWithPython"] == "3.11"
    assert segv["latestUpload"]["dockerImageName"] == "Python 3.12"
    assert segv["latestUpload"]["diagnosticsStatusDescription"] == SEGFAULT
    assert any("Built with Python 3.11" in note and SEGFAULT in note for note in segv["notes"])
    hook = slots["hook_model"]
    assert hook["webhook"] == "https://hooks.example.com/…" and "hook-secret-123" not in json.dumps(overview)
    assert "rank them per era" in slots["bad_model"]["fix"] and "get_logs" in slots["bad_model"]["fix"]
    assert overview["nextStep"].startswith("Start with bad_model: ")

    assert [s["name"] for s in one["slots"]] == ["segv_model"]
    assert one["slots"][0]["verdict"] == segv["verdict"] and one["slots"][0]["fix"] == segv["fix"]
    assert [s["health"] for s in by_id["slots"]] == ["healthy"] and by_id["summary"].startswith("1 Classic slot: 1 healthy")
    assert "No Classic model slot with id or name 'nobody'" in unknown and "segv_model (" in unknown


def as_arguments(fix: str) -> dict[str, Any]:
    """The tool call a fix names, as arguments (the fix must be an exact call, so this parses it)."""
    match = re.match(r"upload_model ((?:\w+=(?:'[^']*'|true|false)\s*)+)", fix)
    assert match, f"not a call: {fix}"
    pairs = re.findall(r"(\w+)=('[^']*'|true|false)", match.group(1))
    return {key: value.strip("'") if value.startswith("'") else value == "true" for key, value in pairs}


async def test_following_the_fixes_makes_the_slots_healthy(settings: Any, five: FiveSlots) -> None:
    async with in_process(settings) as client:
        before = {s["name"]: s for s in (await call(client, "model_status", {}))["slots"]}
        created = await call(client, "upload_model", as_arguments(before["segv_model"]["fix"]))
        assert created["dockerImage"]["pythonVersion"] == "3.11"
        listed = await call(client, "upload_model", {"operation": "list", "pickleId": created["pickle"]["id"],
                                                     "wait": True, "waitSeconds": 300})
        assert listed["pickle"]["validationStatus"] == "validated", listed["summary"]

        middle = {s["name"]: s for s in (await call(client, "model_status", {}))["slots"]}
        assert middle["segv_model"]["problem"] == "not_assigned"
        assert middle["segv_model"]["fix"] == assign_call(five.ids["segv_model"], created["pickle"]["id"])
        for name in ("segv_model", "hook_model"):
            fix = (middle if name == "segv_model" else before)[name]["fix"]
            await call(client, "upload_model", {**as_arguments(fix), "confirm": True})
            ran = await call(client, "upload_model", {"operation": "trigger", "modelId": five.ids[name],
                                                      "wait": True, "waitSeconds": 300})
            assert ran["runSucceeded"], ran["summary"]
        after = {s["name"]: s for s in (await call(client, "model_status", {}))["slots"]}
    for name in ("good_model", "segv_model", "hook_model"):
        assert after[name]["health"] == "healthy", after[name]
    assert after["hook_model"]["webhook"] is None
    assert (after["demo_model"]["problem"], after["bad_model"]["problem"]) == ("no_pickle", "validation_failed")


async def test_a_real_stdio_client_the_resource_and_the_command_line(emulator: Any, five: FiveSlots, tmp_path: Path,
                                                                     test_cache_dir: Path) -> None:
    env = isolated_env(tmp_path, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth,
                       NUMERAI_MCP_CACHE_DIR=str(test_cache_dir))
    params = StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve"], env=env)
    errlog = (tmp_path / "server.stderr").open("w+")
    async with Client(stdio_client(params, errlog=errlog)) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "model_status")
        overview = await call(client, "model_status", {})
        resource = json.loads((await client.read_resource("numerai://slots")).contents[0].text)
        one = json.loads((await client.read_resource("numerai://slots/bad_model")).contents[0].text)
        diagnosed = await client.call_tool("upload_model", {"operation": "diagnostics",
                                                               "modelId": five.ids["good_model"]})
    assert tool.annotations.read_only_hint is True and tool.annotations.destructive_hint is False
    check_verdicts(overview, five)
    check_verdicts(resource, five)
    assert [(s["name"], s["problem"]) for s in one["slots"]] == [("bad_model", "validation_failed")]
    # the assigned pickle's diagnostics, with Numerai's per-era values drawn as the two PNGs
    report = diagnosed.structured_content
    assert not diagnosed.is_error and report is not None and report["pickle"]["id"] == five.pickles["good_model"]
    assert report["diagnostics"]["succeeded"] and len(report["diagnostics"]["diagnostics"]["perEraDiagnostics"]) == 40
    images = [block for block in diagnosed.content if isinstance(block, ImageContent)]
    assert [block.mime_type for block in images] == ["image/png", "image/png"]
    assert sorted(report["plots"]) == ["cumulative", "per_era"]

    # The command line, as another user would run it: minimal environment, its own HOME and an empty cache, so
    # numerai-mcp has no record of the 3.11 file and says what it does know.
    home = tmp_path / "home"
    home.mkdir()
    cli_env = minimal_env(home, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth)
    text = _cli(cli_env)
    assert text.returncode == 1, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "demo: 5 Classic slots: 1 healthy, 4 unhealthy; round 1200 is open."
    for name, (health, _problem, verdict, fix) in expected(five, python_known=False).items():
        line = next(line for line in lines if line.split()[1:2] == [name])
        assert line.startswith("ok " if health == "healthy" else "!! ") and verdict in line, line
        if fix is not None:
            assert fix in text.stdout
    as_json = _cli(cli_env, "--json")
    check_verdicts(json.loads(as_json.stdout), five, python_known=False)
    single = _cli(cli_env, "good_model", "--details")
    assert single.returncode == 0 and "manual succeeded" in single.stdout and "round 1200: live_predictions-" in single.stdout
    missing = _cli(cli_env, "nobody")
    assert missing.returncode == 2 and "No Classic model slot with id or name 'nobody'" in missing.stderr
    for output in (text, as_json, single, missing):
        WATCH.observe("numerai-mcp status", output.stdout + output.stderr)
        assert emulator.auth.split("$", 1)[1] not in output.stdout + output.stderr
    errlog.seek(0)
    WATCH.observe("stdio server stderr", errlog.read())


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "numerai_mcp", "status", *args], env=env, capture_output=True,
                          text=True, timeout=120)
