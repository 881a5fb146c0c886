"""Numerai's `numerai_predict_py_3_X` runtimes: image, tag and pinned packages per Python.

A pickle only works at Numerai when the same Python minor version built it and it imports
nothing but the standard library and what that image pins. The pin lists ship with this
package (numerai-predict@19d1769, `data/pins/`); `numerai-mcp runtimes update` caches the
lists of the images Numerai really serves in `<cache_dir>/runtimes/`, and those win when
present. The default version comes from the live API's `default` flag when the caller has
it, else from the last update, else from this catalogue (3.12). Every runtime says where
its pins came from (`pins_source`) so a verdict can name the list it used.

Cache layout (written by `numerai-mcp runtimes update`, read here):
    <cache_dir>/runtimes/pins/py3.12-<tag>.txt   requirements.txt of numerai-predict@<tag>
    <cache_dir>/runtimes/images.json             last computePickleDockerImages rows + fetch time
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from numerai_mcp.pyversion import NUMERAI_PYTHONS, parse_python_version

SUPPORTED_PYTHONS: tuple[str, ...] = NUMERAI_PYTHONS
CATALOGUE_DEFAULT_PYTHON = "3.12"
IMAGE_REGISTRY = "ghcr.io/numerai"
LIVE_DEFAULT_SOURCE = "live API (computePickleDockerImages)"
KEY_DISTRIBUTIONS: tuple[str, ...] = ("numpy", "pandas", "cloudpickle", "lightgbm", "scikit-learn", "torch")

_CACHE_PINS = re.compile(r"^py(3\.\d+)-([A-Za-z0-9._-]+)\.txt$")
_REQUIREMENT = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)==([0-9][A-Za-z0-9.+!_-]*)$")


class UnknownRuntimeError(ValueError):
    """The requested Python version has no numerai_predict runtime in the catalogue."""


class PinListError(ValueError):
    """A requirements.txt is not a plain list of exact `name==version` pins."""


def normalize_distribution(name: str) -> str:
    """PEP 503 normalised distribution name: `Scikit_Learn` -> `scikit-learn`."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def image_for(python: str) -> str:
    """`3.12` -> `numerai_predict_py_3_12`."""
    return "numerai_predict_py_" + python.replace(".", "_")


# ---------------------------------------------------------------- pin lists


def parse_requirements(text: str, *, source: str = "requirements.txt") -> dict[str, str]:
    """Parse a numerai-predict requirements.txt into {normalised name: exact version}.

    Strict on purpose: every line must be `name==version` (blank lines and `#` comments
    allowed), because a list we cannot read exactly must never silently change a runtime.
    """
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _REQUIREMENT.match(line)
        if not match:
            raise PinListError(
                f"{source} line {number} is not an exact pin 'name==version': {raw.strip()[:120]!r}."
            )
        name, version = normalize_distribution(match.group(1)), match.group(2)
        if pins.get(name, version) != version:
            raise PinListError(f"{source} pins {name} twice ({pins[name]} and {version}).")
        pins[name] = version
    if not pins:
        raise PinListError(f"{source} holds no pins (is it really a requirements.txt?).")
    return pins


def _data_text(*parts: str) -> str:
    return resources.files("numerai_mcp.harness").joinpath("data", *parts).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def shipped_source() -> Mapping[str, str]:
    """Where the shipped pin lists come from (repository, commit, date)."""
    return MappingProxyType(json.loads(_data_text("pins", "SOURCE.json")))


@functools.lru_cache(maxsize=None)
def shipped_pins(python: str) -> Mapping[str, str]:
    """The pin list shipped with this package for one supported version."""
    return MappingProxyType(parse_requirements(_data_text("pins", f"py{python}.txt"), source=f"shipped py{python}.txt"))


# ---------------------------------------------------------------- runtimes


@dataclass(frozen=True)
class Runtime:
    """One numerai_predict image: what Numerai runs a pickle with for one Python version."""

    python: str  # "3.12"
    image: str  # "numerai_predict_py_3_12"
    tag: str  # live image tag when known, else the numerai-predict commit of the pins
    pins: Mapping[str, str] = field(hash=False)  # normalised distribution -> exact version (whole list)
    pins_source: str  # "shipped numerai-predict@19d1769", "cached numerai-predict@a78dedd (2026-11-28)"
    pins_tag: str = ""  # the numerai-predict commit the pins were read at
    image_id: str | None = None  # computePickleDockerImages id (pass it as dockerImageId) when known live
    name: str = ""  # "Python 3.12"
    deprecated: bool = False
    experimental: bool = False

    @property
    def docker_ref(self) -> str:
        return f"{IMAGE_REGISTRY}/{self.image}:{self.tag}"

    def pin(self, distribution: str) -> str | None:
        """The pinned version of a distribution (any spelling), or None when the image lacks it."""
        return self.pins.get(normalize_distribution(distribution))

    def requirements_text(self) -> str:
        """The whole pin list as `name==version` lines: a uv/pip constraints file."""
        return "".join(f"{name}=={version}\n" for name, version in sorted(self.pins.items()))


@dataclass(frozen=True)
class Catalogue:
    """The runtimes a pickle can be registered with, and which one Numerai uses by default."""

    runtimes: Mapping[str, Runtime] = field(hash=False)
    default_python: str
    default_source: str  # "catalogue", "catalogue (last `runtimes update`, DATE)" or LIVE_DEFAULT_SOURCE
    notes: tuple[str, ...] = ()  # things a user may want to know (ignored cache files, unknown live images)

    def get(self, python: str) -> Runtime:
        """The runtime for "3.12", "py3.12", "Python 3.12", "numerai_predict_py_3_12", …"""
        try:
            version = parse_python_version(python)
        except ValueError as exc:
            raise UnknownRuntimeError(str(exc)) from None
        runtime = self.runtimes.get(version)
        if runtime is None:
            raise UnknownRuntimeError(
                f"Numerai has no numerai_predict runtime for Python {version}: supported versions are "
                f"{', '.join(self.runtimes)} (default {self.default_python}). Rebuild the pickle with one of them."
            )
        return runtime

    @property
    def default(self) -> Runtime:
        return self.runtimes[self.default_python]


# ---------------------------------------------------------------- cache layout


def runtimes_cache_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "runtimes"


def cached_pins_path(cache_dir: Path, python: str, tag: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9._-]+", tag) or tag.startswith("."):
        raise ValueError(f"{tag!r} is not a usable image tag (letters, digits, '.', '_' and '-' only).")
    return runtimes_cache_dir(cache_dir) / "pins" / f"py{python}-{tag}.txt"


def images_path(cache_dir: Path) -> Path:
    return runtimes_cache_dir(cache_dir) / "images.json"


def write_atomically(path: Path, text: str) -> None:
    """Write via a temp file in the same directory and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_cached_images(cache_dir: Path, rows: Sequence[Mapping[str, Any]], *, source: str) -> None:
    """Remember the live image rows so offline runs keep the live tags and default."""
    payload = {"fetched_at": _utc_now(), "source": source, "images": [dict(r) for r in rows]}
    write_atomically(images_path(cache_dir), json.dumps(payload, indent=1, sort_keys=True) + "\n")


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _mtime_date(path: Path) -> str:
    return _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc).date().isoformat()


@dataclass(frozen=True)
class _CachedList:
    tag: str
    path: Path
    mtime: float


def _cached_lists(cache_dir: Path) -> dict[str, list[_CachedList]]:
    found: dict[str, list[_CachedList]] = {}
    folder = runtimes_cache_dir(cache_dir) / "pins"
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        match = _CACHE_PINS.match(path.name)
        if match and path.is_file():
            found.setdefault(match.group(1), []).append(_CachedList(match.group(2), path, path.stat().st_mtime))
    for lists in found.values():
        lists.sort(key=lambda c: c.mtime, reverse=True)
    return found


def _read_cached_images(cache_dir: Path, notes: list[str]) -> tuple[list[Mapping[str, Any]], str] | None:
    path = images_path(cache_dir)
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        rows = payload["images"]
        if not isinstance(rows, list):
            raise TypeError("images is not a list")
        return rows, str(payload.get("fetched_at", ""))[:10] or _mtime_date(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        notes.append(f"Ignored the unreadable {path} ({exc}); run `numerai-mcp runtimes update` to rewrite it.")
        return None


# ---------------------------------------------------------------- live images


def image_row_python(row: Mapping[str, Any]) -> str | None:
    """The Python minor version of a computePickleDockerImages row (from `image`, else `name`)."""
    for key in ("image", "name"):
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            try:
                return parse_python_version(value)
            except ValueError:
                continue
    return None


def _live_rows_by_python(rows: Iterable[Mapping[str, Any]], notes: list[str]) -> dict[str, Mapping[str, Any]]:
    """One row per Python version: not deprecated first, then the default, then the newest."""
    chosen: dict[str, Mapping[str, Any]] = {}

    def rank(row: Mapping[str, Any]) -> tuple[bool, bool, str]:
        return (not row.get("deprecated"), bool(row.get("default")), str(row.get("insertedAt") or ""))

    for row in rows:
        python = image_row_python(row)
        if python is None:
            notes.append(f"Ignored a live image row that names no Python version: {dict(row)!r}.")
            continue
        if python not in chosen or rank(row) > rank(chosen[python]):
            chosen[python] = row
    return chosen


# ---------------------------------------------------------------- assembly


def _choose_pins(
    python: str, live_tag: str | None, cached: list[_CachedList], notes: list[str]
) -> tuple[Mapping[str, str], str, str] | None:
    """(pins, pins_tag, pins_source): the live tag's list (cached or shipped), else the newest cached,
    else shipped."""
    shipped_tag = shipped_source()["commit"]
    ordered = sorted(cached, key=lambda c: (c.tag != live_tag, -c.mtime))
    if live_tag == shipped_tag and python in SUPPORTED_PYTHONS:
        ordered = [c for c in ordered if c.tag == live_tag]  # the shipped list is that very commit
    for item in ordered:
        try:
            pins = parse_requirements(item.path.read_text(encoding="utf-8"), source=str(item.path))
        except (OSError, UnicodeDecodeError, PinListError) as exc:
            notes.append(f"Ignored the cached pin list {item.path}: {exc}")
            continue
        return MappingProxyType(pins), item.tag, f"cached numerai-predict@{item.tag} ({_mtime_date(item.path)})"
    if python in SUPPORTED_PYTHONS:
        return shipped_pins(python), shipped_tag, f"shipped numerai-predict@{shipped_tag}"
    return None


def load_catalogue(
    cache_dir: Path | None = None, *, live_images: Sequence[Mapping[str, Any]] | None = None
) -> Catalogue:
    """The runtimes catalogue: shipped pins, overridden by cached ones, tags and default from live rows.

    `live_images` are computePickleDockerImages rows ({id, name, image, tag, default, deprecated,
    experimental}); without them the rows cached by the last `runtimes update` are used. Never
    raises for a damaged cache: bad files are skipped and named in `notes`.
    """
    if cache_dir is None:
        from numerai_mcp.config import default_cache_dir

        cache_dir = default_cache_dir(os.environ)
    notes: list[str] = []
    default_python, default_source = CATALOGUE_DEFAULT_PYTHON, "catalogue"
    if live_images is not None:
        rows: Sequence[Mapping[str, Any]] = live_images
        live_source = LIVE_DEFAULT_SOURCE
    else:
        remembered = _read_cached_images(cache_dir, notes)
        rows = remembered[0] if remembered else []
        live_source = f"catalogue (last `runtimes update`, {remembered[1]})" if remembered else "catalogue"
    live = _live_rows_by_python(rows, notes)
    cached = _cached_lists(cache_dir)

    runtimes: dict[str, Runtime] = {}
    for python in sorted(set(SUPPORTED_PYTHONS) | set(live) | set(cached), key=lambda v: int(v.split(".")[1])):
        row = live.get(python, {})
        live_tag = str(row["tag"]) if row.get("tag") else None
        chosen = _choose_pins(python, live_tag, cached.get(python, []), notes)
        if chosen is None:
            notes.append(
                f"Numerai serves Python {python} but no pin list for it is known: "
                "run `numerai-mcp runtimes update` to fetch it."
            )
            continue
        pins, pins_tag, pins_source = chosen
        if live_tag and live_tag != pins_tag:
            pins_source += f"; the live image is @{live_tag}, run `numerai-mcp runtimes update` to fetch its pins"
        runtimes[python] = Runtime(
            python=python,
            image=str(row.get("image") or image_for(python)),
            tag=live_tag or pins_tag,
            pins=pins,
            pins_source=pins_source,
            pins_tag=pins_tag,
            image_id=str(row["id"]) if row.get("id") else None,
            name=str(row.get("name") or f"Python {python}"),
            deprecated=bool(row.get("deprecated", False)),
            experimental=bool(row.get("experimental", False)),
        )

    live_default = [p for p, r in live.items() if r.get("default") and not r.get("deprecated")]
    if live_default and live_default[0] in runtimes:
        default_python, default_source = live_default[0], live_source
    elif live_default:
        notes.append(f"The live default Python {live_default[0]} has no known pin list; using {default_python}.")
    return Catalogue(runtimes=MappingProxyType(runtimes), default_python=default_python,
                     default_source=default_source, notes=tuple(notes))


# ---------------------------------------------------------------- modules


@functools.lru_cache(maxsize=1)
def _stdlib_table() -> Mapping[str, frozenset[str]]:
    raw = json.loads(_data_text("stdlib_modules.json"))
    return MappingProxyType({version: frozenset(names) for version, names in raw.items()})


def is_stdlib(module: str, python: str) -> bool:
    """Is `module` (dotted or not) part of that Python version's standard library?

    From each interpreter's `sys.stdlib_module_names` (data/stdlib_modules.json); a version
    outside the table uses the nearest one known.
    """
    table = _stdlib_table()
    version = parse_python_version(python)
    if version not in table:
        known = sorted(table, key=lambda v: int(v.split(".")[1]))
        minor = int(version.split(".")[1])
        version = known[0] if minor < int(known[0].split(".")[1]) else known[-1]
    return module.split(".", 1)[0] in table[version]


@functools.lru_cache(maxsize=1)
def _module_map() -> Mapping[str, str]:
    raw = json.loads(_data_text("module_distributions.json"))
    return MappingProxyType({k: normalize_distribution(v) for k, v in raw.items() if not k.startswith("_comment")})


@functools.lru_cache(maxsize=1)
def _companion_map() -> Mapping[str, tuple[str, ...]]:
    raw = json.loads(_data_text("module_companions.json"))
    return MappingProxyType({k: tuple(map(normalize_distribution, v)) for k, v in raw.items() if k != "_comment"})


@functools.lru_cache(maxsize=1)
def _known_distributions() -> frozenset[str]:
    names = set(_module_map().values())
    for python in SUPPORTED_PYTHONS:
        names.update(shipped_pins(python))
    return frozenset(names)


def _prefixes(module: str) -> Iterable[str]:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        yield ".".join(parts[:end])


def candidate_distribution(module: str) -> str:
    """The distribution that would provide `module` if one exists: the mapped name, else the
    import name normalised (`numerai_tools` -> `numerai-tools`). Check it against a runtime's pins."""
    mapping = _module_map()
    for prefix in _prefixes(module):
        if prefix in mapping:
            return mapping[prefix]
    return normalize_distribution(module.split(".", 1)[0])


def distribution_for_module(module: str) -> str | None:
    """Top-level (or dotted) import name -> the distribution providing it, among those any
    numerai_predict image pins: sklearn -> scikit-learn, PIL -> pillow, yaml -> pyyaml,
    google.protobuf -> protobuf. None when no known distribution provides it (`agents`)."""
    candidate = candidate_distribution(module)
    return candidate if candidate in _known_distributions() else None


def companion_distributions(module: str) -> tuple[str, ...]:
    """Distributions `module` needs at run time beyond its declared dependencies."""
    companions = _companion_map()
    return next((companions[p] for p in _prefixes(module) if p in companions), ())
