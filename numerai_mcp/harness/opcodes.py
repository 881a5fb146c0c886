"""Which Python minor versions could have produced a code object's bytecode.

cloudpickle rebuilds functions from raw `CodeType(...)` arguments, and bytecode is only
valid on the minor version that compiled it: 3.11 code on 3.12 loads, then segfaults.
So the producing version is read from the bytes, without running anything: decode
`co_code` with each version's opcode table (data/bytecode.json, generated from real
interpreters by data/generate.py) and keep the versions under which it is well formed:
every opcode exists, every inline-cache unit is zero (cloudpickle stores de-specialised
code), and from 3.11 on ops without an argument carry 0 and only the function prelude
(MAKE_CELL, COPY_FREE_VARS, RETURN_GENERATOR, …) comes before RESUME. Checked against
every code object of each interpreter's own standard library (tests/harness/test_scan_bytecode.py).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType


@dataclass(frozen=True)
class BytecodeTable:
    """The facts about one minor version's bytecode that decoding needs."""

    version: str
    code_args: int  # how many CodeType arguments cloudpickle passes on that version
    names: Mapping[int, str]  # opcode -> name, for every op a co_code may hold
    cache_units: Mapping[int, int]  # opcode -> inline-cache code units that follow it
    takes_arg: frozenset[int]
    resume: int | None
    prelude: frozenset[int]  # ops allowed before RESUME

    def rejects(self, code: bytes) -> str | None:
        """None when `code` is well-formed bytecode for this version, else why not."""
        if len(code) % 2:
            return "odd length"
        size, i = len(code), 0
        resumed = self.resume is None
        while i < size:
            op, arg = code[i], code[i + 1]
            name = self.names.get(op)
            if name is None:
                return f"unknown opcode {op} at offset {i}"
            if arg and op not in self.takes_arg and self.resume is not None:  # CPython 3.11+ asserts this
                return f"{name} at offset {i} carries an argument"
            if not resumed:
                if op == self.resume:
                    resumed = True
                elif op not in self.prelude:
                    return f"{name} at offset {i} comes before RESUME"
            i += 2
            units = self.cache_units.get(op)
            if units:
                end = i + 2 * units
                if end > size or any(code[i:end]):
                    return f"non-zero cache after {name} at offset {i - 2}"
                i = end
        return None if resumed else "no RESUME"


def _minor(version: str) -> int:
    return int(version.split(".")[1])


@functools.lru_cache(maxsize=1)
def bytecode_tables() -> Mapping[str, BytecodeTable]:
    """Every shipped table, oldest version first."""
    raw = json.loads(resources.files("numerai_mcp.harness").joinpath("data", "bytecode.json").read_text("utf-8"))
    tables = {}
    for version in sorted(raw, key=_minor):
        facts = raw[version]
        opcodes: dict[str, int] = facts["opcodes"]
        tables[version] = BytecodeTable(
            version=version,
            code_args=facts["code_args"],
            names=MappingProxyType({code: name for name, code in opcodes.items()}),
            cache_units=MappingProxyType({opcodes[name]: n for name, n in facts["cache_entries"].items()}),
            takes_arg=frozenset(opcodes[name] for name in facts["takes_arg"]),
            resume=facts["resume"],
            prelude=frozenset(opcodes[name] for name in facts["prelude"]),
        )
    return MappingProxyType(tables)


def versions_for_code(code: bytes, code_args: int) -> list[str]:
    """Minor versions whose table accepts `code` and that pass `code_args` CodeType arguments."""
    return [v for v, t in bytecode_tables().items() if t.code_args == code_args and t.rejects(code) is None]


def versions_for_format(code_args: int) -> list[str]:
    """Minor versions whose CodeType takes `code_args` arguments (15: ≤3.7, 16: 3.8-3.10, 18: 3.11+)."""
    return [v for v, t in bytecode_tables().items() if t.code_args == code_args]


def intersect_versions(candidates: Iterable[list[str]]) -> list[str]:
    """Versions every code object agrees on, oldest first."""
    result: set[str] | None = None
    for versions in candidates:
        result = set(versions) if result is None else result & set(versions)
    return sorted(result or (), key=_minor)
