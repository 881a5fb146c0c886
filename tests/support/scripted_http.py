"""A scripted HTTP server on 127.0.0.1 standing in for Numerai's API: each POST's JSON body (and headers) goes to a
function that returns the answer. Tests of the API client and of the overview's timeouts use it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (request body, request headers) -> (HTTP status, body as bytes or JSON), or None to send nothing at all
Answer = Callable[[dict[str, Any], dict[str, str]], "tuple[int, Any] | None"]


@contextmanager
def scripted_server(answer: Answer) -> Iterator[str]:
    """Serve `answer` until the block ends; yields the server's URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", 0))
            reply = answer(json.loads(self.rfile.read(length)), dict(self.headers))
            if reply is None:
                return
            status, body = reply
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
