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
