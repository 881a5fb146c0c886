"""`POST /`: GraphQL over HTTP, as Numerai serves it.

HTTP status policy: a body that is not JSON, not an object, or has no `query` string is a
400 with `{"errors": [{"message": …}]}` (the request cannot be understood as GraphQL).
Everything GraphQL itself decides, including syntax errors, validation errors (a
misspelt field, a wrong argument type), auth and scope errors and resolver errors, is a
200 with an `errors` array, as Numerai answers. Validation is graphql-core's with Numerai's
leniency (leniency.py). Execution runs in a worker thread, so a resolver waiting for the
state lock or the dataset files never blocks the event loop.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from graphql import ExecutionResult, GraphQLError, execute_sync, parse, validate
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from numerai_mcp.emulator.context import RequestContext
from numerai_mcp.emulator.core import Emulator
from numerai_mcp.emulator.leniency import NUMERAI_RULES, accept_snake_case
from numerai_mcp.emulator.schema import executable_schema

MAX_BODY_BYTES = 1024 * 1024


def _bad_request(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message}]}, status_code=status)


def run_graphql(query: str, variables: dict[str, Any] | None, operation: str | None,
                context: object) -> ExecutionResult:
    """Parse, accept numerapi's snake_case names, validate with Numerai's rules, execute."""
    schema = executable_schema()
    try:
        document = parse(query)
    except GraphQLError as error:
        return ExecutionResult(data=None, errors=[error])
    document = accept_snake_case(schema, document)
    errors = validate(schema, document, NUMERAI_RULES)
    if errors:
        return ExecutionResult(data=None, errors=errors)
    return execute_sync(schema, document, variable_values=variables, operation_name=operation,
                        context_value=context)


def _execute(query: str, variables: dict[str, Any] | None, operation: str | None, ctx: RequestContext) -> dict[str, Any]:
    return run_graphql(query, variables, operation, ctx).formatted  # type: ignore[return-value]


async def graphql_endpoint(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    if request.method != "POST":
        return _bad_request("Send GraphQL as POST / with a JSON body {\"query\", \"variables\", \"operationName\"}.",
                            405)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _bad_request(f"Request body too large ({len(body)} bytes; at most {MAX_BODY_BYTES}).", 413)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        return _bad_request(f"Body is not valid JSON: {exc}")
    if not isinstance(payload, dict):
        return _bad_request("Body must be a JSON object with a \"query\" string (batched requests are not supported).")
    query, variables, operation = payload.get("query"), payload.get("variables"), payload.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return _bad_request("Must provide query string.")
    if variables is not None and not isinstance(variables, dict):
        return _bad_request("Variables must be a JSON object.")
    if operation is not None and not isinstance(operation, str):
        return _bad_request("operationName must be a string.")
    emulator.count("graphql")
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    ctx = RequestContext(emulator, request.headers.get("authorization"), f"{request.url.scheme}://{host}")
    result = await anyio.to_thread.run_sync(_execute, query, variables, operation, ctx)
    return JSONResponse(result)
