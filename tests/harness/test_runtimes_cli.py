"""`numerai-mcp runtimes list|update` against a real local HTTP server and the real emulator.

The pin lists are served by `http.server` on an ephemeral 127.0.0.1 port from a temp dir laid
out like numerai-predict (`<tag>/py3.X/requirements.txt`); the live image tags come from the
emulator process over real HTTP.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from numerai_mcp.harness.catalogue import LIVE_DEFAULT_SOURCE, SUPPORTED_PYTHONS, load_catalogue
from numerai_mcp.commands.runtimes import main, pin_changes

if TYPE_CHECKING:
    from numerai_mcp.emulator.control import EmulatorHandle

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "numerai_mcp" / "harness" / "data" / "pins"
SECRET = "SECRETSECRETSECRETSECRET0123456789"


@dataclass
class PinsServer:
    root: Path
    url: str
    paths: list[str] = field(default_factory=list)

    def publish(self, tag: str, python: str, text: str | bytes) -> None:
        target = self.root / tag / f"py{python}" / "requirements.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode() if isinstance(text, str) else text)

    def publish_shipped(self, tag: str, *, edits: dict[str, dict[str, str]] | None = None) -> None:
        """Serve the shipped lists under `tag`, with {python: {package: new version}} edits."""
        for python in SUPPORTED_PYTHONS:
            lines = []
            for line in (SHIPPED / f"py{python}.txt").read_text().splitlines():
                name, _, version = line.strip().partition("==")
                lines.append(f"{name}=={(edits or {}).get(python, {}).get(name, version)}")
            self.publish(tag, python, "\n".join(lines) + "\n")


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        self.server.paths.append(self.path)  # type: ignore[attr-defined]


@pytest.fixture
def pins_server(tmp_path: Path) -> Iterator[PinsServer]:
    root = tmp_path / "numerai-predict"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    server.paths = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        paths: list[str] = server.paths  # type: ignore[attr-defined]
        yield PinsServer(root, f"http://127.0.0.1:{server.server_address[1]}", paths)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials or pin URL from the developer's environment leak into a test."""
    for name in ("NUMERAI_MCP_AUTH", "NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY", "NUMERAI_MCP_PINS_BASE_URL",
                 "NUMERAI_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NUMERAI_MCP_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def cached_files(cache: Path) -> list[str]:
    folder = cache / "runtimes" / "pins"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# ------------------------------------------------------------------ update from a tag


def test_update_fetches_validates_caches_and_reports(pins_server: PinsServer, tmp_path: Path, quiet_env: None,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    pins_server.publish_shipped("a78dedd", edits={"3.12": {"numpy": "2.2.0", "lightgbm": "4.4.0", "attrs": "99.0"}})
    code, out = run_json(["--cache-dir", str(cache), "update", "--tag", "a78dedd", "--base-url", pins_server.url,
                          "--json"], capsys)
    assert code == 0 and out["ok"] is True
    assert sorted(pins_server.paths) == sorted(f"/a78dedd/py{p}/requirements.txt" for p in SUPPORTED_PYTHONS)
    by_python = {image["python"]: image for image in out["images"]}
    assert {p: i["status"] for p, i in by_python.items()} == {"3.10": "unchanged", "3.11": "unchanged",
                                                              "3.12": "updated", "3.13": "unchanged"}
    changes = {c["package"]: (c["before"], c["after"], c["direction"]) for c in by_python["3.12"]["changes"]}
    assert changes == {"numpy": ("2.1.3", "2.2.0", "up"), "lightgbm": ("4.5.0", "4.4.0", "down")}
    assert by_python["3.12"]["other_changes"] == 1
    assert cached_files(cache) == [f"py{p}-a78dedd.txt" for p in SUPPORTED_PYTHONS]

    runtime = load_catalogue(cache).get("3.12")
    assert runtime.pin("numpy") == "2.2.0" and runtime.tag == "a78dedd"
    assert runtime.pins_source.startswith("cached numerai-predict@a78dedd (")


def test_human_output_names_the_changes(pins_server: PinsServer, tmp_path: Path, quiet_env: None,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    pins_server.publish_shipped("a78dedd", edits={"3.13": {"pandas": "2.3.0"}})
    code = main(["--cache-dir", str(tmp_path), "update", "--tag", "a78dedd", "--base-url", pins_server.url])
    text = capsys.readouterr().out
    assert code == 0
    assert "pandas 2.3.3 -> 2.3.0 (down)" in text and "no changes" in text
    assert f"Cached under {tmp_path / 'runtimes'}" in text


def test_failures_keep_the_previous_lists(pins_server: PinsServer, tmp_path: Path, quiet_env: None,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    pins_server.publish_shipped("good111", edits={"3.12": {"numpy": "2.1.4"}})
    assert main(["--cache-dir", str(cache), "update", "--tag", "good111", "--base-url", pins_server.url]) == 0
    capsys.readouterr()

    pins_server.publish_shipped("bad2222")
    pins_server.publish("bad2222", "3.12", "<html><body>Rate limited</body></html>\n")
    (pins_server.root / "bad2222" / "py3.11" / "requirements.txt").unlink()
    pins_server.publish("bad2222", "3.13", b"numpy==2.2.6\n\xff\xfe\n")
    code, out = run_json(["--cache-dir", str(cache), "update", "--tag", "bad2222", "--base-url", pins_server.url,
                          "--json"], capsys)
    assert code == 1 and out["ok"] is False
    by_python = {image["python"]: image for image in out["images"]}
    assert by_python["3.10"]["status"] == "unchanged"
    assert "not an exact pin" in by_python["3.12"]["error"] and "Rate limited" in by_python["3.12"]["error"]
    assert "HTTP 404" in by_python["3.11"]["error"]
    assert "not UTF-8" in by_python["3.13"]["error"]
    catalogue = load_catalogue(cache)
    assert catalogue.get("3.12").pin("numpy") == "2.1.4"  # the earlier good list, not the HTML
    assert catalogue.get("3.12").pins_tag == "good111"
    assert "py3.12-bad2222.txt" not in cached_files(cache)
    assert not [n for n in cached_files(cache) if n.startswith(".")]  # no temp files left behind


def test_unreachable_pin_host(closed_port: int, tmp_path: Path, quiet_env: None,
                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(["--cache-dir", str(tmp_path), "update", "--tag", "a78dedd", "--base-url",
                          f"http://127.0.0.1:{closed_port}", "--timeout", "3", "--json"], capsys)
    assert code == 1
    assert all(i["status"] == "failed" and "could not fetch" in i["error"] for i in out["images"])
    assert cached_files(tmp_path) == []
    assert load_catalogue(tmp_path).get("3.12").pins_source == "shipped numerai-predict@19d1769"


def test_oversized_file_is_refused(pins_server: PinsServer, tmp_path: Path, quiet_env: None,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    pins_server.publish_shipped("big0000")
    pins_server.publish("big0000", "3.12", "numpy==2.1.3\n" * 200_000)
    code, out = run_json(["--cache-dir", str(tmp_path), "update", "--tag", "big0000", "--base-url",
                          pins_server.url, "--json"], capsys)
    assert code == 1
    (big,) = [i for i in out["images"] if i["status"] == "failed"]
    assert big["python"] == "3.12" and "larger than" in big["error"]


def test_base_url_from_the_environment(pins_server: PinsServer, tmp_path: Path, quiet_env: None,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pins_server.publish_shipped("envtag1")
    monkeypatch.setenv("NUMERAI_MCP_PINS_BASE_URL", pins_server.url + "/")
    code, out = run_json(["--cache-dir", str(tmp_path), "update", "--tag", "envtag1", "--json"], capsys)
    assert code == 0 and out["base_url"] == pins_server.url
    assert len(pins_server.paths) == len(SUPPORTED_PYTHONS)


# ------------------------------------------------------------------ live tags from the API


def emulator_env(emulator: EmulatorHandle, cache: Path, pins_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMERAI")}
    return {**env, "NUMERAI_API_URL": emulator.url, "NUMERAI_MCP_AUTH": emulator.auth,
            "NUMERAI_MCP_CACHE_DIR": str(cache), "NUMERAI_MCP_PINS_BASE_URL": pins_url,
            "NUMERAI_MCP_CREDENTIALS_FILE": str(cache / "none")}


def live_images(emulator: EmulatorHandle) -> list[dict]:
    response = httpx.post(emulator.url, json={"query": "{ computePickleDockerImages { name image tag default } }"},
                          headers={"Authorization": emulator.auth}, timeout=10)
    return response.json()["data"]["computePickleDockerImages"]


def test_update_with_live_tags_from_the_emulator(emulator: EmulatorHandle, pins_server: PinsServer,
                                                 tmp_path: Path) -> None:
    images = live_images(emulator)
    default = next(i for i in images if i["default"])
    tags = {i["tag"] for i in images}
    for tag in tags:
        pins_server.publish_shipped(tag, edits={default["name"].split()[-1]: {"numpy": "2.1.9"}})
    cache = tmp_path / "cache"
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "runtimes", "update", "--json"], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env=emulator_env(emulator, cache, pins_server.url))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["source"] == f"{emulator.url} (computePickleDockerImages)"
    assert sorted(i["tag"] for i in out["images"]) == sorted(i["tag"] for i in images)
    default_python = default["image"].rsplit("_", 2)[-2] + "." + default["image"].rsplit("_", 1)[-1]
    assert (out["default_python"], out["default_source"]) == (default_python, LIVE_DEFAULT_SOURCE)
    numpy_moves = [c for i in out["images"] for c in i["changes"] if c["package"] == "numpy"]
    assert [(c["after"], c["direction"]) for c in numpy_moves] == [("2.1.9", "up")]
    secret = emulator.auth.split("$", 1)[1]
    assert secret not in done.stdout + done.stderr

    offline = load_catalogue(cache)  # remembered: live tags, ids and default without asking again
    assert offline.default_python == default_python
    assert offline.default_source.startswith("catalogue (last `runtimes update`, ")
    assert offline.get(default_python).pin("numpy") == "2.1.9"
    assert all(r.image_id for r in offline.runtimes.values())


def test_list_live_from_the_emulator(emulator: EmulatorHandle, pins_server: PinsServer, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "numerai_mcp", "runtimes", "list", "--live", "--json"],
                          capture_output=True, text=True, timeout=60, cwd=REPO,
                          env=emulator_env(emulator, tmp_path, pins_server.url))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["default_source"] == LIVE_DEFAULT_SOURCE
    assert {r["python"] for r in out["runtimes"]} >= set(SUPPORTED_PYTHONS)
    assert all(r["image_id"] for r in out["runtimes"])
    assert sum(r["default"] for r in out["runtimes"]) == 1


def test_unreachable_api_is_a_clear_failure(closed_port: int, tmp_path: Path, quiet_env: None,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NUMERAI_API_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("NUMERAI_MCP_AUTH", f"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567${SECRET}")
    code = main(["--cache-dir", str(tmp_path), "update", "--base-url", "http://127.0.0.1:9"])
    captured = capsys.readouterr()
    assert code == 1
    assert "could not read the live images" in captured.err and "--tag" in captured.err
    assert "stay in use" in captured.err
    assert SECRET not in captured.out + captured.err
    assert not (tmp_path / "runtimes").exists()


# ------------------------------------------------------------------ list


def test_list_human(tmp_path: Path, quiet_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--cache-dir", str(tmp_path)]) == 0  # `runtimes` alone lists
    text = capsys.readouterr().out
    assert "default: Python 3.12, from catalogue" in text
    lines = {line.split()[1] if line.lstrip().startswith("*") else line.split()[0]: line
             for line in text.splitlines()[2:] if line.strip()}
    assert set(SUPPORTED_PYTHONS) <= set(lines)
    assert lines["3.12"].lstrip().startswith("*") and "numerai_predict_py_3_12:19d1769" in lines["3.12"]
    assert "1.26.4" in lines["3.10"] and "shipped numerai-predict@19d1769" in lines["3.10"]


def test_list_json(tmp_path: Path, quiet_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(["--cache-dir", str(tmp_path), "list", "--json"], capsys)
    assert code == 0 and out["default_python"] == "3.12" and out["default_source"] == "catalogue"
    rows = {r["python"]: r for r in out["runtimes"]}
    assert rows["3.13"]["key_pins"] == {"numpy": "2.2.6", "pandas": "2.3.3", "cloudpickle": "3.1.2",
                                        "lightgbm": "4.5.0", "scikit-learn": "1.6.1", "torch": "2.10.0"}
    assert rows["3.12"]["docker_ref"] == "ghcr.io/numerai/numerai_predict_py_3_12:19d1769"


# ------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["frobnicate"], "invalid choice"),
     (["update", "--tag", "../../etc"], "not a usable image tag"),
     (["update", "--tag", "x", "--base-url", "ftp://example.com"], "must be an http(s) URL"),
     (["update", "--tag", "x", "--timeout", "0"], "positive number of seconds")],
)
def test_bad_arguments_exit_2(argv: list[str], message: str, tmp_path: Path, quiet_env: None,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--cache-dir", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runtimes").exists()


def test_malformed_credentials_exit_2_without_echoing_them(tmp_path: Path, quiet_env: None,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NUMERAI_MCP_AUTH", f"not-a-key-{SECRET}")
    assert main(["update"]) == 2
    captured = capsys.readouterr()
    assert "PUBLIC_ID$SECRET_KEY" in captured.err and SECRET not in captured.err + captured.out


def test_pin_changes_orders_versions_numerically() -> None:
    changes, others = pin_changes({"numpy": "2.9.1", "torch": "2.7.1", "six": "1.0"},
                                  {"numpy": "2.10.0", "pandas": "2.3.1", "six": "1.1"})
    assert [(c.package, c.direction) for c in changes] == [("numpy", "up"), ("pandas", "added"), ("torch", "removed")]
    assert others == 1
