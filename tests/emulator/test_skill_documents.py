"""The GraphQL documents of Numerai's model-upload skill (numerai/example-scripts,
numerai/agents/skills/numerai-model-upload/SKILL.md), sent as written: valid against Numerai's
schema, and answered by the sandbox in Numerai's shapes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema, parse, validate

from tests.conftest import FIXTURES
from tests.support.emulator_api import Gql, pickle_view, upload_pickle, wait_for_validation

DEFAULT_IMAGE = "query { computePickleDockerImages { id name image tag default } }"  # steps 1 and "Important Notes"
LIST_MODELS = """query {
  account { models { id name } }
}"""
DEBUG_VALIDATION = """query {
  account {
    models {
      username
      computePickleUpload {
        filename
        validationStatus
        triggerStatus
        triggers {
          id
          status
          statuses {
            status
            description
            insertedAt
          }
        }
      }
    }
  }
}"""


@pytest.mark.parametrize("document", [DEFAULT_IMAGE, LIST_MODELS, DEBUG_VALIDATION])
def test_skill_documents_are_valid_against_numerais_schema(document: str) -> None:
    schema = build_schema((FIXTURES / "numerai-schema-upload.graphql").read_text(encoding="utf-8"))
    assert validate(schema, parse(document)) == []


def test_default_image_and_model_list(api: Gql) -> None:
    images = api.data(DEFAULT_IMAGE)["computePickleDockerImages"]
    [default] = [i for i in images if i["default"]]
    assert default["image"].startswith("numerai_predict_py_3_") and len(default["tag"]) == 7
    assert api.data(LIST_MODELS) == {"account": {"models": [{"id": api.model_id(), "name": "demo_model"}]}}


@pytest.mark.slow
def test_debugging_query_shows_no_currently_open_rounds(api: Gql, emulator: Any, fixture_pickle: Path,
                                                         tmp_path: Path) -> None:
    model_id = api.model_id()
    created = upload_pickle(api, Path(shutil.copy(fixture_pickle, tmp_path / "neutral.pkl")), model_id=model_id)
    assert wait_for_validation(api, created["id"])["validationStatus"] == "validated"
    api.data("mutation($m: String, $p: ID) { assignPickleToModel(modelId: $m, pickleId: $p) }",
             {"m": model_id, "p": created["id"]})
    emulator.set_round_open(False)
    api.data("mutation($p: ID) { triggerComputePickleUpload(pickleId: $p) { id } }", {"p": created["id"]})
    [model] = api.data(DEBUG_VALIDATION)["account"]["models"]
    upload = model["computePickleUpload"]
    assert model["username"] == "demo_model" and upload["filename"] == pickle_view(api, created["id"])["filename"]
    assert upload["validationStatus"] == "validated" and upload["triggerStatus"] == "submission_failed"
    run, validation = upload["triggers"]  # newest first
    assert run["statuses"][-1]["description"] == "No currently open rounds!"
    assert validation["status"] == "succeeded" and validation["statuses"][-1]["insertedAt"].endswith("Z")
