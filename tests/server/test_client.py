"""The API client against a scripted HTTP server on 127.0.0.1: error envelopes, retries, and mutations
that are never sent twice when their outcome is unknown."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.credentials import Credentials
from numerai_mcp.api.errors import (
    ApiServerError,
    AuthenticationError,
    GraphQLError,
    PermissionDeniedError,
    UncertainOutcomeError,
)
from numerai_mcp.config import Settings
from tests.support.scripted_http import scripted_server

pytestmark = pytest.mark.anyio


class Script:
    """Answers, in order, for each POST; records what was sent."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []


@pytest.fixture
def scripted() -> Iterator[tuple[Script, str]]:
    script = Script()

    def answer(body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        script.received.append(body)
        script.headers.append(headers)
        return script.answers.pop(0) if script.answers else (200, {"data": {}})

    with scripted_server(answer) as url:
        yield script, url


def _client(url: str, **overrides: Any) -> NumeraiClient:
    creds = Credentials.parse("Token SCRIPTEDPUBLICIDSCRIPTEDPUBLICID$scriptedSecretValue0123456789")
    return NumeraiClient(Settings(api_url=url, credentials=creds, retry_backoff=0.01, **overrides))


async def test_error_envelopes_become_typed_errors_with_numerais_text(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.answers = [
        (200, {"errors": [{"message": "Insufficient permission for upload_submission"}], "data": None}),
        (200, {"errors": {"detail": "Model name is invalid"}}),
        (401, b"unauthorized"),
        (200, {"errors": [{"message": "Your session is invalid"}]}),
    ]
    async with _client(url) as client:
        with pytest.raises(PermissionDeniedError) as denied:
            await client.query("query { x }")
        with pytest.raises(GraphQLError, match="Model name is invalid"):
            await client.query("query { x }")
        with pytest.raises(AuthenticationError):
            await client.query("query { x }")
        with pytest.raises(AuthenticationError, match="Your session is invalid"):
            await client.query("query { x }")
    assert denied.value.scope == "upload_submission" and "Custom API Keys" in str(denied.value)
    assert script.headers[0]["Authorization"] == "Token SCRIPTEDPUBLICIDSCRIPTEDPUBLICID$scriptedSecretValue0123456789"
    assert len(script.received) == 4  # GraphQL errors are answers, not failures: never retried


async def test_queries_retry_5xx_then_give_up_with_a_clear_error(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.answers = [(503, b"busy"), (502, b"bad gateway"), (200, {"data": {"ok": True}})]
    async with _client(url) as client:
        assert await client.query("query { ok }") == {"ok": True}
        script.answers = [(500, b"x")] * 3
        with pytest.raises(ApiServerError, match="kept failing: HTTP 500"):
            async with _client(url, max_retries=2) as few:
                await few.query("query { ok }")
    assert len(script.received) == 3 + 3


async def test_an_uncertain_mutation_is_reconciled_not_resent(scripted: tuple[Script, str]) -> None:
    script, url = scripted
    script.answers = [(502, b"lost after processing")]
    reads: list[int] = []

    async def already_done() -> dict[str, Any] | None:
        reads.append(1)
        return {"addModel": {"id": "found-by-rereading"}}

    async with _client(url) as client:
        data = await client.mutate("mutation { addModel }", reconcile=already_done)
        assert data == {"addModel": {"id": "found-by-rereading"}} and reads == [1]
        assert len(script.received) == 1  # the mutation went out exactly once

        script.answers = [(502, b"lost")]
        with pytest.raises(UncertainOutcomeError, match="may or may not have taken effect"):
            await client.mutate("mutation { createSomething }")
        assert len(script.received) == 2

        script.answers = [(502, b"lost"), (200, {"data": {"assignPickleToModel": "true"}})]
        assert await client.mutate("mutation { assign }", idempotent=True) == {"assignPickleToModel": "true"}
        assert len(script.received) == 4  # idempotent: simply sent again

        async def not_done() -> None:
            return None

        script.answers = [(503, b"lost"), (200, {"data": {"addModel": {"id": "made-once"}}})]
        assert await client.mutate("mutation { addModel }", reconcile=not_done) == {"addModel": {"id": "made-once"}}
        assert len(script.received) == 6  # re-read said "absent", so it was safe to send again
