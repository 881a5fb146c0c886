"""Edit a TOML config line by line, so that every comment and the layout around our entry survive.

tomllib only parses, so the file is split into statements (blank/comment lines, table headers,
key = value pairs that may span lines) and only the statements of our entry are rewritten,
removed or inserted. The caller checks that the result parses back to what it intended.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from numerai_mcp.install.errors import Refused

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
KEY_PART = re.compile(r"[ \t]*(?:([A-Za-z0-9_-]+)|(\"(?:[^\"\\\n]|\\.)*\")|('[^'\n]*'))[ \t]*")


@dataclass
class Stmt:
    kind: str  # "trivia" (blank or comment line), "header" or "kv"
    start: int  # first line
    end: int  # one past the last line
    path: tuple  # header: the table; kv: table + dotted key
    table: tuple  # the table the statement belongs to


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}" if value else "{}"
    raise Refused(f"its numerai entry holds a value this installer cannot rewrite ({type(value).__name__})")


def parse_key(text: str, pos: int) -> tuple[list[str], int]:
    """A dotted TOML key starting at text[pos]: its parts and the position after it."""
    parts = []
    while True:
        match = KEY_PART.match(text, pos)
        if not match:
            raise Refused(f"could not read the key in line {text.strip()!r}; edit the file by hand")
        bare, basic, literal = match.groups()
        parts.append(bare if bare is not None else tomllib.loads(f"k = {basic or literal}")["k"])
        pos = match.end()
        if not text.startswith(".", pos):
            return parts, pos
        pos += 1


def split_toml(text: str) -> tuple[list[str], list[Stmt]]:
    lines = text.splitlines(keepends=True)
    stmts: list[Stmt] = []
    table: tuple = ()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            stmts.append(Stmt("trivia", i, i + 1, table, table))
            i += 1
            continue
        if stripped.startswith("["):
            double = stripped.startswith("[[")
            parts, pos = parse_key(stripped, 2 if double else 1)
            table = tuple(parts)
            stmts.append(Stmt("header", i, i + 1, table, table))
            i += 1
            continue
        parts, _ = parse_key(stripped, 0)
        end = i + 1
        while True:  # a value may span lines: take the fewest lines that parse on their own
            try:
                tomllib.loads("".join(lines[i:end]))
                break
            except tomllib.TOMLDecodeError:
                if end >= len(lines):
                    raise Refused("could not split it into statements; edit the file by hand") from None
                end += 1
        stmts.append(Stmt("kv", i, end, table + tuple(parts), table))
        i = end
    return lines, stmts


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def apply_ops(lines: list[str], ops: list[tuple[int, int, list[str]]]) -> str:
    """Replace lines[start:end] by new lines for each op (start == end inserts)."""
    out: list[str] = []
    done = 0
    for start, end, new in sorted(ops, key=lambda op: (op[0], op[1])):
        out.extend(lines[done:start])
        out.extend(new)
        done = max(done, end)
    out.extend(lines[done:])
    return "".join(out)


def ours_marks(stmts: list[Stmt], our: tuple) -> list[bool]:
    """Statements of our entry, with the blank/comment lines that sit between two of them."""
    marks = [s.kind != "trivia" and s.path[: len(our)] == our for s in stmts]
    solid = [i for i, s in enumerate(stmts) if s.kind != "trivia"]
    for pos, i in enumerate(solid[:-1]):
        nxt = solid[pos + 1]
        if marks[i] and marks[nxt]:
            for j in range(i + 1, nxt):
                marks[j] = True
    return marks


def remove_ours(text: str, our: tuple) -> str:
    lines, stmts = split_toml(text)
    marks = ours_marks(stmts, our)
    keep = [True] * len(lines)
    for s, mine in zip(stmts, marks):
        if mine:
            for n in range(s.start, s.end):
                keep[n] = False
    n = 0
    while n < len(lines):  # a removed block leaves no doubled blank line behind it
        if keep[n]:
            n += 1
            continue
        start = n
        while n < len(lines) and not keep[n]:
            n += 1
        after_blank = n == len(lines) or not lines[n].strip()
        if start > 0 and keep[start - 1] and not lines[start - 1].strip() and after_blank:
            keep[start - 1] = False
    return "".join(line for line, k in zip(lines, keep) if k)


def render_block(entry: dict, our: tuple, nl: str) -> list[str]:
    head = ".".join(toml_key(p) for p in our)
    plain = [(k, v) for k, v in entry.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in entry.items() if isinstance(v, dict)]
    out = [f"[{head}]{nl}"] + [f"{toml_key(k)} = {toml_value(v)}{nl}" for k, v in plain]
    for key, table in tables:
        out += [nl, f"[{head}.{toml_key(key)}]{nl}"]
        out += [f"{toml_key(k)} = {toml_value(v)}{nl}" for k, v in table.items()]
    return out


def append_block(text: str, entry: dict, our: tuple) -> str:
    nl = newline_of(text)
    if text and not text.endswith("\n"):
        text += nl
    lead = [nl] if text.strip() else []
    return text + "".join(lead + render_block(entry, our, nl))


def update_in_place(text: str, old: dict, new: dict, our: tuple) -> str:
    """Rewrite only the statements whose values change; insert the missing ones."""
    nl = newline_of(text)
    if text and not text.endswith("\n"):
        text += nl
    lines, stmts = split_toml(text)
    ops: list[tuple[int, int, list[str]]] = []
    main_header = next((s for s in stmts if s.kind == "header" and s.path == our), None)
    if main_header is None:
        raise Refused("its numerai entry has no [mcp_servers.numerai] header")
    by_path = {s.path: s for s in stmts if s.kind == "kv" and s.path[: len(our)] == our}

    def last_line_of(table: tuple, header: Stmt) -> int:
        kvs = [s for s in stmts if s.kind == "kv" and s.table == table]
        return kvs[-1].end if kvs else header.end

    def kv_line(stmt: Stmt, value: object) -> list[str]:
        rel = stmt.path[len(stmt.table):]
        return [".".join(toml_key(p) for p in rel) + f" = {toml_value(value)}{nl}"]

    def set_leaf(rel: tuple, value: object, missing: list[tuple]) -> None:
        stmt = by_path.get(our + rel)
        if stmt is not None:
            ops.append((stmt.start, stmt.end, [] if value is None else kv_line(stmt, value)))
        elif value is not None:
            missing.append(rel)

    top_missing: list[tuple] = []
    for key in [k for k in new if not isinstance(new[k], dict)] + [k for k in old if k not in new]:
        if old.get(key) != new.get(key):
            set_leaf((key,), new.get(key), top_missing)
    for key in [k for k in new if isinstance(new[k], dict)]:
        old_table, new_table = old.get(key) or {}, new[key]
        if old_table == new_table:
            continue
        inline = by_path.get(our + (key,))
        if inline is not None:  # `env = { ... }` inside our main table
            ops.append((inline.start, inline.end, kv_line(inline, new_table)))
            continue
        sub_missing: list[tuple] = []
        for name in list(new_table) + [n for n in old_table if n not in new_table]:
            if old_table.get(name) != new_table.get(name):
                set_leaf((key, name), new_table.get(name), sub_missing)
        if not sub_missing:
            continue
        sub_header = next((s for s in stmts if s.kind == "header" and s.path == our + (key,)), None)
        rendered = [f"{toml_key(rel[-1])} = {toml_value(new_table[rel[-1]])}{nl}" for rel in sub_missing]
        if sub_header is not None:
            ops.append((last_line_of(our + (key,), sub_header),) * 2 + (rendered,))
        elif any(p[: len(our) + 1] == our + (key,) for p in by_path):  # dotted `env.X = ...` keys
            dotted = [s for p, s in by_path.items() if p[: len(our) + 1] == our + (key,)]
            rendered = [f"{toml_key(key)}.{line}" for line in rendered]
            ops.append((dotted[-1].end, dotted[-1].end, rendered))
        else:
            mine = [s for s in stmts if s.kind != "trivia" and s.path[: len(our)] == our]
            head = ".".join(toml_key(p) for p in our + (key,))
            ops.append((mine[-1].end, mine[-1].end, [nl, f"[{head}]{nl}"] + rendered))
    if top_missing:
        rendered = [f"{toml_key(rel[0])} = {toml_value(new[rel[0]])}{nl}" for rel in top_missing]
        at = last_line_of(our, main_header)
        ops.append((at, at, rendered))
    return apply_ops(lines, ops)

