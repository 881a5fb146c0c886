"""Presigned store URLs: HMAC-SHA256 over (method, content type, expiry, owner, key).

Like S3's query-string authentication, the content type is part of the signed string and
URLs are issued for an empty one, so a PUT that sends any `Content-Type` no longer matches
its signature. The owner is the public id of the key that asked for the URL (empty for
anonymous dataset downloads); changing it, the key, the expiry or the method breaks the
signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from numerai_mcp.emulator.clock import CLOCK

STORE_PREFIX = "/_store/"


class Denied(Exception):
    """Why a store request is refused, as S3 would say it."""

    def __init__(self, status: int, code: str, message: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _signing_key(master_key: str) -> bytes:
    return hmac.new(bytes.fromhex(master_key), b"store-signing", hashlib.sha256).digest()


def signature(master_key: str, method: str, key: str, expires: int, owner: str, content_type: str = "") -> str:
    text = "\n".join((method.upper(), content_type, str(expires), owner, key))
    return hmac.new(_signing_key(master_key), text.encode(), hashlib.sha256).hexdigest()


def presign(base_url: str, master_key: str, method: str, key: str, *, lifetime_s: float, owner: str,
            now: float | None = None) -> str:
    """A URL that allows `method` on `key` until now + lifetime."""
    expires = int((CLOCK.now() if now is None else now) + lifetime_s)
    sig = signature(master_key, method, key, expires, owner)
    return (f"{base_url.rstrip('/')}{STORE_PREFIX}{quote(key)}"
            f"?Expires={expires}&Owner={quote(owner)}&Signature={sig}")


def verify(master_key: str, method: str, key: str, params: dict[str, str], content_type: str,
           now: float | None = None) -> str:
    """Return the owner the URL was issued to, or raise Denied."""
    try:
        expires = int(params["Expires"])
        owner = params["Owner"]
        given = params["Signature"]
    except (KeyError, ValueError):
        raise Denied(403, "AccessDenied", "Query-string authentication requires the Signature, Expires and "
                     "Owner parameters") from None
    expected = signature(master_key, method, key, expires, owner, content_type)
    if not hmac.compare_digest(given, expected):
        raise Denied(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                     "signature you provided. Check your key and signing method.",
                     (("StringToSign", "\\n".join((method.upper(), content_type, str(expires), owner, key))),))
    moment = CLOCK.now() if now is None else now
    if moment > expires:
        raise Denied(403, "AccessDenied", "Request has expired",
                     (("Expires", _iso(expires)), ("ServerTime", _iso(moment))))
    return owner


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
