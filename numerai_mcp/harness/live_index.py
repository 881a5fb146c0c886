"""The live ids (and eras, and column names) a validation's predictions are checked against, read by trusted code.

The server has no pandas, and the sandboxed runner cannot be believed, so the ids come from
the live parquet file itself, read once by a small script in the target runtime (which has
pandas) that never sees the pickle. The result is cached by the file's identity (path,
size, mtime, inode), so a warm validation only reads a small JSON file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

from numerai_mcp.harness.predictions import LiveIds

_SCRIPT = r"""
import json, os, sys
import pandas as pd
import pyarrow.parquet as pq
path, out = sys.argv[1], sys.argv[2]
schema = pq.read_schema(path)
index_names = set((schema.pandas_metadata or {}).get("index_columns") or [])
names = [str(name) for name in schema.names if name not in index_names]
columns = ["era"] if "era" in names else []
frame = pd.read_parquet(path, columns=columns)
ids = [str(value) for value in frame.index]
eras = [str(value) for value in frame["era"]] if columns else None
with open(out, "w") as handle:
    json.dump({"ids": ids, "eras": eras, "columns": names}, handle)
sys.stdout.flush(); sys.stderr.flush()
os._exit(0)  # skip interpreter teardown: pyarrow's thread pool sometimes aborts there (exit 134)
"""


def _key(path: Path) -> str:
    info = path.stat()
    identity = f"{path.resolve()}|{info.st_size}|{info.st_mtime_ns}|{info.st_ino}|v2"
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def live_ids(live: Path, python: Path, env: dict[str, str], cache_dir: Path) -> tuple[LiveIds | None, str]:
    """(the ids and eras of `live`, or None; why not). Never raises for a bad file: the check is then skipped."""
    folder = Path(cache_dir) / "livedata" / "index"
    try:
        cached = folder / f"{_key(Path(live))}.json"
        data = json.loads(cached.read_text())
        return LiveIds(data["ids"], data["eras"], data["columns"]), ""
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"the live data cannot be read ({exc})"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ids-", suffix=".json", dir=folder)
    os.close(fd)
    try:
        done = subprocess.run([str(python), "-I", "-c", _SCRIPT, str(live), tmp], capture_output=True, text=True,
                              env={**env, "PYTHONDONTWRITEBYTECODE": "1"}, timeout=300, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
            return None, f"the live ids could not be read from {live} ({last})"
        data = json.loads(Path(tmp).read_text())
        os.replace(tmp, cached)
        return LiveIds(data["ids"], data["eras"], data["columns"]), ""
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return None, f"the live ids could not be read from {live} ({exc})"
    finally:
        Path(tmp).unlink(missing_ok=True)
