"""The executable schema: schema.graphql (package data) plus resolvers and their access rules.

Each root field names its resolver and who may call it: PUBLIC (no key), ANY_KEY (a valid
key, any scopes) or a scope name. A missing or invalid key on a protected field is an
UNAUTHENTICATED GraphQL error; a key without the scope gets Numerai's exact
"Insufficient permission for <scope>".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema, build_schema

from numerai_mcp.emulator import ops_account, ops_pickles, ops_public
from numerai_mcp.emulator.auth import authenticate, require_scope
from numerai_mcp.emulator.context import RequestContext

PUBLIC = "<public>"
ANY_KEY = "<any key>"
UPLOAD, DOWNLOAD = "upload_submission", "download_submission"
READ_SUBMISSIONS, READ_USER = "read_submission_info", "read_user_info"

QUERY_FIELDS: dict[str, tuple[Callable[..., Any], str]] = {
    "account": (ops_account.account, READ_USER),
    "model": (ops_account.model, READ_USER),
    "apiTokenInfo": (ops_account.api_token_info, ANY_KEY),
    "apiTokenScopes": (ops_account.api_token_scopes, PUBLIC),
    "modelNameAvailable": (ops_account.model_name_available, PUBLIC),
    "computePickleUploadAuth": (ops_pickles.compute_pickle_upload_auth, UPLOAD),
    "computePickleDownloadAuth": (ops_pickles.compute_pickle_download_auth, DOWNLOAD),
    "computePickles": (ops_pickles.compute_pickles, READ_SUBMISSIONS),
    "computePickleDockerImages": (ops_pickles.compute_pickle_docker_images, PUBLIC),
    "computePickleDataVersions": (ops_pickles.compute_pickle_data_versions, PUBLIC),
    "triggerLogs": (ops_pickles.trigger_logs, READ_SUBMISSIONS),
    "diagnosticsTriggerLogs": (ops_pickles.diagnostics_trigger_logs, READ_SUBMISSIONS),
    "rounds": (ops_public.rounds, PUBLIC),
    "listDatasets": (ops_public.list_datasets, PUBLIC),
    "dataset": (ops_public.dataset, PUBLIC),
}
MUTATION_FIELDS: dict[str, tuple[Callable[..., Any], str]] = {
    "addModel": (ops_account.add_model, UPLOAD),
    "setSubmissionWebhook": (ops_account.set_submission_webhook, UPLOAD),
    "createComputePickleUpload": (ops_pickles.create_compute_pickle_upload, UPLOAD),
    "assignPickleToModel": (ops_pickles.assign_pickle_to_model, UPLOAD),
    "triggerComputePickleUpload": (ops_pickles.trigger_compute_pickle_upload, UPLOAD),
    "updatePickleLabel": (ops_pickles.update_pickle_label, UPLOAD),
}


def sdl() -> str:
    return resources.files("numerai_mcp.emulator").joinpath("schema.graphql").read_text(encoding="utf-8")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _bind(function: Callable[..., Any], access: str) -> Callable[..., Any]:
    def resolve(_root: object, info: GraphQLResolveInfo, **args: Any) -> Any:
        ctx: RequestContext = info.context
        key = None
        if access != PUBLIC:
            with ctx.emulator.store.read() as world:
                key = authenticate(world, ctx.authorization)
            require_scope(key, None if access == ANY_KEY else access)
        return function(ctx, key, **{_snake(name): value for name, value in args.items()})

    return resolve


@cache
def executable_schema() -> GraphQLSchema:
    schema = build_schema(sdl())
    for type_name, table in (("Query", QUERY_FIELDS), ("Mutation", MUTATION_FIELDS)):
        root = schema.get_type(type_name)
        declared = set(root.fields)  # type: ignore[union-attr]
        if declared != set(table):
            raise RuntimeError(f"{type_name} resolvers out of sync with schema.graphql: {declared ^ set(table)}")
        for name, (function, access) in table.items():
            root.fields[name].resolve = _bind(function, access)  # type: ignore[union-attr]
    return schema
