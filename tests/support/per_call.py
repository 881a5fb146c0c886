"""MCP clients that start a new server process for every call, as many agents' clients do.

- `InspectorClient`: the real MCP Inspector CLI (`@modelcontextprotocol/inspector --cli`, installed from npm into
  the test cache once), one `node` + one `numerai-mcp serve` process per call, the environment passed with `-e`.
- `StdioPerCallClient`: the official Python SDK's stdio client, a new `Client(StdioServerParameters(...))` per call.
Both hand the server only a minimal environment, as a client does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.support.secret_watch import WATCH

INSPECTOR_PACKAGE = "@modelcontextprotocol/inspector@2.12.0"
SERVER = (sys.executable, "-m", "numerai_mcp", "serve")


@dataclass
class CallResult:
    is_error: bool
    data: dict[str, Any]  # the structured content, or {} for an error
    text: str  # what the model reads


def install_inspector(cache_dir: Path) -> Path:
    """The Inspector CLI's launcher, installed once into the test cache (skips the test when npm is missing)."""
    prefix = cache_dir / "mcp-inspector"
    launcher = prefix / "node_modules" / ".bin" / "mcp-inspector"
    stamp = prefix / "installed.txt"
    if stamp.is_file() and stamp.read_text() == INSPECTOR_PACKAGE and launcher.exists():
        return launcher
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the MCP Inspector CLI needs it")
    with tempfile.TemporaryDirectory() as npm_cache:
        done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--cache", npm_cache,
                               INSPECTOR_PACKAGE], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"npm could not install the MCP Inspector: {done.stderr[-800:]}")
    stamp.write_text(INSPECTOR_PACKAGE)
    return launcher


def minimal_env(home: Path, **extra: str) -> dict[str, str]:
    """What a client passes a server it starts: little more than HOME and PATH, plus the entry's own variables."""
    env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "NUMERAI_MCP_CREDENTIALS_FILE": str(home / "no-credentials")}
    env.update(extra)
    return env


def _text_of(content: Sequence[Any]) -> str:
    return "\n".join(str(block.get("text", "")) if isinstance(block, dict) else str(getattr(block, "text", ""))
                     for block in content)


@dataclass
class InspectorClient:
    launcher: Path
    env: Mapping[str, str]
    server_args: Sequence[str] = ()
    calls: list[str] = field(default_factory=list)

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallResult:
        return await anyio.to_thread.run_sync(self._call, tool, arguments)

    def _call(self, tool: str, arguments: dict[str, Any]) -> CallResult:
        argv = [str(self.launcher), "--cli", *SERVER, *self.server_args]
        for key, value in self.env.items():
            argv += ["-e", f"{key}={value}"]
        argv += ["--method", "tools/call", "--tool-name", tool, "--tool-args-json", json.dumps(arguments),
                 "--format", "json", "-q"]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.env["HOME"]}
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)
        self.calls.append(tool)
        try:
            payload = json.loads(done.stdout)
        except ValueError:
            raise AssertionError(f"the Inspector printed no JSON (exit {done.returncode}):\n{done.stdout[-2000:]}\n"
                                 f"{done.stderr[-3000:]}") from None
        if "error" in payload:
            raise AssertionError(f"protocol error from {tool}: {payload['error']}")
        result = payload["result"]
        text = _text_of(result.get("content") or [])
        WATCH.observe(f"inspector {tool}", text + json.dumps(result.get("structuredContent")))
        return CallResult(bool(result.get("isError")), result.get("structuredContent") or {}, text)


@dataclass
class StdioPerCallClient:
    env: Mapping[str, str]
    server_args: Sequence[str] = ()
    errlog: Path | None = None
    calls: list[str] = field(default_factory=list)

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallResult:
        params = StdioServerParameters(command=SERVER[0], args=[*SERVER[1:], *self.server_args], env=dict(self.env))
        log = (self.errlog or Path(os.devnull)).open("a")
        try:
            async with Client(stdio_client(params, errlog=log)) as client:
                result = await client.call_tool(tool, arguments)
        finally:
            log.close()
        self.calls.append(tool)
        return CallResult(bool(result.is_error), result.structured_content or {}, _text_of(result.content))


@dataclass
class SessionClient:
    """One long-lived session (for comparison with the per-call clients)."""

    client: Client
    calls: list[str] = field(default_factory=list)

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallResult:
        result = await self.client.call_tool(tool, arguments)
        self.calls.append(tool)
        return CallResult(bool(result.is_error), result.structured_content or {}, _text_of(result.content))
