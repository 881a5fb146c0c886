"""Static scanner on crafted, corrupt and real pickles. Nothing here ever loads a pickle."""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from numerai_mcp.harness.catalogue import Catalogue, load_catalogue
from numerai_mcp.harness.scan import ScanReport, scan_pickle
from numerai_mcp.harness.scan_target import check_against_runtime, required_distributions
from tests.support.pickles_static import (
    Reduce,
    assemble,
    cloudpickle_function,
    crafted,
    op,
    stack_global,
)

REPO = Path(__file__).resolve().parents[2]
# 3.12 bytecode of `def predict(x): return x` (RESUME 0; LOAD_FAST 0; RETURN_VALUE)
PY312_IDENTITY = bytes([151, 0, 124, 0, 83, 0])


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return load_catalogue(tmp_path_factory.mktemp("empty-cache"))


def codes(report: ScanReport) -> list[str]:
    return [f.code for f in report.findings]


def assert_only_error(report: ScanReport, code: str) -> None:
    assert not report.readable
    assert [f.code for f in report.errors] == [code], report.findings


# ------------------------------------------------------------------ the real fixture


def test_fixture_facts(fixture_pickle: Path) -> None:
    started = time.perf_counter()
    report = scan_pickle(fixture_pickle)
    elapsed = time.perf_counter() - started
    print(f"\nscan of {fixture_pickle.name} ({report.size / 1e6:.1f} MB): {elapsed * 1000:.1f} ms")
    assert report.readable and report.protocol == 5
    assert report.python_versions == ["3.12"] and report.code_format == "py>=3.11"
    assert report.function_arg_count == 1 and report.function_name == "predict_neutral"
    assert report.cloudpickle_major == 3
    assert report.numpy_major is None  # no numpy._core / numpy.core reference in it: the bytes do not say
    # 42 columns (the model's max_feature_idx=41); a bare regex over the bytes finds 54 because it also
    # matches LightGBM keys (feature_infos, feature_fraction, …) and substrings such as max_feature_idx
    assert len(report.features) == 42 and report.features[0] == "feature_antistrophic_striate_conscriptionist"
    assert all(name.count("_") >= 3 for name in report.features)
    assert {"numpy.linalg.linalg", "numpy.linalg", "numpy", "pandas"} <= set(report.subimports)
    assert report.modules == sorted(report.modules)
    assert {"builtins", "cloudpickle.cloudpickle", "collections", "lightgbm.sklearn", "numpy", "pandas"} <= set(
        report.modules)
    assert ("lightgbm.sklearn", "LGBMRegressor") in report.globals
    assert len(report.globals) == len(set(report.globals))
    assert report.dangerous == [] and report.errors == []
    assert len(report.sha256) == 64 and report.size == fixture_pickle.stat().st_size


def test_fixture_against_each_runtime(fixture_pickle: Path, catalogue: Catalogue) -> None:
    report = scan_pickle(fixture_pickle)
    assert check_against_runtime(report, catalogue.get("3.12")) == []
    for python in ("3.11", "3.13"):
        (finding,) = check_against_runtime(report, catalogue.get(python))
        assert finding.code == "python_mismatch" and finding.severity == "error"
        assert "segmentation fault" in finding.message and f"Rebuild the pickle with Python {python}" in finding.message
        assert "numerai_predict_py_3_12" in finding.message
    on_310 = check_against_runtime(report, catalogue.get("3.10"))
    assert [f.code for f in on_310] == ["python_mismatch", "cloudpickle_mismatch"]
    assert "Pickle incompatible with 3.10" in on_310[0].message
    for python in ("3.10", "3.11", "3.12", "3.13"):
        assert required_distributions(report, catalogue.get(python)) == [
            "cloudpickle", "lightgbm", "numpy", "pandas", "scikit-learn"]


def test_bytes_and_path_give_the_same_report(fixture_pickle: Path) -> None:
    from_path = scan_pickle(fixture_pickle)
    from_bytes = scan_pickle(fixture_pickle.read_bytes())
    assert from_bytes.path is None and from_path.path == str(fixture_pickle)
    for attribute in ("sha256", "globals", "modules", "features", "findings", "python_versions"):
        assert getattr(from_bytes, attribute) == getattr(from_path, attribute)


# ------------------------------------------------------------------ bad input never raises


def test_empty_input() -> None:
    report = scan_pickle(b"")
    assert_only_error(report, "empty")
    assert report.size == 0 and report.protocol is None


def test_truncated_fixture_at_many_offsets(fixture_pickle: Path) -> None:
    data = fixture_pickle.read_bytes()
    for cut in (1, 2, 11, 60, 1500, 100_000, len(data) // 2, len(data) - 1):
        report = scan_pickle(data[:cut])
        assert_only_error(report, "truncated")
        assert "pickle data was truncated" in report.errors[0].message


def test_random_bytes() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        report = scan_pickle(rng.randbytes(rng.randint(1, 2000)))
        assert report.errors and not report.readable
        assert report.errors[0].code in {"not_a_pickle", "truncated", "corrupt", "malformed"}


def test_bit_flipped_fixture_never_raises(fixture_pickle: Path) -> None:
    data = bytearray(fixture_pickle.read_bytes()[:4000] + fixture_pickle.read_bytes()[-2000:])
    rng = random.Random(7)
    for _ in range(200):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 5)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        scan_pickle(bytes(mutated))  # must not raise


def test_zip_archive_is_not_a_pickle() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"a": 1}))
    report = scan_pickle(buffer.getvalue())
    assert_only_error(report, "not_a_pickle")
    assert "zip archive" in report.errors[0].message
    assert "A load persistent id instruction was encountered" in report.errors[0].message


@pytest.mark.slow
def test_torch_save_outputs(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    modern, legacy = tmp_path / "modern.pt", tmp_path / "legacy.pt"
    torch.save(torch.arange(3), modern)
    torch.save(torch.arange(3), legacy, _use_new_zipfile_serialization=False)
    assert_only_error(scan_pickle(modern), "not_a_pickle")
    # the legacy format is several pickles in a row, the first a magic number: pickle.load returns that int
    report = scan_pickle(legacy)
    assert report.readable and {"trailing_data", "not_a_function"} <= set(codes(report))


@pytest.mark.parametrize(("data", "what"), [(b"\x1f\x8b\x08\x00rest", "gzip"), (b"PAR1....", "Parquet"),
                                            (b"\x93NUMPY\x01\x00", "numpy .npy"), (b'{"a": 1}', "JSON")])
def test_other_file_types_are_named(data: bytes, what: str) -> None:
    report = scan_pickle(data)
    assert_only_error(report, "not_a_pickle")
    assert what in report.errors[0].message


def test_missing_file_raises_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        scan_pickle(tmp_path / "nope.pkl")


@pytest.mark.parametrize(
    ("stream", "fragment"),
    [(op("BINGET", 3), "memo entry 3 is read before it is written"),
     (op("POP"), "a MARK was expected"),
     (op("NONE") + op("NONE") + op("STACK_GLOBAL"), "not a string"),
     (op("REDUCE"), "stack is empty")],
)
def test_malformed_streams(stream: bytes, fragment: str) -> None:
    report = scan_pickle(assemble(stream))
    assert_only_error(report, "malformed")
    assert fragment in report.errors[0].message


def test_trailing_data_is_a_warning() -> None:
    report = scan_pickle(pickle.dumps({"a": 1}) + pickle.dumps([1]))
    assert report.readable and "trailing_data" in codes(report)


# ------------------------------------------------------------------ protocols and globals


@pytest.mark.parametrize("protocol", range(0, 6))
def test_every_protocol_with_os_system(protocol: int) -> None:
    report = scan_pickle(crafted(Reduce(os.system, "echo pwned"), protocol))
    assert report.readable and report.protocol == protocol
    assert report.globals == [("posix", "system")]
    assert [f.code for f in report.dangerous] == ["dangerous_global"]
    assert "posix.system" in report.dangerous[0].message and "processes" in report.dangerous[0].message


def test_stack_global_names_from_the_memo() -> None:
    data = crafted([os.system, os.popen, os.system], 4)
    ops = [o.name for o, _, _ in pickletools.genops(data)]
    assert "BINGET" in ops and ops.count("STACK_GLOBAL") == 2  # 'posix' is read back from the memo
    report = scan_pickle(data)
    assert report.globals == [("posix", "system"), ("os", "popen")]
    assert len(report.dangerous) == 2


def test_builtins_exec_protocol_2_uses_python2_spelling() -> None:
    data = crafted(Reduce(exec, "import os"), 2)
    assert b"c__builtin__\nexec\n" in data
    report = scan_pickle(data)
    assert report.globals == [("builtins", "exec")] and report.modules == ["builtins"]
    assert [f.code for f in report.dangerous] == ["dangerous_global"]


def test_getattr_import_chain_with_names_via_memo() -> None:
    imported = Reduce(__import__, "os")
    payload = Reduce(Reduce(getattr, imported, "system"), "echo pwned")
    data = crafted([payload, Reduce(getattr, imported, "popen")], 4)
    report = scan_pickle(data)
    found = codes(report)
    assert found.count("dangerous_global") == 1  # builtins.__import__ (getattr itself is not)
    assert "dangerous_getattr" in found and "dynamic_call" in found
    dynamic = next(f for f in report.dangerous if f.code == "dynamic_call")
    assert "builtins.getattr(builtins.__import__('os'), 'system')" in dynamic.message


def test_subprocess_and_network_globals() -> None:
    import socket
    import subprocess as sp

    report = scan_pickle(crafted([Reduce(sp.Popen, ["ls"]), Reduce(socket.create_connection, ("x", 1))], 4))
    assert {(m, n) for m, n in report.globals} == {("subprocess", "Popen"), ("socket", "create_connection")}
    messages = " ".join(f.message for f in report.dangerous)
    assert "processes" in messages and "network" in messages


def test_harmless_builtins_and_getattr_on_methods_are_not_dangerous() -> None:
    report = scan_pickle(crafted([Reduce(getattr, Reduce(dict, ()), "items"), Reduce(float, "1.5"), range(3)], 4))
    assert report.dangerous == [] and report.errors == []


def test_persistent_id_stream() -> None:
    report = scan_pickle(assemble(op("SHORT_BINUNICODE", "storage") + op("BINPERSID"), protocol=2))
    assert [f.code for f in report.errors] == ["persistent_id"]
    assert "no persistent_load function was specified" in report.errors[0].message


def test_inst_obj_build_persid_and_ext() -> None:
    inst = op("MARK") + op("SHORT_BINUNICODE", "id") + op("INST", "os system")
    obj = op("MARK") + stack_global("builtins", "getattr") + op("MARK") + op("NONE") + op("TUPLE") + op("REDUCE") \
        + op("SHORT_BINUNICODE", "x") + op("OBJ")
    build = stack_global("numpy", "random") + op("EMPTY_DICT") + op("BUILD")
    persid = op("PERSID", "storage0")
    ext = op("EXT1", 7)
    report = scan_pickle(assemble(op("MARK") + inst + obj + build + persid + ext + op("TUPLE"), protocol=2))
    found = codes(report)
    assert ("os", "system") in report.globals and "dangerous_global" in found  # INST imports and calls
    assert "dynamic_call" in found and "global_mutation" in found
    assert "persistent_id" in found and "extension_code" in found


def test_main_reference_is_an_error() -> None:
    report = scan_pickle(assemble(stack_global("__main__", "predict")))
    assert [f.code for f in report.errors] == ["main_reference"]


# ------------------------------------------------------------------ cloudpickle shapes


def test_crafted_function_facts() -> None:
    report = scan_pickle(assemble(cloudpickle_function(PY312_IDENTITY), protocol=5))
    assert report.readable and report.function_arg_count == 1 and report.function_name == "predict"
    assert report.python_versions == ["3.11", "3.12"]  # identity code has the same bytes on both
    assert report.python_version_detected == "3.11 or 3.12"
    assert report.cloudpickle_major == 3 and report.dangerous == []


@pytest.mark.parametrize(("argcount", "kwonly", "flags", "expected"),
                         [(1, 0, 3, 1), (2, 0, 3, 2), (3, 0, 3, 3), (1, 0, 3 | 0x04, 2), (1, 1, 3 | 0x08, 3),
                          (0, 0, 3 | 0x04 | 0x08, 2)])
def test_parameter_count_like_inspect_signature(catalogue: Catalogue, argcount: int, kwonly: int, flags: int,
                                                expected: int) -> None:
    report = scan_pickle(assemble(cloudpickle_function(PY312_IDENTITY, argcount=argcount, kwonly=kwonly, flags=flags)))
    assert report.function_arg_count == expected
    bad = [f for f in check_against_runtime(report, catalogue.get("3.12")) if f.code == "bad_signature"]
    assert bool(bad) == (expected not in (1, 2))
    if bad:
        assert "must have 1 or 2 arguments" in bad[0].message and f"takes {expected} parameters" in bad[0].message


def test_unknown_bytecode_is_flagged(catalogue: Catalogue) -> None:
    report = scan_pickle(assemble(cloudpickle_function(bytes([151, 0, 0xFE, 7]))))
    assert report.python_versions == [] and report.code_format == "py>=3.11"
    assert "python_unknown" in codes(report)
    for python in ("3.10", "3.12", "3.13"):  # invalid for every known table: certain on each target
        (finding,) = [f for f in check_against_runtime(report, catalogue.get(python)) if f.code == "python_mismatch"]
        assert finding.severity == "error" and "matches no version from 3.6 to 3.13" in finding.message


def test_target_without_a_bytecode_table_is_only_a_warning(tmp_path: Path) -> None:
    from numerai_mcp.harness.catalogue import cached_pins_path

    path = cached_pins_path(tmp_path, "3.14", "abc1234")
    path.parent.mkdir(parents=True)
    path.write_text("numpy==2.3.0\ncloudpickle==3.1.2\n")
    runtime = load_catalogue(tmp_path).get("3.14")
    report = scan_pickle(assemble(cloudpickle_function(PY312_IDENTITY)))
    (finding,) = check_against_runtime(report, runtime)
    assert finding.severity == "warn" and finding.code == "python_unverified"
    assert "built with Python 3.11 or 3.12" in finding.message


def test_crafted_loadtime_call_of_a_by_value_function() -> None:
    report = scan_pickle(assemble(cloudpickle_function(PY312_IDENTITY) + op("EMPTY_TUPLE") + op("REDUCE")))
    (finding,) = report.dangerous
    assert finding.code == "dynamic_call" and "cloudpickle.cloudpickle._make_function" in finding.message


def test_suspicious_names_in_the_body_are_a_warning_only() -> None:
    report = scan_pickle(assemble(cloudpickle_function(PY312_IDENTITY, names=("os", "system"))))
    assert report.dangerous == []
    (warning,) = [f for f in report.findings if f.code == "suspicious_code"]
    assert warning.severity == "warn" and "system" in warning.message


def test_module_not_in_the_image_by_reference(catalogue: Catalogue) -> None:
    report = scan_pickle(assemble(stack_global("agents.tools", "predict")))
    assert report.modules == ["agents.tools"]
    assert "function_by_reference" in codes(report)
    for python in ("3.10", "3.12"):
        (missing,) = check_against_runtime(report, catalogue.get(python))
        assert missing.code == "missing_module"
        assert "No module named 'agents'" in missing.message
    assert required_distributions(report, catalogue.get("3.12")) == []


def test_stdlib_module_removed_in_the_target_is_missing(catalogue: Catalogue) -> None:
    report = scan_pickle(assemble(stack_global("distutils.version", "LooseVersion")))
    assert check_against_runtime(report, catalogue.get("3.11")) == []
    assert [f.code for f in check_against_runtime(report, catalogue.get("3.12"))] == ["missing_module"]


# ------------------------------------------------------------------ numpy, pandas, sklearn, lightgbm, torch

DEV_VENV_PICKLES = r"""
import sys, pickle, cloudpickle, numpy as np, pandas as pd, lightgbm, torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import Ridge
out = sys.argv[1]
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.integers(0, 5, (200, 4)).astype("int8"), columns=[f"feature_{i}" for i in range(4)],
                 index=pd.Index([f"id{i}" for i in range(200)], name="id"))
y = rng.random(200)
model = lightgbm.LGBMRegressor(n_estimators=5, verbose=-1).fit(X, y)
pipe = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
weights = np.linspace(0, 1, 4)
series = pd.Series(y, index=X.index)
tensor = torch.ones(3)
def predict(live_features):
    a = model.predict(live_features) + pipe.predict(live_features) + live_features.to_numpy() @ weights
    ranked = pd.Series(a, index=live_features.index).rank(pct=True)
    return pd.DataFrame({"prediction": ranked}) + series.mean() + float(tensor.sum())
cloudpickle.dump(predict, open(out + "/rich.pkl", "wb"))
class Sneaky:
    def __init__(self):
        self.weights = [1.0]  # a non-empty __dict__: without state, unpickling skips __setstate__
    def __setstate__(self, state):
        open("/tmp/never-written", "w").close()
    def __call__(self, live_features):
        return live_features
for protocol in (1, 5):
    cloudpickle.dump(Sneaky(), open(out + f"/sneaky{protocol}.pkl", "wb"), protocol=protocol)
pickle.dump(np.arange(5.0), open(out + "/array.pkl", "wb"))
pickle.dump(X, open(out + "/frame.pkl", "wb"))
"""


@pytest.fixture(scope="module")
def dev_venv_pickles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pickles made by this test's own interpreter (numpy 2, pandas 3, sklearn, lightgbm, torch)."""
    pytest.importorskip("lightgbm")
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("dev-pickles")
    done = subprocess.run([sys.executable, "-c", DEV_VENV_PICKLES, str(out)], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.mark.slow
def test_rich_legitimate_pickle_has_no_false_alarm(dev_venv_pickles: Path, catalogue: Catalogue) -> None:
    report = scan_pickle(dev_venv_pickles / "rich.pkl")
    assert report.readable and report.dangerous == [] and report.errors == []
    assert report.python_versions == [f"{sys.version_info.major}.{sys.version_info.minor}"]
    assert report.numpy_major == 2 and report.function_arg_count == 1
    assert report.features[:4] == ["feature_0", "feature_1", "feature_2", "feature_3"]
    needed = required_distributions(report, catalogue.get("3.11"))
    assert {"cloudpickle", "lightgbm", "numpy", "pandas", "scikit-learn", "torch"} <= set(needed)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", [1, 5])
def test_setstate_of_a_class_defined_in_the_pickle(dev_venv_pickles: Path, protocol: int) -> None:
    report = scan_pickle(dev_venv_pickles / f"sneaky{protocol}.pkl")
    assert [f.code for f in report.dangerous] == ["load_time_method"]
    assert "Sneaky.__setstate__" in report.dangerous[0].message
    if protocol == 1:
        assert ("copyreg", "_reconstructor") in report.globals


@pytest.mark.slow
def test_numpy2_array_on_a_numpy1_image(dev_venv_pickles: Path, catalogue: Catalogue) -> None:
    report = scan_pickle(dev_venv_pickles / "array.pkl")
    assert report.numpy_major == 2 and report.python_versions == [] and report.function_arg_count is None
    assert any(m.startswith("numpy._core") for m in report.modules)
    (finding,) = check_against_runtime(report, catalogue.get("3.10"))
    assert finding.code == "numpy2_array" and "numpy 1.26.4" in finding.message
    assert "Import error reading pickle - No module named 'numpy._core" in finding.message
    assert check_against_runtime(report, catalogue.get("3.12")) == []
    assert required_distributions(report, catalogue.get("3.12")) == ["numpy"]


@pytest.mark.slow
def test_pandas_frame_pickle(dev_venv_pickles: Path) -> None:
    report = scan_pickle(dev_venv_pickles / "frame.pkl")
    assert report.readable and report.dangerous == []
    assert report.features == ["feature_0", "feature_1", "feature_2", "feature_3"]
    assert any(m.startswith("pandas") for m in report.modules)


# ------------------------------------------------------------------ import weight


def test_scan_import_stays_light() -> None:
    code = ("import sys; from numerai_mcp.harness.scan import scan_pickle; scan_pickle(b'\\x80\\x04N.');"
            "print(sorted(m for m in ('numpy', 'pandas', 'httpx', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
