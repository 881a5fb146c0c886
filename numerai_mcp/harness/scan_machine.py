"""A symbolic pickle machine: replays the opcode stream without importing or calling anything.

It keeps the unpickler's stack, mark stack and memo, but globals become `Global` records,
calls become `Call` records and everything else stays a plain literal or container, so the
scanner can see what a load *would* import and call. Only the standard library's
`pickletools.genops` parses the bytes.
"""

from __future__ import annotations

import _compat_pickle
import pickletools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

FEATURE_TOKEN = re.compile(r"feature_[A-Za-z0-9_]+")  # a literal prefix keeps this fast on MB-sized strings


def feature_names(text: str) -> Iterator[str]:
    """`feature_*` words in `text`: not inside a longer identifier (max_feature_idx), and split
    where one name runs into the next (pandas 3 / pyarrow string arrays pickle one buffer)."""
    for match in FEATURE_TOKEN.finditer(text):
        start = match.start()
        if start and text[start - 1] == "_":
            continue
        parts = match.group().split("feature_")[1:]
        if len(parts) == 1:
            yield match.group()
        else:
            yield from ("feature_" + part.rstrip("_") for part in parts if part.strip("_"))


class Malformed(Exception):
    """The stream parses, but the unpickler could not execute it (empty stack, missing memo…)."""


@dataclass(eq=False)
class Global:
    """A `module.name` the unpickler would import (GLOBAL, STACK_GLOBAL, INST, EXT*)."""

    module: str
    name: str


@dataclass(eq=False)
class Call:
    """`func(*args)` (REDUCE, INST, OBJ) or `cls.__new__(cls, *args)` (NEWOBJ, NEWOBJ_EX)."""

    func: Any
    args: Any
    kind: str  # "reduce", "inst", "obj", "newobj"
    state: Any = None  # set by BUILD
    items: list[Any] = field(default_factory=list)  # APPEND/SETITEM into an object we cannot model


@dataclass(eq=False)
class CodeObject:
    """cloudpickle's `_builtin_type('CodeType')(*args)`: the raw constructor arguments."""

    args: tuple[Any, ...]


@dataclass(eq=False)
class Persistent:
    """A persistent id (PERSID/BINPERSID): needs a custom unpickler (torch.save-style payloads)."""

    pid: Any


@dataclass(eq=False)
class Buffer:
    """An out-of-band buffer (protocol 5 NEXT_BUFFER)."""


@dataclass(eq=False)
class PDict:
    """A dict as (key, value) pairs: keys may be records, which are unhashable."""

    items: list[tuple[Any, Any]] = field(default_factory=list)


@dataclass(eq=False)
class PSet:
    items: list[Any] = field(default_factory=list)
    frozen: bool = False


@dataclass
class Replay:
    """What replaying a pickle found."""

    protocol: int | None = None
    globals: list[Global] = field(default_factory=list)  # every GLOBAL-like reference, in stream order
    calls: list[Call] = field(default_factory=list)  # every call, in stream order
    code_objects: list[CodeObject] = field(default_factory=list)
    builds_on_globals: list[Global] = field(default_factory=list)  # BUILD applied to an imported object
    persistent_ids: list[Any] = field(default_factory=list)
    extension_codes: list[int] = field(default_factory=list)
    features: dict[str, None] = field(default_factory=dict)  # ordered set
    result: Any = None  # what load() would return
    complete: bool = False  # reached STOP


LITERAL_OPS = frozenset(
    "INT BININT BININT1 BININT2 LONG LONG1 LONG4 FLOAT BINFLOAT STRING BINSTRING SHORT_BINSTRING "
    "BINBYTES SHORT_BINBYTES BINBYTES8 UNICODE SHORT_BINUNICODE BINUNICODE BINUNICODE8".split()
)
CONSTANT_OPS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


def _is_builtin_type_codetype(func: Any) -> bool:
    """`_builtin_type('CodeType')`, cloudpickle's way of reaching types.CodeType."""
    return (
        isinstance(func, Call)
        and isinstance(func.func, Global)
        and func.func.module.startswith("cloudpickle")
        and func.func.name == "_builtin_type"
        and isinstance(func.args, tuple)
        and func.args == ("CodeType",)
    )


class Machine:
    """Replays one pickle; `run(data)` returns the Replay or raises ValueError/Malformed."""

    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.out = Replay()
        self.proto_op = 0  # protocol announced by PROTO: decides the Python 2 name mapping
        self.stop_offset = -1  # position of STOP in the data

    # -- stack helpers -------------------------------------------------------------------
    def pop(self) -> Any:
        if not self.stack:
            raise Malformed("the stack is empty where a value was expected")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        if not self.metastack:
            raise Malformed("a MARK was expected but none is open")
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def top(self) -> Any:
        if not self.stack:
            raise Malformed("the stack is empty where an object was expected")
        return self.stack[-1]

    def push_literal(self, value: Any) -> None:
        if isinstance(value, str):
            if "feature_" in value:
                self.out.features.update(dict.fromkeys(feature_names(value)))
        elif isinstance(value, (bytes, bytearray)) and b"feature_" in value:
            self.out.features.update(dict.fromkeys(feature_names(bytes(value).decode("latin-1"))))
        self.stack.append(value)

    def add_global(self, module: Any, name: Any) -> Global:
        if not isinstance(module, str) or not isinstance(name, str):
            raise Malformed("a global reference whose module or name is not a string")
        if self.proto_op < 3:  # the unpickler's fix_imports, as pickle.load does by default
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        record = Global(module, name)
        self.out.globals.append(record)
        return record

    def add_call(self, func: Any, args: Any, kind: str) -> None:
        if kind == "reduce" and _is_builtin_type_codetype(func) and isinstance(args, tuple):
            code = CodeObject(args)
            self.out.code_objects.append(code)
            self.stack.append(code)
            return
        call = Call(func, args, kind)
        self.out.calls.append(call)
        self.stack.append(call)

    def add_item(self, target: Any, *values: Any) -> None:
        if isinstance(target, list):
            target.extend(values)
        elif isinstance(target, PSet):
            target.items.extend(values)
        elif isinstance(target, Call):
            target.items.extend(values)
        # anything else (a literal) would make the real unpickler fail; it is not a safety signal

    # -- the loop ------------------------------------------------------------------------
    def run(self, data: bytes) -> Replay:
        highest = 0
        for info, arg, pos in pickletools.genops(data):
            highest = max(highest, info.proto)
            name = info.name
            if name in LITERAL_OPS:
                self.push_literal(arg)
            elif name in ("MEMOIZE",):
                self.memo[len(self.memo)] = self.top()
            elif name in ("BINGET", "GET", "LONG_BINGET"):
                if arg not in self.memo:
                    raise Malformed(f"memo entry {arg} is read before it is written")
                self.stack.append(self.memo[arg])
            elif name in ("BINPUT", "PUT", "LONG_BINPUT"):
                self.memo[arg] = self.top()
            elif name in CONSTANT_OPS:
                self.stack.append(CONSTANT_OPS[name])
            elif name == "STOP":
                self.out.result = self.pop()
                self.out.complete = True
                self.stop_offset = pos
                break
            else:
                self.step(name, arg)
        self.out.protocol = max(highest, self.proto_op)
        return self.out

    def step(self, name: str, arg: Any) -> None:  # noqa: C901 - one branch per opcode family
        stack = self.stack
        if name == "MARK":
            self.metastack.append(stack)
            self.stack = []
        elif name == "PROTO":
            self.proto_op = int(arg)
        elif name == "FRAME" or name == "READONLY_BUFFER":
            pass
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            if len(stack) < n:
                raise Malformed(f"{name} needs {n} values on the stack")
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif name == "TUPLE":
            items = tuple(self.pop_mark())  # pop first: pop_mark replaces self.stack
            self.stack.append(items)
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name == "EMPTY_LIST":
            stack.append([])
        elif name == "LIST":
            items = self.pop_mark()
            self.stack.append(list(items))
        elif name == "EMPTY_DICT":
            stack.append(PDict())
        elif name == "DICT":
            items = self.pop_mark()
            self.stack.append(PDict(list(zip(items[::2], items[1::2]))))
        elif name == "EMPTY_SET":
            stack.append(PSet())
        elif name == "FROZENSET":
            items = self.pop_mark()
            self.stack.append(PSet(list(items), frozen=True))
        elif name == "APPEND":
            value = self.pop()
            self.add_item(self.top(), value)
        elif name in ("APPENDS", "ADDITEMS"):
            items = self.pop_mark()
            self.add_item(self.top(), *items)
        elif name == "SETITEM":
            value, key = self.pop(), self.pop()
            self._set_items(self.top(), [(key, value)])
        elif name == "SETITEMS":
            items = self.pop_mark()
            self._set_items(self.top(), list(zip(items[::2], items[1::2])))
        elif name == "POP":
            if stack:
                stack.pop()
            else:
                self.pop_mark()
        elif name == "POP_MARK":
            self.pop_mark()
        elif name == "DUP":
            stack.append(self.top())
        elif name == "GLOBAL":
            module, _, attr = str(arg).partition(" ")
            stack.append(self.add_global(module, attr))
        elif name == "STACK_GLOBAL":
            attr, module = self.pop(), self.pop()
            self.stack.append(self.add_global(module, attr))
        elif name == "REDUCE":
            args, func = self.pop(), self.pop()
            self.add_call(func, args, "reduce")
        elif name == "NEWOBJ":
            args, cls = self.pop(), self.pop()
            self.add_call(cls, args, "newobj")
        elif name == "NEWOBJ_EX":
            kwargs, args, cls = self.pop(), self.pop(), self.pop()
            self.add_call(cls, (args, kwargs), "newobj")
        elif name == "INST":
            module, _, attr = str(arg).partition(" ")
            items = self.pop_mark()
            self.add_call(self.add_global(module, attr), tuple(items), "inst")
        elif name == "OBJ":
            items = self.pop_mark()
            if not items:
                raise Malformed("OBJ without a class")
            self.add_call(items[0], tuple(items[1:]), "obj")
        elif name == "BUILD":
            state = self.pop()
            target = self.top()
            if isinstance(target, Global):
                self.out.builds_on_globals.append(target)
            elif isinstance(target, Call):
                target.state = state
        elif name == "PERSID":
            self.out.persistent_ids.append(arg)
            stack.append(Persistent(arg))
        elif name == "BINPERSID":
            pid = self.pop()
            self.out.persistent_ids.append(pid)
            self.stack.append(Persistent(pid))
        elif name in ("EXT1", "EXT2", "EXT4"):
            self.out.extension_codes.append(int(arg))
            stack.append(Global("copyreg", f"<extension {arg}>"))
        elif name == "BYTEARRAY8":
            self.push_literal(bytearray(arg))
        elif name == "NEXT_BUFFER":
            stack.append(Buffer())
        else:  # an opcode added by a future protocol: genops knows it, we do not
            raise Malformed(f"opcode {name} is not understood by this scanner")

    def _set_items(self, target: Any, pairs: list[tuple[Any, Any]]) -> None:
        if isinstance(target, PDict):
            target.items.extend(pairs)
        elif isinstance(target, Call):
            target.items.extend(pairs)
