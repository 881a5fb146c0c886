"""What an agent sees first: resources and the deploy_model prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from numerai_mcp.config import Settings
from numerai_mcp.server.app import build_server

pytestmark = pytest.mark.anyio


async def test_resources_describe_runtimes_checklist_and_statuses(tmp_path: Path) -> None:
    async with Client(build_server(Settings(cache_dir=tmp_path))) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert uris == {"numerai://runtimes", "numerai://checklist", "numerai://statuses", "numerai://features",
                        "numerai://slots"}
        runtimes = json.loads((await client.read_resource("numerai://runtimes")).contents[0].text)
        statuses = (await client.read_resource("numerai://statuses")).contents[0].text
        checklist = (await client.read_resource("numerai://checklist")).contents[0].text
    by_python = {r["python"]: r for r in runtimes["runtimes"]}
    assert set(by_python) == {"3.10", "3.11", "3.12", "3.13"}
    assert runtimes["default_python"] == "3.12" and by_python["3.12"]["default"]
    assert by_python["3.10"]["key_pins"]["numpy"] == "1.26.4" and by_python["3.13"]["key_pins"]["numpy"] == "2.2.6"
    for text in ("Segmentation fault! Ensure python and library versions match our environment.",
                 "No currently open rounds!", "Insufficient permission for", "validated"):
        assert text in statuses
    assert "validate_pickle" in checklist and "same Python minor version" in checklist


async def test_deploy_prompt_walks_the_whole_workflow_in_order(tmp_path: Path) -> None:
    async with Client(build_server(Settings(cache_dir=tmp_path))) as client:
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert "deploy_model" in prompts
        text = (await client.get_prompt("deploy_model", {"modelName": "alpha", "bundlePath": "/b"})).messages[0].content.text
    steps = ["check_api_credentials", "create_model", "build_pickle", "operation='upload'", "wait=true",
             "ask me to confirm", "operation='assign'", "operation='trigger'", "last lines of its logs"]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions) and "'alpha'" in text and "/b" in text


async def test_feature_sets_of_the_current_data_version_come_from_features_json(emulator: object, tmp_path: Path) -> None:
    from numerai_mcp.api.credentials import Credentials
    from numerai_mcp.emulator.datasets import feature_names

    settings = Settings(api_url=emulator.url, credentials=Credentials.parse(emulator.auth),  # type: ignore[attr-defined]
                        cache_dir=tmp_path)
    async with Client(build_server(settings)) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        first = json.loads((await client.read_resource("numerai://features")).contents[0].text)
        again = json.loads((await client.read_resource("numerai://features")).contents[0].text)
        every = json.loads((await client.read_resource("numerai://features/all")).contents[0].text)
        with pytest.raises(Exception, match="No feature set 'tiny'"):
            await client.read_resource("numerai://features/tiny")
    assert "numerai://features/{feature_set}" in templates
    served = feature_names()
    assert first["data_version"] == "v5.2" and first["feature_sets"]["all"] == len(served)
    assert first["small"] == served[: len(served) // 3] and first["targets"]
    assert first["source"].startswith("downloaded from") and again["source"] == "cached"
    assert every["features"] == served and every["count"] == len(served)


async def test_the_slots_resource_says_why_it_cannot_read_the_account(tmp_path: Path) -> None:
    from numerai_mcp.api.credentials import Credentials

    lent = Settings(cache_dir=tmp_path, allow_server_key=True, api_url="http://127.0.0.1:9")
    kept = Settings(cache_dir=tmp_path, credentials=Credentials.parse("Token " + "A" * 32 + "$" + "s" * 40))
    async with Client(build_server(lent)) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        with pytest.raises(Exception, match="API keys required"):
            await client.read_resource("numerai://slots")
    async with Client(build_server(kept)) as client:
        with pytest.raises(Exception, match="does not lend its Numerai key to resource reads: call the model_status"):
            await client.read_resource("numerai://slots/any")
    assert "numerai://slots/{model}" in templates
