"""Keys and scopes: who may call what, with Numerai's "Insufficient permission for <scope>"."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.emulator_api import Gql

ALL = ["upload_submission", "download_submission", "read_submission_info", "read_user_info", "stake"]
ZERO_ID = "00000000-0000-0000-0000-000000000000"

# (document, variables, scope it needs); ids need not exist: the scope is checked first.
PROTECTED = [
    ("{ account { username } }", {}, "read_user_info"),
    ("query($m: ID) { model(modelId: $m) { id } }", {"m": ZERO_ID}, "read_user_info"),
    ("{ computePickleUploadAuth { url } }", {}, "upload_submission"),
    ("query($m: ID!) { computePickleDownloadAuth(modelId: $m) { url } }", {"m": ZERO_ID}, "download_submission"),
    ("{ computePickles { id } }", {}, "read_submission_info"),
    ("query($t: ID!) { triggerLogs(triggerId: $t) { message } }", {"t": ZERO_ID}, "read_submission_info"),
    ("query($p: ID!) { diagnosticsTriggerLogs(pickleId: $p) { message } }", {"p": ZERO_ID}, "read_submission_info"),
    ('mutation { addModel(name: "x", tournament: 8) { id } }', {}, "upload_submission"),
    ('mutation { createComputePickleUpload(filename: "x.pkl", tournament: 8) { id } }', {}, "upload_submission"),
    ("mutation($m: String) { assignPickleToModel(modelId: $m, pickleId: null) }", {"m": ZERO_ID},
     "upload_submission"),
    ("mutation($p: ID) { triggerComputePickleUpload(pickleId: $p) { id } }", {"p": ZERO_ID}, "upload_submission"),
    ("mutation($m: String) { setSubmissionWebhook(modelId: $m, newSubmissionWebhook: null) }", {"m": ZERO_ID},
     "upload_submission"),
    ("mutation($p: ID!) { updatePickleLabel(pickleId: $p, label: \"x\") { id } }", {"p": ZERO_ID},
     "upload_submission"),
]
PUBLIC = [
    "{ apiTokenScopes { name } }",
    "{ computePickleDockerImages { id } }",
    "{ computePickleDataVersions { id } }",
    '{ modelNameAvailable(name: "free_name", tournament: 8) }',
    "{ rounds(tournament: 8, number: 0) { number } }",
    "{ listDatasets }",
]


@pytest.mark.parametrize(("document", "variables", "scope"), PROTECTED, ids=[p[0][:40] for p in PROTECTED])
def test_a_key_without_the_scope_gets_numerais_exact_message(emulator: Any, document: str,
                                                             variables: dict[str, Any], scope: str) -> None:
    lacking = Gql(emulator.url, emulator.add_key([s for s in ALL if s != scope]))
    body = lacking.result(document, variables)
    assert [e["message"] for e in body["errors"]] == [f"Insufficient permission for {scope}"]
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": scope}
    assert all(value is None for value in body["data"].values())


@pytest.mark.parametrize(("document", "variables", "scope"), PROTECTED[:3], ids=["account", "model", "upload"])
def test_no_key_or_a_bad_key_is_an_authentication_error(api: Gql, document: str, variables: dict[str, Any],
                                                        scope: str) -> None:
    public_id, secret = api.auth.removeprefix("Token ").split("$")
    wrong_secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for header in (False, f"Token {public_id}${wrong_secret}", f"Token {'A' * 32}${secret}", "Token nonsense",
                   f"Bearer {public_id}${secret}", f"Token Token {public_id}${secret}", f"{public_id}${secret}"):
        body = api.result(document, variables, auth=header)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", header
        assert secret not in str(body)


def test_public_fields_need_no_key_and_ignore_a_bad_one(api: Gql) -> None:
    for document in PUBLIC:
        assert not api.result(document, auth=False).get("errors"), document
        assert not api.result(document, auth="Token broken").get("errors"), document


def test_api_token_info_describes_the_key_in_use(emulator: Any, api: Gql) -> None:
    info = api.data("{ apiTokenInfo { accountUsername name publicId scopes } }")["apiTokenInfo"]
    assert info["accountUsername"] == "demo" and info["scopes"] == ALL
    assert api.auth.startswith(f"Token {info['publicId']}$") and len(info["publicId"]) == 32
    narrow = Gql(emulator.url, emulator.add_key([]))
    assert narrow.data("{ apiTokenInfo { scopes accountUsername } }")["apiTokenInfo"] == {
        "scopes": [], "accountUsername": "demo"}


def test_api_token_scopes_lists_every_scope_with_a_description(api: Gql) -> None:
    scopes = api.data("{ apiTokenScopes { name description } }", auth=False)["apiTokenScopes"]
    assert [s["name"] for s in scopes] == ALL and all(s["description"] for s in scopes)


def test_new_account_keys_see_only_their_own_account(emulator: Any, api: Gql) -> None:
    rival = Gql(emulator.url, emulator.add_key(["read_user_info", "upload_submission"], username="rival"))
    account = rival.data("{ account { username maxModelSlots models { id } apiTokens { publicId scopes } } }")
    assert account["account"]["username"] == "rival" and account["account"]["models"] == []
    assert [t["scopes"] for t in account["account"]["apiTokens"]] == [["read_user_info", "upload_submission"]]
    demo_model = api.model_id()
    assert rival.errors("query($m: ID) { model(modelId: $m) { id } }", {"m": demo_model}) == [
        f"Model {demo_model} not found for this account."]
    demo_tokens = api.data("{ account { apiTokens { publicId } } }")["account"]["apiTokens"]
    assert len(demo_tokens) == 1


def test_control_api_rejects_unknown_scopes(emulator: Any) -> None:
    import httpx

    response = httpx.post(f"{emulator.url}/_emulator/keys", json={"scopes": ["upload", "stake"]})
    assert response.status_code == 400 and "unknown scope(s) ['upload']" in response.json()["error"]
