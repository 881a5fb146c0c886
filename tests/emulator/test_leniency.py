"""Numerai's leniency, and only that: String and ID variables interchangeable, and the snake_case
names numerapi sends; everything else invalid stays invalid with graphql-core's messages."""

from __future__ import annotations

import pytest

from tests.support.emulator_api import Gql

MODEL_NAME = "query($m: {type}) {{ model(modelId: $m) {{ name }} }}"


@pytest.mark.parametrize("declared", ["String", "String!", "ID", "ID!"])
def test_string_variables_are_accepted_for_id_arguments(api: Gql, declared: str) -> None:
    data = api.data(MODEL_NAME.format(type=declared), {"m": api.model_id()})
    assert data == {"model": {"name": "demo_model"}}


def test_id_variables_are_accepted_for_string_arguments(api: Gql) -> None:
    webhook = "mutation($m: ID!, $w: String) { setSubmissionWebhook(modelId: $m, newSubmissionWebhook: $w) }"
    assert api.data(webhook, {"m": api.model_id(), "w": None}) == {"setSubmissionWebhook": "true"}


def test_string_for_a_required_id_still_needs_to_be_non_null(api: Gql) -> None:
    query = "query($m: String) { computePickleDownloadAuth(modelId: $m) { url } }"
    assert api.errors(query, {"m": api.model_id()}) == [
        "Variable '$m' of type 'String' used in position expecting type 'ID!'."]
    allowed = "query($m: String!) { computePickleDownloadAuth(modelId: $m) { url } }"
    assert api.errors(allowed, {"m": api.model_id()}) == [
        "Model demo_model has no pickle assigned; pass pickleId."]  # valid: the resolver answers


@pytest.mark.parametrize(("declared", "expected"), [("Int", "ID"), ("Boolean", "ID"), ("[String]", "ID")])
def test_other_variable_types_stay_invalid(api: Gql, declared: str, expected: str) -> None:
    assert api.errors(MODEL_NAME.format(type=declared), {"m": None}) == [
        f"Variable '$m' of type '{declared}' used in position expecting type '{expected}'."]


def test_int_variable_for_a_string_argument_stays_invalid(api: Gql) -> None:
    query = "mutation($m: Int) { assignPickleToModel(modelId: $m, pickleId: null) }"
    assert api.errors(query, {"m": 1}) == ["Variable '$m' of type 'Int' used in position expecting type 'String'."]


def test_numerapis_snake_case_public_id_is_answered_under_its_name(api: Gql, emulator: object) -> None:
    public_id = api.auth.removeprefix("Token ").split("$")[0]  # type: ignore[union-attr]
    tokens = api.data("{ account { apiTokens { name public_id scopes } } }")["account"]["apiTokens"]
    assert [set(t) for t in tokens] == [{"name", "public_id", "scopes"}]
    assert tokens[0]["public_id"] == public_id
    aliased = api.data("{ account { apiTokens { key: public_id publicId } } }")["account"]["apiTokens"]
    assert aliased == [{"key": public_id, "publicId": public_id}]
    by_fragment = api.data("{ account { apiTokens { ...T } } } fragment T on ApiToken { public_id }")
    assert by_fragment["account"]["apiTokens"] == [{"public_id": public_id}]


@pytest.mark.parametrize(("query", "message"), [
    ("{ account { api_tokens { name } } }",
     "Cannot query field 'api_tokens' on type 'Account'. Did you mean 'apiTokens'?"),
    ("{ apiTokenInfo { public_id } }",  # numerapi asks public_id of ApiToken only
     "Cannot query field 'public_id' on type 'ApiTokenInfo'. Did you mean 'publicId'?"),
    ('{ computePickleUploadAuth(model_id: "x") { url } }',
     "Unknown argument 'model_id' on field 'RootQueryType.computePickleUploadAuth'. Did you mean 'modelId'?"),
    ('{ submission_upload_auth(filename: "p.csv") { url } }',  # not part of the upload schema
     "Cannot query field 'submission_upload_auth' on type 'RootQueryType'."),
])
def test_other_snake_case_names_stay_invalid(api: Gql, query: str, message: str) -> None:
    assert api.errors(query) == [message]
