"""A tiny fake Docker Engine API on a unix socket (no Docker engine runs on this machine).

It answers the calls docker_backend makes, records every request, and "runs" containers:
a container whose entrypoint is `python` (the synthetic-data step) really runs its script
with a local pinned interpreter, with bind paths mapped to the host; the numerai-predict
container replays a scripted scenario (log lines, exit status, OOM flag, predictions CSV).
"""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlparse


@dataclass
class Scenario:
    lines: list[str] = field(default_factory=list)
    status: int = 0
    oom: bool = False
    hang: bool = False
    csv: str | None = None     # written to the /out bind as live_predictions-fake.csv


@dataclass
class FakeEngine:
    socket_path: Path
    python: Path                                  # interpreter with pandas for python-entrypoint containers
    scenario: Scenario = field(default_factory=Scenario)
    requests: list[tuple[str, str, dict]] = field(default_factory=list)
    pulled: set[str] = field(default_factory=set)
    containers: dict[str, dict] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)
    data_rows: list[int] = field(default_factory=list)


def _frames(text: str) -> bytes:
    payload = text.encode()
    return bytes([2, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def _host_path(binds: list[str], inner: str) -> str:
    for bind in binds:
        host, target = bind.split(":")[:2]
        if inner == target or inner.startswith(target + "/"):
            return host + inner[len(target):]
    return inner


def make_handler(engine: FakeEngine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes | dict | list = b"", content_type: str = "application/json") -> None:
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            path = url.path.removeprefix("/v1.41")
            engine.requests.append((method, path, {"query": parse_qs(url.query), "body": body}))
            parts = path.strip("/").split("/")
            if path == "/_ping":
                return self._send(200, b"OK", "text/plain")
            if parts[0] == "images" and parts[-1] == "json":
                ref = "/".join(parts[1:-1]).replace("%2F", "/").replace("%3A", ":")
                return self._send(200 if ref in engine.pulled else 404, {"message": "no such image"})
            if path == "/images/create":
                query = parse_qs(url.query)
                engine.pulled.add(f"{query['fromImage'][0]}:{query['tag'][0]}")
                return self._send(200, b'{"status":"Pulling"}\n{"status":"Downloaded"}\n')
            if path == "/containers/create":
                cid = f"c{len(engine.containers) + 1}"
                engine.containers[cid] = {"body": body, "done": threading.Event(), "status": 0, "logs": ""}
                return self._send(201, {"Id": cid})
            cid = parts[1] if len(parts) > 1 else ""
            container = engine.containers.get(cid)
            if container is None:
                return self._send(404, {"message": "no such container"})
            if parts[-1] == "start":
                self._start(container)
                return self._send(204)
            if parts[-1] == "wait":
                container["done"].wait(timeout=120)
                return self._send(200, {"StatusCode": container["status"]})
            if parts[-1] == "kill":
                engine.killed.append(cid)
                container["status"] = 137
                container["done"].set()
                return self._send(204)
            if parts[-1] == "json":
                return self._send(200, {"State": {"OOMKilled": container.get("oom", False)}})
            if parts[-1] == "logs":
                return self._send(200, _frames(container["logs"]), "application/vnd.docker.raw-stream")
            if method == "DELETE":
                engine.removed.append(cid)
                return self._send(204)
            return self._send(404, {"message": f"unhandled {method} {path}"})

        def _start(self, container: dict) -> None:
            body = container["body"]
            binds = body["HostConfig"]["Binds"]
            if body.get("Entrypoint") == ["python"]:
                spec = json.loads(body["Cmd"][2])
                for key in ("live", "bench", "ids_from"):
                    if key in spec:
                        spec[key] = _host_path(binds, spec[key])
                done = subprocess.run([str(engine.python), "-I", "-c", body["Cmd"][1], json.dumps(spec)],
                                      capture_output=True, text=True, timeout=120)
                container["status"], container["logs"] = done.returncode, done.stderr
                if done.returncode == 0:
                    count = subprocess.run([str(engine.python), "-I", "-c",
                                            "import sys, pandas; print(len(pandas.read_parquet(sys.argv[1])))",
                                            spec["bench"]], capture_output=True, text=True)
                    engine.data_rows.append(int(count.stdout))
                container["done"].set()
                return
            scenario = engine.scenario
            container["logs"] = "\n".join(scenario.lines) + "\n"
            container["status"], container["oom"] = scenario.status, scenario.oom
            if scenario.csv is not None:
                out = _host_path(binds, "/out")
                Path(out, "live_predictions-fake.csv").write_text(scenario.csv)
            if not scenario.hang:
                container["done"].set()

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def start(engine: FakeEngine) -> _Server:
    if engine.socket_path.exists():
        os.unlink(engine.socket_path)
    server = _Server(str(engine.socket_path), make_handler(engine))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
