"""upload_model: every step of a Numerai model upload behind one `operation` argument.

The argument names are those of Numerai's own upload skill (modelId, filename, presignedUrl,
localPath, pickleId, triggerId, triggerValidation) so an agent following it works unchanged;
ours are dockerImage, dataVersion, wait, waitSeconds, clearWebhook, disable, offset, limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Elicit, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from numerai_mcp.api import deploy
from numerai_mcp.api import operations as ops
from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.models import ApiModel, DataVersion, DockerImage, LogLine, ModelSlot, Pickle, Trigger, UploadAuth
from numerai_mcp.api.upload import put_file
from numerai_mcp.config import Settings
from numerai_mcp.harness import verdict_store
from numerai_mcp.tools.common import api_client, async_progress, server_state, tool_errors
from numerai_mcp.tools.confirm import CONFIRMED, Confirmation, ask, require_confirmation
from numerai_mcp.tools.gate import check_before_upload, remember_upload, remembered_python, scanned_python
from numerai_mcp.tools.paths import check_input_file

Operation = Literal[
    "get_upload_auth",
    "put_file",
    "create",
    "upload",
    "list",
    "assign",
    "trigger",
    "get_logs",
    "list_data_versions",
    "list_docker_images",
]

# operation -> (required arguments, optional arguments, what it does)
OPERATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "upload": (("modelId", "localPath"), ("dockerImage", "dataVersion", "skipValidation"),
               "get_upload_auth + put_file + create in one call (preferred)"),
    "get_upload_auth": (("modelId",), ("filename", "localPath"), "a presigned URL and the server-side filename"),
    "put_file": (("presignedUrl", "localPath"), ("skipValidation",), "stream the local file to the presigned URL and verify it"),
    "create": (("modelId", "filename"), ("dockerImage", "dataVersion", "localPath"),
               "register the uploaded file (filename = the server-side name from get_upload_auth)"),
    "list": ((), ("pickleId", "modelId", "wait", "waitSeconds"), "pickles and their validation/trigger status"),
    "assign": (("modelId",), ("pickleId", "disable", "clearWebhook", "confirm"), "assign a validated pickle to the slot"),
    "trigger": ((), ("pickleId", "modelId", "triggerValidation", "wait", "waitSeconds"), "start a run now"),
    "get_logs": ((), ("triggerId", "pickleId", "offset", "limit"), "run or validation logs, paged"),
    "list_data_versions": ((), (), "data versions a pickle can be registered with"),
    "list_docker_images": ((), (), "Python runtime images, with the default"),
}

DESCRIPTION = """Upload a model pickle to Numerai and deploy it, one `operation` per step. Usual order:
1. operation='upload' (modelId, localPath[, dockerImage]) — streams the file and registers it; the runtime image
   is matched to the Python that built the pickle when dockerImage is omitted. (Equivalent to get_upload_auth →
   put_file → create.) The file must pass validate_pickle: one that never was validated is validated first, one
   that failed is refused (skipValidation=true overrides; don't).
2. operation='list' (pickleId, wait=true) — waits until Numerai's validation is 'validated' or 'failed'.
3. operation='assign' (modelId, pickleId) — the server asks the user when the client supports it, else pass
   confirm=true after the user agreed; disable=true (no pickleId) stops hosted runs; clearWebhook=true removes a
   submission webhook that blocks the slot.
4. operation='trigger' (pickleId or modelId[, wait=true]) — runs it now; returns the new triggerId.
5. operation='get_logs' (triggerId or pickleId[, offset]) — the run's logs, paged.
Also: get_upload_auth (modelId[, filename]), put_file (presignedUrl, localPath), create (modelId, filename =
server-side name[, dockerImage, dataVersion]), list_docker_images, list_data_versions.
dockerImage accepts an id, 'Python 3.12' or '3.12'. Every result's nextStep says what to call next."""


class PutSummary(ApiModel):
    size: int
    md5: str
    etag: str | None = None
    attempts: int
    seconds: float
    mib_per_s: float


class ImageSummary(DockerImage):
    chosen_because: str


class UploadModelResult(ApiModel):
    operation: str
    summary: str = Field(description="One line on what happened.")
    next_step: str | None = Field(default=None, description="What to call next.")
    warnings: list[str] = Field(default_factory=list)
    upload_auth: UploadAuth | None = None
    put: PutSummary | None = None
    pickle: Pickle | None = None
    pickles: list[Pickle] | None = None
    docker_image: ImageSummary | None = None
    data_version: DataVersion | None = None
    model: ModelSlot | None = None
    trigger_id: str | None = None
    trigger: Trigger | None = None
    logs: list[LogLine] | None = None
    logs_total: int | None = None
    next_offset: int | None = Field(default=None, description="Pass as offset to read the next page of logs.")
    docker_images: list[DockerImage] | None = None
    data_versions: list[DataVersion] | None = None


def _require(operation: str, provided: dict[str, Any]) -> None:
    required, optional, _ = OPERATIONS[operation]
    missing = [name for name in required if provided.get(name) in (None, "")]
    if missing:
        expects = ", ".join(required) + (f" (optional: {', '.join(optional)})" if optional else "")
        raise ToolError(f"operation={operation!r} needs {', '.join(missing)}. It takes: {expects}.")


def _image_summary(choice: deploy.ImageChoice) -> ImageSummary:
    return ImageSummary(**choice.image.model_dump(exclude={"python_version"}), chosen_because=choice.how)


async def _register(
    client: NumeraiClient, *, filename: str, model_id: str, choice: deploy.ImageChoice, version: DataVersion | None
) -> tuple[Pickle, str]:
    """createComputePickleUpload with an explicit image; returns the pickle and a one-line account."""
    created = await ops.create_pickle(client, filename=filename, model_id=model_id, docker_image_id=choice.image.id,
                                      data_version_id=version.id if version else None)
    pickle = await ops.get_pickle(client, created["id"]) or Pickle.model_validate(created)
    line = (f"registered {filename} as pickle {pickle.id} with {choice.image.name} ({choice.how}); "
            f"validation is {pickle.validation_status}.")
    return pickle, line


def _registered(operation: str, pickle: Pickle, line: str, choice: deploy.ImageChoice,
                version: DataVersion | None, **extra: Any) -> UploadModelResult:
    return UploadModelResult(
        operation=operation, summary=line, pickle=pickle, docker_image=_image_summary(choice), data_version=version,
        next_step=f"upload_model operation='list' pickleId={pickle.id!r} wait=true, until 'validated'.", **extra,
    )


async def _ask_assign(
    operation: str, ctx: Context[Any, Any], modelId: str | None = None, pickleId: str | None = None,
    disable: bool = False, confirm: bool = False,
) -> Confirmation | Elicit[Confirmation] | None:
    if operation != "assign" or not modelId or bool(pickleId) == bool(disable):
        return CONFIRMED  # nothing irreversible here, or the call is malformed and the body will say so
    question = (f"Stop hosted runs for model {modelId} (unassign its pickle)?" if disable
                else f"Assign pickle {pickleId} to model {modelId}? Numerai will run it every round from now on.")
    return ask(ctx, confirm, question)


async def upload_model(
    operation: Annotated[Operation, Field(description="The step to run; see the tool description for each one's arguments.")],
    ctx: Context[Any, Any],
    answer: Annotated[Confirmation | None, Resolve(_ask_assign)],
    modelId: Annotated[str | None, Field(description="Model slot id (from create_model or account.models).")] = None,
    filename: Annotated[str | None, Field(description="get_upload_auth: name hint; create: the server-side filename get_upload_auth returned.")] = None,
    presignedUrl: Annotated[str | None, Field(description="put_file: the url from get_upload_auth.")] = None,
    localPath: Annotated[str | None, Field(description="Absolute path of the local .pkl file.")] = None,
    pickleId: Annotated[str | None, Field(description="Pickle id (from create/upload or list).")] = None,
    triggerId: Annotated[str | None, Field(description="get_logs: trigger id (from trigger or list).")] = None,
    triggerValidation: Annotated[bool, Field(description="trigger: re-run validation instead of a live run.")] = False,
    dockerImage: Annotated[str | None, Field(description="Runtime image: id, 'Python 3.12' or '3.12'. Omit to match the pickle's Python.")] = None,
    dataVersion: Annotated[str | None, Field(description="Data version id or name like 'v5.2'. Omit for the server default.")] = None,
    wait: Annotated[bool, Field(description="list/trigger: poll until validation/the run finishes (with progress).")] = False,
    waitSeconds: Annotated[int, Field(description="Upper bound for wait, in seconds.", ge=1, le=3600)] = 600,
    clearWebhook: Annotated[bool, Field(description="assign: remove a submission webhook that blocks the slot.")] = False,
    disable: Annotated[bool, Field(description="assign: unassign the slot's pickle (stops hosted runs); no pickleId.")] = False,
    skipValidation: Annotated[bool, Field(description="upload/put_file: send a file that has no passing validate_pickle verdict. Avoid.")] = False,
    confirm: Annotated[bool, Field(description="assign: true once the user agreed (needed when the client cannot ask the user itself).")] = False,
    offset: Annotated[int, Field(description="get_logs: first line to return.", ge=0)] = 0,
    limit: Annotated[int, Field(description="get_logs: most lines to return.", ge=1, le=2000)] = 200,
) -> UploadModelResult:
    call = Call(
        ctx=ctx, answer=answer, model_id=modelId, filename=filename, presigned_url=presignedUrl, pickle_id=pickleId,
        trigger_id=triggerId, trigger_validation=triggerValidation, docker_image=dockerImage, data_version=dataVersion,
        wait=wait, wait_s=waitSeconds, clear_webhook=clearWebhook, disable=disable, skip_validation=skipValidation,
        offset=offset, limit=limit,
    )
    _require(operation, {"modelId": modelId, "filename": filename, "presignedUrl": presignedUrl,
                         "localPath": localPath, "pickleId": pickleId, "triggerId": triggerId})
    call.path = check_input_file(localPath, server_state(ctx).settings) if localPath else None  # before any network call
    handler = HANDLERS.get(operation)
    if handler is None:
        raise ToolError(f"Unknown operation {operation!r}. Expected one of: {', '.join(OPERATIONS)}.")
    with tool_errors():
        async with api_client(ctx) as client:
            client.require_credentials()
            return await handler(call, client)


@dataclass
class Call:
    """One upload_model call's arguments, checked: what every operation handler receives."""

    ctx: Context[Any, Any]
    answer: Confirmation | None
    model_id: str | None
    filename: str | None
    presigned_url: str | None
    pickle_id: str | None
    trigger_id: str | None
    trigger_validation: bool
    docker_image: str | None
    data_version: str | None
    wait: bool
    wait_s: int
    clear_webhook: bool
    disable: bool
    skip_validation: bool
    offset: int
    limit: int
    path: Path | None = None


async def _op_get_upload_auth(call: Call, client: NumeraiClient) -> UploadModelResult:
    name = call.filename or (call.path.name if call.path else "model.pkl")
    auth = await ops.upload_auth(client, name, call.model_id)
    return UploadModelResult(
        operation="get_upload_auth", upload_auth=auth,
        summary=f"Presigned URL for {auth.filename} (server-side name).",
        next_step=f"upload_model operation='put_file' with this presignedUrl and localPath, then "
        f"operation='create' filename={auth.filename!r} modelId={call.model_id!r}.",
    )


async def _op_put_file(call: Call, client: NumeraiClient) -> UploadModelResult:
    assert call.path is not None and call.presigned_url is not None
    gate = await check_before_upload(call.ctx, call.path, skip_validation=call.skip_validation)
    put = await _put(call.ctx, call.presigned_url, call.path)
    remember_upload(call.ctx, call.presigned_url, gate.python)
    return UploadModelResult(
        operation="put_file", put=put, warnings=gate.notes,
        summary=f"Uploaded {call.path.name}: {put.size} bytes, MD5 {put.md5} verified by the store.",
        next_step="upload_model operation='create' with the server-side filename from get_upload_auth "
        "(the runtime image will match the pickle's Python).",
    )


async def _resolve_target(call: Call, client: NumeraiClient, python: str | None) -> tuple[deploy.ImageChoice, DataVersion | None]:
    """Image and data version, resolved before anything is sent: a bad or mismatched dockerImage must cost no
    upload and register nothing."""
    choice = await deploy.resolve_docker_image(client, call.docker_image, pickle_python=python)
    return choice, await deploy.resolve_data_version(client, call.data_version)


async def _op_create(call: Call, client: NumeraiClient) -> UploadModelResult:
    assert call.model_id is not None and call.filename is not None
    python, notes = await _python_for_create(call.ctx, call.filename, call.path)
    choice, version = await _resolve_target(call, client, python)
    pickle, line = await _register(client, filename=call.filename, model_id=call.model_id, choice=choice, version=version)
    return _registered("create", pickle, line[0].upper() + line[1:], choice, version, warnings=notes)


async def _op_upload(call: Call, client: NumeraiClient) -> UploadModelResult:
    assert call.model_id is not None and call.path is not None
    gate = await check_before_upload(call.ctx, call.path, skip_validation=call.skip_validation)
    choice, version = await _resolve_target(call, client, gate.python)
    auth = await ops.upload_auth(client, call.path.name, call.model_id)
    put = await _put(call.ctx, auth.url, call.path)
    pickle, line = await _register(client, filename=auth.filename, model_id=call.model_id, choice=choice, version=version)
    return _registered("upload", pickle, f"Uploaded {call.path.name} ({put.size} bytes, MD5 verified) and {line}",
                       choice, version, put=put, warnings=gate.notes)


async def _op_list_docker_images(call: Call, client: NumeraiClient) -> UploadModelResult:
    images = await ops.docker_images(client)
    default = next((i for i in images if i.default), None)
    return UploadModelResult(
        operation="list_docker_images", docker_images=images,
        summary=f"{len(images)} runtime images; default: {default.name if default else 'none'}.",
        next_step="Pass the one matching the Python that built the pickle as dockerImage to create/upload.",
    )


async def _op_list_data_versions(call: Call, client: NumeraiClient) -> UploadModelResult:
    versions = await ops.data_versions(client)
    default = next((v for v in versions if v.default), None)
    return UploadModelResult(
        operation="list_data_versions", data_versions=versions,
        summary=f"{len(versions)} data versions; default: {default.name if default else 'none'}.",
    )


async def _python_for_create(ctx: Context[Any, Any], filename: str, path: Path | None) -> tuple[str | None, list[str]]:
    """Which Python built the file registered by `create`: from the local copy when given, else from
    this server's own put_file of that filename; unknown otherwise (then say so)."""
    if path is not None:
        verdict = verdict_store.recall(await anyio.to_thread.run_sync(verdict_store.file_sha256, path), server_state(ctx).settings.cache_dir)
        if verdict is not None and verdict.passed:
            return verdict.python_version_used, []
        return await anyio.to_thread.run_sync(scanned_python, path), []
    if filename in server_state(ctx).uploaded_python:
        return remembered_python(ctx, filename), []
    return None, ["The pickle's Python version is unknown here (it was not uploaded by this server); pass localPath "
                  "so the runtime image can be matched to it, or check dockerImage yourself."]


async def _put(ctx: Context[Any, Any], url: str, path: Path) -> PutSummary:
    state = server_state(ctx)
    result = await put_file(url, path, http=state.http, timeout=state.settings.upload_timeout,
                            retries=state.settings.max_retries, backoff=state.settings.retry_backoff,
                            progress=async_progress(ctx))
    return PutSummary(size=result.size, md5=result.md5, etag=result.etag, attempts=result.attempts,
                      seconds=round(result.seconds, 3), mib_per_s=round(result.mib_per_s, 1))


async def _op_list(call: Call, client: NumeraiClient) -> UploadModelResult:
    ctx, pickle_id, model_id, wait, wait_s = call.ctx, call.pickle_id, call.model_id, call.wait, call.wait_s
    if wait:
        if not pickle_id:
            raise ToolError("wait=true needs pickleId (the pickle whose validation to wait for).")
        pickle, finished = await deploy.wait_for_validation(client, pickle_id, timeout_s=wait_s, progress=async_progress(ctx))
        return _validation_result(pickle, finished, wait_s)
    pickles = await ops.list_pickles(client, pickle_id=pickle_id, model_id=model_id)
    if pickle_id and not pickles:
        raise ToolError(f"No pickle with id {pickle_id!r}; call list without pickleId to see yours.")
    if len(pickles) == 1 and pickle_id:
        return _validation_result(pickles[0], pickles[0].validation_finished, None)
    note = " (modelId filters by the slot a pickle was uploaded for, not where it is assigned)" if model_id else ""
    return UploadModelResult(operation="list", pickles=pickles, summary=f"{len(pickles)} pickles{note}.",
                             next_step="Pass pickleId (and wait=true) to follow one pickle's validation.")


def _validation_result(pickle: Pickle, finished: bool, wait_s: int | None) -> UploadModelResult:
    status = (pickle.validation_status or "").lower()
    trig = pickle.newest_trigger()
    reason = trig.last_description if trig else None
    if status == "validated":
        summary, next_step = (f"Pickle {pickle.id} is validated.",
                              f"Ask the user to confirm, then upload_model operation='assign' pickleId={pickle.id!r} modelId=….")
    elif finished:
        summary = f"Pickle {pickle.id} failed validation ({pickle.validation_status}): {reason or 'no reason given'}."
        next_step = (f"Read the logs: upload_model operation='get_logs' pickleId={pickle.id!r}; fix the pickle "
                     "(validate_pickle shows the cause locally), then upload again.")
    else:
        waited = f" after {wait_s} s" if wait_s else ""
        summary = f"Pickle {pickle.id} is still {pickle.validation_status or 'pending'}{waited}."
        next_step = f"Call upload_model operation='list' pickleId={pickle.id!r} wait=true again."
    return UploadModelResult(operation="list", pickle=pickle, pickles=[pickle], summary=summary, next_step=next_step,
                             trigger_id=trig.id if trig else None)


async def _op_assign(call: Call, client: NumeraiClient) -> UploadModelResult:
    assert call.model_id is not None
    model_id, pickle_id, disable = call.model_id, call.pickle_id, call.disable
    if disable and pickle_id:
        raise ToolError("Pass either pickleId (assign it) or disable=true (unassign), not both.")
    if not disable and not pickle_id:
        raise ToolError("operation='assign' needs pickleId; to stop hosted runs for the slot, pass disable=true instead.")
    why = ("Disabling stops Numerai from running this model every round" if disable
           else "Assigning decides what Numerai runs for this model every round")
    require_confirmation(call.answer, why=why, retry_hint="the same arguments and")
    model, notes = await deploy.assign_and_confirm(client, model_id, None if disable else pickle_id,
                                                   clear_webhook=call.clear_webhook)
    if disable:
        summary = f"Hosted runs disabled for {model.name}: no pickle is assigned."
        next_step = "Assign a validated pickle to resume hosted runs."
    else:
        summary = f"Pickle {pickle_id} is assigned to {model.name} (confirmed by reading the slot back)."
        next_step = f"Optionally run it now: upload_model operation='trigger' pickleId={pickle_id!r} wait=true."
    return UploadModelResult(operation="assign", model=model, summary=summary, next_step=next_step, warnings=notes)


async def _op_trigger(call: Call, client: NumeraiClient) -> UploadModelResult:
    pickle, trig = await deploy.trigger_run(client, pickle_id=call.pickle_id, model_id=call.model_id,
                                            trigger_validation=call.trigger_validation)
    finished = trig.finished
    if call.wait and not finished:
        latest, finished = await deploy.wait_for_trigger(client, pickle.id, trig.id, timeout_s=call.wait_s,
                                                         progress=async_progress(call.ctx))
        trig = latest or trig
    state = f"{trig.status}" + (f": {trig.last_description}" if trig.last_description else "")
    return UploadModelResult(
        operation="trigger", pickle=pickle, trigger_id=trig.id, trigger=trig,
        summary=f"Triggered pickle {pickle.id}: trigger {trig.id} is {state}.",
        next_step=f"Read its logs: upload_model operation='get_logs' triggerId={trig.id!r}"
        + ("" if finished else " (or wait=true to follow it)") + ".",
    )


async def _op_get_logs(call: Call, client: NumeraiClient) -> UploadModelResult:
    trigger_id, pickle_id, offset, limit = call.trigger_id, call.pickle_id, call.offset, call.limit
    if not trigger_id and not pickle_id:
        raise ToolError("operation='get_logs' needs triggerId, or pickleId to read its newest run's logs.")
    trigger = None
    if trigger_id:
        lines = await ops.trigger_logs(client, trigger_id)
    else:
        assert pickle_id is not None
        pickle = await deploy.require_pickle(client, pickle_id)
        trigger = pickle.newest_trigger()
        if trigger is not None:
            trigger_id = trigger.id
            lines = await ops.trigger_logs(client, trigger.id)
        else:
            lines = await ops.diagnostics_logs(client, pickle_id)
    page = deploy.page_logs(lines, trigger_id=trigger_id, offset=offset, limit=limit)
    shown = f"lines {page.offset + 1}–{page.offset + len(page.lines)} of {page.total}" if page.lines else f"no lines (of {page.total})"
    return UploadModelResult(
        operation="get_logs", trigger_id=trigger_id, trigger=trigger, logs=page.lines, logs_total=page.total,
        next_offset=page.next_offset, summary=f"Logs of trigger {trigger_id or '(diagnostics)'}: {shown}.",
        next_step=f"Call get_logs again with offset={page.next_offset} for more." if page.next_offset else None,
    )


HANDLERS: dict[str, Callable[[Call, NumeraiClient], Awaitable[UploadModelResult]]] = {
    "get_upload_auth": _op_get_upload_auth,
    "put_file": _op_put_file,
    "create": _op_create,
    "upload": _op_upload,
    "list": _op_list,
    "assign": _op_assign,
    "trigger": _op_trigger,
    "get_logs": _op_get_logs,
    "list_docker_images": _op_list_docker_images,
    "list_data_versions": _op_list_data_versions,
}


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="upload_model",
        title="Upload and deploy a Numerai model pickle",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True),
    )(upload_model)
