"""era_reader.EraReader returns exactly what pandas' filters return, for every way a file may hold its eras."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

READER = Path(__file__).resolve().parents[2] / "numerai_mcp" / "harness" / "era_reader.py"


def _reader_class() -> Any:
    spec = importlib.util.spec_from_file_location("era_reader_under_test", READER)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.EraReader


def _frame(eras: int = 6, rows: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"era": np.repeat([f"{575 + i:04d}" for i in range(eras)], rows),
                          "feature_a": rng.integers(0, 5, eras * rows, dtype=np.int8),
                          "feature_b": rng.integers(0, 5, eras * rows, dtype=np.int8),
                          "target": rng.random(eras * rows)},
                         index=pd.Index([f"n{i:06d}" for i in range(eras * rows)], name="id"))
    return frame


LAYOUTS = {
    "one era per row group": {"row_group_size": 50},
    "eras across row groups": {"row_group_size": 70},
    "one row group": {"row_group_size": 10_000},
    "no statistics": {"row_group_size": 50, "write_statistics": False},
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("columns", [["era", "feature_a", "feature_b"], ["feature_b", "target"], None])
def test_each_era_reads_as_pandas_filters_read_it(tmp_path: Path, layout: str, columns: list[str] | None) -> None:
    path = tmp_path / "validation.parquet"
    _frame().to_parquet(path, engine="pyarrow", **LAYOUTS[layout])
    reader = _reader_class()(str(path), columns)
    for era in ["0575", "0577", "0580", "0999"]:
        expected = pd.read_parquet(path, columns=columns, filters=[("era", "==", era)])
        got = reader.read(era)
        pd.testing.assert_frame_equal(got, expected)
        assert got.index.name == "id" and len(got) == (0 if era == "0999" else 50)


def test_statistics_of_a_numeric_era_column_are_not_trusted_to_decide(tmp_path: Path) -> None:
    frame = _frame()
    frame["era"] = frame["era"].astype(int)
    path = tmp_path / "numeric.parquet"
    frame.to_parquet(path, row_group_size=50)
    assert _reader_class()(str(path), ["feature_a"])._ranges is None  # pandas' filters decide, as before
