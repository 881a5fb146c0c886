"""evaluate_pickle through a real stdio server and `numerai-mcp evaluate` from the command line, against the emulator:
its synthetic validation files are downloaded through `dataset` (once, resumably), the pickle runs era by era in the
sandbox, and the plots come back as MCP image content."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.datasets import download_dataset, validation_files
from numerai_mcp.api.errors import FlowError
from tests.support.mcp_helpers import fast_settings
from tests.support.per_call import minimal_env
from tests.support.pickles import build_pickle
from tests.support.secret_watch import WATCH

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SIGNAL = """
import pandas as pd
def predict(live_features, live_benchmark_models):
    f = [c for c in live_features.columns if c.startswith("feature_")]
    score = live_features[f[0]] + 0.7 * live_features[f[1]] - 0.5 * live_features[f[2]]
    return pd.DataFrame({"prediction": score.rank(pct=True)}, index=live_features.index)
"""


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture
def signal_pickle(tmp_path: Path, test_cache_dir: Path) -> Path:
    return build_pickle("3.12", SIGNAL, tmp_path / "signal.pkl", cache_dir=test_cache_dir)


async def test_a_stdio_client_gets_the_numbers_and_the_plots_as_images(emulator: Any, signal_pickle: Path,
                                                                       tmp_path: Path, private_cache: Path) -> None:
    """A cache of its own (the pinned runtimes shared): the first call downloads, whatever an earlier session's
    emulator on the same port left in the session cache."""
    home = tmp_path / "home"
    home.mkdir()
    env = minimal_env(home, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_AUTH=emulator.auth,
                      NUMERAI_MCP_CACHE_DIR=str(private_cache))
    params = StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve"], env=env)
    progress: list[str] = []

    async def on_progress(_done: float, _total: float | None, message: str | None) -> None:
        progress.append(message or "")

    errlog = (tmp_path / "server.stderr").open("w+")
    async with Client(stdio_client(params, errlog=errlog)) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "evaluate_pickle")
        result = await client.call_tool("evaluate_pickle", {"localPath": str(signal_pickle), "eras": 6,
                                                            "plotDir": str(tmp_path / "plots")},
                                        progress_callback=on_progress)
        again = await client.call_tool("evaluate_pickle", {"localPath": str(signal_pickle), "eras": 6,
                                                           "includePlots": False})
        bad = await client.call_tool("evaluate_pickle", {"localPath": str(signal_pickle), "eras": ["0999"]})
    assert tool.output_schema is not None and "validationCorrMean" in tool.output_schema["properties"]
    assert tool.annotations.destructive_hint is False and tool.annotations.open_world_hint is True
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["passed"] and data["synthetic"] and data["eraCount"] == 6 and data["dataVersion"] == "v5.2"
    assert data["dataSource"].startswith("Numerai v5.2/validation.parquet (downloaded from")
    assert data["validationCorrMean"] > 0.05 and len(data["perEra"]) == 6 and "synthetic" in data["nextStep"]
    assert [Path(p).parent for p in data["plots"].values()] == [tmp_path / "plots"] * 2
    images = [block for block in result.content if block.type == "image"]
    assert len(images) == 2 and all(block.mime_type == "image/png" for block in images)
    for block in images:
        assert png_size(base64.b64decode(block.data)) == (1000, 450)
    assert result.content[0].type == "text" and "SYNTHETIC" in result.content[0].text
    assert any("predicted era 6 of 6" in m for m in progress) and any("numerai-tools" in m for m in progress)
    # the second call reads the cached files and the remembered evaluation; no images when not asked for
    assert not again.is_error and again.structured_content["cached"] is True
    assert "validation.parquet (cached)" in again.structured_content["dataSource"]
    assert [block.type for block in again.content] == ["text"]
    assert bad.is_error and "'0999' is not in the validation data" in bad.content[0].text
    errlog.seek(0)
    WATCH.observe("stdio server stderr", errlog.read())


def test_the_command_line_prints_json_and_writes_the_plots(emulator: Any, signal_pickle: Path, tmp_path: Path,
                                                           test_cache_dir: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = minimal_env(home, NUMERAI_API_URL=emulator.url, NUMERAI_MCP_CACHE_DIR=str(test_cache_dir))
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "evaluate", str(signal_pickle), "--eras", "0580-0583",
                           "--json", "--plot", str(tmp_path / "plots"), "--no-cache"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    evaluation = json.loads(done.stdout)
    assert [row["era"] for row in evaluation["per_era"]] == ["0580", "0581", "0582", "0583"]
    assert evaluation["synthetic"] and evaluation["validation_corr_mean"] > 0.03
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["corr_cumulative.png", "corr_per_era.png"]
    assert "predicted era 4 of 4" in done.stderr
    text = subprocess.run([sys.executable, "-m", "numerai_mcp", "evaluate", str(signal_pickle), "--eras", "3"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert text.returncode == 0 and "CORR mean" in text.stdout and "synthetic data" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "numerai_mcp", "evaluate", str(signal_pickle), "--data-version",
                          "v9.9"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "lists no v9.9/validation.parquet" in bad.stderr and "v5.2" in bad.stderr


async def test_validation_downloads_resume_and_are_cached(emulator: Any, tmp_path: Path) -> None:
    settings = fast_settings(emulator.url, None, tmp_path / "cache")
    async with NumeraiClient(settings, use_settings_credentials=False) as client:
        whole = await download_dataset(client, "v5.2/validation.parquet", tmp_path / "whole.parquet",
                                       max_bytes=1 << 30)
        content = whole.read_bytes()
        # a download that broke half-way left a .part file: only the rest is asked for (Range)
        target = tmp_path / "resumed.parquet"
        half = len(content) // 2
        target.with_name(".resumed.parquet.part").write_bytes(b"\0" * half)  # marks which bytes were kept
        seen: list[tuple[float, float | None]] = []

        async def progress(done: float, total: float | None, _message: str) -> None:
            seen.append((done, total))

        await download_dataset(client, "v5.2/validation.parquet", target, max_bytes=1 << 30, progress=progress,
                               resume=True)
        resumed = target.read_bytes()
        assert resumed[:half] == b"\0" * half and resumed[half:] == content[half:] and seen[-1] == (len(content),) * 2
        first = await validation_files(client, tmp_path / "cache")
        second = await validation_files(client, tmp_path / "cache", "v5.2")
        with pytest.raises(FlowError, match="lists no v4.3/validation.parquet"):
            await validation_files(client, tmp_path / "cache", "v4.3")
    assert first.data_version == "v5.2" and first.validation.read_bytes() == content
    assert first.source.startswith("Numerai v5.2/validation.parquet (downloaded from") and second.source.endswith("(cached)")
    assert first.benchmarks is not None and first.benchmarks.name == "validation_benchmark_models.parquet"
    assert not list(first.validation.parent.glob("*.part"))
