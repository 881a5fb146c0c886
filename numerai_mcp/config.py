"""Settings for every entry point, read once from the environment and flags.

Environment variables:
- NUMERAI_API_URL            GraphQL endpoint (default: Numerai's).
- NUMERAI_MCP_AUTH / NUMERAI_PUBLIC_ID + NUMERAI_SECRET_KEY / credentials file: see api.credentials.
- NUMERAI_MCP_CACHE_DIR      runtimes, verdicts, downloaded live data (default ~/.cache/numerai-mcp).
- NUMERAI_MCP_ALLOWED_ROOTS  os.pathsep-separated directories local paths must lie in (default: any).
- NUMERAI_MCP_ALLOW_MUTATIONS=1  let graphql_query run mutations.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the harness reads default_cache_dir without loading the API client
    from numerai_mcp.api.credentials import Credentials


DEFAULT_API_URL = "https://api-tournament.numer.ai"
CLASSIC_TOURNAMENT = 8


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def default_cache_dir(env: Mapping[str, str]) -> Path:
    explicit = env.get("NUMERAI_MCP_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "numerai-mcp"


@dataclass(frozen=True)
class Settings:
    """Everything a server, CLI command or test needs to know about its environment."""

    api_url: str = DEFAULT_API_URL
    credentials: Credentials | None = None
    cache_dir: Path = field(default_factory=lambda: default_cache_dir(os.environ))
    allowed_roots: tuple[Path, ...] | None = None
    allow_mutations: bool = False
    request_timeout: float = 30.0
    upload_timeout: float = 600.0
    max_retries: int = 8  # retries after 5xx / cut connections: the server is there, the failure is transient
    connect_retries: int = 2  # retries when nothing answers at all: say 'unreachable' fast
    retry_backoff: float = 0.5
    poll_initial: float = 1.0  # first wait between status polls; grows x1.5
    poll_max: float = 15.0  # Numerai's own clients poll every 15-20 s
    # Why `credentials` is None although a key was configured (malformed): tools that need the key say this;
    # validate and build, which need none, work regardless.
    credentials_problem: str | None = None
    # Whether callers may act with this server's own key. Over stdio the caller is the user who configured it
    # (serve sets this); over HTTP only when the operator said so (--allow-server-key, or --sandbox, whose key is
    # not a real one). Tool calls over stdio always may; this decides for HTTP requests and for resources.
    allow_server_key: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, strict_credentials: bool = True,
                 **overrides: object) -> Settings:
        """Build settings from `env` (default os.environ); keyword overrides win.

        A malformed key raises CredentialsError, unless `strict_credentials` is False: then it is recorded in
        `credentials_problem` for the commands that need a key, and the others run."""
        env = os.environ if env is None else env
        roots_text = env.get("NUMERAI_MCP_ALLOWED_ROOTS", "").strip()
        roots = tuple(Path(p).expanduser().resolve() for p in roots_text.split(os.pathsep) if p) or None
        from numerai_mcp.api.credentials import load_credentials
        from numerai_mcp.api.errors import CredentialsError

        try:
            credentials, problem = load_credentials(env), None
        except CredentialsError as exc:
            if strict_credentials:
                raise
            credentials, problem = None, str(exc)
        settings = cls(
            api_url=(env.get("NUMERAI_API_URL") or DEFAULT_API_URL).rstrip("/") or DEFAULT_API_URL,
            credentials=credentials,
            credentials_problem=problem,
            cache_dir=default_cache_dir(env),
            allowed_roots=roots,
            allow_mutations=_truthy(env.get("NUMERAI_MCP_ALLOW_MUTATIONS")),
        )
        return replace(settings, **overrides) if overrides else settings
