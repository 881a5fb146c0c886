"""Inference bundles: from a trained model to a portable Numerai predict pickle.

    export(model, features, "model.bundle.npz")          # in the training environment
    build_pickle(Path("model.bundle.npz"), Path("model.pkl"))   # numerai_mcp.bundle.build

A bundle is a versioned JSON manifest plus numpy arrays (never a pickle). The pickle is
written *inside* the target runtime (Numerai's Python minor version and pins) from a
template pickled by value, so it imports nothing but numpy and pandas.

Import-light: nothing here imports numpy, pandas or any ML framework until it is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from numerai_mcp.bundle.fileformat import FORMAT_VERSION, Bundle, BundleError

__all__ = ["FORMAT_VERSION", "Bundle", "BundleError", "export", "load_bundle", "predict_function"]


def export(model: Any, features: Any, out_path: str | Path, *, fill_values: Any = None,
           transform: str = "rank_per_era", benchmark_column: str | None = None, **options: Any) -> Path:
    """Detect the model kind and write its bundle; see numerai_mcp.bundle.exporters.export for options.

    The bundle also stores a reproduction probe (probe="auto" by default: rows with the model's own predictions
    for them; pass probe=rows or probe=(rows, predictions) from your training pipeline): build_pickle replays it
    in Numerai's runtime and fails when the pickle does not reproduce them."""
    from numerai_mcp.bundle.exporters import export as _export

    return _export(model, features, out_path, fill_values=fill_values, transform=transform,
                   benchmark_column=benchmark_column, **options)


def load_bundle(path: str | Path) -> Bundle:
    """Open and fully validate a bundle (needs numpy); raises BundleError saying what is wrong."""
    from numerai_mcp.bundle.fileformat import read_bundle

    return read_bundle(path)


def predict_function(bundle: Bundle) -> Any:
    """The bundle's predict(live_features, live_benchmark_models=None), run in this process.

    The same template the pickle carries: handy to check a bundle against the original model
    before building (needs numpy and pandas).
    """
    from numerai_mcp.bundle.template import make_predict

    return make_predict(bundle.spec())
