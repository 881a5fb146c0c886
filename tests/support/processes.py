"""Start and stop the real server as a subprocess, keeping its stderr for inspection."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment that cannot pick up the developer's own key or cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMERAI_")}
    env.update(
        NUMERAI_MCP_CREDENTIALS_FILE=str(tmp / "no-credentials"),
        NUMERAI_MCP_CACHE_DIR=extra.pop("NUMERAI_MCP_CACHE_DIR", str(tmp / "cache")),
    )
    env.update(extra)
    return env


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    url: str
    stderr_lines: list[str] = field(default_factory=list)


@contextmanager
def http_server(env: Mapping[str, str], *extra_args: str, timeout: float = 30.0) -> Iterator[RunningServer]:
    """`numerai-mcp serve --http --port 0`, yielding its /mcp URL once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "numerai_mcp", "serve", "--http", "--port", "0", *extra_args],
        env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )
    lines: list[str] = []
    found = threading.Event()
    url_box: list[str] = []

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            match = re.search(r"(http://\S+/mcp)", line)
            if match and not found.is_set():
                url_box.append(match.group(1))
                found.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not found.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"HTTP server did not start (rc={process.poll()}):\n{''.join(lines)}")
    server = RunningServer(process=process, url=url_box[0], stderr_lines=lines)
    try:
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(5)
