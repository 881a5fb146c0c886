"""What goes wrong when a scanned pickle meets one numerai_predict image: a Python or numpy mismatch, modules the
image lacks, a signature the runner rejects; and which pinned distributions a run there needs.

The scan (harness.scan) reads facts that hold for every target; this judges them against one runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from numerai_mcp.harness.opcodes import bytecode_tables
from numerai_mcp.harness.scan import NUMERAI_SEGFAULT, ScanFinding, ScanReport

if TYPE_CHECKING:
    from numerai_mcp.harness.catalogue import Runtime


def check_against_runtime(report: ScanReport, runtime: Runtime) -> list[ScanFinding]:
    """What would go wrong loading and calling this pickle on `runtime` (empty when nothing)."""
    if not report.readable:
        return []  # the file itself is broken: report.errors already say so, for every runtime
    findings = _python_findings(report, runtime)
    findings += _library_findings(report, runtime)
    findings += _module_findings(report, runtime)
    count = report.function_arg_count
    if count is not None and count not in (1, 2):
        findings.append(ScanFinding(
            "error", "bad_signature",
            f"{report.function_name or 'The function'} takes {count} parameters (defaults, *args and **kwargs all "
            "count); Numerai's runner only calls predict(live_features) or predict(live_features, "
            "live_benchmark_models) and fails with 'Invalid pickle function - <model> must have 1 or 2 arguments'. "
            "Give it exactly 1 or 2 parameters."))
    return findings


def _python_findings(report: ScanReport, runtime: Runtime) -> list[ScanFinding]:
    target, built = runtime.python, report.python_versions
    if not report.code_objects or target in built:
        return []
    if target not in bytecode_tables():
        return [ScanFinding(
            "warn", "python_unverified",
            f"This scanner cannot read Python {target} bytecode, so it cannot confirm the pickle runs on "
            f"{runtime.image}; it looks built with Python {report.python_version_detected or 'an unknown version'}. "
            f"Make sure Python {target} built it.")]
    if not built:  # some function's bytecode is invalid for the target's table: certain, not a guess
        return [ScanFinding(
            "error", "python_mismatch",
            f"The functions' bytecode is not valid Python {target} bytecode (it matches no version from "
            f"{_known_versions()}; a newer Python or a damaged file?): on {runtime.image} it would fail to load or "
            f"crash on the first call. Rebuild the pickle with Python {target} and the {runtime.image} pins.")]
    label = report.python_version_detected
    minors = [int(v.split(".")[1]) for v in built]
    target_minor = int(target.split(".")[1])
    if max(minors) <= 10 and target_minor >= 11:
        effect = (f"it fails to load: Numerai's runner logs 'Pickle incompatible with {target}' "
                  "(TypeError: code() argument 13 must be str, not int)")
    elif min(minors) >= 11 and target_minor <= 10:
        effect = (f"it fails to load: Numerai's runner logs 'Pickle incompatible with {target}' "
                  "(TypeError: code expected at most 16 arguments, got 18)")
    elif min(minors) >= 13 and target_minor in (11, 12):
        effect = ("it would load, then the first call raises SystemError ('no locals when deleting …' or "
                  "'no locals found when setting up annotations')")
    elif max(minors) <= 12 and target_minor >= 11:
        effect = ("it would load, then crash with a segmentation fault on the first call (exit 139, no error "
                  f"message; Numerai shows '{NUMERAI_SEGFAULT}')")
    else:
        effect = "its bytecode is invalid there: it would fail to load or crash on the first call"
    register = [v for v in built if v in _supported()]
    alternative = ""
    if len(register) == 1:
        image = f"numerai_predict_py_{register[0].replace('.', '_')}"
        alternative = (f", or register it with {image}" if len(built) == 1
                       else f", or, if Python {register[0]} built it, register it with {image}")
    return [ScanFinding(
        "error", "python_mismatch",
        f"Built with Python {label}, the target {runtime.image} runs {target}: {effect}. Rebuild the pickle with "
        f"Python {target} and the {runtime.image} pins{alternative}.")]


def _known_versions() -> str:
    known = list(bytecode_tables())
    return f"{known[0]} to {known[-1]}"


def _supported() -> tuple[str, ...]:
    from numerai_mcp.harness.catalogue import SUPPORTED_PYTHONS

    return SUPPORTED_PYTHONS


def _major(version: str | None) -> int | None:
    head = (version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _library_findings(report: ScanReport, runtime: Runtime) -> list[ScanFinding]:
    findings = []
    numpy_pin = runtime.pin("numpy")
    if report.numpy_major == 2 and _major(numpy_pin) == 1:
        first = next(m for m in report.modules if m.startswith("numpy._core"))
        findings.append(ScanFinding(
            "error", "numpy2_array",
            f"The pickle holds numpy 2 data (it imports {first}) but {runtime.image} pins numpy {numpy_pin}: "
            f"Numerai's runner fails with \"Import error reading pickle - No module named '{first}'\". Rebuild it "
            f"with the {runtime.image} pins (numpy {numpy_pin}), or target a Python whose image has numpy 2."))
    cloudpickle_pin = runtime.pin("cloudpickle")
    if report.cloudpickle_major == 3 and _major(cloudpickle_pin) == 2:
        findings.append(ScanFinding(
            "error", "cloudpickle_mismatch",
            f"The pickle was written by cloudpickle 3 but {runtime.image} pins cloudpickle {cloudpickle_pin}, which "
            f"lacks the helpers it names (cloudpickle.cloudpickle._function_setstate): loading fails. Rebuild it "
            f"with cloudpickle {cloudpickle_pin}."))
    return findings


def _module_findings(report: ScanReport, runtime: Runtime) -> list[ScanFinding]:
    from numerai_mcp.harness.modules import candidate_distribution, is_stdlib

    missing: dict[str, list[str]] = {}
    for module in report.modules:
        if module == "__main__" or is_stdlib(module, runtime.python):
            continue
        if module.startswith("numpy._core") and report.numpy_major == 2 and runtime.pin("numpy"):
            continue  # judged by the numpy check, with the right message
        if runtime.pin(candidate_distribution(module)) is None:
            missing.setdefault(module.split(".", 1)[0], []).append(module)
    findings = []
    for top, modules in missing.items():
        shown = ", ".join(modules[:4]) + (", …" if len(modules) > 4 else "")
        findings.append(ScanFinding(
            "error", "missing_module",
            f"Loading needs {shown}, which is neither in Python {runtime.python}'s standard library nor in a package "
            f"{runtime.image} pins: Numerai's runner fails with \"Import error reading pickle - No module named "
            f"'{top}'\". Remove the dependency on {top} (move that code inside predict, or pickle it by value with "
            f"cloudpickle.register_pickle_by_value({top}))."))
    return findings


def required_distributions(report: ScanReport, runtime: Runtime) -> list[str]:
    """Pinned distributions the pickle's modules need on `runtime`, e.g. ["cloudpickle", "lightgbm", "numpy",
    "pandas", "scikit-learn"]. Modules the runtime cannot provide are left out (check_against_runtime names them)."""
    from numerai_mcp.harness.modules import candidate_distribution, companion_distributions, is_stdlib

    needed: set[str] = set()
    for module in report.modules:
        if module == "__main__" or is_stdlib(module, runtime.python):
            continue
        for dist in (candidate_distribution(module), *companion_distributions(module)):
            if runtime.pin(dist) is not None:
                needed.add(dist)
    return sorted(needed)
