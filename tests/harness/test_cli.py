"""`numerai-mcp validate` as a real subprocess: exit codes, JSON contract, human output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMERAI")}
    env.update(NUMERAI_MCP_CACHE_DIR=str(cache), NUMERAI_API_URL="http://127.0.0.1:9")
    return subprocess.run([sys.executable, "-m", "numerai_mcp", "validate", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_json_verdict_for_a_passing_pickle(fixture_pickle: Path, test_cache_dir: Path) -> None:
    done = cli(str(fixture_pickle), "--json", "--python", "3.12", cache=test_cache_dir)
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["passed"] is True
    assert verdict["python_version_detected"] == "3.12" and verdict["python_version_used"] == "3.12"
    assert all({"name", "status", "message"} <= set(c) for c in verdict["checks"])
    assert "provisioning" in done.stderr  # progress on stderr, JSON alone on stdout


@pytest.mark.slow
def test_failing_pickle_exits_1_with_numerais_words(make_pickle, test_cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = make_pickle("import pandas as pd\ndef predict(df):\n    return pd.DataFrame({'prediction': float('nan')}, index=df.index)\n")
    done = cli(str(path), cache=test_cache_dir)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("FAIL (numerai: no NaN): Pickle function returned at least 1 NaN prediction")
    assert "[FAIL] numerai: no NaN" in done.stdout and "Next steps:" in done.stdout
    as_json = json.loads(cli(str(path), "--json", cache=test_cache_dir).stdout)
    nan = next(c for c in as_json["checks"] if c["name"] == "numerai: no NaN")
    assert nan["status"] == "fail" and "Pickle function returned at least 1 NaN prediction" in nan["message"]


def test_bad_arguments_exit_2(tmp_path: Path, fixture_pickle: Path) -> None:
    missing = cli(str(tmp_path / "nope.pkl"), cache=tmp_path)
    assert missing.returncode == 2 and "No file at" in missing.stderr and missing.stdout == ""
    version = cli(str(fixture_pickle), "--python", "2.7", cache=tmp_path)
    assert version.returncode == 2 and "is not a Python version" in version.stderr
    assert "scanning" not in version.stderr
    backend = cli(str(fixture_pickle), "--backend", "podman", cache=tmp_path)
    assert backend.returncode == 2 and "invalid choice" in backend.stderr
    assert not (tmp_path / "verdicts").exists()


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("unshare"), reason="needs util-linux unshare")
def test_refuses_clearly_where_namespaces_are_disabled(fixture_pickle: Path, test_cache_dir: Path) -> None:
    """A real refusal: inside a user namespace whose user.max_user_namespaces is 0, bwrap cannot make its own.
    Without allowUnsafe nothing runs and the reason and the ways out are said; with it, the run is unisolated
    and the verdict says so."""
    disable = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"'
    prefix = ["unshare", "--user", "--map-root-user", "sh", "-c", disable, "sh"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMERAI")}
    env.update(NUMERAI_MCP_CACHE_DIR=str(test_cache_dir), NUMERAI_API_URL="http://127.0.0.1:9")
    base = [*prefix, sys.executable, "-m", "numerai_mcp", "validate", str(fixture_pickle), "--backend", "local"]
    refused = subprocess.run(base, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if "Operation not permitted" in refused.stderr and "unshare" in refused.stderr:
        pytest.skip("this machine does not allow the user namespace the simulation needs")
    assert refused.returncode == 2 and refused.stdout == "", refused.stderr
    assert "Refusing to run an untrusted pickle" in refused.stderr
    assert "user.max_user_namespaces=0" in refused.stderr
    assert "backend='docker'" in refused.stderr and "allowUnsafe=true" in refused.stderr
    assert "provisioning" not in refused.stderr  # refused before anything was prepared
    unsafe = subprocess.run([*base, "--allow-unsafe", "--json"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=600)
    verdict = json.loads(unsafe.stdout)
    isolation = next(c for c in verdict["checks"] if c["name"] == "sandbox: isolation")
    assert verdict["passed"] and isolation["status"] == "warn" and "WITHOUT isolation" in isolation["message"]
