"""Fault injection for the Numerai-facing endpoints (GraphQL and the store).

Each faultable request draws once from a seeded RNG: with probability `error_rate` it is
answered 5xx, with probability `drop_rate` its connection is cut mid-response (a
Content-Length is promised and not delivered, so httpx raises RemoteProtocolError). Half
of the faults of each kind strike *before* the request is processed and half *after* it
(the mutation happened, the store kept the file, but the client saw a failure): exactly
the uncertainty a careful client must resolve by re-reading state. `latency_ms` delays
every faultable request. The control API is never faulted.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Decision:
    kind: Literal["error", "drop"]
    phase: Literal["before", "after"]


class Faults:
    """Current fault settings, the RNG they draw from, and what was injected so far."""

    def __init__(self, *, error_rate: float = 0.0, drop_rate: float = 0.0, latency_ms: float = 0.0,
                 seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()  # since the last configure()
        self.configure(error_rate=error_rate, drop_rate=drop_rate, latency_ms=latency_ms, seed=seed)

    def configure(self, *, error_rate: float = 0.0, drop_rate: float = 0.0, latency_ms: float = 0.0,
                  seed: int | None = None) -> None:
        for name, rate in (("error_rate", error_rate), ("drop_rate", drop_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if error_rate + drop_rate > 1.0:
            raise ValueError(f"error_rate + drop_rate must not exceed 1, got {error_rate + drop_rate}")
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms}")
        with self._lock:
            self.error_rate, self.drop_rate, self.latency_ms, self.seed = error_rate, drop_rate, latency_ms, seed
            self._rng = random.Random(seed)
            self.injected.clear()

    def decide(self) -> Decision | None:
        with self._lock:
            if not (self.error_rate or self.drop_rate):
                return None
            draw, phase_draw = self._rng.random(), self._rng.random()
            if draw < self.error_rate:
                kind: Literal["error", "drop"] = "error"
            elif draw < self.error_rate + self.drop_rate:
                kind = "drop"
            else:
                return None
            decision = Decision(kind, "before" if phase_draw < 0.5 else "after")
            self.injected[f"{decision.kind}_{decision.phase}"] += 1
            return decision

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"error_rate": self.error_rate, "drop_rate": self.drop_rate, "latency_ms": self.latency_ms,
                    "seed": self.seed, "injected": dict(self.injected)}


# (scope, decision) -> (status, content type, body) of an injected 5xx
ErrorResponder = Callable[[Scope, Decision], tuple[int, str, bytes]]


class FaultInjector:
    """ASGI wrapper applying `faults` to requests that `faultable(scope)` selects."""

    def __init__(self, app: ASGIApp, faults: Faults, faultable: Callable[[Scope], bool],
                 error_body: ErrorResponder) -> None:
        self.app, self.faults, self.faultable, self.error_body = app, faults, faultable, error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.faultable(scope):
            await self.app(scope, receive, send)
            return
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000.0)
        decision = self.faults.decide()
        if decision is None:
            await self.app(scope, receive, send)
            return
        if decision.phase == "before":
            await _drain(receive)
            body = b""
        else:
            body = await _run_and_capture(self.app, scope, receive)
        if decision.kind == "error":
            status, content_type, payload = self.error_body(scope, decision)
            await _send_whole(send, status, content_type, payload)
        else:
            await _send_truncated(send, body)


async def _drain(receive: Receive) -> None:
    """Read (and drop) the request body, so the client is never cut off while sending."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


_CAPTURE_LIMIT = 64 * 1024


async def _run_and_capture(app: ASGIApp, scope: Scope, receive: Receive) -> bytes:
    """Process the request for real, keeping its response from the client (only the first
    64 KiB of the body are kept: enough to cut it short, bounded for a large download)."""
    captured = bytearray()

    async def swallow(message: Message) -> None:
        if message["type"] == "http.response.body" and len(captured) < _CAPTURE_LIMIT:
            captured.extend(message.get("body", b"")[: _CAPTURE_LIMIT - len(captured)])

    await app(scope, receive, swallow)
    return bytes(captured)


async def _send_whole(send: Send, status: int, content_type: str, payload: bytes) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _send_truncated(send: Send, body: bytes) -> None:
    """Promise more bytes than are sent, then stop: the server closes the connection."""
    promised = max(len(body), 64) * 2
    headers = [(b"content-type", b"application/json"), (b"content-length", str(promised).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    # Returning without the final body message makes the server drop the connection.
