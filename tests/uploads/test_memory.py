"""The upload memory: what one server process learns, every later one reads; concurrent writers lose nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from numerai_mcp.uploads.memory import DB_NAME, UploadMemory, account_key

URL = "http://127.0.0.1:9/store/{name}?X-Amz-Signature=abc&X-Amz-Expires=900"


def test_the_name_an_agent_asked_for_maps_to_the_latest_server_name_for_that_model(tmp_path: Path) -> None:
    memory = UploadMemory(tmp_path, account_key("http://api", "PUBLIC"))
    memory.issued(server_filename="model-AAA.pkl", model_id="m1", requested_filename="model.pkl",
                  url=URL.format(name="model-AAA.pkl"))
    memory.issued(server_filename="model-BBB.pkl", model_id="m1", requested_filename="model.pkl",
                  url=URL.format(name="model-BBB.pkl"))
    memory.issued(server_filename="model-CCC.pkl", model_id="m2", requested_filename="model.pkl",
                  url=URL.format(name="model-CCC.pkl"))
    assert memory.resolve("model.pkl", "m1").server_filename == "model-BBB.pkl"  # type: ignore[union-attr]
    assert memory.resolve("model.pkl", "m2").server_filename == "model-CCC.pkl"  # type: ignore[union-attr]
    assert memory.resolve("model-AAA.pkl", "m2").server_filename == "model-AAA.pkl"  # type: ignore[union-attr]
    assert memory.resolve("other.pkl", "m1") is None


def test_put_file_facts_join_the_issued_name_and_survive_a_new_process(tmp_path: Path) -> None:
    account = account_key("http://api", "PUBLIC")
    memory = UploadMemory(tmp_path, account)
    memory.issued(server_filename="model-AAA.pkl", model_id="m1", requested_filename="model.pkl",
                  url=URL.format(name="model-AAA.pkl"))
    other_signature = URL.format(name="model-AAA.pkl").replace("abc", "different")
    record = memory.uploaded(url=other_signature, local_path=tmp_path / "x.pkl", sha256="0" * 64, size=10,
                             python="3.11", python_source="verdict", verdict_passed=True, verdict_summary="PASS")
    assert record.server_filename == "model-AAA.pkl" and record.model_id == "m1" and record.python == "3.11"
    memory.registered(server_filename="model-AAA.pkl", pickle_id="p1", docker_image="Python 3.11", python="3.11",
                      model_id="m1")
    reread = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            from numerai_mcp.uploads.memory import UploadMemory
            r = UploadMemory({str(tmp_path)!r}, {account!r}).by_pickle("p1")
            print(r.server_filename, r.python, r.verdict_passed, r.requested_filename, r.size)
        """)], capture_output=True, text=True, check=True)
    assert reread.stdout.split() == ["model-AAA.pkl", "3.11", "True", "model.pkl", "10"]


def test_a_url_never_issued_here_names_its_file_by_the_object_key(tmp_path: Path) -> None:
    memory = UploadMemory(tmp_path, "acct")
    record = memory.uploaded(url=URL.format(name="model-ZZZ.pkl"), local_path=tmp_path / "x.pkl", sha256="1" * 64,
                             size=1, python=None, python_source=None, verdict_passed=None, verdict_summary=None)
    assert record.server_filename == "model-ZZZ.pkl" and record.model_id is None and record.python is None


def test_accounts_do_not_see_each_other(tmp_path: Path) -> None:
    UploadMemory(tmp_path, account_key("http://api", "ONE")).issued(
        server_filename="model-AAA.pkl", model_id="m1", requested_filename="model.pkl", url=URL.format(name="a"))
    assert UploadMemory(tmp_path, account_key("http://api", "TWO")).resolve("model.pkl", "m1") is None
    assert UploadMemory(tmp_path, account_key("http://other", "ONE")).resolve("model.pkl", "m1") is None


WRITER = """
import sys
from pathlib import Path
from numerai_mcp.uploads.memory import UploadMemory
cache, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
memory = UploadMemory(cache, "shared-account")
for i in range(count):
    name = f"model-{worker}-{i}.pkl"
    url = f"http://127.0.0.1:9/store/{name}?sig={i}"
    memory.issued(server_filename=name, model_id=f"m{worker}", requested_filename="model.pkl", url=url)
    memory.uploaded(url=url, local_path=cache / name, sha256=f"{i:064d}", size=i, python="3.12",
                    python_source="verdict", verdict_passed=True, verdict_summary="PASS")
    memory.registered(server_filename=name, pickle_id=f"p-{worker}-{i}", docker_image="Python 3.12",
                      python="3.12", model_id=f"m{worker}")
"""


def test_concurrent_server_processes_lose_and_corrupt_nothing(tmp_path: Path) -> None:
    workers, count = 4, 60
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(w), str(count)],
                              stderr=subprocess.PIPE, text=True) for w in range(workers)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute("SELECT server_filename, model_id, requested_filename, sha256, python, pickle_id, "
                            "issued_at, uploaded_at, registered_at FROM uploads").fetchall()
    assert len(rows) == workers * count
    assert all(all(value is not None for value in row) for row in rows), "a write lost another's columns"
    memory = UploadMemory(tmp_path, "shared-account")
    for worker in range(workers):
        latest = memory.resolve("model.pkl", f"m{worker}")
        assert latest is not None and latest.server_filename == f"model-{worker}-{count - 1}.pkl"
    assert (tmp_path / DB_NAME).stat().st_mode & 0o077 == 0
