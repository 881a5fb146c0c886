"""The scanner on real cloudpickles written by pyenv's Python 3.10, 3.11, 3.12 and 3.13.

Each version writes the same set of functions (tests.support.pickles_static.REAL_PICKLES_SCRIPT)
with cloudpickle and numpy at its image's pins; the scan must name the producing version, the
parameter count, the library majors, and the failure each other image would show
(pickle-runtime.md §1). Pickles are only read, never loaded.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from numerai_mcp.harness.catalogue import Catalogue, load_catalogue
from numerai_mcp.harness.scan import scan_pickle
from numerai_mcp.harness.scan_target import check_against_runtime, required_distributions
from tests.support.pickles_static import interpreter, make_real_pickles

PYTHONS = ("3.10", "3.11", "3.12", "3.13")
ARG_COUNTS = {"one_arg": 1, "two_arg": 2, "closure": 1, "generator": 1, "array": 1, "three_arg": 3, "varargs": 2,
              "kwargs": 3, "agents_subimport": 1, "shells_out": 1, "enum": 1, "identity_lambda": 1,
              "instance": None, "agents_by_reference": None, "loadtime_call": None, "setstate_class": None}
# bodies rich enough that their bytecode differs between 3.11 and 3.12
DISTINCTIVE = ("one_arg", "two_arg", "closure", "generator", "array", "agents_subimport", "shells_out", "enum")

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
Made = dict[str, dict[str, Path]]  # python -> pickle name -> path


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return load_catalogue(tmp_path_factory.mktemp("empty-cache"))


@pytest.fixture(scope="module")
def made(test_cache_dir: Path) -> Made:
    pickles = {}
    for python in PYTHONS:
        if interpreter(python) is not None:
            pickles[python] = make_real_pickles(python, test_cache_dir)
    if len(pickles) < 2:
        pytest.skip("needs pyenv Pythons for at least two of 3.10-3.13")
    return pickles


def test_facts_of_every_real_pickle(made: Made) -> None:
    for python, pickles in made.items():
        assert set(pickles) == set(ARG_COUNTS)
        started = time.perf_counter()
        for name, path in pickles.items():
            report = scan_pickle(path)
            assert report.readable and report.errors == [], (python, name, report.findings)
            assert report.protocol == 5
            assert report.function_arg_count == ARG_COUNTS[name], (python, name)
            if name == "agents_by_reference":
                assert report.python_versions == [] and report.modules == ["agents.models"]
                continue
            assert python in report.python_versions, (python, name, report.python_versions)
            if python == "3.10":
                assert set(report.python_versions) <= {"3.8", "3.9", "3.10"} and report.code_format == "py<=3.10"
                assert report.cloudpickle_major == 2
            else:
                assert report.code_format == "py>=3.11" and report.cloudpickle_major == 3
                if name in DISTINCTIVE:
                    assert report.python_versions == [python], (python, name, report.python_versions)
        print(f"\nPython {python}: scanned {len(pickles)} pickles in {(time.perf_counter() - started) * 1000:.1f} ms")


def test_only_load_time_code_is_dangerous(made: Made) -> None:
    expected = {"loadtime_call": ["dynamic_call"], "setstate_class": ["load_time_method"]}
    for python, pickles in made.items():
        for name, path in pickles.items():
            dangerous = scan_pickle(path).dangerous
            assert [f.code for f in dangerous] == expected.get(name, []), (python, name)
            if name == "setstate_class":
                assert "Sneaky.__setstate__" in dangerous[0].message
        warnings = [f.code for f in scan_pickle(pickles["shells_out"]).findings if f.severity == "warn"]
        assert warnings == ["suspicious_code"]


def test_numpy_major_of_a_closed_over_array(made: Made, catalogue: Catalogue) -> None:
    for python, pickles in made.items():
        report = scan_pickle(pickles["array"])
        assert report.numpy_major == (1 if python == "3.10" else 2)
        assert required_distributions(report, catalogue.get(python)) == ["cloudpickle", "numpy"]
        assert check_against_runtime(report, catalogue.get(python)) == []
        if python != "3.10":
            codes = [f.code for f in check_against_runtime(report, catalogue.get("3.10"))]
            assert codes == ["python_mismatch", "numpy2_array", "cloudpickle_mismatch"]


def test_cross_version_matrix_matches_measured_failures(made: Made, catalogue: Catalogue) -> None:
    """Each made-on -> target pair gives the failure pickle-runtime.md §1 measured."""
    for built, pickles in made.items():
        report = scan_pickle(pickles["one_arg"])
        for target in PYTHONS:
            findings = [f for f in check_against_runtime(report, catalogue.get(target)) if f.code == "python_mismatch"]
            if target == built:
                assert findings == []
                continue
            (finding,) = findings
            message = finding.message
            assert f"Rebuild the pickle with Python {target}" in message
            if built == "3.10":
                assert f"'Pickle incompatible with {target}'" in message and "code() argument 13" in message
                assert "if Python 3.10 built it, register it with numerai_predict_py_3_10" in message  # 3.8-3.10 shape
            elif target == "3.10":
                assert "code expected at most 16 arguments, got 18" in message
            elif built == "3.13":
                assert "SystemError" in message
            else:
                assert "segmentation fault" in message and "exit 139" in message
            if built != "3.10":
                assert f"register it with numerai_predict_py_{built.replace('.', '_')}" in message


def test_repo_local_module_is_caught_both_ways(made: Made, catalogue: Catalogue) -> None:
    for python, pickles in made.items():
        for name in ("agents_subimport", "agents_by_reference"):
            report = scan_pickle(pickles[name])
            missing = [f for f in check_against_runtime(report, catalogue.get(python)) if f.code == "missing_module"]
            assert len(missing) == 1, (python, name)
            assert "No module named 'agents'" in missing[0].message


def test_bad_signatures_are_flagged_on_every_runtime(made: Made, catalogue: Catalogue) -> None:
    for python, pickles in made.items():
        for name, count in ARG_COUNTS.items():
            codes = [f.code for f in check_against_runtime(scan_pickle(pickles[name]), catalogue.get(python))]
            assert ("bad_signature" in codes) == (count not in (None, 1, 2)), (python, name, codes)


HOST_SCRIPT = r"""
import json, sys
from pathlib import Path
from numerai_mcp.harness.scan import scan_pickle
print(json.dumps({p: scan_pickle(Path(p)).to_dict() for p in sys.argv[1:]}))
"""


@pytest.mark.parametrize("host", ["3.12", "3.13"])
def test_scan_does_not_depend_on_the_host_python(made: Made, fixture_pickle: Path, host: str) -> None:
    """The server may run on any Python 3.11+: the scan must read every pickle the same way."""
    exe = interpreter(host)
    if exe is None:
        pytest.skip(f"no pyenv Python {host}")
    paths = [str(fixture_pickle)] + [str(p) for pickles in made.values() for p in pickles.values()]
    done = subprocess.run([str(exe), "-I", "-c", f"import sys; sys.path.insert(0, {str(REPO)!r})\n" + HOST_SCRIPT,
                           *paths], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout)
    for path in paths:
        ours = json.loads(json.dumps(scan_pickle(Path(path)).to_dict()))
        for volatile in ("seconds",):
            ours.pop(volatile), theirs[path].pop(volatile)
        assert theirs[path] == ours, path
