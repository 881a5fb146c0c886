"""Numerai API credentials: parsing, normalising and never showing them.

Accepted forms, in order of precedence:
- `NUMERAI_MCP_AUTH`: `PUBLIC$SECRET`, `Token PUBLIC$SECRET`, even `Token Token PUBLIC$SECRET`
  (Numerai's own docs produce that doubled prefix).
- `NUMERAI_PUBLIC_ID` + `NUMERAI_SECRET_KEY`.
- a credentials file (`NUMERAI_MCP_CREDENTIALS_FILE`, default
  `~/.config/numerai-mcp/credentials`, mode 0600) holding one `PUBLIC$SECRET` line, so
  that no agent-client config needs to hold the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from numerai_mcp.api.errors import CredentialsError
from numerai_mcp.redact import MASK, register_secret

_PREFIX = re.compile(r"^\s*(?:token|bearer)\s+", re.IGNORECASE)
DEFAULT_CREDENTIALS_FILE = Path("~/.config/numerai-mcp/credentials")


@dataclass(frozen=True, repr=False)
class Credentials:
    """A Numerai key pair. Its repr and str never show the secret."""

    public_id: str
    secret_key: str

    def __post_init__(self) -> None:
        register_secret(self.secret_key)  # the public id stays visible: it tells which key was meant

    @property
    def header(self) -> str:
        """The `Authorization` header value Numerai expects."""
        return f"Token {self.public_id}${self.secret_key}"

    def __repr__(self) -> str:
        return f"Credentials(public_id={self.public_id!r}, secret_key={MASK!r})"

    __str__ = __repr__

    @classmethod
    def parse(cls, value: str) -> Credentials:
        """Parse `[Token ]PUBLIC$SECRET`, tolerating repeated prefixes and whitespace."""
        text = value.strip()
        while _PREFIX.match(text):
            text = _PREFIX.sub("", text, count=1)
        public, sep, secret = text.partition("$")
        public, secret = public.strip(), secret.strip()
        if not sep or not public or not secret or "$" in secret or any(c.isspace() for c in public + secret):
            raise CredentialsError(
                "The Numerai key is not of the form PUBLIC_ID$SECRET_KEY.",
                hint="Set NUMERAI_MCP_AUTH='PUBLIC_ID$SECRET_KEY' (a 'Token ' prefix is optional), "
                "or NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY. Quote the value: '$' is special in shells.",
            )
        return cls(public, secret)


def credentials_file(env: Mapping[str, str]) -> Path:
    """Where the stored key lives for this environment (a leading ~ is that environment's HOME)."""
    path = str(env.get("NUMERAI_MCP_CREDENTIALS_FILE") or DEFAULT_CREDENTIALS_FILE)
    if env.get("HOME") and (path == "~" or path.startswith("~/")):
        return Path(env["HOME"], path[2:])
    return Path(path).expanduser()


def load_credentials(env: Mapping[str, str] | None = None) -> Credentials | None:
    """Read credentials from the environment, then the credentials file; None when absent."""
    env = os.environ if env is None else env
    auth = env.get("NUMERAI_MCP_AUTH", "").strip()
    if auth:
        return Credentials.parse(auth)
    public, secret = env.get("NUMERAI_PUBLIC_ID", "").strip(), env.get("NUMERAI_SECRET_KEY", "").strip()
    if public or secret:
        if not (public and secret):
            missing = "NUMERAI_SECRET_KEY" if public else "NUMERAI_PUBLIC_ID"
            raise CredentialsError(f"{missing} is not set but its partner is.", hint="Set both, or NUMERAI_MCP_AUTH.")
        return Credentials.parse(f"{public}${secret}")
    path = credentials_file(env)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CredentialsError(f"Cannot read the credentials file {path}: {exc.strerror}.") from None
        if text:
            return Credentials.parse(text.splitlines()[0])
    return None
