"""The real MCP Inspector CLI against `serve --sandbox`: one `node` + one server process per call, a minimal
environment, the server ended however the Inspector ends it; the shared emulator carries the slot, the
presigned URL and the upload from one call to the next."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.mcp_helpers import copy_pickle
from tests.support.secret_watch import WATCH
from tests.support.shared_sandbox import emulator_processes, sandbox_home  # noqa: F401 - fixture

pytestmark = pytest.mark.slow

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"  # declares Node >= 22.19; its --cli works on Node 20


@pytest.fixture(scope="session")
def inspector(test_cache_dir: Path) -> Path:
    """The Inspector's launcher, installed from npm once into the test cache."""
    prefix = test_cache_dir / "mcp-inspector"
    launcher = prefix / "node_modules" / ".bin" / "mcp-inspector"
    stamp = prefix / "installed.txt"
    if stamp.is_file() and stamp.read_text() == INSPECTOR and launcher.exists():
        return launcher
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the MCP Inspector CLI needs it")
    with tempfile.TemporaryDirectory() as npm_cache:
        done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--cache", npm_cache,
                               INSPECTOR], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"npm could not install the MCP Inspector: {done.stderr[-800:]}")
    stamp.write_text(INSPECTOR)
    return launcher


def _inspect(launcher: Path, env: dict[str, str], tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    argv = [str(launcher), "--cli", sys.executable, "-m", "numerai_mcp", "serve", "--sandbox"]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    argv += ["--method", "tools/call", "--tool-name", tool, "--tool-args-json", json.dumps(arguments), "--format",
             "json", "-q"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": env["HOME"]})
    WATCH.observe(f"inspector {tool}", done.stdout + done.stderr)
    try:
        result = json.loads(done.stdout)["result"]
    except (ValueError, KeyError):
        raise AssertionError(f"{tool}: no result from the Inspector (exit {done.returncode}):\n"
                             f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}") from None
    assert not result.get("isError"), f"{tool} failed: {result.get('content')}"
    return result["structuredContent"]


def test_the_inspector_walks_the_upload_across_server_processes(inspector: Path, tmp_path: Path, sandbox_home: Path,
                                                               test_cache_dir: Path, fixture_pickle: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "NUMERAI_MCP_CACHE_DIR": str(test_cache_dir), "NUMERAI_MCP_SANDBOX_HOME": str(sandbox_home)}
    pickle_path = copy_pickle(fixture_pickle, tmp_path, "inspected.pkl")

    first = _inspect(inspector, env, "check_api_credentials", {})
    model_id = _inspect(inspector, env, "create_model", {"name": "inspected", "confirm": True})["id"]
    auth = _inspect(inspector, env, "upload_model", {"operation": "get_upload_auth", "modelId": model_id,
                                                     "filename": "model.pkl"})["uploadAuth"]
    put = _inspect(inspector, env, "upload_model", {"operation": "put_file", "presignedUrl": auth["url"],
                                                    "localPath": str(pickle_path), "skipValidation": True})
    created = _inspect(inspector, env, "upload_model", {"operation": "create", "modelId": model_id,
                                                        "filename": auth["filename"], "localPath": str(pickle_path)})
    last = _inspect(inspector, env, "check_api_credentials", {})

    assert first["apiUrl"] == last["apiUrl"] == auth["url"].split("/_store/")[0]
    assert put["put"]["size"] == pickle_path.stat().st_size
    assert created["pickle"]["modelId"] == model_id and created["dockerImage"]["pythonVersion"] == "3.12"
    assert len(emulator_processes(sandbox_home.resolve())) == 1
