"""The real server process over real stdio and real Streamable HTTP, against the real emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.support.mcp_helpers import call, copy_pickle, error_of
from tests.support.processes import http_server, isolated_env
from tests.support.secret_watch import WATCH

pytestmark = pytest.mark.anyio

EXPECTED_TOOLS = {"check_api_credentials", "create_model", "upload_model", "graphql_query"}


async def test_stdio_subprocess_lists_tools_and_uploads(
    emulator: Any, tmp_path: Path, fixture_pickle: Path, test_cache_dir: Path
) -> None:
    env = isolated_env(tmp_path, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth,
                       NUMERAI_MCP_CACHE_DIR=str(test_cache_dir))
    params = StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve"], env=env)
    pickle_path = copy_pickle(fixture_pickle, tmp_path)
    errlog = (tmp_path / "server.stderr").open("w+")
    async with Client(stdio_client(params, errlog=errlog)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert EXPECTED_TOOLS <= names
        report = await call(client, "check_api_credentials", {})
        assert report["authenticated"] and report["accountUsername"] == "demo"
        model_id = (await call(client, "create_model", {"name": "stdio_model", "confirm": True}))["id"]
        uploaded = await call(client, "upload_model", {"operation": "upload", "modelId": model_id,
                                                       "localPath": str(pickle_path)})
        assert uploaded["pickle"]["filename"].endswith(".pkl")
    errlog.seek(0)
    log_text = errlog.read()
    WATCH.observe("stdio server stderr", log_text)
    secret = emulator.auth.split("$", 1)[1]
    assert secret not in log_text


async def test_http_uses_each_requests_own_authorization_header_and_keeps_nothing(emulator: Any, tmp_path: Path) -> None:
    env = isolated_env(tmp_path, NUMERAI_API_URL=emulator.url)
    with http_server(env) as server:
        async with httpx2.AsyncClient(headers={"Authorization": emulator.auth}) as http:
            async with Client(streamable_http_client(server.url, http_client=http)) as client:
                assert EXPECTED_TOOLS <= {t.name for t in (await client.list_tools()).tools}
                report = await call(client, "check_api_credentials", {})
                assert report["authenticated"] and report["credentialsSource"] == "this request's Authorization header"
        async with Client(server.url) as anonymous:  # same server, no header: the earlier key was not kept
            report = await call(anonymous, "check_api_credentials", {})
            assert report["authenticated"] is False and report["credentialsSource"] == "none"
            message = await error_of(anonymous, "upload_model", {"operation": "list_docker_images"})
            assert "no 'Authorization: Token PUBLIC_ID$SECRET_KEY' header" in message
    WATCH.observe("http server stderr", "".join(server.stderr_lines))
    secret = emulator.auth.split("$", 1)[1]
    assert secret not in "".join(server.stderr_lines)


async def test_http_keeps_host_and_origin_protection(tmp_path: Path) -> None:
    with http_server(isolated_env(tmp_path)) as server:
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        async with httpx.AsyncClient() as http:
            foreign_host = await http.post(server.url, json=body, headers={**headers, "Host": "evil.example.com"})
            foreign_origin = await http.post(server.url, json=body, headers={**headers, "Origin": "http://evil.example.com"})
            health = await http.get(server.url.removesuffix("/mcp") + "/health")
    assert foreign_host.status_code == 421
    assert foreign_origin.status_code == 403
    assert health.json()["status"] == "ok"


_INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.mark.parametrize("host", ["127.0.0.2", "::1", "0:0:0:0:0:0:0:1"])
async def test_http_protects_every_loopback_bind_address_against_dns_rebinding(tmp_path: Path, host: str) -> None:
    with http_server(isolated_env(tmp_path), "--host", host) as server:
        async with httpx.AsyncClient() as http:
            foreign_host = await http.post(server.url, json=_INITIALIZE, headers={**_HEADERS, "Host": "evil.example.com"})
            foreign_origin = await http.post(server.url, json=_INITIALIZE,
                                             headers={**_HEADERS, "Origin": "http://evil.example.com"})
            own = await http.post(server.url, json=_INITIALIZE, headers=_HEADERS)
    assert (foreign_host.status_code, foreign_origin.status_code, own.status_code) == (421, 403, 200)


async def test_http_lends_the_servers_own_key_only_when_the_operator_says_so(emulator: Any, tmp_path: Path) -> None:
    env = isolated_env(tmp_path, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth)
    with http_server(env) as server:
        async with Client(server.url) as anonymous:
            report = await call(anonymous, "check_api_credentials", {})
            assert report["authenticated"] is False and report["credentialsSource"] == "none"
            assert "--allow-server-key" in report["nextStep"]
            for tool, args in (("upload_model", {"operation": "list"}), ("graphql_query", {"query": "{ account { username } }"}),
                               ("create_model", {"name": "lent", "confirm": True})):
                assert "--allow-server-key" in await error_of(anonymous, tool, args)
    with http_server(env, "--allow-server-key") as lending:
        async with Client(lending.url) as anonymous:
            report = await call(anonymous, "check_api_credentials", {})
            assert report["authenticated"] and report["credentialsSource"] == "server configuration"
    assert not [m for m in emulator.state()["models"] if m["name"] == "lent"]


async def test_a_malformed_key_leaves_validation_working_and_is_reported_by_the_api_tools(
        tmp_path: Path, fixture_pickle: Path, test_cache_dir: Path) -> None:
    secret = "MALFORMEDSECRET0123456789"
    env = isolated_env(tmp_path, NUMERAI_MCP_AUTH=f"Token {secret}", NUMERAI_API_URL="http://127.0.0.1:9",
                       NUMERAI_MCP_CACHE_DIR=str(test_cache_dir))
    params = StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve"], env=env)
    errlog = (tmp_path / "server.stderr").open("w+")
    async with Client(stdio_client(params, errlog=errlog)) as client:
        verdict = await call(client, "validate_pickle", {"localPath": str(copy_pickle(fixture_pickle, tmp_path))})
        report = await call(client, "check_api_credentials", {})
        refused = await error_of(client, "upload_model", {"operation": "list"})
    assert verdict["passed"], verdict["summary"]
    assert "PUBLIC_ID$SECRET_KEY" in report["problem"] and "PUBLIC_ID$SECRET_KEY" in refused
    cli = subprocess.run([sys.executable, "-m", "numerai_mcp", "validate", str(fixture_pickle)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    errlog.seek(0)
    everything = errlog.read() + cli.stdout + cli.stderr + str(report) + refused
    assert secret not in everything


def test_http_refuses_a_non_loopback_bind_without_explicit_opt_in(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    refused = subprocess.run([sys.executable, "-m", "numerai_mcp", "serve", "--http", "--host", "0.0.0.0"],
                             env=env, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "--allow-remote" in refused.stderr
    no_roots = subprocess.run([sys.executable, "-m", "numerai_mcp", "serve", "--http", "--host", "0.0.0.0",
                               "--allow-remote"], env=env, capture_output=True, text=True, timeout=30)
    assert no_roots.returncode != 0 and "--allowed-root" in no_roots.stderr
