"""The README's main job as most users run it: `numerai-mcp demo` as an ordinary user (uid 65534, not root), with
a client's minimal environment and a HOME that holds what an attacker would want.

The demo walks every tool against the user's own shared sandbox: the bubblewrap sandbox must work unprivileged for
build, validate, the emulator's validation and its diagnostics (the same evaluate sandbox). Nothing in HOME
changes, and no secret of the user's shows in the output.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import unprivileged
from tests.support.secret_watch import WATCH

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bubblewrap sandbox: Linux only"),
              pytest.mark.skipif(os.geteuid() != 0, reason="switching to uid 65534 needs root")]


def test_the_demo_runs_every_step_for_an_ordinary_user(test_cache_dir: Path) -> None:
    area = unprivileged.area(test_cache_dir) / "demo-user"
    area.mkdir(parents=True, exist_ok=True)
    area.chmod(0o755)
    home = area / "home"
    secret = "SECRETMARKER" + secrets.token_hex(12)
    unprivileged.write_home(home, unprivileged.NOBODY, secret)
    user = unprivileged.provision(test_cache_dir, home)
    before = unprivileged.tree_digest(home)
    env = user.env(NUMERAI_MCP_SANDBOX_HOME=str(area / "sandbox"))
    (area / "sandbox").mkdir(exist_ok=True)
    os.chown(area / "sandbox", user.uid, user.uid)

    done = subprocess.run(user.command([str(user.python), "-m", "numerai_mcp", "demo"]), env=env, cwd=home,
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    WATCH.observe("demo as uid 65534", output)
    assert done.returncode == 0, output
    assert "All 13 steps passed" in output and "validationStatus: validated" in output
    assert "Numerai's diagnostics of pickle" in output and "succeeded: CORR mean" in output
    assert ": healthy (" in output  # model_status's verdict on the demo's slot
    assert secret not in output and "PUBLICMARKER" not in output
    assert unprivileged.tree_digest(home) == before  # the user's files: untouched
