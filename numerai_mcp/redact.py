"""Keep Numerai secrets out of every string we show, log or write.

Secrets are registered when credentials are parsed; `redact` also masks anything
shaped like a Numerai key pair, so a secret that was never registered (a client's
per-request header, a pasted token) is still hidden.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"

_lock = threading.Lock()
_secrets: dict[str, int] = {}  # secret -> how many holders registered it

# PUBLIC_ID$SECRET_KEY as Numerai issues them (upper-case base32 ids, long secrets);
# the public part is kept so a user can tell which key was meant.
_KEY_PAIR = re.compile(r"\b([A-Z0-9]{8,64})\$([A-Za-z0-9_\-]{8,128})")
_TOKEN_HEADER = re.compile(r"(?i)\b(token|bearer)\s+([^\s\"',;]+)")


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact` masks it wherever it appears."""
    if value and len(value) >= 4:
        with _lock:
            _secrets[value] = _secrets.get(value, 0) + 1


def forget_secret(value: str | None) -> None:
    """Release one registration of a per-request secret; it stays masked while anyone else holds it."""
    if value:
        with _lock:
            count = _secrets.get(value, 0) - 1
            if count > 0:
                _secrets[value] = count
            else:
                _secrets.pop(value, None)


def _mask_token(match: re.Match[str]) -> str:
    word, value = match.group(1), match.group(2)
    if "$" in value:
        public = value.split("$", 1)[0]
        return f"{word} {public}${MASK}"
    return f"{word} {MASK}"


def redact(text: object) -> str:
    """Return `text` as a string with every known or key-shaped secret masked."""
    out = str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in out:
            out = out.replace(secret, MASK)
    out = _KEY_PAIR.sub(lambda m: f"{m.group(1)}${MASK}", out)
    out = _TOKEN_HEADER.sub(_mask_token, out)
    return out


def redact_json(value: object) -> object:
    """A copy of a JSON-like value (dicts, lists, scalars) with every string redacted, keys included."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_json(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Logging filter that masks secrets in the final message and any traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
            record.exc_info = None
        return True


def install_log_redaction() -> None:
    """Attach the redacting filter to every handler of the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
