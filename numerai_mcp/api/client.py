"""Async GraphQL client for Numerai's tournament API.

Why not numerapi: it is synchronous, ignores the PUT status, retries mutations blindly
and raises bare ValueErrors. Here every call has a timeout, queries retry transient
failures with backoff, and a mutation whose outcome is unknown is never re-sent before
state has been re-read (see `mutate`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from numerai_mcp import __version__
from numerai_mcp.api.credentials import Credentials
from numerai_mcp.api.errors import (
    ApiServerError,
    ApiUnreachableError,
    AuthenticationError,
    CredentialsError,
    GraphQLError,
    PermissionDeniedError,
    UncertainOutcomeError,
)
from numerai_mcp.config import Settings
from numerai_mcp.redact import redact

log = logging.getLogger(__name__)

_SCOPE = re.compile(r"Insufficient permission for\s+([A-Za-z_]+)", re.IGNORECASE)
_AUTH = re.compile(
    r"(not authenticated|invalid (api )?(key|token)|unauthori[sz]ed|authentication (failed|required)"
    r"|session is invalid|must be logged in|api keys? required|unknown (api )?(key|token)|token (is )?(invalid|revoked))",
    re.IGNORECASE,
)
SCOPE_HINT = (
    "Add the scope to this key at numer.ai → Account → Custom API Keys (or create a key with the "
    "upload_submission, read_submission_info and read_user_info scopes), then update NUMERAI_MCP_AUTH."
)

# Failures where the request certainly never reached the server: safe to resend anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures where the server may have acted: safe to resend only what is idempotent.
_MAYBE_SENT = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


_RESEND = object()  # marker: safe to resend after any failure (queries, idempotent mutations)


class _Transient(Exception):
    """Internal: one attempt failed in a way worth retrying; `sent` says whether the server may have acted."""

    def __init__(self, reason: str, *, sent: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.sent, self.status = reason, sent, status


def error_from_messages(messages: list[str]) -> GraphQLError:
    """Turn Numerai's error texts into the most specific exception."""
    joined = " ".join(messages)
    scope = _SCOPE.search(joined)
    if scope:
        return PermissionDeniedError(messages, scope=scope.group(1), hint=SCOPE_HINT)
    if _AUTH.search(joined):
        return AuthenticationError(
            messages,
            hint="Check NUMERAI_MCP_AUTH (PUBLIC_ID$SECRET_KEY); the key may be wrong, revoked or for another account.",
        )
    return GraphQLError(messages)


def _messages_from_body(body: Any) -> list[str] | None:
    """Extract error messages from both envelope forms Numerai uses, or None when there are none."""
    if not isinstance(body, dict) or not body.get("errors"):
        return None
    errors = body["errors"]
    if isinstance(errors, dict):  # {"errors": {"detail": "..."}}
        return [str(errors.get("detail") or errors.get("message") or errors)]
    if isinstance(errors, list):
        return [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
    return [str(errors)]


class NumeraiClient:
    """One logical connection to the API with one set of credentials (or none).

    Pass `http` to share a connection pool between clients (the MCP server does, so that
    per-request credentials cost nothing); otherwise the client owns its pool.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        credentials: Credentials | None = None,
        use_settings_credentials: bool = True,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.url = settings.api_url
        self.credentials = credentials or (settings.credentials if use_settings_credentials else None)
        self._owns_http = http is None
        self.http = http or make_http_client(settings)

    async def __aenter__(self) -> NumeraiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    @property
    def has_credentials(self) -> bool:
        return self.credentials is not None

    def require_credentials(self) -> Credentials:
        if self.credentials is None and self.settings.credentials_problem:
            raise CredentialsError(self.settings.credentials_problem)
        if self.credentials is None:
            raise CredentialsError(
                "API keys required for this action: no Numerai credentials are configured.",
                hint="Set NUMERAI_MCP_AUTH='PUBLIC_ID$SECRET_KEY' in the MCP server's environment (or store the key "
                "with `numerai-mcp install`), or send an 'Authorization: Token …' header over HTTP.",
            )
        return self.credentials

    # -- public calls -------------------------------------------------------------------------

    async def query(self, document: str, variables: Mapping[str, Any] | None = None, *, auth: bool = True) -> dict[str, Any]:
        """Run a read-only operation, retrying transient failures; return its `data`."""
        return await self._send_with_retries(document, variables, auth=auth, reconcile=_RESEND)

    async def mutate(
        self,
        document: str,
        variables: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = False,
        reconcile: Callable[[], Awaitable[dict[str, Any] | None]] | None = None,
        auth: bool = True,
    ) -> dict[str, Any]:
        """Run a mutation without ever duplicating its effect.

        - A failure before the request was sent is retried.
        - `idempotent=True` mutations (assign, set webhook) are retried like queries.
        - Otherwise, when the outcome is unknown (5xx, dropped connection, read timeout), `reconcile`
          re-reads state: it returns the mutation's result when it took effect (used as the answer) or
          None when it did not (the mutation is then sent again). Without `reconcile`, an
          UncertainOutcomeError says what to check.
        """
        return await self._send_with_retries(document, variables, auth=auth,
                                             reconcile=_RESEND if idempotent else reconcile)

    # -- internals ----------------------------------------------------------------------------

    async def _send_with_retries(
        self, document: str, variables: Mapping[str, Any] | None, *, auth: bool, reconcile: Any
    ) -> dict[str, Any]:
        """Send until it works, within two budgets: failures to connect at all (the API may simply be
        down: give up fast, `connect_retries`) and failures of a reachable server (5xx, cut connections,
        read timeouts: transient, `max_retries`). A failure that may have reached the server is resent
        only when `reconcile` is _RESEND; otherwise `reconcile` re-reads state first."""
        settings = self.settings
        connect_failures = server_failures = attempt = 0
        while True:
            if attempt:
                await self._sleep_backoff(attempt)
            attempt += 1
            try:
                return await self._send_once(document, variables, auth=auth)
            except _Transient as failure:
                if not failure.sent:
                    connect_failures += 1
                    if connect_failures > min(settings.connect_retries, settings.max_retries):
                        raise self._exhausted(failure) from None
                    continue
                server_failures += 1
                if server_failures > settings.max_retries:
                    raise self._exhausted(failure) from None
                if reconcile is not _RESEND:
                    found = await self._reconcile(reconcile, failure)
                    if found is not None:
                        return found

    async def _reconcile(
        self, reconcile: Callable[[], Awaitable[dict[str, Any] | None]] | None, failure: _Transient
    ) -> dict[str, Any] | None:
        if reconcile is None:
            raise UncertainOutcomeError(
                f"The request may or may not have taken effect ({failure.reason}).",
                hint="Re-read the state (e.g. list models or pickles) before trying again.",
            ) from None
        log.info("mutation outcome unknown (%s); re-reading state before deciding", failure.reason)
        try:
            return await reconcile()
        except (ApiUnreachableError, ApiServerError) as exc:
            raise UncertainOutcomeError(
                "The request may or may not have taken effect, and re-reading the state failed too.",
                hint=f"Check the state once the API answers again ({exc.message}).",
            ) from None

    async def _sleep_backoff(self, attempt: int) -> None:
        base = self.settings.retry_backoff * (2 ** (attempt - 1))
        await asyncio.sleep(min(base, 8.0) * (0.5 + random.random() / 2))

    def _exhausted(self, last: _Transient) -> Exception:
        reason = last.reason
        if not last.sent:
            return ApiUnreachableError(
                f"The Numerai API at {self.url} is unreachable: {reason}.",
                hint="Check the network and NUMERAI_API_URL; for a local rehearsal start `numerai-mcp sandbox`.",
            )
        return ApiServerError(
            f"The Numerai API at {self.url} kept failing: {reason}.",
            hint="This is on Numerai's side; wait a minute and retry.",
        )

    async def _send_once(self, document: str, variables: Mapping[str, Any] | None, *, auth: bool) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth and self.credentials is not None:
            headers["Authorization"] = self.credentials.header
        payload: dict[str, Any] = {"query": document}
        if variables:
            payload["variables"] = dict(variables)
        try:
            response = await self.http.post(self.url, json=payload, headers=headers)
        except _NOT_SENT as exc:
            raise _Transient(f"{type(exc).__name__}: {redact(exc) or 'connection failed'}", sent=False) from None
        except _MAYBE_SENT as exc:
            raise _Transient(f"{type(exc).__name__}: {redact(exc) or 'connection lost'}", sent=True) from None
        except httpx.HTTPError as exc:  # anything else from the transport: treat as not reachable
            raise _Transient(f"{type(exc).__name__}: {redact(exc)}", sent=True) from None
        return self._interpret(response)

    def _interpret(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status >= 500:
            raise _Transient(f"HTTP {status}", sent=True, status=status)
        try:
            body = response.json()
        except ValueError:
            if status in (401, 403):
                raise AuthenticationError([f"HTTP {status} from the API"]) from None
            raise ApiServerError(f"The API answered HTTP {status} with a non-JSON body.") from None
        messages = _messages_from_body(body)
        if messages:
            raise error_from_messages(messages)
        if status in (401, 403):
            raise AuthenticationError([f"HTTP {status} from the API"])
        if status >= 400 or not isinstance(body, dict) or "data" not in body:
            raise ApiServerError(f"Unexpected answer from the API (HTTP {status}).")
        return body["data"] or {}


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    """A pooled HTTP client with explicit timeouts and no implicit redirects."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.request_timeout, connect=min(10.0, settings.request_timeout)),
        headers={"User-Agent": f"numerai-mcp/{__version__}"},
        follow_redirects=False,
    )

