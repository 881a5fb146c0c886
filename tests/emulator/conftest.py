"""Fixtures for the emulator tests: a GraphQL helper bound to the session emulator, and
small real pickles written by this interpreter (cloudpickle, by value)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator_api import Gql

OWN_PYTHON = "%d.%d" % sys.version_info[:2]


@pytest.fixture
def api(emulator: Any) -> Gql:
    return Gql(emulator.url, emulator.auth)


def pickled_function(source: str, path: Path, name: str = "predict") -> Path:
    """cloudpickle `name` from `source` executed as __main__, so it is pickled by value."""
    import cloudpickle

    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(source, f"<{path.name}>", "exec"), namespace)  # noqa: S102 - test-authored source
    path.write_bytes(cloudpickle.dumps(namespace[name]))
    return path
