"""`numerai-mcp status`: how every model slot is doing and what to fix, from a terminal (the model_status tool's
overview). Exit status 0 when no slot needs a fix, 1 when some do, 2 when the account could not be read."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from numerai_mcp.api.status import DEFAULT_ROUNDS, DEFAULT_TRIGGERS, Overview, SlotStatus

_MARK = {"healthy": "ok", "pending": "..", "unhealthy": "!!", "unknown": "??"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="numerai-mcp status", description="Show how every Numerai Classic model slot is "
                                "doing, and the fix for each unhealthy one.")
    p.add_argument("model", nargs="?", help="one slot's id or name (default: every Classic slot)")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, choices=range(1, 21), metavar="N",
                   help=f"recent rounds of submissions to read (1-20, default {DEFAULT_ROUNDS})")
    p.add_argument("--triggers", type=int, default=DEFAULT_TRIGGERS, choices=range(1, 51), metavar="N",
                   help=f"newest runs of each assigned pickle to show with --details (1-50, default {DEFAULT_TRIGGERS})")
    p.add_argument("--details", action="store_true", help="also list each slot's pickle, runs and submissions")
    p.add_argument("--json", action="store_true", help="print the overview as JSON (model_status's result)")
    return p


def render(found: Overview, *, details: bool = False) -> str:
    """The overview as text: one line per slot (problems first), its fix below it."""
    width = max([len(s.name) for s in found.slots] + [4])
    who = f"{found.account}: " if found.account else ""
    lines = [f"{who}{found.summary}", ""]
    for slot in found.slots:
        lines.append(f"{_MARK[slot.health]} {slot.name.ljust(width)}  {slot.verdict}")
        pad = " " * (width + 5)
        if slot.fix and slot.health != "healthy":
            lines.append(f"{pad}fix: {slot.fix}")
        lines += [f"{pad}note: {note}" for note in slot.notes]
        if slot.read_error:
            lines.append(f"{pad}not read: {slot.read_error}")
        if details:
            lines += [pad + line for line in _details(slot)]
    lines += ["", f"Next: {found.next_step}"]
    return "\n".join(lines)


def _details(slot: SlotStatus) -> list[str]:
    out = [f"id {slot.model_id}" + (f", webhook {slot.webhook}" if slot.webhook else "")]
    for label, pickle in (("pickle", slot.pickle), ("newest upload", slot.latest_upload)):
        if pickle is not None:
            out.append(f"{label}: {pickle.filename} ({pickle.id}) on {pickle.docker_image_name}, data "
                       f"{pickle.data_version}; validation {pickle.validation_status}, diagnostics "
                       f"{pickle.diagnostics_status}")
    for trigger in slot.triggers:
        said = f": {trigger.description}" if trigger.description else ""
        out.append(f"  {trigger.inserted_at} {trigger.type} {trigger.status}{said}")
    for sub in slot.submissions:
        out.append(f"  round {sub.round_number}: {sub.filename} at {sub.timestamp}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from numerai_mcp.api.client import NumeraiClient
    from numerai_mcp.api.errors import NumeraiError
    from numerai_mcp.api.status import overview_remembering
    from numerai_mcp.config import Settings
    from numerai_mcp.redact import install_log_redaction

    install_log_redaction()
    settings = Settings.from_env(strict_credentials=False)

    async def read() -> Overview:
        async with NumeraiClient(settings) as client:
            return await overview_remembering(client, settings.cache_dir, model=args.model, rounds=args.rounds,
                                              triggers=args.triggers)

    try:
        found = asyncio.run(read())
    except NumeraiError as exc:
        print(f"numerai-mcp status: {exc}", file=sys.stderr)
        return 2
    print(found.model_dump_json(by_alias=True, indent=2) if args.json else render(found, details=args.details))
    return 1 if any(s.health in ("unhealthy", "unknown") for s in found.slots) else 0
