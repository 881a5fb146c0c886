"""`/_emulator/…`: the control API for tests and demos (JSON; never faulted; not Numerai's).

POST reset   -> fresh demo state, faults off, wall clock, round open; {auth, public_id, username}
POST faults  {error_rate?, drop_rate?, latency_ms?, url_lifetime_s?, seed?} -> current faults
POST keys    {scopes, username?, name?, max_model_slots?} -> {auth, public_id, username}
POST round   {open: bool} -> {number, open}
POST clock   {freeze?: bool, at?: epoch seconds, advance_s?: seconds} -> {now, frozen, offset_s}: the
             emulator's time (round deadlines, timestamps, URL expiry); reset goes back to the wall clock
POST jobs    {paused: bool} -> {paused}: hold queued validations and runs (they stay pending) or let them go;
             reset lets them go
GET  state   -> accounts (no secrets), models, pickles and triggers (GraphQL shape, camelCase), stored
                objects, submissions, round, faults (with counts of injected faults), processed requests by
                kind, clock
GET  health  -> {ok, datasets_ready, validator, pid} (pid: which process answers, for the shared sandbox's record)

A locked control API (the shared sandbox's, which outlives any one server and keeps the user's
state) answers only requests bearing `Authorization: Bearer <auth.control_token(master key)>`,
except `health`: other local users can neither reset that state nor mint keys for it.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from numerai_mcp.emulator import views
from numerai_mcp.emulator.auth import auth_header, control_token
from numerai_mcp.emulator.clock import CLOCK
from numerai_mcp.emulator.core import Emulator
from numerai_mcp.emulator.fresh import DEMO_USERNAME, add_key
from numerai_mcp.emulator.state import Round


class BadRequest(ValueError):
    pass


def _emulator(request: Request) -> Emulator:
    return request.app.state.emulator


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def _number(data: dict[str, Any], name: str, default: float | None) -> float | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name} must be a number, got {value!r}")
    return float(value)


def _allowed(request: Request) -> bool:
    if not getattr(request.app.state, "control_locked", False):
        return True
    with _emulator(request).store.read() as world:
        expected = f"Bearer {control_token(world.master_key)}"
    return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected.encode())


def _handler(function: Any, *, open_to_all: bool = False) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        if not open_to_all and not _allowed(request):
            return JSONResponse({"error": "this control API is locked: send 'Authorization: Bearer <control token>' "
                                 "(derived from the sandbox's master key)"}, status_code=401)
        try:
            return JSONResponse(await function(request))
        except (BadRequest, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return endpoint


async def reset(request: Request) -> dict[str, Any]:
    emulator = _emulator(request)
    auth = emulator.reset()
    with emulator.store.read() as world:
        public_id = world.demo_public_id
    return {"auth": auth, "public_id": public_id, "username": DEMO_USERNAME}


async def faults(request: Request) -> dict[str, Any]:
    emulator, data = _emulator(request), await _json(request)
    unknown = set(data) - {"error_rate", "drop_rate", "latency_ms", "url_lifetime_s", "seed"}
    if unknown:
        raise BadRequest(f"unknown fault setting(s) {sorted(unknown)}")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRequest(f"seed must be an integer, got {seed!r}")
    lifetime = _number(data, "url_lifetime_s", None)
    if lifetime is not None and lifetime <= 0:
        raise BadRequest(f"url_lifetime_s must be > 0, got {lifetime}")
    emulator.faults.configure(error_rate=_number(data, "error_rate", 0.0) or 0.0,
                              drop_rate=_number(data, "drop_rate", 0.0) or 0.0,
                              latency_ms=_number(data, "latency_ms", 0.0) or 0.0, seed=seed)
    emulator.url_lifetime_s = lifetime if lifetime is not None else emulator.settings.url_lifetime_s
    return {**emulator.faults.snapshot(), "url_lifetime_s": emulator.url_lifetime_s}


async def keys(request: Request) -> dict[str, Any]:
    emulator, data = _emulator(request), await _json(request)
    scopes = data.get("scopes")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise BadRequest("scopes must be a list of scope names (it may be empty)")
    username, name, slots = data.get("username"), data.get("name"), data.get("max_model_slots")
    if username is not None and not isinstance(username, str):
        raise BadRequest("username must be a string")
    if slots is not None and (isinstance(slots, bool) or not isinstance(slots, int) or slots < 0):
        raise BadRequest("max_model_slots must be a non-negative integer")
    with emulator.store.change() as world:
        key = add_key(world, scopes, username, name, slots)
        return {"auth": auth_header(world.master_key, key.public_id), "public_id": key.public_id,
                "username": world.accounts[key.account_id].username}


async def round_(request: Request) -> dict[str, Any]:
    emulator, data = _emulator(request), await _json(request)
    wanted = data.get("open")
    if not isinstance(wanted, bool):
        raise BadRequest("open must be true or false")
    with emulator.store.change() as world:
        current = world.round
        if wanted and not current.open:
            world.round = Round(current.number + 1, True, CLOCK.now())
        elif not wanted and current.open:
            current.open, current.closed_at = False, CLOCK.now()
        return {"number": world.round.number, "open": world.round.open}


async def clock(request: Request) -> dict[str, Any]:
    data = await _json(request)
    unknown = set(data) - {"freeze", "at", "advance_s"}
    if unknown:
        raise BadRequest(f"unknown clock setting(s) {sorted(unknown)}; use freeze, at, advance_s")
    freeze = data.get("freeze")
    if freeze is not None and not isinstance(freeze, bool):
        raise BadRequest("freeze must be true or false")
    at, advance = _number(data, "at", None), _number(data, "advance_s", 0.0) or 0.0
    if at is not None and at < 0:
        raise BadRequest(f"at must be epoch seconds >= 0, got {at}")
    return CLOCK.set(frozen=freeze, at=at, advance_s=advance).view()


async def jobs(request: Request) -> dict[str, Any]:
    emulator, data = _emulator(request), await _json(request)
    paused = data.get("paused")
    if not isinstance(paused, bool):
        raise BadRequest("paused must be true or false")
    if paused:
        emulator.jobs.pause()
    else:
        emulator.jobs.resume()
    return {"paused": emulator.jobs.paused}


async def state(request: Request) -> dict[str, Any]:
    emulator = _emulator(request)
    with emulator.store.read() as world:
        accounts = [{"id": a.id, "username": a.username, "maxModelSlots": a.max_model_slots,
                     "keys": [{"publicId": k.public_id, "name": k.name, "scopes": k.scopes}
                              for k in world.keys.values() if k.account_id == a.id]}
                    for a in world.accounts.values()]
        models = [{"id": m.id, "name": m.name, "tournament": m.tournament, "accountId": m.account_id,
                   "username": world.accounts[m.account_id].username, "submissionWebhook": m.submission_webhook,
                   "assignedPickleId": m.assigned_pickle_id, "insertedAt": m.inserted_at,
                   "archivedAt": m.archived_at}
                  for m in world.models.values()]
        # pickles and triggers in their GraphQL shape (camelCase), plus who owns them
        pickles = [{**views.pickle(world, p), "accountId": p.account_id, "source": p.source}
                   for p in world.pickles.values()]
        triggers = [{**views.trigger(t), "logs": views.logs(t)} for t in world.triggers.values()]
        objects = [{"key": o.key, "size": o.size, "md5": o.md5, "accountId": o.account_id, "publicId": o.public_id,
                    "storedAt": o.stored_at} for o in world.objects.values()]
        submissions = [{"id": r.id, "accountId": r.account_id, "modelId": r.model_id, "pickleId": r.pickle_id,
                        "triggerId": r.trigger_id, "roundNumber": r.round_number, "filename": r.filename,
                        "insertedAt": r.inserted_at} for r in world.submissions.values()]
        snapshot = {
            "accounts": accounts, "models": models, "pickles": pickles, "triggers": triggers, "objects": objects,
            "submissions": submissions,
            "round": {"number": world.round.number, "open": world.round.open, "id": world.round.id},
        }
    snapshot["faults"] = {**emulator.faults.snapshot(), "url_lifetime_s": emulator.url_lifetime_s}
    snapshot["requests"] = dict(emulator.requests)
    snapshot["clock"] = CLOCK.state().view()
    return snapshot


async def health(request: Request) -> dict[str, Any]:
    emulator = _emulator(request)
    return {"ok": True, "datasets_ready": emulator.datasets.ready.is_set(), "datasets_error": emulator.datasets.error,
            "validator": emulator.validator_name, "pid": os.getpid()}


routes = [
    Route("/reset", _handler(reset), methods=["POST"]),
    Route("/faults", _handler(faults), methods=["POST"]),
    Route("/keys", _handler(keys), methods=["POST"]),
    Route("/round", _handler(round_), methods=["POST"]),
    Route("/clock", _handler(clock), methods=["POST"]),
    Route("/jobs", _handler(jobs), methods=["POST"]),
    Route("/state", _handler(state), methods=["GET"]),
    Route("/health", _handler(health, open_to_all=True), methods=["GET"]),
]
