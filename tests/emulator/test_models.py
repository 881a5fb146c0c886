"""Model slots: name rules, uniqueness across accounts, capacity, tournaments, webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.emulator_api import Gql

ADD = "mutation($n: String!, $t: Int!) { addModel(name: $n, tournament: $t) { id name tournament username } }"
AVAILABLE = "query($n: String!, $t: Int!) { modelNameAvailable(name: $n, tournament: $t) }"
WEBHOOK = "mutation($m: String, $w: String) { setSubmissionWebhook(modelId: $m, newSubmissionWebhook: $w) }"


def test_add_model_creates_a_slot_the_account_lists(api: Gql) -> None:
    assert api.data(AVAILABLE, {"n": "fresh_model", "t": 8}, auth=False)["modelNameAvailable"] is True
    created = api.data(ADD, {"n": "fresh_model", "t": 8})["addModel"]
    assert created["name"] == "fresh_model" and created["tournament"] == 8 and created["id"]
    models = api.data("{ account { models { id name tournament computePickleUpload { id } } } }")["account"]["models"]
    assert {"id": created["id"], "name": "fresh_model", "tournament": 8, "computePickleUpload": None} in models
    assert api.data(AVAILABLE, {"n": "fresh_model", "t": 8})["modelNameAvailable"] is False
    assert api.data("query($m: ID) { model(modelId: $m) { name } }", {"m": created["id"]})["model"] == {
        "name": "fresh_model"}


@pytest.mark.parametrize(("name", "problem"), [
    ("a" * 21, "is too long: at most 20 characters are allowed."),
    ("bad-name", "is not username-safe: use only letters, digits and underscores."),
    ("with space", "is not username-safe"),
    ("ünïcode", "is not username-safe"),
    ("", "Model name must not be empty."),
])
def test_names_that_are_not_username_safe_or_too_long_are_refused(api: Gql, emulator: Any, name: str,
                                                                  problem: str) -> None:
    before = len(emulator.state()["models"])
    [message] = api.errors(ADD, {"n": name, "t": 8})
    assert problem in message
    assert api.data(AVAILABLE, {"n": name, "t": 8})["modelNameAvailable"] is False
    assert len(emulator.state()["models"]) == before


def test_twenty_characters_is_the_longest_allowed(api: Gql) -> None:
    assert api.data(ADD, {"n": "a" * 20, "t": 8})["addModel"]["name"] == "a" * 20


def test_names_are_unique_per_tournament_across_accounts_ignoring_case(emulator: Any, api: Gql) -> None:
    rival = Gql(emulator.url, emulator.add_key(["upload_submission"], username="rival"))
    rival.data(ADD, {"n": "shared_name", "t": 8})
    assert api.errors(ADD, {"n": "SHARED_NAME", "t": 8}) == [
        "Model name 'SHARED_NAME' is already taken in tournament 8."]
    assert api.data(AVAILABLE, {"n": "Shared_Name", "t": 8})["modelNameAvailable"] is False
    assert api.data(ADD, {"n": "shared_name", "t": 11})["addModel"]["tournament"] == 11


def test_slot_capacity_is_max_model_slots(emulator: Any, api: Gql) -> None:
    account = api.data("{ account { maxModelSlots models { id } } }")["account"]
    free = account["maxModelSlots"] - len(account["models"])
    assert free > 0
    for index in range(free):
        api.data(ADD, {"n": f"slot_{index}", "t": 8})
    assert api.errors(ADD, {"n": "one_too_many", "t": 8}) == [
        f"Maximum number of model slots reached ({account['maxModelSlots']}). Archive a model or earn more slots "
        "before adding another."]
    assert "one_too_many" not in [m["name"] for m in emulator.state()["models"]]


def test_unknown_tournament_is_refused(api: Gql) -> None:
    [message] = api.errors(ADD, {"n": "somewhere", "t": 99})
    assert message.startswith("Unknown tournament 99: use one of 8 (Numerai Classic)")
    assert api.data(AVAILABLE, {"n": "somewhere", "t": 99})["modelNameAvailable"] is False


def test_submission_webhook_is_set_and_cleared_with_null(api: Gql) -> None:
    model_id = api.model_id()
    hook = "query($m: ID) { model(modelId: $m) { submissionWebhook computeEnabled } }"
    assert api.data(WEBHOOK, {"m": model_id, "w": "https://example.com/hook"}) == {"setSubmissionWebhook": "true"}
    assert api.data(hook, {"m": model_id})["model"] == {"submissionWebhook": "https://example.com/hook",
                                                        "computeEnabled": True}
    assert api.data(WEBHOOK, {"m": model_id, "w": None}) == {"setSubmissionWebhook": "true"}
    assert api.data(hook, {"m": model_id})["model"] == {"submissionWebhook": None, "computeEnabled": False}
    assert api.errors(WEBHOOK, {"m": model_id, "w": "ftp://nope"}) == ["Submission webhook 'ftp://nope' is not an "
                                                                      "http(s) URL."]
    assert api.errors(WEBHOOK, {"m": "not-a-model", "w": None}) == ["Model not-a-model not found for this account."]


ARCHIVE = "mutation($m: ID!) { archiveModel(modelId: $m) { id archived archivedAt } }"
UNARCHIVE = "mutation($m: ID!) { unarchiveModel(modelId: $m) { id archived archivedAt } }"
RENAME = "mutation($m: ID!, $n: String!) { renameModel(modelId: $m, name: $n) { id name username } }"
LISTED = "query($a: Boolean) { account { models(showArchived: $a) { name archived } } }"


def test_archived_models_are_hidden_unless_asked_for_and_free_their_slot(api: Gql, emulator: Any) -> None:
    emulator_auth = emulator.add_key(["upload_submission", "read_user_info"], username="small")
    small = Gql(emulator.url, emulator_auth)
    first = small.data(ADD, {"n": "small_one", "t": 8})["addModel"]["id"]
    slots = small.data("{ account { maxModelSlots(tournament: 8) } }")["account"]["maxModelSlots"]
    for index in range(slots - 1):
        small.data(ADD, {"n": f"small_{index}", "t": 8})
    assert small.errors(ADD, {"n": "small_extra", "t": 8})[0].startswith("Maximum number of model slots reached")

    archived = small.data(ARCHIVE, {"m": first})["archiveModel"]
    assert archived["archived"] is True and archived["archivedAt"].endswith("Z")
    assert "small_one" not in [m["name"] for m in small.data(LISTED, {})["account"]["models"]]
    assert {"name": "small_one", "archived": True} in small.data(LISTED, {"a": True})["account"]["models"]
    small.data(ADD, {"n": "small_extra", "t": 8})  # the archived slot no longer counts
    assert small.errors(UNARCHIVE, {"m": first}) == [
        f"Maximum number of model slots reached ({slots}). Archive a model or earn more slots before unarchiving "
        "small_one."]
    assert api.errors(ARCHIVE, {"m": first}) == [f"Model {first} not found for this account."]


def test_unarchive_restores_the_model(api: Gql) -> None:
    model_id = api.model_id()
    api.data(ARCHIVE, {"m": model_id})
    assert api.data(UNARCHIVE, {"m": model_id})["unarchiveModel"] == {"id": model_id, "archived": False,
                                                                      "archivedAt": None}
    assert [m["name"] for m in api.data(LISTED, {})["account"]["models"]] == ["demo_model"]


def test_rename_checks_the_name_like_add_model(api: Gql, emulator: Any) -> None:
    model_id = api.model_id()
    assert api.data(RENAME, {"m": model_id, "n": "Demo_Model"})["renameModel"] == {
        "id": model_id, "name": "Demo_Model", "username": "Demo_Model"}  # a change of case is its own name
    api.data(ADD, {"n": "taken_name", "t": 8})
    assert api.errors(RENAME, {"m": model_id, "n": "TAKEN_NAME"}) == [
        "Model name 'TAKEN_NAME' is already taken in tournament 8."]
    assert "is not username-safe" in api.errors(RENAME, {"m": model_id, "n": "no-dashes"})[0]
    assert api.data(AVAILABLE, {"n": "demo_model", "t": 8})["modelNameAvailable"] is False  # Demo_Model holds it


def test_account_and_model_fields_numerai_clients_read(api: Gql, emulator: Any) -> None:
    account = api.data("""{ account { id username email status insertedAt walletAddress availableNmr mfaEnabled
        maxModelSlots models { id insertedAt archived hidden profileUrl v2Stake { status txHash tournamentNumber }
        submissions { id } latestSubmissions(latestNRounds: 5) { id } computeLiteEnabled accountId } } }""")["account"]
    state = emulator.state()
    [me] = [a for a in state["accounts"] if a["username"] == "demo"]
    assert account["id"] == me["id"] and account["status"] == "VERIFIED" and account["mfaEnabled"] is False
    assert account["availableNmr"] == "0.000000000000000000" and account["insertedAt"].endswith("Z")
    [model] = account["models"]
    assert model["archived"] is False and model["hidden"] is False and model["profileUrl"] is None
    assert model["v2Stake"] == {"status": None, "txHash": None, "tournamentNumber": 8}
    assert model["submissions"] == [] and model["latestSubmissions"] == [] and model["accountId"] is None


def test_trigger_model_webhook_needs_a_webhook(api: Gql) -> None:
    trigger = "mutation($m: String!) { triggerModelWebhook(modelId: $m) }"
    model_id = api.model_id()
    assert api.errors(trigger, {"m": model_id}) == [
        "Model demo_model has no submission webhook; set one with setSubmissionWebhook first."]
    api.data(WEBHOOK, {"m": model_id, "w": "https://example.com/hook"})
    assert api.data(trigger, {"m": model_id}) == {"triggerModelWebhook": "true"}
    assert api.data("mutation { testSubmissionWebhook }") == {"testSubmissionWebhook": None}


def test_payouts_and_the_meta_model_page_are_empty(api: Gql) -> None:
    payouts = api.data("{ pendingModelPayouts(tournament: 8) { actual { payoutNmr } pending { payoutNmr } } }")
    assert payouts == {"pendingModelPayouts": {"actual": [], "pending": []}}
    page = api.data("{ cryptosignalsMetaModelPage { tournament totalStakes tableData { symbol } } }", auth=False)
    assert page == {"cryptosignalsMetaModelPage": {"tournament": 12, "totalStakes": 0, "tableData": []}}
