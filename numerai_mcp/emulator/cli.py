"""`numerai-mcp sandbox`: run the local Numerai API emulator.

Prints exactly two lines to stdout, first and flushed, so `eval "$(numerai-mcp sandbox …)"`
style use works:
    export NUMERAI_API_URL=http://127.0.0.1:PORT
    export NUMERAI_MCP_AUTH='Token PUBLIC$SECRET'
(the demo account's key; with --port 0 the port actually bound). Everything else goes to
stderr. Serves until SIGINT/SIGTERM (or, with --idle-timeout, until it has been idle that long).

`--shared DIR` runs it as the user's shared sandbox (what `serve --sandbox`, `demo` and
`doctor --sandbox` start on demand, see emulator/shared.py): state, data, address record and
locks live in DIR. `--status` and `--stop` report on and stop that shared emulator.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from numerai_mcp.emulator.settings import (
    DEFAULT_URL_LIFETIME_S,
    DEFAULT_VALIDATION_TIMEOUT_S,
    S3_MAX_OBJECT_SIZE,
    EmulatorSettings,
)
from numerai_mcp.netutil import bind_tcp, is_loopback

if TYPE_CHECKING:
    from numerai_mcp.emulator.home import SandboxHome

log = logging.getLogger("numerai_mcp.emulator")


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _idle_seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0: never), got {text}")
    return value


def _python(text: str) -> tuple[str, Path]:
    version, sep, path = text.partition("=")
    if not sep or not version.startswith("3.") or not path:
        raise argparse.ArgumentTypeError(f"expected 3.X=/path/to/python, got {text!r}")
    return version.strip(), Path(path).expanduser()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="numerai-mcp sandbox", description="Run a local emulator of Numerai's "
                                "tournament API (no account, no network).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (loopback unless --allow-remote)")
    p.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    p.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    p.add_argument("--state", type=Path, help="persist the state to this JSON file and reload it at start")
    p.add_argument("--data-dir", type=Path, help="stored uploads and datasets (default: next to --state, "
                   "else a temp dir removed at exit)")
    p.add_argument("--cache-dir", type=Path, help="cache for validation runtimes (default: NUMERAI_MCP_CACHE_DIR)")
    p.add_argument("--error-rate", type=_rate, default=0.0, help="share of GraphQL/store requests answered 5xx")
    p.add_argument("--drop-rate", type=_rate, default=0.0, help="share of GraphQL/store connections cut mid-response")
    p.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every GraphQL/store request")
    p.add_argument("--url-lifetime", type=_positive, default=DEFAULT_URL_LIFETIME_S,
                   help="presigned URL lifetime in seconds (default 900)")
    p.add_argument("--seed", type=int, help="seed for fault injection, for reproducible runs")
    p.add_argument("--max-object-size", type=int, default=S3_MAX_OBJECT_SIZE,
                   help="largest accepted PUT in bytes (default 5 GiB, as S3)")
    p.add_argument("--validation-timeout", type=_positive, default=DEFAULT_VALIDATION_TIMEOUT_S,
                   help="seconds a validation or run may take (default 600, Numerai's limit)")
    p.add_argument("--validation-workers", type=int, default=2, help="validations run at the same time")
    p.add_argument("--validator", choices=("auto", "harness", "minimal"), default="auto",
                   help="how uploads are validated: the full harness, the minimal built-in runner, or auto "
                   "(the harness when installed)")
    p.add_argument("--no-diagnostics", action="store_true",
                   help="do not score validated pickles on the synthetic validation set (their diagnostics then "
                   "succeed without numbers); scoring takes a few seconds of CPU per upload")
    p.add_argument("--python", type=_python, action="append", default=[], metavar="3.X=PATH",
                   help="interpreter (e.g. a venv with Numerai's pins) to validate 3.X pickles with; repeatable")
    p.add_argument("--idle-timeout", type=_idle_seconds, metavar="SECONDS",
                   help="exit after this long with no API request and no validation running (default: never; "
                   "the shared sandbox uses 1800)")
    shared = p.add_argument_group("the shared sandbox (the one `serve --sandbox` attaches to)")
    shared.add_argument("--shared", type=Path, metavar="DIR",
                        help="run as the shared sandbox whose state, address and locks live in DIR "
                        "(normally started on demand by `serve --sandbox`)")
    what = shared.add_mutually_exclusive_group()
    what.add_argument("--status", action="store_true",
                      help="say whether the shared sandbox runs, where, and which server processes use it")
    what.add_argument("--stop", action="store_true",
                      help="stop the shared sandbox when no server process uses it (its state stays on disk)")
    return p


def _bind(host: str, port: int) -> socket.socket:
    sock = bind_tcp(host, port)
    sock.set_inheritable(True)
    return sock


def _public_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


class _DropNoise(logging.Filter):
    """Injected connection drops make uvicorn log an error each time; they are on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(list(argv))
    if args.status or args.stop:
        return _manage(args)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.error").addFilter(_DropNoise())
    from numerai_mcp.redact import install_log_redaction

    install_log_redaction()
    if not is_loopback(args.host) and not args.allow_remote:
        print(f"numerai-mcp sandbox: refusing to bind {args.host}: the emulator has no real security. "
              "Use 127.0.0.1, or pass --allow-remote if you really mean it.", file=sys.stderr)
        return 2
    temp_dir = home = None
    if args.shared is not None:
        if args.state is not None or args.data_dir is not None:
            print("numerai-mcp sandbox: --shared DIR keeps its state and data in DIR; drop --state/--data-dir.",
                  file=sys.stderr)
            return 2
        from numerai_mcp.emulator.home import SandboxHome

        home = SandboxHome(args.shared.expanduser().resolve()).ensure()
        args.state, args.data_dir = home.state_file, home.data_dir
    data_dir = args.data_dir
    if data_dir is None and args.state is not None:
        data_dir = args.state.with_name(args.state.name + ".data")
    if data_dir is None:
        temp_dir = data_dir = Path(tempfile.mkdtemp(prefix="numerai-sandbox-"))
    try:
        return _serve(args, data_dir.resolve(), home)
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _manage(args: argparse.Namespace) -> int:
    """--status / --stop of the shared sandbox (exit 0; --status exits 3 when it is not running)."""
    from numerai_mcp.config import default_cache_dir
    from numerai_mcp.emulator import shared
    from numerai_mcp.emulator.home import default_home

    cache_dir = (args.cache_dir or default_cache_dir(os.environ)).expanduser()
    home = args.shared.expanduser().resolve() if args.shared else default_home(cache_dir)
    if args.status:
        status = shared.shared_status(home)
        print(status.describe())
        return 0 if status.running else 3
    try:
        print(shared.stop_shared_emulator(home))
    except shared.SandboxInUse as exc:
        print(f"numerai-mcp sandbox: {exc}", file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace, data_dir: Path, home: SandboxHome | None) -> int:
    import uvicorn

    from numerai_mcp.config import default_cache_dir
    from numerai_mcp.emulator.app import create_app
    from numerai_mcp.emulator.core import Emulator
    from numerai_mcp.emulator.lifetime import ActivityTracker, AlreadyRunning, IdleMonitor, claim, validations_pending

    settings = EmulatorSettings(
        data_dir=data_dir, host=args.host, port=args.port, state_file=args.state.resolve() if args.state else None,
        cache_dir=(args.cache_dir or default_cache_dir(os.environ)).resolve(), error_rate=args.error_rate,
        drop_rate=args.drop_rate, latency_ms=args.latency_ms, seed=args.seed, url_lifetime_s=args.url_lifetime,
        max_object_size=args.max_object_size, validation_timeout_s=args.validation_timeout,
        validation_workers=args.validation_workers, validator=args.validator, pythons=dict(args.python),
        diagnostics=not args.no_diagnostics,
    )
    try:
        if home is not None:
            claim(home)  # before loading the state: one emulator per home, ever
        emulator = Emulator(settings)
        sock = _bind(args.host, args.port)
    except AlreadyRunning as exc:
        print(f"numerai-mcp sandbox: {exc} (see `numerai-mcp sandbox --status`)", file=sys.stderr)
        return 3
    except (OSError, ValueError) as exc:
        print(f"numerai-mcp sandbox: {exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    url = _public_url(args.host, port)
    if home is not None:
        _record(home, url, port, args, settings)
    sys.stdout.write(f"export NUMERAI_API_URL={url}\n"
                     f"export NUMERAI_MCP_AUTH='{emulator.demo_auth}'\n")
    sys.stdout.flush()
    if home is not None:  # whoever started us stops reading; a stray print must not hit a closed pipe
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    log.info("sandbox: serving on %s (data %s, state %s%s)", url, data_dir, settings.state_file or "in memory",
             f", stops after {args.idle_timeout:g} s idle" if args.idle_timeout else "")
    app = tracker = ActivityTracker(create_app(emulator, lock_control=home is not None))
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, http="h11",
                            ws="none", timeout_graceful_shutdown=5)
    # uvicorn re-raises the stop signal once it has shut down gracefully; with these no-op
    # handlers in place that ends `run` normally, so the temp data dir is removed and we exit 0.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: None)
    server = uvicorn.Server(config)
    if args.idle_timeout:
        IdleMonitor(args.idle_timeout, tracker, lambda: validations_pending(emulator),
                    lambda: setattr(server, "should_exit", True), home).start()
    server.run(sockets=[sock])
    return 0


def _record(home: SandboxHome, url: str, port: int, args: argparse.Namespace, settings: EmulatorSettings) -> None:
    """Where the shared sandbox answers, for processes that attach to it (no secret in it)."""
    import time

    from numerai_mcp import __version__

    home.write_record({"url": url, "host": args.host, "port": port, "pid": os.getpid(),
                       "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "idle_timeout_s": args.idle_timeout or None, "cache_dir": str(settings.cache_dir),
                       "state_file": str(home.state_file), "version": __version__})
