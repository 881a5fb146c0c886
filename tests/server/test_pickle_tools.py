"""validate_pickle and build_pickle through the MCP server: structured verdicts, progress, input checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.mcp_helpers import call, copy_pickle, error_of, fast_settings, in_process

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def settings(emulator: Any, test_cache_dir: Path):  # type: ignore[no-untyped-def]
    return fast_settings(emulator.url, emulator.auth, test_cache_dir)


def _bundle(tmp_path: Path) -> Path:
    import numpy as np

    from numerai_mcp.bundle import export

    rng = np.random.default_rng(3)
    # names the emulator's live data carries, as a model trained on Numerai's data would use
    listing = (Path(__file__).parents[2] / "numerai_mcp" / "emulator" / "feature_names.txt").read_text()
    features = [line.strip() for line in listing.splitlines() if line.startswith("feature_")][:6]
    return export({"coef": rng.normal(size=6), "intercept": 0.1}, features, tmp_path / "tool.bundle.npz")


async def test_validate_pickle_reports_a_pass_with_progress(settings: Any, fixture_pickle: Path, tmp_path: Path) -> None:
    seen: list[str] = []

    async def on_progress(_done: float, _total: float | None, message: str | None) -> None:
        seen.append(message or "")

    pickle_path = copy_pickle(fixture_pickle, tmp_path)
    async with in_process(settings) as client:
        verdict = await call(client, "validate_pickle", {"localPath": str(pickle_path)}, progress_callback=on_progress)
    assert verdict["passed"] is True and verdict["pythonVersionDetected"] == "3.12" and verdict["pythonVersionUsed"] == "3.12"
    assert all(c["status"] != "fail" for c in verdict["checks"]) and "upload_model" in verdict["nextStep"]
    assert any("scanning" in m for m in seen) and len(seen) >= 3


async def test_validate_pickle_explains_a_failure_with_numerais_words_and_a_fix(settings: Any, fixture_pickle: Path,
                                                                              tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(fixture_pickle.read_bytes()[:4096])
    async with in_process(settings) as client:
        verdict = await call(client, "validate_pickle", {"localPath": str(truncated), "pythonVersion": "3.12"})
        message = await error_of(client, "validate_pickle", {"localPath": str(truncated), "pythonVersion": "2.7"})
    failed = [c for c in verdict["checks"] if c["status"] == "fail"]
    assert verdict["passed"] is False and failed and verdict["fixes"]
    assert any("truncated" in c["message"] for c in failed)
    assert "Do not upload" in verdict["nextStep"]
    assert "2.7" in message


async def test_build_pickle_writes_a_validated_pickle_and_refuses_to_overwrite(settings: Any, tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    output = tmp_path / "built.pkl"
    progress: list[str] = []

    async def on_progress(_done: float, _total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with in_process(settings) as client:
        built = await call(client, "build_pickle", {"bundlePath": str(bundle), "outputPath": str(output)},
                           progress_callback=on_progress)
        again = await error_of(client, "build_pickle", {"bundlePath": str(bundle), "outputPath": str(output)})
        missing = await error_of(client, "build_pickle", {"bundlePath": str(tmp_path / "nope.npz"),
                                                          "outputPath": str(tmp_path / "x.pkl")})
        not_a_bundle = await error_of(client, "build_pickle", {"bundlePath": str(output),
                                                               "outputPath": str(tmp_path / "y.pkl")})
    assert output.stat().st_size == built["size"] and built["pythonVersion"] == "3.12"
    assert built["verdict"]["passed"] is True and "upload_model" in built["nextStep"], built["verdict"]["summary"]
    assert progress and "overwrite=true" in again and "does not exist" in missing
    assert "bundle" in not_a_bundle.lower() and not (tmp_path / "y.pkl").exists()
