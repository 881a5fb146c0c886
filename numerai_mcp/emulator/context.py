"""Per-request context handed to every resolver, and the error helpers they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from numerai_mcp.emulator.core import Emulator
from numerai_mcp.emulator.state import ApiKey, Model, Pickle, World


@dataclass
class RequestContext:
    emulator: Emulator
    authorization: str | None
    base_url: str  # scheme://host:port of this request, for presigned URLs


def fail(message: str) -> GraphQLError:
    """A user-facing GraphQL error (HTTP 200, message in `errors`, the field null)."""
    return GraphQLError(message)


def _owned(records: Mapping[str, Any], key: ApiKey, record_id: str | None, what: str, argument: str) -> Any:
    if not record_id:
        raise fail(f"{argument} is required.")
    record = records.get(str(record_id))
    if record is None or record.account_id != key.account_id:
        raise fail(f"{what} {record_id} not found for this account.")
    return record


def own_model(world: World, key: ApiKey, model_id: str | None) -> Model:
    """The caller's model with that id. Texts here are emulator-chosen."""
    return _owned(world.models, key, model_id, "Model", "modelId")


def own_pickle(world: World, key: ApiKey, pickle_id: str | None) -> Pickle:
    return _owned(world.pickles, key, pickle_id, "Compute pickle", "pickleId")
