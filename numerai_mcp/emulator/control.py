"""Start and drive a real emulator process (for tests and the demo).

    with start_emulator(data_dir=tmp, cache_dir=cache) as emu:
        client = NumeraiClient(Settings(api_url=emu.url, credentials=Credentials.parse(emu.auth)))
        emu.set_faults(error_rate=0.3, seed=1)
        emu.state()["pickles"]

The process is `sys.executable -m numerai_mcp sandbox --port 0 …` in its own process group;
the handle reads the two `export` lines it prints, waits for `/_emulator/health`, and on
exit stops it (SIGTERM, then SIGKILL to the whole group) and reaps it. Credentials of the
caller's environment are not passed on to the emulator.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from numerai_mcp.errors import SetupError

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
_URL_LINE = re.compile(r"^export NUMERAI_API_URL=(\S+)$")
_AUTH_LINE = re.compile(r"^export NUMERAI_MCP_AUTH='(Token [^']+)'$")
_SCRUBBED = ("NUMERAI_MCP_AUTH", "NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY", "NUMERAI_API_URL",
             "NUMERAI_MCP_CREDENTIALS_FILE")


class EmulatorError(SetupError):
    """The emulator did not start, died, or its control API refused a request."""


class EmulatorHandle:
    """A running emulator process and its control API."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None) -> None:
        self._args, self._env, self._log_path, self._cwd = args, env, log_path, cwd
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.auth = ""
        self.port = 0

    # -- process control -----------------------------------------------------------------------
    def start(self, port: int = 0) -> None:
        args = [*self._args, "--port", str(port)]
        with open(self._log_path, "a", encoding="utf-8") as log:
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                            env=self._env, text=True, start_new_session=True, cwd=self._cwd)
        try:
            self.url, self.auth = self._read_exports()
            self.port = int(self.url.rsplit(":", 1)[1])
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _read_exports(self) -> tuple[str, str]:
        assert self.process is not None and self.process.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(
            self.process.stdout.readline().strip() for _ in range(2)), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT_S)
        url = next((m.group(1) for line in lines if (m := _URL_LINE.match(line))), None)
        auth = next((m.group(1) for line in lines if (m := _AUTH_LINE.match(line))), None)
        if not url or not auth:
            raise EmulatorError(self._explain("did not print its two export lines"))
        return url, auth

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise EmulatorError(self._explain("exited during start-up"))
            try:
                if httpx.get(f"{self.url}/_emulator/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise EmulatorError(self._explain(f"did not answer /_emulator/health within {START_TIMEOUT_S:.0f} s"))

    def _explain(self, what: str) -> str:
        code = self.process.poll() if self.process else None
        status = f"exit status {code}" if code is not None else "still running"
        try:
            tail = "\n".join(self._log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
        except OSError:
            tail = "(no stderr captured)"
        return f"The emulator {what} ({status}). Its stderr:\n{tail}"

    def stop(self) -> None:
        """Terminate (then kill) the process group and reap it; idempotent."""
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind in its group
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def restart(self) -> None:
        """Stop and start again on the same port with the same state file and data dir."""
        port = self.port
        self.stop()
        self.start(port)

    # -- control API ---------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return control_call(self.url, method, path, body)

    def reset(self) -> str:
        """Fresh demo state, faults off, round open; returns the demo auth."""
        self.auth = self._call("POST", "reset")["auth"]
        return self.auth

    def set_faults(self, error_rate: float = 0, drop_rate: float = 0, latency_ms: float = 0,
                   url_lifetime_s: float | None = None, seed: int | None = None) -> dict[str, Any]:
        return self._call("POST", "faults", {"error_rate": error_rate, "drop_rate": drop_rate,
                                             "latency_ms": latency_ms, "url_lifetime_s": url_lifetime_s,
                                             "seed": seed})

    def add_key(self, scopes: list[str], username: str | None = None) -> str:
        """A new key (and account when `username` is new); returns its `Token …` value."""
        return self._call("POST", "keys", {"scopes": list(scopes), "username": username})["auth"]

    def set_round_open(self, open_: bool) -> dict[str, Any]:
        return self._call("POST", "round", {"open": bool(open_)})

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")


def control_call(url: str, method: str, path: str, body: Mapping[str, Any] | None = None,
                 token: str | None = None) -> dict[str, Any]:
    """One request to the emulator's control API at `url` (see control_api.py); `token` for a locked one."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.request(method, f"{url}/_emulator/{path}", json=body, headers=headers, timeout=30.0,
                                 trust_env=False)
    except httpx.HTTPError as exc:
        raise EmulatorError(f"control API {path} unreachable: {exc}") from None
    if response.status_code != 200:
        raise EmulatorError(f"control API {path} refused ({response.status_code}): {response.text}")
    return response.json()


def emulator_command(*extra_args: str) -> list[str]:
    """`numerai-mcp sandbox …` run by this very interpreter."""
    return [sys.executable, "-m", "numerai_mcp", "sandbox", *extra_args]


def emulator_env(cache_dir: Path | None = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The emulator's environment: ours without any Numerai credential, plus `env`, importing this very package."""
    child_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    child_env.update(env or {})
    if cache_dir is not None:
        child_env["NUMERAI_MCP_CACHE_DIR"] = str(cache_dir)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    # the child must import this very package, installed or not, whatever the caller's cwd
    source_root = str(Path(__file__).resolve().parents[2])
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, child_env.get("PYTHONPATH")) if p)
    return child_env


@contextmanager
def start_emulator(*, port: int = 0, state_file: Path | None = None, data_dir: Path | None = None,
                   cache_dir: Path | None = None, extra_args: Sequence[str] = (),
                   env: Mapping[str, str] | None = None) -> Iterator[EmulatorHandle]:
    """Run `numerai-mcp sandbox` as a subprocess for the duration of the block."""
    work = Path(tempfile.mkdtemp(prefix="numerai-emulator-"))
    child_env = emulator_env(cache_dir, env)
    args = emulator_command("--data-dir", str(data_dir or work / "data"))
    if state_file is not None:
        args += ["--state", str(state_file)]
    args += list(extra_args)
    handle = EmulatorHandle(args, child_env, work / "emulator.log")
    try:
        handle.start(port)
        yield handle
    finally:
        handle.stop()
        shutil.rmtree(work, ignore_errors=True)
