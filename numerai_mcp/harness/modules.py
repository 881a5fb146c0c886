"""Which distribution provides an import name, and what the standard library holds, per Python version.

The scan lists the modules a pickle imports; whether Numerai's image has them is a question of distributions
(sklearn is scikit-learn, PIL is pillow) and of each Python's standard library. Tables ship as package data.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from numerai_mcp.harness.catalogue import SUPPORTED_PYTHONS, data_text, normalize_distribution, shipped_pins
from numerai_mcp.pyversion import parse_python_version


@functools.lru_cache(maxsize=1)
def _stdlib_table() -> Mapping[str, frozenset[str]]:
    raw = json.loads(data_text("stdlib_modules.json"))
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
    raw = json.loads(data_text("module_distributions.json"))
    return MappingProxyType({k: normalize_distribution(v) for k, v in raw.items() if not k.startswith("_comment")})


@functools.lru_cache(maxsize=1)
def _companion_map() -> Mapping[str, tuple[str, ...]]:
    raw = json.loads(data_text("module_companions.json"))
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
