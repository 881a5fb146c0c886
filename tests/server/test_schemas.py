"""Tool contracts change only on purpose: every tool's schema is compared with a checked-in snapshot.

Regenerate after an intended change with `UPDATE_SNAPSHOTS=1 python -m pytest tests/server/test_schemas.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from numerai_mcp.config import Settings
from numerai_mcp.server.app import build_server

pytestmark = pytest.mark.anyio
SNAPSHOT = Path(__file__).parent / "snapshots" / "tools.json"


async def _tools(tmp_path: Path) -> list[Any]:
    async with Client(build_server(Settings(cache_dir=tmp_path))) as client:
        return (await client.list_tools()).tools


async def test_tool_schemas_match_the_snapshot(tmp_path: Path) -> None:
    current = {
        tool.name: {
            "title": tool.title,
            "description": tool.description,
            "annotations": tool.annotations.model_dump(mode="json", by_alias=True, exclude_none=True),
            "inputSchema": tool.input_schema,
            "outputSchema": tool.output_schema,
        }
        for tool in await _tools(tmp_path)
    }
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        if not os.environ.get("UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {SNAPSHOT} was missing and has been written; review and commit it")
    assert current == json.loads(SNAPSHOT.read_text()), "tool schemas changed: review, then UPDATE_SNAPSHOTS=1"


async def test_every_tool_sets_all_four_annotations_and_routes_the_model(tmp_path: Path) -> None:
    for tool in await _tools(tmp_path):
        hints = tool.annotations
        assert None not in (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint), tool.name
        assert tool.title and tool.output_schema, tool.name
        assert "Next" in tool.description or "next" in tool.description or "then" in tool.description, tool.name


async def test_secrets_are_never_tool_arguments(tmp_path: Path) -> None:
    for tool in await _tools(tmp_path):
        names = {n.lower() for n in tool.input_schema.get("properties", {})}
        assert not names & {"apitoken", "token", "secret", "secretkey", "auth", "authorization", "password"}, tool.name
