"""check_api_credentials: is the API reachable, whose key is this, can it do the upload flow?"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import Field

from numerai_mcp.api import operations as ops
from numerai_mcp.api.client import SCOPE_HINT, NumeraiClient
from numerai_mcp.api.errors import (
    ApiServerError,
    ApiUnreachableError,
    AuthenticationError,
    GraphQLError,
    NumeraiError,
)
from numerai_mcp.api.models import ApiModel, DockerImage
from numerai_mcp.config import Settings
from numerai_mcp.tools.common import api_client, credentials_source, lends_server_key, server_state

# What each scope is needed for in the upload flow (numerai-api.md §2.2, §6).
REQUIRED_SCOPES = {
    "upload_submission": "upload, register, assign and trigger pickles; create model slots",
    "read_submission_info": "list pickles, read validation status and run logs",
    "read_user_info": "list your model slots and confirm assignments",
}

DESCRIPTION = """Check the Numerai API connection and the configured key. Call this first, before any other Numerai tool.

Reports whether the API is reachable, the account and key name, the key's scopes, which scopes the upload
flow still lacks (with how to add them), and the default Python runtime (docker image) for model uploads.
Next: pick a model slot (graphql_query on `account { models { id name } }`) or create one with create_model,
then build_pickle / validate_pickle and upload_model."""


class CredentialsReport(ApiModel):
    reachable: bool = Field(description="The API answered.")
    authenticated: bool = Field(description="The key was accepted.")
    api_url: str
    credentials_source: str = Field(description="Where the key came from: server configuration, the request header, or none.")
    account_username: str | None = None
    token_name: str | None = None
    public_id: str | None = Field(default=None, description="The key's public id (the secret is never shown).")
    scopes: list[str] = Field(default_factory=list)
    missing_scopes: dict[str, str] = Field(default_factory=dict, description="Scope -> what the upload flow needs it for.")
    ready_for_upload: bool = False
    default_docker_image: DockerImage | None = None
    problem: str | None = Field(default=None, description="What is wrong, when something is.")
    next_step: str


async def check_api_credentials(ctx: Context[Any, Any]) -> CredentialsReport:
    settings = server_state(ctx).settings
    source = credentials_source(ctx)
    report: dict[str, Any] = {"api_url": settings.api_url, "credentials_source": source}
    async with api_client(ctx, anonymous_ok=True) as client:
        try:
            if not client.has_credentials:
                return await _without_key(ctx, client, report)
            info, _all_scopes = await ops.token_info(client)
            report["default_docker_image"] = await _default_image(client)
        except (ApiUnreachableError, ApiServerError) as exc:
            return CredentialsReport(reachable=False, authenticated=False, **report, problem=str(exc),
                                     next_step="Fix the connection (or NUMERAI_API_URL) and call this again.")
        except AuthenticationError as exc:
            return CredentialsReport(reachable=True, authenticated=False, **report, problem=str(exc),
                                     next_step="Replace the key (NUMERAI_MCP_AUTH) with a valid one and call this again.")
        except NumeraiError as exc:
            return CredentialsReport(reachable=True, authenticated=False, **report, problem=str(exc),
                                     next_step="Read the problem above; fix the key or its scopes and call this again.")
    missing = {scope: why for scope, why in REQUIRED_SCOPES.items() if scope not in info.scopes}
    ready = not missing
    return CredentialsReport(
        reachable=True,
        authenticated=True,
        **report,
        account_username=info.account_username,
        token_name=info.name,
        public_id=info.public_id,
        scopes=info.scopes,
        missing_scopes=missing,
        ready_for_upload=ready,
        problem=None if ready else f"The key lacks {', '.join(missing)}. {SCOPE_HINT}",
        next_step=(
            "Choose a model slot (or create_model), then build_pickle or validate_pickle your pickle, "
            "then upload_model operation='upload'."
            if ready
            else "Add the missing scopes, then call check_api_credentials again."
        ),
    )


async def _without_key(ctx: Context[Any, Any], client: NumeraiClient, report: dict[str, Any]) -> CredentialsReport:
    """No key in use: say why and how to provide one first, and whether the API answers at all."""
    missing = _missing_key(ctx)
    try:
        await client.query("query { __typename }", auth=False)
        reachable = True
    except (ApiUnreachableError, ApiServerError) as exc:
        reachable = False
        missing["problem"] += f" Also: {exc}"
    return CredentialsReport(reachable=reachable, authenticated=False, **report, **missing)


def _missing_key(ctx: Context[Any, Any]) -> dict[str, str]:
    """Why no key is in use, and how to provide one, for where this call came from."""
    settings = server_state(ctx).settings
    if not lends_server_key(ctx):
        return {"problem": "This request has no Authorization header, and this HTTP server does not lend its own key.",
                "next_step": "Send 'Authorization: Token PUBLIC_ID$SECRET_KEY' with each request (set it in your MCP "
                "client's config for this server), or ask the operator to start it with --allow-server-key."}
    if settings.credentials_problem:
        return {"problem": settings.credentials_problem,
                "next_step": "Fix NUMERAI_MCP_AUTH (or the credentials file) in this server's environment, restart "
                "the client, and call check_api_credentials again."}
    return {"problem": "No Numerai key is configured.",
            "next_step": "Create a key at numer.ai → Account → Custom API Keys with the scopes "
            f"{', '.join(REQUIRED_SCOPES)}, set NUMERAI_MCP_AUTH='PUBLIC_ID$SECRET_KEY' for this server (or run "
            "`numerai-mcp install`), restart the client, and call check_api_credentials again."}


async def _default_image(client: NumeraiClient) -> DockerImage | None:
    """The live default runtime; its absence is not a credentials problem, so it never fails the check."""
    try:
        images = await ops.docker_images(client)
    except GraphQLError:
        return None
    return next((i for i in images if i.default), None)


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="check_api_credentials",
        title="Check Numerai API credentials",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True),
    )(check_api_credentials)
