"""`numerai-mcp doctor`: what is installed and usable here, each line with the fix when it is not."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from numerai_mcp import __version__
from numerai_mcp.api.errors import NumeraiError
from numerai_mcp.config import Settings


@dataclass
class Finding:
    area: str
    ok: bool
    detail: str
    fix: str | None = None
    essential: bool = True  # a missing non-essential item (e.g. Docker) is reported but does not fail


def _interpreters() -> list[Finding]:
    from numerai_mcp.harness.catalogue import CATALOGUE_DEFAULT_PYTHON, SUPPORTED_PYTHONS
    from numerai_mcp.harness.interpreters import InterpreterNotFoundError, find_interpreter

    found = []
    for python in SUPPORTED_PYTHONS:
        try:
            path = find_interpreter(python)
            found.append(Finding(f"python {python}", True, str(path)))
        except InterpreterNotFoundError as exc:
            found.append(Finding(f"python {python}", False, "no interpreter of this minor version", fix=str(exc),
                                 essential=python == CATALOGUE_DEFAULT_PYTHON))
    return found


def _runtimes(cache_dir: Path) -> list[Finding]:
    venvs = cache_dir / "runtimes" / "venvs"
    manifests = sorted(venvs.glob("*/current/numerai-mcp-runtime.json")) if venvs.is_dir() else []
    if not manifests:
        return [Finding("runtimes", True, f"none cached yet in {venvs} (the first validation builds one in seconds)",
                        essential=False)]
    found = []
    for manifest in manifests:
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            found.append(Finding("runtime", False, f"unreadable {manifest}", fix=f"delete {manifest.parent.parent}",
                                 essential=False))
            continue
        packages = data.get("packages") or {}
        found.append(Finding(f"runtime {manifest.parent.parent.name}", True,
                             f"{len(packages)} packages ({', '.join(sorted(packages)[:6])}…)", essential=False))
    return found


def _tools() -> list[Finding]:
    found = []
    try:
        from uv import find_uv_bin

        found.append(Finding("uv", True, find_uv_bin()))
    except (ImportError, FileNotFoundError):
        found.append(Finding("uv", False, "the uv binary is missing", fix="pip install uv (a dependency of numerai-mcp)"))
    from numerai_mcp.harness import docker_backend

    engine = docker_backend.engine_available()
    found.append(Finding("docker", engine, "engine reachable: validation can use Numerai's own images" if engine
                         else "no Docker engine: validation uses local pinned runtimes (fully supported)",
                         fix=None if engine else "optional: start a Docker engine to validate in Numerai's images",
                         essential=False))
    return found


def _cache(cache_dir: Path) -> Finding:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        probe = cache_dir / ".doctor-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Finding("cache", False, f"{cache_dir} is not writable ({exc.strerror})",
                       fix="set NUMERAI_MCP_CACHE_DIR to a writable directory")
    free_gib = shutil.disk_usage(cache_dir).free / 1024**3
    ok = free_gib >= 2
    return Finding("cache", ok, f"{cache_dir} ({free_gib:.1f} GiB free)",
                   fix=None if ok else "free disk space: a runtime takes about 0.4 GB")


async def _api(settings: Settings) -> list[Finding]:
    from numerai_mcp.api import operations as ops
    from numerai_mcp.api.client import NumeraiClient

    found = []
    async with NumeraiClient(settings) as client:
        try:
            await client.query("query { __typename }", auth=False)
            found.append(Finding("api", True, f"{settings.api_url} answers"))
        except NumeraiError as exc:
            return [Finding("api", False, f"{settings.api_url}: {exc.message}", fix=exc.hint or "check the network")]
        if settings.credentials is None:
            found.append(Finding("credentials", False, "no Numerai key configured",
                                 fix="run `numerai-mcp install` (it stores the key for every client), or set NUMERAI_MCP_AUTH='PUBLIC_ID$SECRET_KEY'"))
            return found
        try:
            info, _ = await ops.token_info(client)
        except NumeraiError as exc:
            found.append(Finding("credentials", False, exc.message, fix=exc.hint))
            return found
        missing = {"upload_submission", "read_submission_info", "read_user_info"} - set(info.scopes)
        found.append(Finding("credentials", not missing,
                             f"key {info.name!r} of {info.account_username!r}, scopes {', '.join(info.scopes)}",
                             fix=f"add the scopes {', '.join(sorted(missing))} at numer.ai → Account → Custom API Keys"
                             if missing else None))
    return found


def _client_configs(env: Mapping[str, str], this_command: Path | None = None) -> list[Finding]:
    """The numerai entry in each agent client's config (what `numerai-mcp install` wrote): does the
    client still start this install, with a key it can read? Read-only."""
    from numerai_mcp.install.environment import own_command
    from numerai_mcp.install.status import client_entries

    found = []
    for check in client_entries(env, this_command or own_command()):
        problems = "; ".join(p.what for p in check.problems)
        found.append(Finding(f"client {check.client}", check.ok, check.detail + (f" ({problems})" if problems else ""),
                             fix="; ".join(dict.fromkeys(p.fix for p in check.problems)) or None,
                             essential=check.essential))
    return found


def collect(settings: Settings, *, check_api: bool = True) -> list[Finding]:
    findings = [Finding("numerai-mcp", True, f"{__version__} on Python {sys.version.split()[0]} ({sys.executable})")]
    findings += _interpreters()
    findings += _runtimes(settings.cache_dir)
    findings += _tools()
    findings.append(_cache(settings.cache_dir))
    findings += _client_configs(os.environ)
    if check_api:
        findings += asyncio.run(_api(settings))
    return findings


def _attach_sandbox(settings: Settings) -> tuple[Finding, Settings | None]:
    """The shared sandbox emulator (started when needed), and settings pointing at it with its demo key."""
    from numerai_mcp.api.credentials import Credentials
    from numerai_mcp.emulator.control import EmulatorError
    from numerai_mcp.emulator.shared import attach_shared_emulator

    try:
        emulator = attach_shared_emulator(settings.cache_dir)
    except EmulatorError as exc:
        return Finding("sandbox", False, f"the local Numerai API emulator could not start: {exc}",
                       fix="see the emulator's log above; `numerai-mcp sandbox --status` shows where its state "
                       "lives (move that directory away to start from a fresh state)"), None
    return (Finding("sandbox", True, emulator.describe()),
            replace(settings, api_url=emulator.url, credentials=Credentials.parse(emulator.auth)))


def collect_sandbox(settings: Settings) -> list[Finding]:
    """doctor --sandbox: the local checks, then the shared sandbox emulator and its demo key, the way
    `serve --sandbox` uses them. The real API and a real key play no part."""
    sandbox, attached = _attach_sandbox(settings)
    findings = [*collect(settings, check_api=False), sandbox]
    if attached is not None:
        findings += asyncio.run(_api(attached))
    return findings


def _sandbox_settings() -> Settings:
    from numerai_mcp.emulator.shared import sandbox_env

    return Settings.from_env(sandbox_env())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="numerai-mcp doctor", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument("--sandbox", action="store_true",
                        help="check an installation wired to the local sandbox (`serve --sandbox`): attach to (or "
                        "start) the shared emulator and check its demo key instead of the real API and key")
    args = parser.parse_args(argv)
    if args.sandbox:
        findings = collect_sandbox(_sandbox_settings())
    else:
        settings = Settings.from_env(strict_credentials=False)
        if settings.credentials_problem:
            print(f"credentials: {settings.credentials_problem}", file=sys.stderr)
        findings = collect(settings)
    failed = [f for f in findings if not f.ok and f.essential]
    if args.json:
        print(json.dumps({"ok": not failed, "findings": [asdict(f) for f in findings]}, indent=2))
    else:
        for f in findings:
            mark = "ok " if f.ok else ("!! " if f.essential else "-- ")
            print(f"{mark}{f.area:<28} {f.detail}")
            if f.fix and not f.ok:
                print(f"   {'':<28} fix: {f.fix}")
        print("\nall essential checks passed" if not failed else f"\n{len(failed)} problem(s) to fix (marked !!)")
    return 0 if not failed else 1
