"""`numerai-mcp build BUNDLE -o OUT.pkl [--python 3.X] [--no-validate] [--json]`.

Exit status: 0 built (and, unless --no-validate, passed validation); 1 built but failed
validation, or the build itself failed; 2 bad arguments or a bad bundle (nothing written).
Progress goes to stderr; the result (human text, or BuildResult JSON with --json) to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from numerai_mcp.redact import redact


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numerai-mcp build",
        description="Build a Numerai predict pickle from an inference bundle inside the target runtime "
                    "(Numerai's Python minor version and pinned libraries), then validate it.",
    )
    parser.add_argument("bundle", type=Path, help="inference bundle written by numerai_mcp.bundle.export")
    parser.add_argument("-o", "--output", type=Path, required=True, help="pickle to write (must end in .pkl)")
    parser.add_argument("--python", default="auto",
                        help="target Python minor version, e.g. 3.12 (default: Numerai's default image)")
    parser.add_argument("--no-validate", action="store_true", help="skip validate_pickle after building")
    parser.add_argument("--json", action="store_true", help="print the BuildResult as JSON")
    return parser


def _print_progress(done: float, total: float | None, message: str) -> None:
    step = f"[{100 * done / total:3.0f}%] " if total else ""
    print(f"{step}{redact(message)}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from numerai_mcp.bundle.build import BuildError, build_pickle
    from numerai_mcp.bundle.fileformat import BundleError
    from numerai_mcp.config import Settings
    from numerai_mcp.facts import gather_facts_blocking

    try:
        if not args.bundle.is_file():  # before anything is fetched
            raise BundleError(f"bundle not found: {args.bundle}. Export one first: "
                              "numerai_mcp.bundle.export(model, features, path).")
        settings = Settings.from_env(strict_credentials=False)  # a build needs no key
        facts = gather_facts_blocking(settings, images=args.python in ("", "auto"), live=not args.no_validate)
        result = build_pickle(args.bundle, args.output, python_version=args.python, validate=not args.no_validate,
                              cache_dir=settings.cache_dir, facts=facts, allowed_roots=settings.allowed_roots,
                              progress=None if args.json else _print_progress)
    except BundleError as exc:
        print(f"numerai-mcp build: bad bundle: {redact(exc)}", file=sys.stderr)
        return 2
    except BuildError as exc:
        print(f"numerai-mcp build: {redact(exc)}", file=sys.stderr)
        return 1
    except (ValueError, RuntimeError) as exc:  # unknown version, bad paths, no interpreter, uv failures
        print(f"numerai-mcp build: {redact(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    if args.json:
        print(redact(result.model_dump_json(indent=2)))
    else:
        print(redact(result.summary))
        for note in result.notes:
            print(f"  note: {redact(note)}")
        if result.verdict is not None:
            for check in result.verdict.checks:
                if check.status != "pass":
                    print(f"  {check.status.upper()} {check.name}: {redact(check.message)}")
            for fix in result.verdict.fixes:
                print(f"  fix: {redact(fix)}")
    return 0 if result.verdict is None or result.verdict.passed else 1
