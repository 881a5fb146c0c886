"""The GraphQL surface: Numerai's own schema (tests/fixtures/numerai-schema-upload.graphql) exactly,
as the running emulator reports it by introspection, plus only the documented additions; and
graphql-core's own errors for a query that strays from it (over real HTTP against the real process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    build_client_schema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    get_introspection_query,
)

from tests.conftest import FIXTURES, REPO
from tests.support.emulator_api import Gql
from tests.support.schema_compare import difference

REFERENCE = FIXTURES / "numerai-schema-upload.graphql"
PACKAGE_COPY = REPO / "numerai_mcp" / "emulator" / "numerai_schema.graphql"
# numerapi 3.1.1 `list_rounds` selects these on Round.roundScoreConfigs (absent from the dump).
ROUND_SCORE_CONFIG_FIELDS = {
    "id", "scoreConfigId", "roundNumberStart", "roundNumberEnd", "name", "version", "displayName", "totalScoreDays",
    "returnsLagDays", "dataDelayDays", "universe", "isCanonScore", "isPayout", "scoringStart", "scoringEnd",
    "minMultiplier", "maxMultiplier", "defaultMultiplier", "clipThreshold", "stakeThreshold", "payoutFactor",
}


def _reference() -> Any:
    return build_schema(REFERENCE.read_text(encoding="utf-8"))


def _served(api: Gql) -> Any:
    """The schema the running emulator reports by introspection."""
    return build_client_schema(api.data(get_introspection_query(descriptions=False), auth=False))


def test_the_emulator_ships_the_reference_schema_byte_for_byte() -> None:
    copies = [PACKAGE_COPY, *(p / "shared" / "reference" / REFERENCE.name for p in REPO.parents)]
    for copy in (c for c in copies if c.is_file()):
        assert copy.read_bytes() == REFERENCE.read_bytes(), f"{copy} differs from {REFERENCE}"


def test_served_schema_is_numerais_for_every_root_field_and_reachable_type(api: Gql) -> None:
    missing, extra = difference(_reference(), _served(api))
    assert missing == set(), sorted(missing)
    assert {f for f in extra if f[1] != "RoundScoreConfig"} == {
        ("field", "Round", "roundScoreConfigs", "[RoundScoreConfig]", None)}
    assert {f[2] for f in extra if f[0] == "field" and f[1] == "RoundScoreConfig"} == ROUND_SCORE_CONFIG_FIELDS


def test_graphql_core_finds_no_breaking_or_dangerous_change_either_way(api: Gql) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    renamed = text.replace("type Query {", "type RootQueryType {").replace("type Mutation {", "type RootMutationType {")
    renamed = renamed.replace("query: Query", "query: RootQueryType").replace("mutation: Mutation",
                                                                             "mutation: RootMutationType")
    reference, served = build_schema(renamed), _served(api)
    assert find_breaking_changes(reference, served) == []
    assert find_dangerous_changes(reference, served) == []
    assert sorted(c.description for c in find_breaking_changes(served, reference)) == [
        "Field Round.roundScoreConfigs was removed.", "RoundScoreConfig was removed."]


def test_root_types_have_numerais_names(api: Gql) -> None:
    assert api.data("{ __typename }", auth=False) == {"__typename": "RootQueryType"}
    names = api.data("{ __schema { queryType { name } mutationType { name } } }", auth=False)["__schema"]
    assert names == {"queryType": {"name": "RootQueryType"}, "mutationType": {"name": "RootMutationType"}}

INTROSPECT = """query($name: String!) { __type(name: $name) { fields {
  name type { ...T } args { name defaultValue type { ...T } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name } } }"""


def _render(t: dict[str, Any]) -> str:
    if t["kind"] == "NON_NULL":
        return _render(t["ofType"]) + "!"
    if t["kind"] == "LIST":
        return f"[{_render(t['ofType'])}]"
    return t["name"]


def _signatures(api: Gql, type_name: str) -> dict[str, str]:
    fields = api.data(INTROSPECT, {"name": type_name}, auth=False)["__type"]["fields"]
    out = {}
    for field in fields:
        args = ", ".join(f"{a['name']}: {_render(a['type'])}" + (f" = {a['defaultValue']}" if a["defaultValue"] else "")
                         for a in field["args"])
        out[field["name"]] = f"({args}): {_render(field['type'])}"
    return out


def test_root_fields_have_numerais_argument_names_types_and_defaults(api: Gql) -> None:
    query, mutation = _signatures(api, "RootQueryType"), _signatures(api, "RootMutationType")
    assert query["computePickleUploadAuth"] == '(filename: String = "model.pkl", modelId: ID): FileUploadAuth'
    assert query["computePickleDownloadAuth"] == "(modelId: ID!, pickleId: ID): FileUploadAuth"
    assert query["computePickles"] == "(id: ID, modelId: ID, unassigned: Boolean! = false): [ComputePickleUpload]"
    assert query["computePickleDockerImages"] == "(deprecated: Boolean = false): [ComputePickleDockerImage]"
    assert query["computePickleDataVersions"] == "(deprecated: Boolean! = false): [ComputePickleDataVersion]"
    assert query["triggerLogs"] == "(triggerId: ID!): [InvocationLog]"
    assert query["diagnosticsTriggerLogs"] == "(pickleId: ID!): [InvocationLog]"
    assert query["model"] == "(modelId: ID): Model"
    assert query["modelNameAvailable"] == "(name: String!, tournament: Int!): Boolean"
    assert query["listDatasets"] == "(round: Int, tournament: Int): [String]"
    assert query["dataset"] == "(filename: String!, round: Int, tournament: Int): String"
    assert query["rounds"] == "(limit: Int, number: Int, status: RoundStatus, target: String, tournament: Int): [Round]"
    assert mutation["assignPickleToModel"] == "(modelId: String, pickleId: ID): String"
    assert mutation["setSubmissionWebhook"] == "(modelId: String, newSubmissionWebhook: String): String"
    assert mutation["addModel"] == "(name: String!, tournament: Int!): Model"
    assert mutation["triggerComputePickleUpload"] == (
        "(modelId: ID, pickleId: ID, triggerValidation: Boolean = false): ComputePickleUpload")
    assert mutation["createComputePickleUpload"] == (
        "(dataVersionId: ID, dockerImageId: ID, filename: String!, modelId: ID, source: String, tournament: Int!)"
        ": ComputePickleUpload")
    assert mutation["updatePickleLabel"] == "(label: String, pickleId: ID!): ComputePickleUpload"


def test_status_fields_are_plain_strings(api: Gql) -> None:
    pickle = _signatures(api, "ComputePickleUpload")
    trigger = _signatures(api, "ComputePickleTrigger")
    assert {pickle[f] for f in ("validationStatus", "triggerStatus", "diagnosticsStatus")} == {"(): String"}
    assert trigger["status"] == "(): String" and trigger["statuses"] == "(): [ComputePickleTriggerStatus]"
    assert pickle["assignedModelSlots"] == "(): [ID]" and pickle["modelId"] == "(): String"


def test_misspelt_field_fails_validation_with_graphql_cores_message(api: Gql) -> None:
    response = api.post("{ computePickles(unassigned: false) { id validationStatu } }")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == ("Cannot query field 'validationStatu' on type 'ComputePickleUpload'. "
                                            "Did you mean 'validationStatus'?")


def test_wrong_argument_and_variable_types_fail_validation(api: Gql) -> None:
    literal = api.errors('{ computePickles(unassigned: "no") { id } }')
    assert literal == ['Boolean cannot represent a non boolean value: "no"']
    variable = api.errors("query($m: Int) { model(modelId: $m) { id } }", {"m": 1})
    assert variable == ["Variable '$m' of type 'Int' used in position expecting type 'ID'."]
    missing = api.errors("query { triggerLogs { message } }")
    assert missing == ["Argument 'RootQueryType.triggerLogs(triggerId:)' of type 'ID!' is required, but it was not provided."]


def test_argument_numerai_does_not_have_is_rejected(api: Gql) -> None:
    """computePickleUploadAuth has no tournament argument (unlike the submission variants)."""
    errors = api.errors("{ computePickleUploadAuth(filename: \"m.pkl\", tournament: 8) { url } }")
    assert errors == ["Unknown argument 'tournament' on field 'RootQueryType.computePickleUploadAuth'."]


def test_syntax_error_is_a_graphql_error_with_http_200(api: Gql) -> None:
    response = api.post("{ account { username ")
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"].startswith("Syntax Error:")


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", "Body is not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"variables": {}}', "Must provide query string."),
    (b'{"query": "{ rounds { number } }", "variables": [1]}', "Variables must be a JSON object."),
])
def test_unparsable_bodies_are_400_with_an_errors_array(emulator: Any, content: bytes, message: str) -> None:
    response = httpx.post(f"{emulator.url}/", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


def test_get_on_the_endpoint_says_to_post(emulator: Any) -> None:
    response = httpx.get(f"{emulator.url}/")
    assert response.status_code == 405 and "POST" in response.json()["errors"][0]["message"]


def test_operation_name_selects_one_of_several_operations(api: Gql) -> None:
    document = "query A { rounds(number: 0) { number } } query B { apiTokenScopes { name } }"
    response = httpx.post(f"{api.url}/", json={"query": document, "operationName": "B"})
    assert set(response.json()["data"]) == {"apiTokenScopes"}
