"""The dataset files the emulator serves (`listDatasets`, `dataset`), under <data-dir>/datasets.

For every non-deprecated data version: `features.json` (written here, no pandas needed)
small synthetic live files (`live.parquet`, `live_benchmark_models.parquet`,
`live_example_preds.parquet`) and a synthetic validation set with a planted signal
(`validation.parquet`, `validation_benchmark_models.parquet`: see make_live_data.py). Files already present are kept, so a user can drop real
Numerai files in. Parquet needs pandas + pyarrow, which this process may lack, so
`make_live_data.py` runs with an interpreter found by `pythons.any_python_with`, in the
background: requests that need the files wait for it (bounded).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import threading
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from numerai_mcp.emulator.catalog import DATA_VERSIONS
from numerai_mcp.emulator.pythons import any_python_with

log = logging.getLogger("numerai_mcp.emulator")

LIVE_ROWS = 500
PARQUET_FILES = ("live.parquet", "live_benchmark_models.parquet", "live_example_preds.parquet", "validation.parquet",
                 "validation_benchmark_models.parquet")
_SAFE_NAME = re.compile(r"^v\d+(\.\d+)?/[A-Za-z0-9_.\-]+$")
_GENERATE_TIMEOUT_S = 300.0


def feature_names() -> list[str]:
    """The 42 feature names shipped as package data (the columns the fixture pickle predicts from)."""
    text = resources.files("numerai_mcp.emulator").joinpath("feature_names.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def features_document(names: list[str]) -> dict[str, object]:
    """A features.json shaped like Numerai's (feature_sets with small/medium/all, targets)."""
    return {
        "feature_sets": {"small": names[: len(names) // 3], "medium": names[: 2 * len(names) // 3], "all": names},
        "targets": ["target", "target_ender_20", "target_ender_60"],
    }


class Datasets:
    """Prepares, lists and resolves the served dataset files."""

    def __init__(self, root: Path, pythons: Mapping[str, Path], cache_dir: Path | None = None) -> None:
        self.root = root
        self.pythons = dict(pythons)
        self.cache_dir = cache_dir
        self.ready = threading.Event()
        self.error: str | None = None

    @property
    def versions(self) -> list[str]:
        return [v.name for v in DATA_VERSIONS if not v.deprecated]

    def start(self) -> None:
        threading.Thread(target=self.prepare, name="emulator-datasets", daemon=True).start()

    def prepare(self) -> None:
        """Create whatever files are missing; record a clear error instead of raising."""
        try:
            names = feature_names()
            for version in self.versions:
                folder = self.root / version
                folder.mkdir(parents=True, exist_ok=True)
                features = folder / "features.json"
                if not features.exists():
                    tmp = features.with_suffix(".json.tmp")
                    tmp.write_text(json.dumps(features_document(names), indent=1), encoding="utf-8")
                    os.replace(tmp, features)
            missing = [v for v in self.versions if not all((self.root / v / f).exists() for f in PARQUET_FILES)]
            if missing:
                self._generate(missing, names)
        except Exception as exc:  # noqa: BLE001 - reported through listDatasets/dataset and the logs
            self.error = str(exc)
            log.error("datasets: %s", exc)
        finally:
            self.ready.set()

    def _parquet_python(self) -> tuple[Path | None, dict[str, str] | None]:
        """An interpreter with numpy, pandas and pyarrow: one already at hand, else the harness's pinned
        runtime (a fresh install of numerai-mcp has no pandas of its own)."""
        python = any_python_with(("numpy", "pandas", "pyarrow"), self.pythons)
        if python is not None:
            return python, None
        try:
            from numerai_mcp.harness.catalogue import CATALOGUE_DEFAULT_PYTHON
            from numerai_mcp.harness.runtime import ensure_runtime

            runtime = ensure_runtime(CATALOGUE_DEFAULT_PYTHON, cache_dir=self.cache_dir)
        except Exception as exc:  # noqa: BLE001 - reported below with the other ways out
            log.warning("datasets: no pinned runtime to write the live files with: %s", exc)
            return None, None
        return runtime.python, {**os.environ, **runtime.env}

    def _generate(self, versions: list[str], names: list[str]) -> None:
        python, env = self._parquet_python()
        if python is None:
            raise RuntimeError(
                "No local Python with numpy, pandas and pyarrow was found to write the synthetic live parquet "
                "files. Install them next to numerai-mcp (pip install 'numerai-mcp[train]'), pass "
                "--python 3.X=/path/to/python of a venv that has them, or put real Numerai files into "
                f"{self.root}/<version>/."
            )
        names_file = self.root / "feature_names.txt"
        names_file.write_text("\n".join(names) + "\n", encoding="utf-8")
        script = Path(__file__).with_name("make_live_data.py")
        for seed, version in enumerate(versions):
            done = subprocess.run(
                [str(python), "-I", str(script), str(self.root / version), str(names_file), str(LIVE_ROWS), str(seed)],
                capture_output=True, text=True, timeout=_GENERATE_TIMEOUT_S, stdin=subprocess.DEVNULL, env=env,
            )
            if done.returncode != 0:
                tail = "\n".join(done.stderr.strip().splitlines()[-5:])
                raise RuntimeError(f"writing the synthetic {version} live files with {python} failed: {tail}")
        log.info("datasets: wrote synthetic live files for %s with %s", ", ".join(versions), python)

    def wait(self, timeout_s: float = 120.0) -> None:
        if not self.ready.wait(timeout_s):
            raise RuntimeError("The emulator is still preparing its dataset files; try again in a few seconds.")

    def files(self) -> list[str]:
        """Every served file as Numerai names them, e.g. 'v5.2/live.parquet'."""
        self.wait()
        found = [f"{v}/{p.name}" for v in self.versions for p in sorted((self.root / v).glob("*"))
                 if p.is_file() and not p.name.endswith(".tmp")]
        if not found and self.error:
            raise RuntimeError(f"The emulator has no dataset files: {self.error}")
        return sorted(found)

    def resolve(self, filename: str) -> Path | None:
        """The file behind a dataset name, or None (never a path outside the root)."""
        if not _SAFE_NAME.match(filename) or ".." in filename:
            return None
        self.wait()
        path = self.root / filename
        return path if path.is_file() else None

    def live_files(self, data_version: str) -> tuple[Path | None, Path | None]:
        """(live features, benchmark models) for a data version, when present."""
        live = self.resolve(f"{data_version}/live.parquet")
        bench = self.resolve(f"{data_version}/live_benchmark_models.parquet")
        return live, bench

    def validation_files(self, data_version: str) -> tuple[Path | None, Path | None]:
        """(validation features + target, validation benchmark models) for a data version, when present."""
        return (self.resolve(f"{data_version}/validation.parquet"),
                self.resolve(f"{data_version}/validation_benchmark_models.parquet"))

    def features_file(self, data_version: str) -> Path | None:
        return self.resolve(f"{data_version}/features.json")
