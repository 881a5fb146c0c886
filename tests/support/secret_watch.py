"""Watch the whole test session for leaked secrets.

Every key the emulator hands out is registered here; every tool result seen by any MCP
client, every log record of ours and every server stderr captured by a test is kept; at the
end of the session they are all searched for the secrets (conftest's pytest_sessionfinish).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class SecretWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.secrets: set[str] = set()
        self.texts: list[tuple[str, str]] = []  # (where, text)

    def add_secret_from_auth(self, auth: str | None) -> None:
        if auth and "$" in auth:
            self.secrets.add(auth.rsplit("$", 1)[1].strip())

    def observe(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a broken record must not break the watch
            text = str(record.msg)
        self.observe(f"log {record.name}", text + (record.exc_text or ""))

    def observe_tool_result(self, tool: str, result: Any) -> None:
        parts = [getattr(block, "text", "") or "" for block in getattr(result, "content", []) or []]
        if getattr(result, "structured_content", None) is not None:
            parts.append(json.dumps(result.structured_content))
        self.observe(f"tool {tool}", "\n".join(parts))

    def leaks(self, extra_files: Iterable[Path] = ()) -> list[str]:
        found = []
        for where, text in self.texts:
            for secret in self.secrets:
                if secret in text:
                    found.append(f"{where}: …{text[max(0, text.index(secret) - 60):text.index(secret)]}<SECRET>")
        for path in extra_files:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found += [f"file {path}" for s in self.secrets if s.encode() in data]
        return found


WATCH = SecretWatch()


def small_files_we_wrote(root: Path, limit: int = 2_000_000) -> Iterable[Path]:
    """Files under our cache dir worth scanning (not the pinned runtimes' site-packages)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in {"site-packages", "lib", "lib64", "bin", "include", "uv", "interpreters"}]
        for name in filenames:
            path = Path(dirpath, name)
            try:
                if path.stat().st_size <= limit:
                    yield path
            except OSError:
                continue


def install() -> None:
    """Hook the watch into logging and into every MCP client call."""
    from mcp import Client

    logging.getLogger().addHandler(WATCH)
    logging.getLogger("numerai_mcp").setLevel(logging.DEBUG)
    original = Client.call_tool
    if getattr(original, "_watched", False):
        return

    async def call_tool(self: Client, name: str, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, name, *args, **kwargs)
        WATCH.observe_tool_result(name, result)
        return result

    call_tool._watched = True  # type: ignore[attr-defined]
    Client.call_tool = call_tool  # type: ignore[method-assign]
