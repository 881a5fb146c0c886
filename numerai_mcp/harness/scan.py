"""Static scan of a model-upload pickle: what loading it would import, call and require.

Nothing is imported, unpickled or run: the opcode stream is replayed symbolically
(scan_machine), the producing Python version is read from the functions' bytecode
(opcodes), and references that would run code at load time are flagged (scan_rules).
It takes milliseconds, never raises on bad bytes, and answers before any runtime exists.

`scan_pickle` reports facts about the file that hold for every target; scan_target.check_against_runtime
adds what goes wrong on one numerai_predict image. The two lists never repeat each other.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from numerai_mcp.harness import scan_rules
from numerai_mcp.harness.opcodes import intersect_versions, versions_for_code, versions_for_format
from numerai_mcp.harness.scan_machine import Call, CodeObject, Global, Machine, Malformed, PDict, Replay

Severity = Literal["error", "danger", "warn", "info"]
CodeFormat = Literal["py<=3.10", "py>=3.11"]

NUMERAI_SEGFAULT = "Segmentation fault! Ensure python and library versions match our environment."


@dataclass(frozen=True)
class ScanFinding:
    severity: Severity
    code: str  # stable id, e.g. "dangerous_global", "python_mismatch", "missing_module"
    message: str  # one clear sentence (or two) for a human or a model, with the fix when there is one


@dataclass
class ScanReport:
    path: str | None
    size: int
    sha256: str
    readable: bool  # the opcode stream parsed and replayed to STOP
    protocol: int | None
    globals: list[tuple[str, str]] = field(default_factory=list)  # (module, name), first-seen order, deduplicated
    subimports: list[str] = field(default_factory=list)  # cloudpickle subimport('x.y') modules
    modules: list[str] = field(default_factory=list)  # every module the load imports, sorted
    python_versions: list[str] = field(default_factory=list)  # candidate producing minor versions
    code_format: CodeFormat | None = None  # 16 (<=3.10) vs 18 (>=3.11) CodeType arguments
    function_arg_count: int | None = None  # what inspect.signature counts for the pickled function
    cloudpickle_major: int | None = None
    numpy_major: int | None = None
    features: list[str] = field(default_factory=list)  # live-data column names ("feature_*"), first-seen order
    findings: list[ScanFinding] = field(default_factory=list)
    function_name: str | None = None  # qualified name of the pickled function, when it is one
    code_objects: int = 0  # how many function bodies the pickle carries
    seconds: float = 0.0  # time the scan took

    @property
    def dangerous(self) -> list[ScanFinding]:
        return [f for f in self.findings if f.severity == "danger"]

    @property
    def errors(self) -> list[ScanFinding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def python_version_detected(self) -> str | None:
        """"3.12", "3.11 or 3.12", or None when the pickle carries no bytecode."""
        return _versions_text(self.python_versions) or None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (findings as dicts)."""
        data = asdict(self)
        data["python_version_detected"] = self.python_version_detected
        return data


# ------------------------------------------------------------------ reading


def _versions_text(versions: list[str]) -> str:
    if len(versions) <= 1:
        return "".join(versions)
    return f"{', '.join(versions[:-1])} or {versions[-1]}"


_MAGIC = (
    (b"PK\x03\x04", "a zip archive (torch.save, .npz or a zipped file)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"(\xb5/\xfd", "zstd-compressed data"),
    (b"PAR1", "a Parquet file"),
    (b"\x93NUMPY", "a numpy .npy file"),
    (b"\x89HDF", "an HDF5 file (Keras .h5?)"),
    (b"{", "JSON text"),
)
_PERSISTENT_ID_FAILURE = (
    "Invalid pickle - A load persistent id instruction was encountered, but no persistent_load function was specified."
)


def _not_a_pickle(data: bytes) -> ScanFinding | None:
    if not data:
        return ScanFinding("error", "empty", "The file is empty (0 bytes), so it holds no pickle. Write it again with "
                           "cloudpickle.dump(predict, f) and check the write finished.")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            hint = f" Numerai's runner fails with '{_PERSISTENT_ID_FAILURE}'" if magic == b"PK\x03\x04" else ""
            return ScanFinding("error", "not_a_pickle", f"This is {what}, not a pickle.{hint} Upload the file "
                               "cloudpickle.dump(predict, f) writes, uncompressed.")
    return None


def _stream_error(exc: ValueError, data: bytes) -> ScanFinding:
    text = str(exc)
    if any(s in text for s in ("exhausted before seeing STOP", "not enough data", "but only", "no newline found")):
        return ScanFinding("error", "truncated", f"The pickle ends before its STOP opcode ({text}): the file was cut "
                           "short. Numerai's runner fails with 'Invalid pickle - pickle data was truncated'. "
                           "Write or download it again.")
    if "at position 0," in text:
        return ScanFinding("error", "not_a_pickle", f"This file is not a pickle: its first byte {data[:1]!r} is no "
                           "pickle opcode. Upload the file cloudpickle.dump(predict, f) writes.")
    return ScanFinding("error", "corrupt", f"The pickle is corrupt ({text}). Write it again with cloudpickle.dump.")


# ------------------------------------------------------------------ facts


def _dedupe(items: list[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _subimports(out: Replay) -> list[str]:
    found = []
    for call in out.calls:
        if (_cloudpickle_call(call, "subimport") and isinstance(call.args, tuple) and len(call.args) == 1
                and isinstance(call.args[0], str)):
            found.append(call.args[0])
    return _dedupe(found)


def _code_layout(args: tuple[Any, ...]) -> dict[str, int] | None:
    """Indices of the CodeType arguments we read, per constructor shape (15, 16 or 18 args)."""
    if len(args) == 18:
        return {"argcount": 0, "kwonly": 2, "flags": 5, "code": 6, "names": 8, "name": 11, "qualname": 12}
    if len(args) == 16:
        return {"argcount": 0, "kwonly": 2, "flags": 5, "code": 6, "names": 8, "name": 11, "qualname": 11}
    if len(args) == 15:
        return {"argcount": 0, "kwonly": 1, "flags": 4, "code": 5, "names": 7, "name": 10, "qualname": 10}
    return None


def _parameter_count(code: CodeObject) -> int | None:
    """len(inspect.signature(f).parameters): positional + keyword-only + *args + **kwargs."""
    layout = _code_layout(code.args)
    if layout is None:
        return None
    argcount, kwonly, flags = (code.args[layout[k]] for k in ("argcount", "kwonly", "flags"))
    if not all(isinstance(v, int) for v in (argcount, kwonly, flags)):
        return None
    return argcount + kwonly + bool(flags & 0x04) + bool(flags & 0x08)


def _function_code(value: Any) -> CodeObject | None:
    """The code of a function cloudpickle rebuilds: `_make_function(code, …)` / `FunctionType(code, …)`."""
    if isinstance(value, Call) and isinstance(value.args, tuple) and value.args:
        first = value.args[0]
        if isinstance(first, CodeObject):
            return first
    return None


def _describe(value: Any, depth: int = 0) -> str:
    """A short rendering of a record for messages: builtins.getattr(builtins.__import__('os'), 'system')."""
    if isinstance(value, Global):
        return f"{value.module}.{value.name}"
    if isinstance(value, Call):
        if depth > 2:
            return f"{_describe(value.func, depth + 1)}(…)"
        args = value.args if isinstance(value.args, tuple) else (value.args,)
        shown = ", ".join(_describe(a, depth + 1) for a in args[:3]) + (", …" if len(args) > 3 else "")
        return f"{_describe(value.func, depth + 1)}({shown})"
    if isinstance(value, CodeObject):
        return "<code object>"
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "…"
    return f"<{type(value).__name__}>"


# ------------------------------------------------------------------ findings


_CATEGORY = (
    (("os", "posix", "nt", "subprocess", "_posixsubprocess", "pty", "asyncio", "platform", "commands", "signal",
      "multiprocessing", "_thread"), "start processes or run shell commands"),
    (("socket", "_socket", "ssl", "urllib", "http", "ftplib", "smtplib", "telnetlib", "xmlrpc", "webbrowser",
      "requests", "httpx", "urllib3", "aiohttp"), "reach the network"),
    (("shutil", "io", "_io"), "read, write or delete files"),
)


def _capability(module: str) -> str:
    top = module.split(".", 1)[0]
    for modules, what in _CATEGORY:
        if top in modules:
            return what
    return "run arbitrary code"


_ATTRIBUTE_FETCHERS = {("builtins", "getattr"), ("operator", "attrgetter"), ("operator", "methodcaller")}


def _danger_findings(out: Replay) -> list[ScanFinding]:
    findings = []
    for module, name in _dedupe([(g.module, g.name) for g in out.globals]):
        if scan_rules.is_dangerous_global(module, name):
            findings.append(ScanFinding(
                "danger", "dangerous_global",
                f"Loading this pickle imports {module}.{name}, which can {_capability(module)}: a model pickle has "
                "no reason to, and it would act with the loader's permissions the moment the file is unpickled."))
    for call in out.calls:
        func = call.func
        if isinstance(func, Global) and (func.module, func.name) in _ATTRIBUTE_FETCHERS:
            findings.extend(_dynamic_attribute(call))
        elif call.kind in ("reduce", "obj", "inst") and not isinstance(func, Global):
            if isinstance(func, Call) and isinstance(func.func, Global) and func.func.module.startswith("cloudpickle") \
                    and func.func.name in scan_rules.CLOUDPICKLE_CALLABLE_FACTORIES:
                continue
            findings.append(ScanFinding(
                "danger", "dynamic_call",
                f"Loading this pickle calls the result of {_describe(func)}: code runs during unpickling, "
                "which no legitimate model pickle does."))
    findings += _class_method_findings(out)
    for target in _dedupe([(g.module, g.name) for g in out.builds_on_globals]):
        findings.append(ScanFinding(
            "danger", "global_mutation",
            f"Loading this pickle sets attributes on {target[0]}.{target[1]} (BUILD on an imported object), changing "
            "that library for everything that runs afterwards."))
    return _dedupe(findings)


def _cloudpickle_call(call: Call, name: str) -> bool:
    func = call.func
    return isinstance(func, Global) and func.module.startswith("cloudpickle") and func.name == name


def _pickled_classes(out: Replay) -> dict[int, tuple[str, set[str]]]:
    """Classes cloudpickle rebuilds by value: id(skeleton call) -> (name, names in the class dict)."""
    classes = {}
    for call in out.calls:
        if not (_cloudpickle_call(call, "_class_setstate") and isinstance(call.args, tuple) and len(call.args) == 2):
            continue
        cls, state = call.args
        if isinstance(cls, Call) and isinstance(state, tuple) and state and isinstance(state[0], PDict):
            name = cls.args[1] if isinstance(cls.args, tuple) and len(cls.args) > 1 else "?"
            classes[id(cls)] = (str(name), {k for k, _ in state[0].items if isinstance(k, str)})
    return classes


def _instance_class(call: Call) -> Any:
    """The class an instance-creating call instantiates (NEWOBJ, copyreg._reconstructor/__newobj__)."""
    if call.kind == "newobj":
        return call.func
    func = call.func
    if isinstance(func, Global) and func.module == "copyreg" and func.name in ("_reconstructor", "__newobj__") \
            and isinstance(call.args, tuple) and call.args:
        return call.args[0]
    return None


def _class_method_findings(out: Replay) -> list[ScanFinding]:
    """Methods of a class defined inside the pickle that unpickling itself would run."""
    classes = _pickled_classes(out)
    findings = []
    for call in out.calls:
        cls = _instance_class(call)
        if cls is None or id(cls) not in classes:
            continue
        name, methods = classes[id(cls)]
        run = []
        if "__new__" in methods and call.kind == "newobj":
            run.append("__new__")
        if "__setstate__" in methods and call.state is not None:
            run.append("__setstate__")
        if call.items:
            run += sorted({"append", "extend", "__setitem__"} & methods)
        if run:
            findings.append(ScanFinding(
                "danger", "load_time_method",
                f"Loading this pickle runs {', '.join(f'{name}.{m}' for m in run)}, code defined inside the pickle: "
                "it executes during unpickling, before anything could check it."))
    return findings


def _dynamic_attribute(call: Call) -> list[ScanFinding]:
    args = call.args if isinstance(call.args, tuple) else ()
    names = [a for a in args if isinstance(a, str)]
    if any(n in scan_rules.DANGEROUS_ATTRIBUTES for n in names):  # getattr(obj, 'method') alone is a bound method
        return [ScanFinding(
            "danger", "dangerous_getattr",
            f"Loading this pickle looks up {_describe(call)}: fetching '{names[-1] if names else '?'}' dynamically is "
            "how pickles reach os.system and friends without naming them.")]
    return []


def _code_findings(out: Replay, versions: list[str], formats: set[int]) -> list[ScanFinding]:
    findings = []
    if out.code_objects and not versions:
        tried = ", ".join(versions_for_format(next(iter(formats)))) if len(formats) == 1 else "none"
        findings.append(ScanFinding(
            "warn", "python_unknown",
            f"The functions' bytecode matches no Python version this scanner knows (same-shape versions: {tried}); "
            "it was built by a newer Python or is damaged. Rebuild it with the Python of the target image."))
    for code in out.code_objects:
        layout = _code_layout(code.args)
        names = code.args[layout["names"]] if layout else ()
        hits = sorted(set(n for n in names if isinstance(n, str)) & scan_rules.SUSPICIOUS_CODE_NAMES) \
            if isinstance(names, tuple) else []
        if hits:
            label = code.args[layout["qualname"]] if layout else "?"
            findings.append(ScanFinding(
                "warn", "suspicious_code",
                f"The function {label!s} refers to {', '.join(hits)}: harmless while loading, but it may run "
                "commands or use the network when called (Numerai's runner has no internet)."))
    return findings


def _structure_findings(out: Replay, trailing: int) -> list[ScanFinding]:
    findings = []
    if out.persistent_ids:
        findings.append(ScanFinding(
            "error", "persistent_id",
            f"The pickle uses persistent ids (a torch.save-style payload): Numerai's runner fails with "
            f"'{_PERSISTENT_ID_FAILURE}' Save the predict function with cloudpickle.dump instead."))
    if out.extension_codes:
        findings.append(ScanFinding(
            "warn", "extension_code",
            f"The pickle uses copyreg extension codes {sorted(set(out.extension_codes))}, which resolve to globals "
            "this scan cannot see."))
    main_refs = _dedupe([g.name for g in out.globals if g.module == "__main__"])
    if main_refs:
        findings.append(ScanFinding(
            "error", "main_reference",
            f"The pickle refers to {', '.join('__main__.' + n for n in main_refs)} by name; Numerai's runner is its "
            "own __main__ and has no such name, so loading fails. Pickle it by value (cloudpickle.dumps of a "
            "function defined in the notebook or script) instead of with plain pickle."))
    if out.complete and trailing:
        findings.append(ScanFinding(
            "warn", "trailing_data",
            f"{trailing} bytes follow the end of the pickle and are ignored when it is loaded (two dumps into one "
            "file?)."))
    return findings


def _fact_findings(report: ScanReport, result: Any) -> list[ScanFinding]:
    findings = []
    if report.python_versions:
        findings.append(ScanFinding("info", "python_version", f"Built with Python {report.python_version_detected} "
                                    f"(read from the bytecode of {report.code_objects} function(s))."))
    if isinstance(result, Global):
        findings.append(ScanFinding(
            "info", "function_by_reference",
            f"The pickle holds only a reference to {result.module}.{result.name}, not the function's code: the "
            f"runtime must be able to import {result.module}."))
    elif report.function_arg_count is None and report.readable:
        findings.append(ScanFinding(
            "warn", "not_a_function",
            f"The pickle holds {_describe(result)}, not a function cloudpickle rebuilt; Numerai's runner calls it "
            "with the live features, so it must be callable with 1 or 2 arguments."))
    return findings


# ------------------------------------------------------------------ public API


def scan_pickle(source: Path | bytes) -> ScanReport:
    """Scan a pickle file (or its bytes) without loading it.

    Bad content (empty, truncated, random, zip, corrupt) gives an "error" finding, never an
    exception; only an unreadable path raises (OSError, with the path in the message).
    """
    started = time.perf_counter()
    path: str | None = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = str(source)
        data = Path(source).read_bytes()
    report = ScanReport(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest(), readable=False,
                        protocol=None)
    rejected = _not_a_pickle(data)
    if rejected:
        report.findings.append(rejected)
        report.seconds = time.perf_counter() - started
        return report

    machine = Machine()
    try:
        with warnings.catch_warnings():  # pickletools warns about odd escapes in protocol-0 strings
            warnings.simplefilter("ignore")
            out = machine.run(data)
    except ValueError as exc:
        out = machine.out
        report.findings.append(_stream_error(exc, data))
    except Malformed as exc:
        out = machine.out
        report.findings.append(ScanFinding("error", "malformed", f"The pickle is malformed: {exc}; unpickling would "
                                           "fail. Write it again with cloudpickle.dump."))
    except Exception as exc:  # noqa: BLE001 - hostile bytes must give a finding, never a crash
        out = machine.out
        report.findings.append(ScanFinding("error", "corrupt", f"The pickle is corrupt ({type(exc).__name__}: "
                                           f"{exc}). Write it again with cloudpickle.dump."))
    else:
        if not out.complete:
            report.findings.append(ScanFinding("error", "truncated", "The pickle has no STOP opcode: the file was cut "
                                               "short. Write or download it again."))
    report.readable = out.complete and not report.errors
    report.protocol = out.protocol if out.protocol is not None else machine.proto_op or None
    _fill_facts(report, out)
    trailing = len(data) - machine.stop_offset - 1 if out.complete else 0
    report.findings += _danger_findings(out)
    report.findings += _structure_findings(out, trailing)
    report.findings += _code_findings(out, report.python_versions, {len(c.args) for c in out.code_objects})
    report.findings += _fact_findings(report, out.result)
    report.seconds = time.perf_counter() - started
    return report


def _fill_facts(report: ScanReport, out: Replay) -> None:
    report.globals = _dedupe([(g.module, g.name) for g in out.globals if not g.name.startswith("<extension")])
    report.subimports = _subimports(out)
    report.modules = sorted({m for m, _ in report.globals} | set(report.subimports))
    report.features = [name for name in out.features if name not in scan_rules.NOT_FEATURE_NAMES]
    report.code_objects = len(out.code_objects)
    shapes, candidates = set(), []
    for code in out.code_objects:
        layout = _code_layout(code.args)
        body = code.args[layout["code"]] if layout else None
        shapes.add(len(code.args))
        candidates.append(versions_for_code(body, len(code.args)) if isinstance(body, bytes) else [])
    report.python_versions = intersect_versions(candidates)
    if shapes:
        report.code_format = "py>=3.11" if max(shapes) >= 18 else "py<=3.10"
    function = _function_code(out.result)
    if function is not None:
        report.function_arg_count = _parameter_count(function)
        layout = _code_layout(function.args)
        name = function.args[layout["qualname"]] if layout else None
        report.function_name = name if isinstance(name, str) else None
    modules = set(report.modules)
    if any(m == "cloudpickle.cloudpickle_fast" for m in modules):
        report.cloudpickle_major = 2
    elif any(m == "cloudpickle" or m.startswith("cloudpickle.") for m in modules):
        report.cloudpickle_major = 3
    if any(m == "numpy._core" or m.startswith("numpy._core.") for m in modules):
        report.numpy_major = 2
    elif any(m == "numpy.core" or m.startswith("numpy.core.") for m in modules):
        report.numpy_major = 1
