"""The upload tools end to end, in-process MCP client → real server code → real emulator over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.operations import SET_WEBHOOK
from tests.support.mcp_helpers import call, copy_pickle, error_of, fast_settings, in_process

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def settings(emulator: Any, test_cache_dir: Path):  # type: ignore[no-untyped-def]
    return fast_settings(emulator.url, emulator.auth, test_cache_dir)


@pytest.fixture
def pickle_path(fixture_pickle: Path, tmp_path: Path) -> Path:
    return copy_pickle(fixture_pickle, tmp_path, "neutral.pkl")


async def test_check_api_credentials_reports_account_scopes_and_default_image(settings: Any) -> None:
    async with in_process(settings) as client:
        report = await call(client, "check_api_credentials", {})
    assert report["reachable"] and report["authenticated"] and report["readyForUpload"]
    assert report["accountUsername"] == "demo"
    assert {"upload_submission", "read_submission_info", "read_user_info"} <= set(report["scopes"])
    assert report["missingScopes"] == {}
    assert report["defaultDockerImage"]["default"] is True
    assert report["credentialsSource"] == "server configuration"


async def test_whole_flow_create_upload_wait_assign_trigger_logs(settings: Any, pickle_path: Path, emulator: Any) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with in_process(settings) as client:
        created = await call(client, "create_model", {"name": "flow_model", "tournament": 8, "confirm": True})
        model_id = created["id"]
        uploaded = await call(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                       "localPath": str(pickle_path)}, progress_callback=on_progress)
        assert uploaded["put"]["size"] == pickle_path.stat().st_size
        assert uploaded["put"]["md5"] == uploaded["put"]["etag"]
        assert uploaded["dockerImage"]["pythonVersion"] == "3.12"
        pickle_id = uploaded["pickle"]["id"]

        listed = await call(client, "upload_model", {"operation": "list", "pickleId": pickle_id, "wait": True,
                                                     "waitSeconds": 300}, progress_callback=on_progress)
        assert listed["pickle"]["validationStatus"] == "validated", listed["summary"]

        assigned = await call(client, "upload_model", {"operation": "assign", "modelId": model_id, "confirm": True, "pickleId": pickle_id})
        assert assigned["model"]["computePickleUpload"]["id"] == pickle_id

        triggered = await call(client, "upload_model", {"operation": "trigger", "pickleId": pickle_id, "wait": True,
                                                        "waitSeconds": 300})
        trigger_id = triggered["triggerId"]
        assert trigger_id and triggered["trigger"]["id"] == trigger_id

        logs = await call(client, "upload_model", {"operation": "get_logs", "triggerId": trigger_id})
        assert logs["logsTotal"] > 2 and logs["logs"] and logs["nextOffset"] is None
        first = await call(client, "upload_model", {"operation": "get_logs", "triggerId": trigger_id, "limit": 2})
        second = await call(client, "upload_model", {"operation": "get_logs", "triggerId": trigger_id,
                                                     "offset": first["nextOffset"], "limit": 2})
        assert first["nextOffset"] == 2 and "offset=2" in first["nextStep"]
        assert [line["message"] for line in first["logs"] + second["logs"]] == [
            line["message"] for line in logs["logs"][:4]]

    assert progress, "no MCP progress notifications arrived during upload and wait"
    state = emulator.state()
    mine = [p for p in state["pickles"] if p["modelId"] == model_id]
    assert len(mine) == 1


async def test_step_by_step_operations_match_numerais_skill(settings: Any, pickle_path: Path, emulator: Any) -> None:
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "steps_model", "confirm": True}))["id"]
        auth = await call(client, "upload_model", {"operation": "get_upload_auth", "modelId": model_id,
                                                   "filename": "neutral.pkl"})
        server_name = auth["uploadAuth"]["filename"]
        assert server_name != "neutral.pkl" and server_name.endswith(".pkl")
        put = await call(client, "upload_model", {"operation": "put_file", "presignedUrl": auth["uploadAuth"]["url"],
                                                  "localPath": str(pickle_path)})
        assert put["put"]["attempts"] == 1
        created = await call(client, "upload_model", {"operation": "create", "modelId": model_id,
                                                      "filename": server_name, "dockerImage": "Python 3.12"})
        assert created["dockerImage"]["chosenBecause"] == "as requested"
        images = await call(client, "upload_model", {"operation": "list_docker_images"})
        assert any(i["default"] for i in images["dockerImages"])
        versions = await call(client, "upload_model", {"operation": "list_data_versions"})
        assert versions["dataVersions"]


async def test_create_matches_the_image_to_the_pickle_even_in_another_server_process(
        settings: Any, pickle_path: Path) -> None:
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "default_img", "confirm": True}))["id"]
        names = []
        for _ in range(2):
            auth = await call(client, "upload_model", {"operation": "get_upload_auth", "modelId": model_id})
            put = await call(client, "upload_model", {"operation": "put_file", "presignedUrl": auth["uploadAuth"]["url"],
                                                      "localPath": str(pickle_path)})
            assert put["serverFilename"] == auth["uploadAuth"]["filename"] and put["pythonVersion"] == "3.12"
            assert f"filename={put['serverFilename']!r}" in put["nextStep"] and repr(model_id) in put["nextStep"]
            names.append(auth["uploadAuth"]["filename"])
        matched = await call(client, "upload_model", {"operation": "create", "modelId": model_id, "filename": names[0]})
    assert matched["dockerImage"]["chosenBecause"] == "matched to the pickle's Python 3.12"
    async with in_process(settings) as other_session:  # a new server: what put_file learnt is read back from disk
        again = await call(other_session, "upload_model", {"operation": "create", "modelId": model_id,
                                                           "filename": names[1]})
    assert again["dockerImage"]["chosenBecause"] == "matched to the pickle's Python 3.12"
    assert again["pythonVersion"] == "3.12" and not again["warnings"]


async def test_create_accepts_the_name_the_agent_asked_for(settings: Any, pickle_path: Path) -> None:
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "skill_name", "confirm": True}))["id"]
        auth = await call(client, "upload_model", {"operation": "get_upload_auth", "modelId": model_id,
                                                   "filename": "model.pkl"})
        await call(client, "upload_model", {"operation": "put_file", "presignedUrl": auth["uploadAuth"]["url"],
                                            "localPath": str(pickle_path)})
    async with in_process(settings) as other_session:
        created = await call(other_session, "upload_model", {"operation": "create", "modelId": model_id,
                                                             "filename": "model.pkl"})
        listed = await call(other_session, "upload_model", {"operation": "list", "filename": "model.pkl",
                                                            "modelId": model_id})
    assert created["pickle"]["filename"] == auth["uploadAuth"]["filename"] == created["serverFilename"]
    assert any("'model.pkl' is the name given to get_upload_auth" in w for w in created["warnings"])
    assert created["dockerImage"]["pythonVersion"] == "3.12"
    assert listed["pickle"]["id"] == created["pickle"]["id"]


async def test_create_refuses_a_file_of_unknown_python_unless_told_which(settings: Any, pickle_path: Path) -> None:
    import httpx

    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "foreign", "confirm": True}))["id"]
        names = []
        for _ in range(2):
            async with NumeraiClient(settings) as api:  # another program asks for the URL and uploads the bytes
                data = await api.query("query($m: ID) { computePickleUploadAuth(modelId: $m) { filename url } }",
                                       {"m": model_id})
            auth = data["computePickleUploadAuth"]
            async with httpx.AsyncClient() as http:
                assert (await http.put(auth["url"], content=pickle_path.read_bytes())).status_code == 200
            names.append(auth["filename"])
        refused = await error_of(client, "upload_model", {"operation": "create", "modelId": model_id,
                                                          "filename": names[0]})
        assert "don't know which Python built" in refused and "localPath=" in refused and "dockerImage=" in refused
        assert not [p for p in (await call(client, "upload_model", {"operation": "list"}))["pickles"]
                    if p["filename"] in names], "a refused create registered something"
        told = await call(client, "upload_model", {"operation": "create", "modelId": model_id, "filename": names[0],
                                                   "dockerImage": "Python 3.12"})
        assert told["dockerImage"]["chosenBecause"] == "as requested" and told["warnings"]
        read = await call(client, "upload_model", {"operation": "create", "modelId": model_id, "filename": names[1],
                                                   "localPath": str(pickle_path)})
        assert read["dockerImage"]["chosenBecause"] == "matched to the pickle's Python 3.12"


async def test_an_explicit_image_that_does_not_match_the_pickle_is_refused(settings: Any, pickle_path: Path, emulator: Any) -> None:
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "mismatch", "confirm": True}))["id"]
        message = await error_of(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                          "localPath": str(pickle_path), "dockerImage": "3.11"})
    assert "runs Python 3.11, but the pickle was built with Python 3.12" in message and "Segmentation fault" in message
    assert not [p for p in emulator.state()["pickles"] if p["modelId"] == model_id]


async def test_unknown_docker_image_is_refused_before_any_byte_is_sent(settings: Any, pickle_path: Path, emulator: Any) -> None:
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "bad_image", "confirm": True}))["id"]
        message = await error_of(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                          "localPath": str(pickle_path), "dockerImage": "Python 2.7"})
    assert "Unknown dockerImage 'Python 2.7'" in message and "Python 3.12" in message
    assert not [p for p in emulator.state()["pickles"] if p["modelId"] == model_id]


async def test_missing_and_unknown_arguments_name_what_is_expected(settings: Any) -> None:
    async with in_process(settings) as client:
        message = await error_of(client, "upload_model", {"operation": "put_file", "localPath": "/tmp/x.pkl"})
        assert "needs presignedUrl" in message and "It takes: presignedUrl, localPath" in message
        message = await error_of(client, "upload_model", {"operation": "launch"})
        assert "get_upload_auth" in message and "list_docker_images" in message
        message = await error_of(client, "upload_model", {"operation": "assign", "modelId": "m"})
        assert "needs pickleId" in message and "disable=true" in message


async def test_bad_local_paths_fail_before_any_network_call(settings: Any, tmp_path: Path, emulator: Any) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a pickle")
    before = len(emulator.state()["pickles"])
    async with in_process(settings) as client:
        for path, expected in [(tmp_path / "absent.pkl", "does not exist"), (tmp_path, "is a directory"),
                               (text, "extension '.txt'")]:
            message = await error_of(client, "upload_model", {"operation": "upload", "modelId": "any",
                                                              "localPath": str(path)})
            assert expected in message
    assert len(emulator.state()["pickles"]) == before


async def test_wrong_token_is_reported_by_the_check_and_refused_by_tools(emulator: Any, test_cache_dir: Path) -> None:
    bogus = "Token ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ$notARealSecretAtAll0123456789"
    settings = fast_settings(emulator.url, bogus, test_cache_dir)
    async with in_process(settings) as client:
        report = await call(client, "check_api_credentials", {})
        assert report["reachable"] and not report["authenticated"] and report["problem"]
        message = await error_of(client, "upload_model", {"operation": "list"})
    assert "notARealSecretAtAll" not in message and "notARealSecretAtAll" not in str(report)


async def test_missing_scope_names_the_scope_and_how_to_add_it(emulator: Any, test_cache_dir: Path) -> None:
    auth = emulator.add_key(["read_user_info", "read_submission_info"])
    settings = fast_settings(emulator.url, auth, test_cache_dir)
    async with in_process(settings) as client:
        report = await call(client, "check_api_credentials", {})
        assert list(report["missingScopes"]) == ["upload_submission"] and not report["readyForUpload"]
        message = await error_of(client, "upload_model", {"operation": "get_upload_auth", "modelId": "x"})
    assert "Insufficient permission for upload_submission" in message and "Custom API Keys" in message


async def test_expired_upload_url_says_to_fetch_a_new_one(settings: Any, pickle_path: Path, emulator: Any) -> None:
    from tests.support.emulator_api import set_clock

    emulator.set_faults(url_lifetime_s=60)
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "expiry", "confirm": True}))["id"]
        auth = await call(client, "upload_model", {"operation": "get_upload_auth", "modelId": model_id})
        set_clock(emulator.url, freeze=True, advance_s=120)  # two minutes later, without waiting for them
        message = await error_of(client, "upload_model", {"operation": "put_file", "localPath": str(pickle_path),
                                                          "presignedUrl": auth["uploadAuth"]["url"]})
    assert "expired" in message and "get_upload_auth" in message


async def test_flow_survives_injected_5xx_and_dropped_connections_without_duplicates(
    settings: Any, pickle_path: Path, emulator: Any
) -> None:
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "faulty", "confirm": True}))["id"]
        emulator.set_faults(error_rate=0.3, drop_rate=0.1, seed=7)
        uploaded = await call(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                       "localPath": str(pickle_path)})
        pickle_id = uploaded["pickle"]["id"]
        listed = await call(client, "upload_model", {"operation": "list", "pickleId": pickle_id, "wait": True,
                                                     "waitSeconds": 300})
        assert listed["pickle"]["validationStatus"] == "validated"
        await call(client, "upload_model", {"operation": "assign", "modelId": model_id, "confirm": True, "pickleId": pickle_id})
        triggered = await call(client, "upload_model", {"operation": "trigger", "pickleId": pickle_id})
        state = emulator.state()
        emulator.set_faults()
    injected = state["faults"]["injected"]
    print("faults injected:", injected)
    # the resilience paths really ran: failures before processing and after it (the server acted, the client saw an error)
    assert injected.get("error_before", 0) + injected.get("drop_before", 0) >= 1
    assert injected.get("error_after", 0) + injected.get("drop_after", 0) >= 1
    assert len([p for p in state["pickles"] if p["modelId"] == model_id]) == 1
    assert len([m for m in state["models"] if m["name"] == "faulty"]) == 1
    pickle = next(p for p in state["pickles"] if p["id"] == pickle_id)
    assert [t["id"] for t in pickle["triggers"] if t["id"] == triggered["triggerId"]]


async def test_webhook_blocks_assignment_until_cleared(settings: Any, pickle_path: Path, emulator: Any) -> None:
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "hooked", "confirm": True}))["id"]
        async with NumeraiClient(settings) as api:
            await api.mutate(SET_WEBHOOK, {"modelId": model_id, "newSubmissionWebhook": "https://example.com/hook"},
                             idempotent=True)
        pickle_id = (await call(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                         "localPath": str(pickle_path)}))["pickle"]["id"]
        await call(client, "upload_model", {"operation": "list", "pickleId": pickle_id, "wait": True, "waitSeconds": 300})
        message = await error_of(client, "upload_model", {"operation": "assign", "modelId": model_id, "confirm": True, "pickleId": pickle_id})
        assert "webhook" in message and "clearWebhook=true" in message
        done = await call(client, "upload_model", {"operation": "assign", "modelId": model_id, "confirm": True, "pickleId": pickle_id,
                                                   "clearWebhook": True})
        assert done["model"]["submissionWebhook"] in (None, "") and any("webhook" in w for w in done["warnings"])
        disabled = await call(client, "upload_model", {"operation": "assign", "modelId": model_id, "confirm": True, "disable": True})
        assert disabled["model"]["computePickleUpload"] is None


async def test_create_model_checks_names_and_duplicates(settings: Any) -> None:
    async with in_process(settings) as client:
        await call(client, "create_model", {"name": "twice", "confirm": True})
        message = await error_of(client, "create_model", {"name": "twice", "confirm": True})
        assert "already have a model named 'twice'" in message
        message = await error_of(client, "create_model", {"name": "has space"})
        assert "letters, digits and underscores" in message
        message = await error_of(client, "create_model", {"name": "x", "tournament": 11})
        assert "tournament=8" in message


async def test_graphql_query_reads_introspects_truncates_and_refuses_mutations(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from numerai_mcp.tools import graphql as graphql_tool

    monkeypatch.setattr(graphql_tool, "MAX_RESULT_CHARS", 5_000)  # the real cap is 60k; the emulator's schema is smaller
    async with in_process(settings) as client:
        account = await call(client, "graphql_query", {"query": "query { account { username } }"})
        assert account["data"] == {"account": {"username": "demo"}}
        typed = await call(client, "graphql_query", {"query": "query($n: String!) { __type(name: $n) { name } }",
                                                     "variables": {"n": "ComputePickleUpload"}})
        assert typed["data"]["__type"]["name"] == "ComputePickleUpload"
        whole = await call(client, "graphql_query", {"query": FULL_INTROSPECTION})
        assert whole["truncated"] and whole["note"] and whole["data"] is None
        message = await error_of(client, "graphql_query", {"query": "query { account { nosuchfield } }"})
        assert "nosuchfield" in message
        message = await error_of(client, "graphql_query", {"query": 'mutation { addModel(name: "m", tournament: 8) { id } }'})
        assert "read-only" in message


async def test_graphql_answers_are_redacted_like_errors(settings: Any) -> None:
    leaked = "LEAKEDPUBLICID0123$leakedsecretvalue0123456789"
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "leaky_hook", "confirm": True}))["id"]
        async with NumeraiClient(settings) as api:  # a key pasted into a webhook URL by mistake
            await api.mutate(SET_WEBHOOK, {"modelId": model_id, "newSubmissionWebhook": f"https://x.example/?k={leaked}"},
                             idempotent=True)
        result = await client.call_tool("graphql_query", {"query": "query { account { models { name submissionWebhook } } }"})
    hooks = [m["submissionWebhook"] for m in result.structured_content["data"]["account"]["models"]
             if m["name"] == "leaky_hook"]
    assert hooks == ["https://x.example/?k=LEAKEDPUBLICID0123$***"]
    assert "leakedsecretvalue" not in str(result.content) + str(result.structured_content)


async def test_graphql_mutations_run_when_the_operator_allows_them(emulator: Any, test_cache_dir: Path) -> None:
    settings = fast_settings(emulator.url, emulator.auth, test_cache_dir, allow_mutations=True)
    async with in_process(settings) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["graphql_query"].annotations.read_only_hint is False
        made = await call(client, "graphql_query", {"query": 'mutation { addModel(name: "via_graphql", tournament: 8) { id name } }'})
    assert made["data"]["addModel"]["name"] == "via_graphql"


async def test_unreachable_api_gives_a_clear_error(test_cache_dir: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    auth = "Token AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$unreachableSecret000000000000"
    settings = fast_settings(f"http://127.0.0.1:{port}", auth, test_cache_dir)
    async with in_process(settings) as client:
        report = await call(client, "check_api_credentials", {})
        assert report["reachable"] is False and "unreachable" in report["problem"]
        message = await error_of(client, "upload_model", {"operation": "list_docker_images"})
    assert "unreachable" in message and "NUMERAI_API_URL" in message


async def test_no_credentials_is_explained(emulator: Any, test_cache_dir: Path) -> None:
    settings = fast_settings(emulator.url, None, test_cache_dir)
    async with in_process(settings) as client:
        report = await call(client, "check_api_credentials", {})
        assert report["reachable"] and not report["authenticated"] and "NUMERAI_MCP_AUTH" in report["nextStep"]
        message = await error_of(client, "create_model", {"name": "nokey", "confirm": True})
    assert "API keys required" in message


FULL_INTROSPECTION = """query { __schema { types { name kind description fields { name description args { name
  description type { name kind ofType { name kind ofType { name kind } } } } type { name kind ofType { name kind
  ofType { name kind } } } } } } }"""



async def test_irreversible_steps_ask_the_user_through_elicitation(settings: Any, emulator: Any) -> None:
    from mcp.types import ElicitResult

    asked: list[str] = []

    async def user_says(answer: bool):  # type: ignore[no-untyped-def]
        async def callback(_ctx: Any, params: Any) -> ElicitResult:
            asked.append(params.message)
            return ElicitResult(action="accept", content={"confirm": answer})

        return callback

    async with in_process(settings, elicitation_callback=await user_says(False)) as client:
        message = await error_of(client, "create_model", {"name": "asked_no"})
    assert "did not confirm" in message and "asked_no" in asked[-1]
    assert not [m for m in emulator.state()["models"] if m["name"] == "asked_no"]

    async with in_process(settings, elicitation_callback=await user_says(True)) as client:
        created = await call(client, "create_model", {"name": "asked_yes"})
        message = await error_of(client, "upload_model", {"operation": "assign", "modelId": created["id"],
                                                          "pickleId": "no-such-pickle"})
    assert "asked_yes" in asked[-2] and "Assign pickle no-such-pickle" in asked[-1]
    assert "No pickle with id" in message  # confirmed, then refused by the real checks


async def test_a_model_cannot_confirm_for_its_user_when_the_client_can_ask(settings: Any, emulator: Any) -> None:
    from mcp.types import ElicitResult

    asked: list[str] = []

    async def user_declines(_ctx: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="decline")

    async with in_process(settings, elicitation_callback=user_declines) as client:
        message = await error_of(client, "create_model", {"name": "forced_yes", "confirm": True})
        assert "declined" in message and "nothing was done" in message
        disabled = await error_of(client, "upload_model", {"operation": "assign", "modelId": "m1", "disable": True,
                                                           "confirm": True})
        assert "declined" in disabled
        bad_name = await error_of(client, "create_model", {"name": "bad name!", "confirm": True})
    assert len(asked) == 2 and "forced_yes" in asked[0] and "Stop hosted runs for model m1" in asked[1]
    assert "letters, digits and underscores" in bad_name  # a malformed call is refused without asking the user
    assert not [m for m in emulator.state()["models"] if m["name"] == "forced_yes"]


async def test_without_elicitation_irreversible_steps_need_confirm_true(settings: Any, emulator: Any) -> None:
    async with in_process(settings) as client:
        message = await error_of(client, "create_model", {"name": "unconfirmed"})
        assert "confirm=true" in message and "cannot show the user a confirmation question" in message
        assert "ask the user in the conversation" in message
        message = await error_of(client, "upload_model", {"operation": "assign", "modelId": "m1", "disable": True})
        assert "Disabling stops Numerai from running this model" in message and "confirm=true" in message
    assert not [m for m in emulator.state()["models"] if m["name"] == "unconfirmed"]


async def test_upload_gate_validates_first_refuses_failures_and_ignores_verdicts_for_other_pythons(
    settings: Any, pickle_path: Path, tmp_path: Path, emulator: Any
) -> None:
    async with in_process(settings) as client:
        model_id = (await call(client, "create_model", {"name": "gated", "confirm": True}))["id"]
        on_311 = await call(client, "validate_pickle", {"localPath": str(pickle_path), "pythonVersion": "3.11"})
        assert on_311["passed"] is False and on_311["pythonVersionUsed"] == "3.11"
        # the newest verdict for this file is a failure on 3.11, but the file was built by 3.12: judged there
        uploaded = await call(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                       "localPath": str(pickle_path)})
        assert uploaded["dockerImage"]["pythonVersion"] == "3.12"

        broken = tmp_path / "broken.pkl"
        broken.write_bytes(pickle_path.read_bytes()[:1000])  # truncated: never validated before
        message = await error_of(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                          "localPath": str(broken)})
        assert "Refusing to upload broken.pkl" in message and "skipValidation=true" in message
        forced = await call(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                     "localPath": str(broken), "skipValidation": True,
                                                     "dockerImage": "3.12"})
        assert any("without validation" in w for w in forced["warnings"])
    mine = [p for p in emulator.state()["pickles"] if p["modelId"] == model_id]
    assert len(mine) == 2
