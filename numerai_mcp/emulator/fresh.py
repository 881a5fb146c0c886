"""Building worlds: the demo account everyone starts from, and more accounts and keys."""

from __future__ import annotations

import uuid

from numerai_mcp.emulator.auth import check_scopes, new_public_id
from numerai_mcp.emulator.catalog import ALL_SCOPES, CLASSIC
from numerai_mcp.emulator.state import Account, ApiKey, Model, World, new_master_key, now_iso

DEMO_USERNAME = "demo"
DEMO_MODEL = "demo_model"
DEFAULT_MAX_MODEL_SLOTS = 10


def fresh_world(master_key: str | None = None, demo_public_id: str | None = None, generation: int = 0) -> World:
    """A demo account with one Classic model and a key holding every scope.

    Passing the previous master key and demo public id keeps the demo `Token …` value
    the same across resets, so a client configured once keeps working.
    """
    world = World(master_key=master_key or new_master_key(), demo_public_id=demo_public_id or new_public_id(),
                  generation=generation)
    account = add_account(world, DEMO_USERNAME)
    world.keys[world.demo_public_id] = ApiKey(world.demo_public_id, "demo key", list(ALL_SCOPES), account.id)
    model = Model(str(uuid.uuid4()), DEMO_MODEL, CLASSIC, account.id, now_iso())
    world.models[model.id] = model
    return world


def add_account(world: World, username: str, max_model_slots: int = DEFAULT_MAX_MODEL_SLOTS) -> Account:
    account = Account(str(uuid.uuid4()), username, max_model_slots, now_iso())
    world.accounts[account.id] = account
    return account


def add_key(world: World, scopes: list[str], username: str | None = None, name: str | None = None,
            max_model_slots: int | None = None) -> ApiKey:
    """A new key for `username` (created if new; default: the demo account)."""
    scopes = check_scopes(scopes)
    username = (username or DEMO_USERNAME).strip()
    if not username:
        raise ValueError("username must not be empty")
    account = world.account_by_name(username)
    if account is None:
        account = add_account(world, username, max_model_slots or DEFAULT_MAX_MODEL_SLOTS)
    elif max_model_slots is not None:
        account.max_model_slots = max_model_slots
    public_id = new_public_id()
    world.keys[public_id] = ApiKey(public_id, name or f"key {len(world.keys) + 1}", scopes, account.id)
    return world.keys[public_id]
