"""API keys of the emulator: issuing them, checking `Authorization: Token PUBLIC$SECRET`,
and enforcing scopes with Numerai's own error text.

A key's secret is HMAC(master_key, public_id): nothing secret is stored per key, and a
restarted emulator (same state file) still accepts every key it ever issued and can
print the demo key again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from graphql import GraphQLError

from numerai_mcp.emulator.catalog import ALL_SCOPES
from numerai_mcp.emulator.state import ApiKey, World

_HEADER = re.compile(r"^\s*(?i:token)\s+([A-Z2-7]{32})\$([A-Z2-7]{64})\s*$")

# Emulator-chosen texts (Numerai's exact wording for these is unknown); clients may only
# rely on "an authentication failure is a GraphQL error" and on the extensions code.
MISSING_KEY = "Authentication required: send the header 'Authorization: Token PUBLIC_ID$SECRET_KEY'."
INVALID_KEY = "Invalid API key: unknown public id or wrong secret key."


def new_public_id() -> str:
    """32 upper-case base32 characters, like Numerai's public ids."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def secret_for(master_key: str, public_id: str) -> str:
    """The 64-character secret of `public_id`, derived so it never has to be stored."""
    digest = hmac.new(bytes.fromhex(master_key), f"api-key:{public_id}".encode(), hashlib.sha512).digest()
    return base64.b32encode(digest[:40]).decode()


def auth_header(master_key: str, public_id: str) -> str:
    return f"Token {public_id}${secret_for(master_key, public_id)}"


def control_token(master_key: str) -> str:
    """The bearer token of a locked control API (the shared sandbox's), derived like key secrets: only
    a process that can read the state file (its owner) can compute it, and it is never stored."""
    return hmac.new(bytes.fromhex(master_key), b"control-api", hashlib.sha256).hexdigest()


def unauthenticated(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})


def insufficient_permission(scope: str) -> GraphQLError:
    """Numerai's exact text (numerai-api.md §5)."""
    return GraphQLError(f"Insufficient permission for {scope}", extensions={"code": "FORBIDDEN", "scope": scope})


def authenticate(world: World, header: str | None) -> ApiKey:
    """The key that `header` proves, or a GraphQL error saying why not."""
    if not header or not header.strip():
        raise unauthenticated(MISSING_KEY)
    match = _HEADER.match(header)
    if not match:
        raise unauthenticated(INVALID_KEY)
    public_id, secret = match.group(1), match.group(2)
    key = world.keys.get(public_id)
    if key is None or not hmac.compare_digest(secret, secret_for(world.master_key, public_id)):
        raise unauthenticated(INVALID_KEY)
    return key


def require_scope(key: ApiKey, scope: str | None) -> None:
    if scope is not None and scope not in key.scopes:
        raise insufficient_permission(scope)


def check_scopes(scopes: list[str]) -> list[str]:
    """Validate scope names from the control API; raises ValueError naming the bad ones."""
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}; known scopes: {list(ALL_SCOPES)}")
    return list(dict.fromkeys(scopes))
