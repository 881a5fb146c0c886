"""Per-request context handed to every resolver, and the error helpers they share."""

from __future__ import annotations

from dataclasses import dataclass

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


def own_model(world: World, key: ApiKey, model_id: str | None) -> Model:
    """The caller's model with that id. Texts here are emulator-chosen."""
    if not model_id:
        raise fail("modelId is required.")
    model = world.models.get(str(model_id))
    if model is None or model.account_id != key.account_id:
        raise fail(f"Model {model_id} not found for this account.")
    return model


def own_pickle(world: World, key: ApiKey, pickle_id: str | None) -> Pickle:
    if not pickle_id:
        raise fail("pickleId is required.")
    pickle = world.pickles.get(str(pickle_id))
    if pickle is None or pickle.account_id != key.account_id:
        raise fail(f"Compute pickle {pickle_id} not found for this account.")
    return pickle
