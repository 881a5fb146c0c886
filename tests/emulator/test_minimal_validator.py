"""The built-in fallback validator (used when the harness is not installed): real pickles run
by a real interpreter in a separate limited process, judged with numerai-predict's wording.

This module starts its own emulator with `--validator minimal` and this test interpreter as
the Python 3.11 runtime (it has pandas and pyarrow), so every case below really runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from numerai_mcp.emulator.control import start_emulator
from tests.emulator.conftest import OWN_PYTHON, pickled_function
from tests.support.emulator_api import Gql, upload_pickle, wait_for_validation

pytestmark = pytest.mark.slow
TIMEOUT_S = 8

CASES: dict[str, tuple[str, str]] = {
    "good_one_arg": ("""
import pandas as pd
def predict(live):
    cols = [c for c in live.columns if c.startswith("feature_")]
    return pd.DataFrame({"prediction": live[cols].mean(axis=1).rank(pct=True)}, index=live.index)
""", "Validation succeeded: 500 predictions, all in [0, 1]."),
    "good_two_args": ("""
import pandas as pd
def predict(live, benchmarks):
    return pd.DataFrame({"prediction": benchmarks["v52_lgbm_ender20"]}, index=live.index)
""", "Validation succeeded: 500 predictions, all in [0, 1]."),
    "nan": ("""
import pandas as pd
def predict(live):
    return pd.DataFrame({"prediction": [float("nan")] * len(live)}, index=live.index)
""", "Pickle function returned at least 1 NaN prediction"),
    "out_of_range": ("""
import pandas as pd
def predict(live):
    return pd.DataFrame({"prediction": [2.0] * len(live)}, index=live.index)
""", "Pickle function returned invalid predictions. Ensure values are between 0 and 1."),
    "series": ("""
import pandas as pd
def predict(live):
    return pd.Series([0.5] * len(live), index=live.index)
""", "Series'> instead of pd.DataFrame"),  # the class path differs between pandas 2 and 3
    "three_args": ("""
def predict(a, b, c):
    return None
""", "must have 1 or 2 arguments"),
    "raises": ("""
def predict(live):
    raise RuntimeError("boom inside predict")
""", "boom inside predict"),
    "segfault": ("""
import ctypes
def predict(live):
    return ctypes.string_at(0)
""", "Segmentation fault! Ensure python and library versions match our environment."),
    "too_much_memory": ("""
import numpy as np
def predict(live):
    return np.ones(6 * 1024**3 // 8)
""", "Out of memory: the model needs more than the 4 GB Numerai allows."),
    "good_and_sees_no_credentials": ("""
import os
import pandas as pd
def predict(live):
    leaked = [k for k in os.environ if "NUMERAI" in k or "SECRET" in k or "TOKEN" in k]
    assert not leaked, leaked
    return pd.DataFrame({"prediction": [0.5] * len(live)}, index=live.index)
""", "Validation succeeded: 500 predictions, all in [0, 1]."),
    "too_slow": ("""
import time
def predict(live):
    time.sleep(120)
""", f"Timed out: the model ran longer than {TIMEOUT_S} s"),
}


@pytest.fixture(scope="module")
def minimal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data = tmp_path_factory.mktemp("minimal-data")
    args = ["--validator", "minimal", "--python", f"{OWN_PYTHON}={sys.executable}",
            "--validation-timeout", str(TIMEOUT_S)]
    canaries = {"NUMERAI_LEAK_CANARY": "x", "SOME_SECRET": "y", "GITHUB_TOKEN": "z"}  # must not reach pickles
    with start_emulator(data_dir=data, extra_args=args, env=canaries) as handle:
        yield handle


def test_health_names_the_minimal_validator(minimal: Any) -> None:
    assert minimal.health()["validator"] == "minimal"


def test_each_case_gets_numerais_verdict(minimal: Any, tmp_path: Path) -> None:
    api = Gql(minimal.url, minimal.auth)
    model_id = api.model_id()
    uploaded = {name: upload_pickle(api, pickled_function(source, tmp_path / f"{name}.pkl"), model_id=model_id,
                                    python=OWN_PYTHON)["id"] for name, (source, _) in CASES.items()}
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle at all")
    uploaded["junk"] = upload_pickle(api, junk, model_id=model_id, python=OWN_PYTHON)["id"]
    expectations = {name: expected for name, (_, expected) in CASES.items()} | {"junk": "Invalid pickle - "}
    for name, pickle_id in uploaded.items():
        pickle = wait_for_validation(api, pickle_id, timeout_s=120)
        description = pickle["diagnosticsStatusDescription"]
        assert expectations[name] in description, (name, description)
        assert pickle["validationStatus"] == ("validated" if name.startswith("good") else "failed"), name
    logs = api.data("query($p: ID!) { diagnosticsTriggerLogs(pickleId: $p) { message } }",
                    {"p": uploaded["good_one_arg"]})["diagnosticsTriggerLogs"]
    messages = [line["message"] for line in logs]
    assert f"INFO:root:Running numerai-predict:emulator Python{OWN_PYTHON}" in messages
    assert "INFO:root:Predicting on 500 rows of live features" in messages
    assert "INFO:root:Generated 500 predictions" in messages
