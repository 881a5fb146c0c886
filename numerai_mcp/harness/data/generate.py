"""Regenerate the interpreter-derived tables shipped in this folder.

    python numerai_mcp/harness/data/generate.py [--pyenv-root DIR]

The static scanner runs on the server's Python (3.11+) but must judge code objects and
module names of pickles made by 3.6-3.13, so the facts are read once from real
interpreters (pyenv's, by default) and shipped as JSON:

- stdlib_modules.json: {"3.12": sorted(sys.stdlib_module_names), ...} for 3.10+
  (the attribute does not exist before 3.10).
- bytecode.json: per minor version, the opcodes a de-specialised `co_code` may hold,
  how many inline-cache code units follow each one, which take an argument, RESUME,
  the ops allowed before RESUME, and how many CodeType arguments cloudpickle passes.

Run it again when a new Python minor version appears (install it with pyenv first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Printed as JSON by each interpreter; must run on 3.6+ (no f-string `=`, no walrus).
PROBE = r"""
import json, opcode, sys
version = "%d.%d" % sys.version_info[:2]
ops = {}
for name, code in opcode.opmap.items():
    if code >= 256 or name.startswith("INSTRUMENTED_") or name in ("ENTER_EXECUTOR", "RESERVED"):
        continue  # pseudo, instrumented and executor ops never appear in a code object's co_code
    if name == "CACHE":
        continue  # only ever an inline-cache slot, never an instruction
    ops[name] = code
caches = getattr(opcode, "_inline_cache_entries", None)
if caches is None:
    cache_of = {}
elif isinstance(caches, dict):
    cache_of = dict((name, n) for name, n in caches.items() if n and name in ops)
else:
    cache_of = dict((opcode.opname[i], n) for i, n in enumerate(caches) if n and opcode.opname[i] in ops)
if hasattr(opcode, "hasarg"):
    takes_arg = sorted(name for name, code in ops.items() if code in opcode.hasarg)
else:
    takes_arg = sorted(name for name, code in ops.items() if code >= opcode.HAVE_ARGUMENT)
prelude = [n for n in ("MAKE_CELL", "COPY_FREE_VARS", "RETURN_GENERATOR", "POP_TOP", "NOP", "EXTENDED_ARG") if n in ops]
code_args = 18 if hasattr((lambda: 0).__code__, "co_exceptiontable") else (16 if hasattr((lambda: 0).__code__, "co_posonlyargcount") else 15)
out = {
    "version": version,
    "interpreter": sys.version.split()[0],
    "code_args": code_args,
    "opcodes": ops,
    "cache_entries": cache_of,
    "takes_arg": takes_arg,
    "resume": ops.get("RESUME"),
    "prelude": prelude,
    "stdlib": sorted(getattr(sys, "stdlib_module_names", [])),
}
print(json.dumps(out))
"""


def find_interpreters(pyenv_root: Path) -> list[Path]:
    """One interpreter per minor version 3.6+, the newest patch release of each."""
    best: dict[tuple[int, int], tuple[tuple[int, ...], Path]] = {}
    for entry in sorted((pyenv_root / "versions").glob("3.*")):
        parts = entry.name.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            continue
        major, minor, patch = map(int, parts)
        exe = entry / "bin" / f"python{major}.{minor}"
        if minor >= 6 and exe.exists() and (major, minor, patch) > best.get((major, minor), ((0,), exe))[0]:
            best[(major, minor)] = ((major, minor, patch), exe)
    return [exe for _, (_, exe) in sorted(best.items())]


def probe(interpreter: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run([str(interpreter), "-I", "-c", PROBE], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyenv-root", type=Path, default=Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser())
    args = parser.parse_args(argv)
    interpreters = find_interpreters(args.pyenv_root)
    if not interpreters:
        print(f"no CPython 3.6+ under {args.pyenv_root}/versions", file=sys.stderr)
        return 1
    bytecode, stdlib = {}, {}
    for interpreter in interpreters:
        facts = probe(interpreter)
        version = facts.pop("version")
        names = facts.pop("stdlib")
        if names:
            stdlib[version] = names
        bytecode[version] = facts
        print(f"{version}: {facts['interpreter']} ({interpreter}), {len(facts['opcodes'])} opcodes", file=sys.stderr)
    (HERE / "bytecode.json").write_text(json.dumps(bytecode, indent=1, sort_keys=True) + "\n")
    (HERE / "stdlib_modules.json").write_text(json.dumps(stdlib, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
