"""The executable schema: Numerai's own (package data) plus resolvers and their access rules.

`numerai_schema.graphql` is a byte-identical copy of Numerai's introspected schema for the
upload-related part (tests/fixtures holds the same file; a test keeps them equal), so the
emulator cannot drift from it. Two things are applied on load: the root types get
Numerai's names (RootQueryType, RootMutationType; the file writes Query and Mutation), and
`schema_additions.graphql` adds what real clients use beyond the dump.

Each root field names its resolver and who may call it: PUBLIC (no key), ANY_KEY (a valid
key, any scopes) or a scope name. A missing or invalid key on a protected field is an
UNAUTHENTICATED GraphQL error; a key without the scope gets Numerai's exact
"Insufficient permission for <scope>".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    NamedTypeNode,
    NameNode,
    ObjectTypeDefinitionNode,
    Visitor,
    build_ast_schema,
    parse,
    visit,
)

from numerai_mcp.emulator import ops_account, ops_pickles, ops_public, ops_submissions
from numerai_mcp.emulator.auth import authenticate, require_scope
from numerai_mcp.emulator.context import RequestContext

REFERENCE_FILE = "numerai_schema.graphql"
ADDITIONS_FILE = "schema_additions.graphql"
ROOT_NAMES = {"Query": "RootQueryType", "Mutation": "RootMutationType"}  # `{ __typename }` at Numerai

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
    "pendingModelPayouts": (ops_account.pending_model_payouts, READ_USER),
    "computePickleUploadAuth": (ops_pickles.compute_pickle_upload_auth, UPLOAD),
    "computePickleDownloadAuth": (ops_pickles.compute_pickle_download_auth, DOWNLOAD),
    "computePickles": (ops_pickles.compute_pickles, READ_SUBMISSIONS),
    "computePickleDockerImages": (ops_pickles.compute_pickle_docker_images, PUBLIC),
    "computePickleDataVersions": (ops_pickles.compute_pickle_data_versions, PUBLIC),
    "triggerLogs": (ops_pickles.trigger_logs, READ_SUBMISSIONS),
    "diagnosticsTriggerLogs": (ops_pickles.diagnostics_trigger_logs, READ_SUBMISSIONS),
    "submissions": (ops_submissions.submissions, READ_SUBMISSIONS),
    "diagnostics": (ops_submissions.diagnostics, READ_SUBMISSIONS),
    "diagnosticsUploadAuth": (ops_submissions.diagnostics_upload_auth, UPLOAD),
    "v2RoundModelPerformances": (ops_submissions.v2_round_model_performances, PUBLIC),
    "rounds": (ops_public.rounds, PUBLIC),
    "listDatasets": (ops_public.list_datasets, PUBLIC),
    "dataset": (ops_public.dataset, PUBLIC),
    "cryptosignalsMetaModelPage": (ops_public.cryptosignals_meta_model_page, PUBLIC),
}
MUTATION_FIELDS: dict[str, tuple[Callable[..., Any], str]] = {
    "addModel": (ops_account.add_model, UPLOAD),
    "renameModel": (ops_account.rename_model, UPLOAD),
    "archiveModel": (ops_account.archive_model, UPLOAD),
    "unarchiveModel": (ops_account.unarchive_model, UPLOAD),
    "setSubmissionWebhook": (ops_account.set_submission_webhook, UPLOAD),
    "triggerModelWebhook": (ops_account.trigger_model_webhook, UPLOAD),
    "testSubmissionWebhook": (ops_account.submission_webhook_test_placeholder, ANY_KEY),
    "createComputePickleUpload": (ops_pickles.create_compute_pickle_upload, UPLOAD),
    "assignPickleToModel": (ops_pickles.assign_pickle_to_model, UPLOAD),
    "triggerComputePickleUpload": (ops_pickles.trigger_compute_pickle_upload, UPLOAD),
    "updatePickleLabel": (ops_pickles.update_pickle_label, UPLOAD),
    "createDiagnostics": (ops_submissions.create_diagnostics, UPLOAD),
    "deleteDiagnostics": (ops_submissions.delete_diagnostics, UPLOAD),
}


def _package_text(name: str) -> str:
    return resources.files("numerai_mcp.emulator").joinpath(name).read_text(encoding="utf-8")


def reference_sdl() -> str:
    """Numerai's schema exactly as transcribed (root types still written Query and Mutation)."""
    return _package_text(REFERENCE_FILE)


class _RootNames(Visitor):
    """Rename the root types, wherever they are defined or referenced."""

    def _renamed(self, node: Any) -> Any:
        if node.name.value not in ROOT_NAMES:
            return None
        return replace(node, name=NameNode(value=ROOT_NAMES[node.name.value]))

    def enter_object_type_definition(self, node: ObjectTypeDefinitionNode, *_args: Any) -> Any:
        return self._renamed(node)

    def enter_named_type(self, node: NamedTypeNode, *_args: Any) -> Any:
        return self._renamed(node)


def schema_document() -> DocumentNode:
    """The emulator's SDL: the reference with Numerai's root names, plus the additions."""
    return visit(parse(reference_sdl() + "\n" + _package_text(ADDITIONS_FILE)), _RootNames())


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


def _attach(root: GraphQLObjectType | None, table: dict[str, tuple[Callable[..., Any], str]]) -> None:
    if root is None:
        raise RuntimeError("the schema has no root type for a resolver table")
    if set(root.fields) != set(table):
        raise RuntimeError(f"{root.name} resolvers out of sync with {REFERENCE_FILE}: {set(root.fields) ^ set(table)}")
    for name, (function, access) in table.items():
        root.fields[name].resolve = _bind(function, access)


@cache
def executable_schema() -> GraphQLSchema:
    schema = build_ast_schema(schema_document())
    _attach(schema.query_type, QUERY_FIELDS)
    _attach(schema.mutation_type, MUTATION_FIELDS)
    return schema
