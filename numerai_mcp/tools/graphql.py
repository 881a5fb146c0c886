"""graphql_query: any read-only query against Numerai's API, introspection included.

Mutations are refused unless the operator started the server with --allow-mutations; the
decision comes from parsing the document (graphql-core), not from matching text.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from graphql import GraphQLError as SyntaxProblem
from graphql import OperationDefinitionNode, OperationType, parse
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from numerai_mcp.api.models import ApiModel
from numerai_mcp.config import Settings
from numerai_mcp.redact import redact_json
from numerai_mcp.tools.common import api_client, server_state, tool_errors

MAX_RESULT_CHARS = 60_000
MAX_QUERY_CHARS = 100_000

DESCRIPTION = """Run a GraphQL query against the Numerai tournament API (read-only), e.g.
`query { account { username models { id name computePickleUpload { id validationStatus } } } }`,
`query { rounds(tournament: 8, number: 0) { number closeTime } }`, or introspection (`__schema`, `__type`).
Use it for anything the dedicated tools don't cover; prefer upload_model/create_model for the upload flow.
Mutations are refused unless the server runs with --allow-mutations. Large results are cut: narrow the
selection or add arguments (ids, limits) when that happens. Next: use the ids it returns with upload_model."""


class GraphQLResult(ApiModel):
    data: Any | None = Field(default=None, description="The `data` of the answer (absent when truncated).")
    truncated: bool = False
    text: str | None = Field(default=None, description="When truncated: the start of the JSON answer.")
    size_chars: int
    note: str | None = None


def check_document(query: str, *, allow_mutations: bool) -> str:
    """Parse the document; refuse syntax errors and (unless allowed) mutations/subscriptions."""
    if len(query) > MAX_QUERY_CHARS:
        raise ToolError(f"The query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}.")
    try:
        document = parse(query)
    except SyntaxProblem as exc:
        where = f" at line {exc.locations[0].line}, column {exc.locations[0].column}" if exc.locations else ""
        raise ToolError(f"Malformed GraphQL{where}: {exc.message}") from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise ToolError("The document has no operation (only fragments?); add a `query { … }`.")
    kinds = {op.operation for op in operations}
    if OperationType.SUBSCRIPTION in kinds:
        raise ToolError("Subscriptions are not supported; use a query.")
    if OperationType.MUTATION in kinds and not allow_mutations:
        raise ToolError(
            "graphql_query is read-only: the document contains a mutation. Use the dedicated tools "
            "(create_model, upload_model) for changes, or ask the operator to start the server with --allow-mutations."
        )
    return "mutation" if OperationType.MUTATION in kinds else "query"


async def graphql_query(
    query: Annotated[str, Field(description="A GraphQL document with one query (or several, then only the first runs unless named).")],
    ctx: Context[Any, Any],
    variables: Annotated[dict[str, Any] | None, Field(description="Variables for the query, as a JSON object.")] = None,
) -> GraphQLResult:
    settings = server_state(ctx).settings
    kind = check_document(query, allow_mutations=settings.allow_mutations)
    with tool_errors():
        async with api_client(ctx) as client:
            if kind == "mutation":
                data = await client.mutate(query, variables)
            else:
                data = await client.query(query, variables, auth=client.has_credentials)
    data = redact_json(data)  # an answer can quote a key (a pasted token in a label or webhook URL) like an error can
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= MAX_RESULT_CHARS:
        return GraphQLResult(data=data, size_chars=len(text))
    return GraphQLResult(
        truncated=True,
        text=text[:MAX_RESULT_CHARS],
        size_chars=len(text),
        note=f"The answer is {len(text)} characters; only the first {MAX_RESULT_CHARS} are shown. Select fewer "
        "fields, or add arguments (an id, a limit, a smaller introspection query like __type(name: …)).",
    )


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="graphql_query",
        title="Query the Numerai API (GraphQL)",
        description=DESCRIPTION,
        annotations=ToolAnnotations(
            read_only_hint=not settings.allow_mutations,
            destructive_hint=settings.allow_mutations,
            idempotent_hint=not settings.allow_mutations,
            open_world_hint=True,
        ),
    )(graphql_query)
