"""`numerai-mcp serve`: the MCP server over stdio (default) or Streamable HTTP."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import anyio

from numerai_mcp.api.credentials import Credentials
from numerai_mcp.config import Settings
from numerai_mcp.netutil import is_loopback
from numerai_mcp.redact import install_log_redaction

log = logging.getLogger("numerai_mcp")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="numerai-mcp serve", description="Run the numerai-mcp MCP server.")
    p.add_argument("--http", action="store_true", help="serve Streamable HTTP at /mcp instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765; 0 picks a free one)")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host (needs --allowed-root)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="extra Host header value to accept over HTTP (repeatable)")
    p.add_argument("--allowed-root", action="append", default=[], metavar="DIR",
                   help="only read and write local files under DIR (repeatable)")
    p.add_argument("--allow-mutations", action="store_true", help="let graphql_query run mutations")
    p.add_argument("--allow-server-key", action="store_true",
                   help="over HTTP, let requests without their own Authorization header use this server's key")
    p.add_argument("--sandbox", action="store_true",
                   help="start the embedded Numerai API emulator and use it (no account, no network)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def _settings(args: argparse.Namespace) -> Settings:
    env: dict[str, str] | None = None
    if args.sandbox:  # the sandbox brings its own demo key: a real (or malformed) one must not stop it
        from numerai_mcp.emulator.shared import sandbox_env

        env = sandbox_env()
    # A malformed key must not take validate_pickle and build_pickle down with it: the tools that need the key
    # report the problem instead.
    settings = Settings.from_env(env, strict_credentials=False)
    if settings.credentials_problem:
        log.warning("numerai-mcp: %s Tools that call Numerai will report this; the others work.",
                    settings.credentials_problem)
    roots = tuple(Path(r).expanduser().resolve() for r in args.allowed_root)
    missing = [str(r) for r in roots if not r.is_dir()]
    if missing:
        raise SystemExit(f"numerai-mcp: --allowed-root must name existing directories: {', '.join(missing)}")
    if args.http and not is_loopback(args.host):
        if not args.allow_remote:
            raise SystemExit(
                f"numerai-mcp: refusing to bind {args.host}: the server reads and runs local files for whoever reaches "
                "it. Pass --allow-remote and at least one --allowed-root to do it anyway."
            )
        if not roots and not settings.allowed_roots:
            raise SystemExit("numerai-mcp: a non-loopback --host needs --allowed-root DIR (which files it may touch).")
    overrides: dict[str, object] = {}
    if roots:
        overrides["allowed_roots"] = roots
    if args.allow_mutations:
        overrides["allow_mutations"] = True
    if args.allow_server_key or args.sandbox or not args.http:  # stdio serves one user; the sandbox key is not real
        overrides["allow_server_key"] = True
    return replace(settings, **overrides) if overrides else settings  # type: ignore[arg-type]


@contextlib.contextmanager
def _maybe_sandbox(settings: Settings, enabled: bool) -> Iterator[Settings]:
    """With --sandbox, attach to the user's shared emulator (starting it when needed) and point the
    server at it. It outlives this process: the next server process finds the same account, models
    and presigned URLs; it stops by itself once no server is attached and it has been idle."""
    if not enabled:
        yield settings
        return
    from numerai_mcp.emulator.control import EmulatorError
    from numerai_mcp.emulator.shared import SharedEmulator, attach_shared_emulator, keep_running

    try:
        emulator = attach_shared_emulator(settings.cache_dir)
    except EmulatorError as exc:
        raise SystemExit(f"numerai-mcp: --sandbox: could not start the local Numerai API emulator. {exc}") from None
    log.info("sandbox: attached to %s", emulator.describe())

    def restarted(again: SharedEmulator) -> None:
        if again.url == emulator.url:
            log.warning("sandbox: the shared emulator had stopped; it runs again at the same address with its state "
                        "(pid %d)", again.pid)
        else:
            log.error("sandbox: the shared emulator had stopped and now answers at %s instead of %s (its port was "
                      "taken); restart this MCP server to use it", again.url, emulator.url)

    keep_running(emulator, settings.cache_dir, on_restart=restarted)
    yield replace(settings, api_url=emulator.url, credentials=Credentials.parse(emulator.auth))


def _exit_cleanly_on_signals() -> None:
    """Clients stop servers with SIGTERM (or SIGHUP when a terminal closes). Unwinding the event loop is
    not reliable then (a worker thread may sit in a blocking read of stdin), so leave at once: nothing
    we hold needs more than the kernel's cleanup (the shared sandbox outlives us by design)."""

    def stop(signum: int, _frame: object) -> None:
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _exit_cleanly_on_signals()
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    settings = _settings(args)
    from numerai_mcp.server.app import build_server

    with _maybe_sandbox(settings, args.sandbox) as effective:
        server = build_server(effective)
        if args.http:
            from numerai_mcp.server.http import serve_http

            anyio.run(lambda: serve_http(server, host=args.host, port=args.port, extra_hosts=args.allowed_host))
        else:
            anyio.run(server.run_stdio_async)
    return 0
