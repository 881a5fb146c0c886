"""The GraphQL operations of the upload flow, with the schema's own names and types.

Each function is one round trip (plus a state re-read for non-idempotent mutations whose
outcome is unknown) and returns typed objects from `api.models`.
"""

from __future__ import annotations

from typing import Any, NoReturn

from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.errors import ApiServerError, GraphQLError
from numerai_mcp.api.models import (
    Account,
    DataVersion,
    Diagnostics,
    DockerImage,
    LogLine,
    ModelSlot,
    Pickle,
    Scope,
    TokenInfo,
    UploadAuth,
)
from numerai_mcp.config import CLASSIC_TOURNAMENT

_TRIGGER_FIELDS = "id type status roundId submissionId insertedAt statuses { status description insertedAt }"
_PICKLE_FIELDS = (
    "id label filename modelId assignedModelSlots dockerImageName dataVersion runtime "
    "validationStatus triggerStatus diagnosticsId diagnosticsStatus diagnosticsStatusDescription insertedAt updatedAt "
    f"triggers {{ {_TRIGGER_FIELDS} }}"
)
_ASSIGNED_FIELDS = (
    "id filename modelId assignedModelSlots validationStatus triggerStatus diagnosticsStatus insertedAt updatedAt "
    f"triggers {{ {_TRIGGER_FIELDS} }}"
)

TOKEN_INFO = "query { apiTokenInfo { accountUsername name publicId scopes } apiTokenScopes { name description } }"
ACCOUNT = (
    "query { account { username maxModelSlots models { id name tournament submissionWebhook computeEnabled "
    f"computePickleUpload {{ {_ASSIGNED_FIELDS} }} }} }} }}"
)
MODEL_NAME_AVAILABLE = (
    "query($name: String!, $tournament: Int!) { modelNameAvailable(name: $name, tournament: $tournament) }"
)
ADD_MODEL = (
    "mutation($name: String!, $tournament: Int!) { addModel(name: $name, tournament: $tournament) "
    "{ id name tournament } }"
)
DOCKER_IMAGES = "query { computePickleDockerImages { id name image tag default deprecated experimental } }"
DATA_VERSIONS = "query { computePickleDataVersions { id name version type default deprecated experimental } }"
UPLOAD_AUTH = (
    "query($filename: String, $modelId: ID) { computePickleUploadAuth(filename: $filename, modelId: $modelId) "
    "{ filename url accelerated countryCode } }"
)
CREATE_PICKLE = (
    "mutation($filename: String!, $tournament: Int!, $modelId: ID, $dataVersionId: ID, $dockerImageId: ID) "
    "{ createComputePickleUpload(filename: $filename, tournament: $tournament, modelId: $modelId, "
    "dataVersionId: $dataVersionId, dockerImageId: $dockerImageId) "
    "{ id filename modelId dataVersionId dockerImageId validationStatus triggerStatus label insertedAt } }"
)
LIST_PICKLES = (
    "query($id: ID, $modelId: ID, $unassigned: Boolean!) "
    f"{{ computePickles(id: $id, modelId: $modelId, unassigned: $unassigned) {{ {_PICKLE_FIELDS} }} }}"
)
ASSIGN = "mutation($modelId: String, $pickleId: ID) { assignPickleToModel(modelId: $modelId, pickleId: $pickleId) }"
SET_WEBHOOK = (
    "mutation($modelId: String, $newSubmissionWebhook: String) "
    "{ setSubmissionWebhook(modelId: $modelId, newSubmissionWebhook: $newSubmissionWebhook) }"
)
TRIGGER = (
    "mutation($modelId: ID, $pickleId: ID, $triggerValidation: Boolean) "
    "{ triggerComputePickleUpload(modelId: $modelId, pickleId: $pickleId, triggerValidation: $triggerValidation) "
    "{ id modelId triggerStatus validationStatus diagnosticsStatus updatedAt } }"
)
TRIGGER_LOGS = "query($triggerId: ID!) { triggerLogs(triggerId: $triggerId) { timestamp message } }"
DIAGNOSTICS_LOGS = "query($pickleId: ID!) { diagnosticsTriggerLogs(pickleId: $pickleId) { timestamp message } }"
LIST_DATASETS = "query($round: Int, $tournament: Int) { listDatasets(round: $round, tournament: $tournament) }"
DATASET = (
    "query($filename: String!, $round: Int, $tournament: Int) "
    "{ dataset(filename: $filename, round: $round, tournament: $tournament) }"
)
# The slot overview: every slot with its assigned pickle, that pickle's triggers and the last rounds' submissions,
# plus a light list of every upload (no triggers: an account's history of runs can be long), in one round trip.
_SUBMISSION_FIELDS = "id filename roundNumber roundOpen roundCloseStaking roundClose status timestamp"
_SLOT_FIELDS = (
    "id name tournament submissionWebhook computeEnabled "
    f"latestSubmissions(latestNRounds: $rounds) {{ {_SUBMISSION_FIELDS} }} "
    f"computePickleUpload {{ {_PICKLE_FIELDS} }}"
)
_UPLOAD_FIELDS = (
    "id filename label modelId dockerImageName dataVersion runtime validationStatus diagnosticsId diagnosticsStatus "
    "diagnosticsStatusDescription insertedAt"
)
SLOTS = (
    f"query($rounds: Int) {{ account {{ username models {{ {_SLOT_FIELDS} }} }} "
    f"computePickles(unassigned: false) {{ {_UPLOAD_FIELDS} }} }}"
)
SLOT = (
    f"query($modelId: ID, $rounds: Int) {{ model(modelId: $modelId) {{ {_SLOT_FIELDS} }} "
    f"computePickles(modelId: $modelId, unassigned: false) {{ {_UPLOAD_FIELDS} }} }}"
)
SLOT_NAMES = "query { account { username models { id name tournament } } }"
_ERA_FIELDS = (
    "era validationCorr validationMmc validationBmc validationFeatureCorrMax validationFeatureNeutralCorr "
    "examplePredsCorr"
)
DIAGNOSTICS = (
    "query($id: ID, $modelId: ID) { diagnostics(id: $id, modelId: $modelId) { id computePickleUploadId filename "
    "status message insertedAt updatedAt processSecs erasAcceptedCount erasMissing tickersAcceptedCount "
    "tickersSubmittedCount trainedOnVal validationCorrMean validationCorrStd validationCorrSharpe "
    "validationMaxDrawdown validationCorrMaxDrawdown validationBmcMean validationMmcMean validationMmcSharpe "
    "validationCorrPlusMmcMean validationCorrPlusMmcSharpe validationFeatureCorrMax "
    "validationFeatureNeutralCorrMean validationCorrCorrWExamplePreds examplePredsCorrMean validationApy "
    f"validationAdjustedSharpe perEraDiagnostics {{ {_ERA_FIELDS} }} }} }}"
)
CURRENT_ROUND = (
    "query($tournament: Int) { rounds(tournament: $tournament, number: 0) { number openTime closeTime } }"
)


async def token_info(client: NumeraiClient) -> tuple[TokenInfo, list[Scope]]:
    data = await client.query(TOKEN_INFO)
    info = TokenInfo.model_validate(data.get("apiTokenInfo") or {})
    scopes = [Scope.model_validate(s) for s in data.get("apiTokenScopes") or []]
    return info, scopes


async def account(client: NumeraiClient) -> Account:
    data = await client.query(ACCOUNT)
    return Account.model_validate(data.get("account") or {})


async def classic_models(client: NumeraiClient) -> tuple[Account, list[ModelSlot]]:
    acct = await account(client)
    return acct, [m for m in acct.models if m.tournament in (None, CLASSIC_TOURNAMENT)]


async def slots(client: NumeraiClient, *, rounds: int) -> tuple[Account, list[Pickle]]:
    """Every slot (assigned pickle with its triggers, the last `rounds` rounds' submissions) and every upload."""
    data = await client.query(SLOTS, {"rounds": rounds})
    return Account.model_validate(data.get("account") or {}), _pickles(data)


async def slot(client: NumeraiClient, model_id: str, *, rounds: int) -> tuple[ModelSlot | None, list[Pickle]]:
    """One slot as `slots` reads it, and the pickles uploaded for it."""
    data = await client.query(SLOT, {"modelId": model_id, "rounds": rounds})
    found = data.get("model")
    return (ModelSlot.model_validate(found) if found else None), _pickles(data)


async def slot_names(client: NumeraiClient) -> Account:
    data = await client.query(SLOT_NAMES)
    return Account.model_validate(data.get("account") or {})


def _pickles(data: dict[str, Any]) -> list[Pickle]:
    return [Pickle.model_validate(p) for p in data.get("computePickles") or [] if isinstance(p, dict)]


async def model_name_available(client: NumeraiClient, name: str, tournament: int) -> bool:
    data = await client.query(MODEL_NAME_AVAILABLE, {"name": name, "tournament": tournament})
    return bool(data.get("modelNameAvailable"))


async def add_model(client: NumeraiClient, name: str, tournament: int) -> ModelSlot:
    """Create a slot; after an unknown outcome, look for the name before resending."""

    async def already_created() -> dict[str, Any] | None:
        acct = await account(client)
        for model in acct.models:
            if model.name.lower() == name.lower() and model.tournament in (None, tournament):
                return {"addModel": {"id": model.id, "name": model.name, "tournament": model.tournament}}
        return None

    data = await client.mutate(ADD_MODEL, {"name": name, "tournament": tournament}, reconcile=already_created)
    return ModelSlot.model_validate(data["addModel"])


async def docker_images(client: NumeraiClient) -> list[DockerImage]:
    data = await client.query(DOCKER_IMAGES)
    return [DockerImage.model_validate(d) for d in data.get("computePickleDockerImages") or []]


async def data_versions(client: NumeraiClient) -> list[DataVersion]:
    data = await client.query(DATA_VERSIONS)
    return [DataVersion.model_validate(d) for d in data.get("computePickleDataVersions") or []]


async def upload_auth(client: NumeraiClient, filename: str, model_id: str | None) -> UploadAuth:
    # A query (no side effect worth protecting): a retry just returns another fresh URL.
    data = await client.query(UPLOAD_AUTH, {"filename": filename, "modelId": model_id})
    auth = data.get("computePickleUploadAuth")
    if not auth:
        raise_empty("computePickleUploadAuth")
    return UploadAuth.model_validate(auth)


async def list_pickles(
    client: NumeraiClient, *, pickle_id: str | None = None, model_id: str | None = None, unassigned: bool = False
) -> list[Pickle]:
    data = await client.query(LIST_PICKLES, {"id": pickle_id, "modelId": model_id, "unassigned": unassigned})
    return [Pickle.model_validate(p) for p in data.get("computePickles") or []]


async def get_pickle(client: NumeraiClient, pickle_id: str) -> Pickle | None:
    pickles = await list_pickles(client, pickle_id=pickle_id)
    return next((p for p in pickles if p.id == pickle_id), None)


async def create_pickle(
    client: NumeraiClient,
    *,
    filename: str,
    model_id: str | None,
    docker_image_id: str,
    data_version_id: str | None = None,
    tournament: int = CLASSIC_TOURNAMENT,
) -> dict[str, Any]:
    """Register an uploaded file; after an unknown outcome, look for the server-side filename first.

    The filename is unique per upload (Numerai adds a random suffix), so finding it means the
    registration happened and resending would create a duplicate.
    """

    async def already_registered() -> dict[str, Any] | None:
        for pickle in await list_pickles(client, model_id=model_id):
            if pickle.filename == filename:
                return {"createComputePickleUpload": {"id": pickle.id, "filename": pickle.filename,
                                                      "modelId": pickle.model_id,
                                                      "validationStatus": pickle.validation_status,
                                                      "triggerStatus": pickle.trigger_status}}
        return None

    variables = {
        "filename": filename,
        "tournament": tournament,
        "modelId": model_id,
        "dockerImageId": docker_image_id,
        "dataVersionId": data_version_id,
    }
    data = await client.mutate(CREATE_PICKLE, variables, reconcile=already_registered)
    created = data.get("createComputePickleUpload")
    if not created:
        raise_empty("createComputePickleUpload")
    return created


async def assign(client: NumeraiClient, model_id: str, pickle_id: str | None) -> str | None:
    """Assign (or with None, unassign) a pickle; setting the same state twice is harmless, so retry."""
    data = await client.mutate(ASSIGN, {"modelId": model_id, "pickleId": pickle_id}, idempotent=True)
    return data.get("assignPickleToModel")


async def set_webhook(client: NumeraiClient, model_id: str, url: str | None) -> str | None:
    data = await client.mutate(SET_WEBHOOK, {"modelId": model_id, "newSubmissionWebhook": url}, idempotent=True)
    return data.get("setSubmissionWebhook")


async def trigger(
    client: NumeraiClient, *, pickle_id: str | None, model_id: str | None, trigger_validation: bool, known: set[str]
) -> dict[str, Any]:
    """Start a run; `known` holds the pickle's trigger ids before the call, so a re-read can tell
    whether an uncertain attempt already created a trigger."""

    async def already_triggered() -> dict[str, Any] | None:
        if pickle_id is None:
            return None
        pickle = await get_pickle(client, pickle_id)
        if pickle and any(t.id not in known for t in pickle.triggers):
            return {"triggerComputePickleUpload": {"id": pickle.id, "modelId": pickle.model_id,
                                                   "triggerStatus": pickle.trigger_status,
                                                   "validationStatus": pickle.validation_status}}
        return None

    variables = {"modelId": model_id, "pickleId": pickle_id, "triggerValidation": trigger_validation}
    data = await client.mutate(TRIGGER, variables, reconcile=already_triggered)
    result = data.get("triggerComputePickleUpload")
    if not result:
        raise_empty("triggerComputePickleUpload")
    return result


async def trigger_logs(client: NumeraiClient, trigger_id: str) -> list[LogLine]:
    data = await client.query(TRIGGER_LOGS, {"triggerId": trigger_id})
    return [LogLine.model_validate(x) for x in data.get("triggerLogs") or []]


async def diagnostics_logs(client: NumeraiClient, pickle_id: str) -> list[LogLine]:
    data = await client.query(DIAGNOSTICS_LOGS, {"pickleId": pickle_id})
    return [LogLine.model_validate(x) for x in data.get("diagnosticsTriggerLogs") or []]


async def diagnostics(client: NumeraiClient, *, diagnostics_id: str | None = None,
                      model_id: str | None = None) -> list[Diagnostics]:
    data = await client.query(DIAGNOSTICS, {"id": diagnostics_id, "modelId": model_id})
    return [Diagnostics.model_validate(d) for d in data.get("diagnostics") or [] if isinstance(d, dict)]


async def list_datasets(client: NumeraiClient, *, round_number: int | None = None) -> list[str]:
    data = await client.query(LIST_DATASETS, {"round": round_number, "tournament": CLASSIC_TOURNAMENT}, auth=False)
    return [str(x) for x in data.get("listDatasets") or []]


async def dataset_url(client: NumeraiClient, filename: str, *, round_number: int | None = None) -> str:
    data = await client.query(
        DATASET, {"filename": filename, "round": round_number, "tournament": CLASSIC_TOURNAMENT}, auth=False
    )
    url = data.get("dataset")
    if not url:
        raise_empty("dataset")
    return str(url)


async def current_round(client: NumeraiClient) -> int | None:
    """The open round's number, or None between rounds (Numerai answers with an error then)."""
    try:
        data = await client.query(CURRENT_ROUND, {"tournament": CLASSIC_TOURNAMENT}, auth=False)
    except GraphQLError:
        return None
    rounds = data.get("rounds") or []
    return int(rounds[0]["number"]) if rounds else None


def raise_empty(field: str) -> NoReturn:
    raise ApiServerError(f"The API returned no {field} result.")
