"""`numerai-mcp runtimes list|update`: show the numerai_predict runtimes, refresh their pins.

Numerai changes an image's pinned packages whenever it redeploys it. `update` reads the live
images (computePickleDockerImages: which Pythons, which tag, which default), downloads each
image's requirements.txt from numerai/numerai-predict at that tag, checks that every line is
an exact pin, and caches it atomically where `load_catalogue` looks first. Anything that
cannot be fetched leaves the shipped (or earlier cached) list in use, and the exit status
says so. `list` is offline unless `--live` is given.

Exit status: 0 done, 1 some image could not be refreshed (or the API not read), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from numerai_mcp.harness.catalogue import (
    KEY_DISTRIBUTIONS,
    SUPPORTED_PYTHONS,
    Catalogue,
    PinListError,
    cached_pins_path,
    image_for,
    image_row_python,
    load_catalogue,
    parse_requirements,
    write_atomically,
    write_cached_images,
)

DEFAULT_PINS_BASE_URL = "https://raw.githubusercontent.com/numerai/numerai-predict"
PINS_BASE_URL_ENV = "NUMERAI_MCP_PINS_BASE_URL"
MAX_REQUIREMENTS_BYTES = 1 << 20  # a requirements.txt is a few KB; refuse anything absurd


class UsageError(ValueError):
    """Bad command-line input: reported with exit status 2."""


@dataclass
class PinChange:
    package: str
    before: str | None
    after: str | None
    direction: str  # "up", "down", "added", "removed", "changed"


@dataclass
class ImageUpdate:
    python: str
    image: str
    tag: str
    url: str
    status: str = "failed"  # "updated", "unchanged", "failed"
    error: str | None = None
    packages: int = 0
    changes: list[PinChange] = field(default_factory=list)  # key packages
    other_changes: int = 0  # how many other pins moved


@dataclass
class UpdateResult:
    source: str  # where the image rows came from
    base_url: str
    cache_dir: str
    images: list[ImageUpdate]
    default_python: str
    default_source: str
    default_before: str

    @property
    def ok(self) -> bool:
        return all(image.status != "failed" for image in self.images)


# ------------------------------------------------------------------ pins


def requirements_url(base_url: str, tag: str, python: str) -> str:
    return f"{base_url.rstrip('/')}/{tag}/py{python}/requirements.txt"


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.+!-]", version))


def pin_changes(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[list[PinChange], int]:
    """(changes to the key packages, number of other packages whose pin changed)."""
    changes, others = [], 0
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name not in KEY_DISTRIBUTIONS:
            others += 1
            continue
        if old is None or new is None:
            direction = "added" if old is None else "removed"
        elif _version_key(new) != _version_key(old):
            direction = "up" if _version_key(new) > _version_key(old) else "down"
        else:
            direction = "changed"
        changes.append(PinChange(name, old, new, direction))
    return changes, others


def fetch_requirements(url: str, *, timeout: float) -> dict[str, str]:
    """Download and strictly parse one requirements.txt; ValueError with a clear reason otherwise."""
    import httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client, client.stream("GET", url) as response:
            if response.status_code == 404:
                raise ValueError(f"{url} does not exist (HTTP 404): check that the tag is a numerai-predict commit "
                                 "with that Python's folder")
            if response.status_code != 200:
                raise ValueError(f"{url} answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_REQUIREMENTS_BYTES:
                    raise ValueError(f"{url} is larger than {MAX_REQUIREMENTS_BYTES} bytes: not a requirements.txt")
    except httpx.HTTPError as exc:
        raise ValueError(f"could not fetch {url}: {type(exc).__name__}: {exc or 'no answer'}") from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{url} is not UTF-8 text") from None
    return parse_requirements(text, source=url)


def update_pins(rows: Sequence[Mapping[str, Any]], *, cache_dir: Path, base_url: str, source: str,
                timeout: float = 20.0, remember_rows: bool = True) -> UpdateResult:
    """Fetch and cache the pin list of every image row; the core of `runtimes update`."""
    before = load_catalogue(cache_dir)
    images: list[ImageUpdate] = []
    for row in rows:
        python, tag = image_row_python(row), str(row.get("tag") or "")
        if python is None or not tag:
            images.append(ImageUpdate(python=str(row.get("name") or "?"), image=str(row.get("image") or "?"), tag=tag,
                                      url="", error="the row names no Python version or no tag"))
            continue
        update = ImageUpdate(python=python, image=str(row.get("image") or image_for(python)), tag=tag,
                             url=requirements_url(base_url, tag, python))
        images.append(update)
        try:
            target = cached_pins_path(cache_dir, python, tag)
            pins = fetch_requirements(update.url, timeout=timeout)
        except (ValueError, PinListError) as exc:
            update.error = str(exc)
            continue
        old = before.runtimes[python].pins if python in before.runtimes else {}
        update.changes, update.other_changes = pin_changes(old, pins)
        update.packages = len(pins)
        update.status = "updated" if (update.changes or update.other_changes or not old) else "unchanged"
        write_atomically(target, "".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    if remember_rows:
        write_cached_images(cache_dir, rows, source=source)
    after = load_catalogue(cache_dir, live_images=rows if remember_rows else None)
    return UpdateResult(source=source, base_url=base_url, cache_dir=str(cache_dir), images=images,
                        default_python=after.default_python, default_source=after.default_source,
                        default_before=before.default_python)


# ------------------------------------------------------------------ live images


# ------------------------------------------------------------------ output


def _runtime_row(catalogue: Catalogue, python: str) -> dict[str, Any]:
    runtime = catalogue.runtimes[python]
    return {
        "python": runtime.python, "image": runtime.image, "tag": runtime.tag, "docker_ref": runtime.docker_ref,
        "image_id": runtime.image_id, "default": python == catalogue.default_python,
        "deprecated": runtime.deprecated, "experimental": runtime.experimental,
        "pins_source": runtime.pins_source, "pins_tag": runtime.pins_tag, "pin_count": len(runtime.pins),
        "key_pins": {name: runtime.pin(name) for name in KEY_DISTRIBUTIONS},
    }


def catalogue_json(catalogue: Catalogue) -> dict[str, Any]:
    return {"default_python": catalogue.default_python, "default_source": catalogue.default_source,
            "runtimes": [_runtime_row(catalogue, p) for p in catalogue.runtimes], "notes": list(catalogue.notes)}


def format_catalogue(catalogue: Catalogue) -> str:
    rows = [_runtime_row(catalogue, p) for p in catalogue.runtimes]
    header = ["", "python", "image:tag", *KEY_DISTRIBUTIONS, "pins"]
    table = [header] + [
        ["*" if r["default"] else "", r["python"] + (" (experimental)" if r["experimental"] else ""),
         f"{r['image']}:{r['tag']}", *[r["key_pins"][n] or "-" for n in KEY_DISTRIBUTIONS], r["pins_source"]]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = [f"Numerai runtimes (* = default: Python {catalogue.default_python}, from {catalogue.default_source})", ""]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in table]
    lines += [f"note: {note}" for note in catalogue.notes]
    return "\n".join(line.rstrip() for line in lines)


def _sentence(text: str | None) -> str:
    text = (text or "unknown error").strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def format_update(result: UpdateResult) -> str:
    lines = [f"Images from {result.source}; pin lists from {result.base_url}", ""]
    for image in result.images:
        label = f"Python {image.python}  {image.image}:{image.tag}"
        if image.status == "failed":
            lines.append(f"  {label}: FAILED. {_sentence(image.error)} The previous pin list stays in use.")
            continue
        moved = [f"{c.package} {c.before or '-'} -> {c.after or '-'} ({c.direction})" for c in image.changes]
        if image.other_changes:
            moved.append(f"{image.other_changes} other package(s) changed")
        lines.append(f"  {label}: {image.packages} pins, " + (", ".join(moved) if moved else "no changes"))
    if result.default_python != result.default_before:
        lines.append(f"\nDefault Python: {result.default_before} -> {result.default_python} ({result.default_source})")
    else:
        lines.append(f"\nDefault Python: {result.default_python} ({result.default_source})")
    lines.append(f"Cached under {Path(result.cache_dir) / 'runtimes'}")
    return "\n".join(lines)


# ------------------------------------------------------------------ command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="numerai-mcp runtimes",
                                     description="List or update the numerai_predict runtimes catalogue.")
    parser.add_argument("--cache-dir", type=Path, help="cache directory (default: NUMERAI_MCP_CACHE_DIR or "
                                                       "~/.cache/numerai-mcp)")
    commands = parser.add_subparsers(dest="command")
    show = commands.add_parser("list", help="each Python version, its image, tag, key pins and the default")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument("--live", action="store_true", help="read the live images from the API first")
    update = commands.add_parser("update", help="fetch the pin lists of the images Numerai serves now")
    update.add_argument("--base-url", help=f"where numerai-predict's files are (default: ${PINS_BASE_URL_ENV} or "
                                           f"{DEFAULT_PINS_BASE_URL})")
    update.add_argument("--tag", help="fetch this numerai-predict commit for every supported Python instead of "
                                      "asking the API which tags are live")
    update.add_argument("--timeout", type=float, default=20.0, help="seconds per download (default 20)")
    update.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _base_url(explicit: str | None) -> str:
    url = (explicit or os.environ.get(PINS_BASE_URL_ENV) or DEFAULT_PINS_BASE_URL).strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise UsageError(f"--base-url must be an http(s) URL like {DEFAULT_PINS_BASE_URL}, got {url!r}.")
    return url


def _image_rows(settings: Any) -> list[dict[str, Any]]:
    import asyncio

    from numerai_mcp.facts import docker_image_rows

    return asyncio.run(docker_image_rows(settings))


def _settings() -> Any:
    from numerai_mcp.config import Settings

    return Settings.from_env()


def _list(args: argparse.Namespace, cache_dir: Path) -> int:
    rows, problem = None, None
    if args.live:
        from numerai_mcp.api.errors import NumeraiError

        try:
            rows = _image_rows(_settings())
        except NumeraiError as exc:
            problem = f"could not read the live images ({exc}); showing the catalogue"
    catalogue = load_catalogue(cache_dir, live_images=rows)
    if problem:
        catalogue = Catalogue(catalogue.runtimes, catalogue.default_python, catalogue.default_source,
                              (*catalogue.notes, problem))
    print(json.dumps(catalogue_json(catalogue), indent=2) if args.json else format_catalogue(catalogue))
    return 1 if problem else 0


def _update(args: argparse.Namespace, cache_dir: Path) -> int:
    base_url = _base_url(args.base_url)
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds.")
    if args.tag:
        cached_pins_path(cache_dir, "3.12", args.tag)  # validates the tag (ValueError -> usage error)
        rows = [{"name": f"Python {p}", "image": image_for(p), "tag": args.tag} for p in SUPPORTED_PYTHONS]
        source = f"--tag {args.tag}"
        remember = False  # not what Numerai serves: keep the last live rows
    else:
        from numerai_mcp.api.errors import NumeraiError

        settings = _settings()
        try:
            rows = _image_rows(settings)
        except NumeraiError as exc:
            _fail(f"could not read the live images from {settings.api_url}: {_sentence(str(exc))} The shipped and "
                  "cached pin lists stay in use. Retry when the API answers (check NUMERAI_MCP_AUTH), or pass "
                  "--tag <numerai-predict commit> to fetch the lists of one commit.", args.json)
            return 1
        if not rows:
            _fail(f"{settings.api_url} listed no docker images; nothing to update.", args.json)
            return 1
        source = f"{settings.api_url} (computePickleDockerImages)"
        remember = True
    result = update_pins(rows, cache_dir=cache_dir, base_url=base_url, source=source, timeout=args.timeout,
                         remember_rows=remember)
    if args.json:
        print(json.dumps({"ok": result.ok, **asdict(result)}, indent=2))
    else:
        print(format_update(result))
    return 0 if result.ok else 1


def _fail(message: str, as_json: bool) -> None:
    from numerai_mcp.redact import redact

    text = redact(message)
    if as_json:
        print(json.dumps({"ok": False, "error": text}, indent=2))
    print(f"numerai-mcp runtimes: {text}", file=sys.stderr)


def main(argv: list[str]) -> int:
    """Entry point of `numerai-mcp runtimes` (dispatched by numerai_mcp.cli)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv or ["list"])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.command is None:
        args = parser.parse_args([*argv, "list"])
    from numerai_mcp.api.errors import CredentialsError
    from numerai_mcp.redact import redact

    try:
        cache_dir = args.cache_dir or _settings().cache_dir
        return _list(args, cache_dir) if args.command == "list" else _update(args, cache_dir)
    except (UsageError, CredentialsError, ValueError) as exc:
        print(f"numerai-mcp runtimes: {redact(str(exc))}", file=sys.stderr)
        return 2
