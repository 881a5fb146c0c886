"""upload_model: every step of a Numerai model upload behind one `operation` argument.

The argument names are those of Numerai's own upload skill (modelId, filename, presignedUrl, localPath, pickleId,
triggerId, triggerValidation) so an agent following it works unchanged, also when its client starts a new server
process for every call: what one step learns (the server-side filename, the Python that built the file, its
verdict) is kept in the upload memory on disk and read back by the next step, wherever it runs. Ours are
dockerImage, dataVersion, wait, waitSeconds, clearWebhook, disable, offset, limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic_core
from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Elicit, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from numerai_mcp.api import deploy, diagnostics
from numerai_mcp.api import operations as ops
from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.diagnostics import DiagnosticsReport
from numerai_mcp.api.errors import GraphQLError
from numerai_mcp.api.models import ApiModel, DataVersion, DockerImage, LogLine, ModelSlot, Pickle, Trigger, UploadAuth
from numerai_mcp.api.upload import put_file
from numerai_mcp.config import Settings
from numerai_mcp.tools.common import api_client, async_progress, plot_images, server_state, thread_progress, tool_errors
from numerai_mcp.tools.confirm import CONFIRMED, Answer, Confirmation, ask, require_confirmation
from numerai_mcp.tools.diagnostics_extras import LocalEvaluation, draw_plots, local_evaluation
from numerai_mcp.tools.gate import clear, python_of_file
from numerai_mcp.tools.paths import check_input_file
from numerai_mcp.uploads.memory import UploadMemory, UploadRecord, account_key

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
    "diagnostics",
]

# operation -> (required arguments, optional arguments, what it does)
OPERATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "upload": (("modelId", "localPath"), ("dockerImage", "dataVersion", "skipValidation"),
               "get_upload_auth + put_file + create in one call (preferred)"),
    "get_upload_auth": (("modelId",), ("filename", "localPath"), "a presigned URL and the server-side filename"),
    "put_file": (("presignedUrl", "localPath"), ("skipValidation",), "stream the local file to the presigned URL and verify it"),
    "create": (("modelId", "filename"), ("dockerImage", "dataVersion", "localPath"),
               "register the uploaded file (filename: the server-side name, or the name given to get_upload_auth)"),
    "list": ((), ("pickleId", "modelId", "filename", "wait", "waitSeconds"), "pickles and their validation/trigger status"),
    "assign": (("modelId",), ("pickleId", "disable", "clearWebhook", "confirm"), "assign a validated pickle to the slot"),
    "trigger": ((), ("pickleId", "modelId", "triggerValidation", "wait", "waitSeconds"), "start a run now"),
    "get_logs": ((), ("triggerId", "pickleId", "offset", "limit"), "run or validation logs, paged"),
    "list_data_versions": ((), (), "data versions a pickle can be registered with"),
    "list_docker_images": ((), (), "Python runtime images, with the default"),
    "diagnostics": ((), ("pickleId", "modelId", "wait", "waitSeconds"),
                    "Numerai's diagnostics of an uploaded pickle: headline numbers and per-era validation values"),
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
5. operation='get_logs' (triggerId or pickleId[, offset]) — the run's logs, paged, and whether the run finished.
6. operation='diagnostics' (pickleId, or modelId for the slot's pickle[, wait=true]) — Numerai's own scoring of the
   pickle on its validation data (CORR mean, Sharpe, drawdown, BMC, MMC, feature exposure, per-era values), which
   starts after validation; wait=true waits while it is pending. Returns per-era and cumulative CORR plots as images
   (and files) and, when evaluate_pickle scored the same file here, its numbers beside Numerai's with a flag if they
   disagree (the file or the data differ). To see how all slots are doing, use model_status.
Also, step by step as in Numerai's upload skill: get_upload_auth (modelId[, filename]), put_file (presignedUrl,
localPath), create (modelId, filename: the server-side name or the one you gave get_upload_auth[, dockerImage,
dataVersion]); and list_docker_images, list_data_versions.
dockerImage accepts an id, 'Python 3.12' or '3.12'. Every result's nextStep says what to call next."""


class PutSummary(ApiModel):
    size: int
    md5: str
    etag: str | None = None
    attempts: int
    seconds: float
    mib_per_s: float


class LocalFile(ApiModel):
    """What the upload memory knows about the local file behind a pickle."""

    local_path: str | None = None
    sha256: str | None = None
    python: str | None = None
    verdict_passed: bool | None = None
    verdict_summary: str | None = None


class ImageSummary(DockerImage):
    chosen_because: str


class UploadModelResult(ApiModel):
    operation: str
    summary: str = Field(description="One line on what happened.")
    next_step: str | None = Field(default=None, description="What to call next.")
    warnings: list[str] = Field(default_factory=list)
    upload_auth: UploadAuth | None = None
    put: PutSummary | None = None
    server_filename: str | None = Field(default=None, description="The name Numerai stores the file under.")
    python_version: str | None = Field(default=None, description="The Python that built the uploaded pickle.")
    pickle: Pickle | None = None
    pickles: list[Pickle] | None = None
    docker_image: ImageSummary | None = None
    data_version: DataVersion | None = None
    model: ModelSlot | None = None
    trigger_id: str | None = None
    trigger: Trigger | None = None
    run_finished: bool | None = Field(default=None, description="get_logs/trigger: the run has ended.")
    run_succeeded: bool | None = Field(default=None, description="get_logs/trigger: the run ended well.")
    logs: list[LogLine] | None = None
    logs_total: int | None = None
    next_offset: int | None = Field(default=None, description="Pass as offset to read the next page of logs.")
    docker_images: list[DockerImage] | None = None
    data_versions: list[DataVersion] | None = None
    diagnostics: DiagnosticsReport | None = Field(default=None, description="operation='diagnostics': "
                                                              "Numerai's diagnostics of the pickle.")
    local_file: LocalFile | None = Field(default=None, description="diagnostics: the local file numerai-mcp uploaded "
                                         "as this pickle, when it did.")
    local_evaluation: LocalEvaluation | None = Field(default=None, description="diagnostics: evaluate_pickle's result "
                                                     "for the same file (by sha256) beside Numerai's, with a flag when "
                                                     "they disagree beyond rounding.")
    plots: dict[str, str] | None = Field(default=None, description="diagnostics: PNG files of Numerai's per-era and "
                                         "cumulative validation CORR (also returned as images).")


def _require(operation: str, provided: dict[str, Any]) -> None:
    required, optional, _ = OPERATIONS[operation]
    missing = [name for name in required if provided.get(name) in (None, "")]
    if missing:
        expects = ", ".join(required) + (f" (optional: {', '.join(optional)})" if optional else "")
        raise ToolError(f"operation={operation!r} needs {', '.join(missing)}. It takes: {expects}.")


def _image_summary(choice: deploy.ImageChoice) -> ImageSummary:
    return ImageSummary(**choice.image.model_dump(exclude={"python_version"}), chosen_because=choice.how)


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
    answer: Annotated[Answer, Resolve(_ask_assign)],
    modelId: Annotated[str | None, Field(description="Model slot id (from create_model or account.models).")] = None,
    filename: Annotated[str | None, Field(description="get_upload_auth: name hint; create/list: the server-side filename get_upload_auth returned, or the name you gave it.")] = None,
    presignedUrl: Annotated[str | None, Field(description="put_file: the url from get_upload_auth.")] = None,
    localPath: Annotated[str | None, Field(description="Absolute path of the local .pkl file.")] = None,
    pickleId: Annotated[str | None, Field(description="Pickle id (from create/upload or list).")] = None,
    triggerId: Annotated[str | None, Field(description="get_logs: trigger id (from trigger or list).")] = None,
    triggerValidation: Annotated[bool, Field(description="trigger: re-run validation instead of a live run.")] = False,
    dockerImage: Annotated[str | None, Field(description="Runtime image: id, 'Python 3.12' or '3.12'. Omit to match the pickle's Python.")] = None,
    dataVersion: Annotated[str | None, Field(description="Data version id or name like 'v5.2'. Omit for the server default.")] = None,
    wait: Annotated[bool, Field(description="list/trigger/diagnostics: poll until validation/the run/the diagnostics finish (with progress).")] = False,
    waitSeconds: Annotated[int, Field(description="Upper bound for wait, in seconds.", ge=1, le=3600)] = 600,
    clearWebhook: Annotated[bool, Field(description="assign: remove a submission webhook that blocks the slot.")] = False,
    disable: Annotated[bool, Field(description="assign: unassign the slot's pickle (stops hosted runs); no pickleId.")] = False,
    skipValidation: Annotated[bool, Field(description="upload/put_file: send a file that has no passing validate_pickle verdict. Avoid.")] = False,
    confirm: Annotated[bool, Field(description="assign: true once the user agreed (needed when the client cannot ask the user itself).")] = False,
    offset: Annotated[int, Field(description="get_logs: first line to return.", ge=0)] = 0,
    limit: Annotated[int, Field(description="get_logs: most lines to return.", ge=1, le=2000)] = 200,
) -> Annotated[CallToolResult, UploadModelResult]:
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
            credentials = client.require_credentials()
            call.memory = UploadMemory(server_state(ctx).settings.cache_dir,
                                       account_key(client.url, credentials.public_id))
            result = await handler(call, client)
    # the JSON text and structured content the SDK would make of the model, plus any images (diagnostics' plots)
    text = pydantic_core.to_json(result, fallback=str, indent=2).decode()
    return CallToolResult(content=[TextContent(text=text), *call.images],
                          structured_content=result.model_dump(mode="json", by_alias=True))


@dataclass
class Call:
    """One upload_model call's arguments, checked: what every operation handler receives."""

    ctx: Context[Any, Any]
    answer: Answer
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
    memory: UploadMemory = None  # type: ignore[assignment]  # set before a handler runs
    images: list[ImageContent] = field(default_factory=list)  # returned beside the result (diagnostics' plots)


# ------------------------------------------------------------------ upload steps


async def _op_get_upload_auth(call: Call, client: NumeraiClient) -> UploadModelResult:
    name = call.filename or (call.path.name if call.path else "model.pkl")
    auth = await ops.upload_auth(client, name, call.model_id)
    call.memory.issued(server_filename=auth.filename, model_id=call.model_id, requested_filename=name, url=auth.url)
    local = repr(str(call.path)) if call.path else "(the absolute path of your .pkl)"
    return UploadModelResult(
        operation="get_upload_auth", upload_auth=auth, server_filename=auth.filename,
        summary=f"Presigned URL for {auth.filename} (Numerai's name for {name}).",
        next_step=f"upload_model operation='put_file' presignedUrl=(uploadAuth.url above) localPath={local}, then "
        f"operation='create' modelId={call.model_id!r} filename={auth.filename!r}.",
    )


async def _op_put_file(call: Call, client: NumeraiClient) -> UploadModelResult:
    assert call.path is not None and call.presigned_url is not None
    clearance = await clear(call.ctx, call.path, skip_validation=call.skip_validation)
    put = await _put(call.ctx, call.presigned_url, call.path)
    verdict = clearance.verdict
    record = call.memory.uploaded(
        url=call.presigned_url, local_path=call.path, sha256=clearance.sha256, size=clearance.size,
        python=clearance.python, python_source=clearance.python_source,
        verdict_passed=verdict.passed if verdict else None, verdict_summary=verdict.summary if verdict else None)
    model = repr(record.model_id) if record.model_id else "(the modelId you asked the URL for)"
    image = (f"the Python {clearance.python} runtime image will be chosen" if clearance.python
             else "pass dockerImage: the pickle's Python could not be read from it")
    return UploadModelResult(
        operation="put_file", put=put, warnings=clearance.notes, server_filename=record.server_filename,
        python_version=clearance.python,
        summary=f"Uploaded {call.path.name} as {record.server_filename}: {put.size} bytes, MD5 {put.md5} verified by "
        f"the store; built with Python {clearance.python or 'unknown'}.",
        next_step=f"upload_model operation='create' modelId={model} filename={record.server_filename!r} ({image}).",
    )


async def _python_for_create(call: Call, record: UploadRecord | None, server_name: str) -> tuple[str | None, list[str]]:
    """Which Python built the file `create` registers: what put_file learnt (in any server process), else the local
    copy when localPath is given. Unknown only for a file uploaded by another program."""
    notes: list[str] = []
    if record is not None and record.python:
        return record.python, notes
    if call.path is not None:
        python, how = await python_of_file(call.ctx, call.path)
        if python:
            return python, [f"Python {python} read from {call.path.name} ({how})."]
    if call.docker_image:
        return None, [f"The Python that built {server_name} is unknown here (it was not uploaded through numerai-mcp); "
                      f"registered with dockerImage={call.docker_image!r} as you asked."]
    how_known = ("it was not uploaded through numerai-mcp" if record is None or not record.uploaded
                 else "its Python could not be read from it")
    raise ToolError(
        f"I don't know which Python built {server_name!r} ({how_known}), and registering it with the default runtime "
        "image crashes at Numerai when the versions differ. Call create again with the same modelId and filename plus "
        "localPath='/absolute/path/to/that.pkl' (I read its Python from the file), or dockerImage='Python 3.X' if you "
        "know which Python built it (operation='list_docker_images' shows the choices)."
    )


async def _op_create(call: Call, client: NumeraiClient) -> UploadModelResult:
    assert call.model_id is not None and call.filename is not None
    record = call.memory.resolve(call.filename, call.model_id)
    server_name = record.server_filename if record else call.filename
    notes = []
    if server_name != call.filename:
        notes.append(f"{call.filename!r} is the name given to get_upload_auth; Numerai stored that upload as "
                     f"{server_name!r}, which is what was registered.")
    python, python_notes = await _python_for_create(call, record, server_name)
    choice, version = await _resolve_target(call, client, python)
    try:
        pickle, line = await _register(call, client, server_filename=server_name, choice=choice, version=version,
                                       python=python)
    except GraphQLError as exc:
        raise ToolError(_explain_create_failure(exc, call, record, server_name)) from None
    return _registered("create", pickle, line[0].upper() + line[1:], choice, version, python=python,
                       warnings=notes + python_notes)


def _explain_create_failure(exc: GraphQLError, call: Call, record: UploadRecord | None, server_name: str) -> str:
    """Numerai's refusal, with what to do in the agent's terms (the file to use, the step that is missing)."""
    if record is not None and record.uploaded:
        return f"Numerai refused to register {server_name!r}: {exc}"
    if record is not None:
        step = (f"get_upload_auth issued {server_name!r}, but no put_file of it went through numerai-mcp: call "
                f"operation='put_file' with that URL and your localPath first, then create filename={server_name!r}.")
    else:
        step = (f"no upload named {call.filename!r} is known for model {call.model_id}: call operation='get_upload_auth' "
                f"modelId={call.model_id!r}, then put_file, then create with the filename it returns — or simply "
                f"operation='upload' modelId={call.model_id!r} localPath=(your .pkl), which does all three.")
    return f"Numerai refused to register {server_name!r} ({exc}): {step}"


async def _op_upload(call: Call, client: NumeraiClient) -> UploadModelResult:
    assert call.model_id is not None and call.path is not None
    clearance = await clear(call.ctx, call.path, skip_validation=call.skip_validation)
    choice, version = await _resolve_target(call, client, clearance.python)
    auth = await ops.upload_auth(client, call.path.name, call.model_id)
    call.memory.issued(server_filename=auth.filename, model_id=call.model_id, requested_filename=call.path.name,
                       url=auth.url)
    put = await _put(call.ctx, auth.url, call.path)
    verdict = clearance.verdict
    call.memory.uploaded(url=auth.url, local_path=call.path, sha256=clearance.sha256, size=clearance.size,
                         python=clearance.python, python_source=clearance.python_source,
                         verdict_passed=verdict.passed if verdict else None,
                         verdict_summary=verdict.summary if verdict else None)
    pickle, line = await _register(call, client, server_filename=auth.filename, choice=choice, version=version,
                                   python=clearance.python)
    return _registered("upload", pickle, f"Uploaded {call.path.name} ({put.size} bytes, MD5 verified) and {line}",
                       choice, version, python=clearance.python, put=put, warnings=clearance.notes)


async def _resolve_target(call: Call, client: NumeraiClient, python: str | None) -> tuple[deploy.ImageChoice, DataVersion | None]:
    """Image and data version, resolved before anything is sent: a bad or mismatched dockerImage must cost no
    upload and register nothing."""
    choice = await deploy.resolve_docker_image(client, call.docker_image, pickle_python=python)
    return choice, await deploy.resolve_data_version(client, call.data_version)


async def _register(call: Call, client: NumeraiClient, *, server_filename: str, choice: deploy.ImageChoice,
                    version: DataVersion | None, python: str | None) -> tuple[Pickle, str]:
    """createComputePickleUpload with an explicit image, remembered; returns the pickle and a one-line account."""
    assert call.model_id is not None
    created = await ops.create_pickle(client, filename=server_filename, model_id=call.model_id,
                                      docker_image_id=choice.image.id, data_version_id=version.id if version else None)
    pickle = await ops.get_pickle(client, created["id"]) or Pickle.model_validate(created)
    call.memory.registered(server_filename=server_filename, pickle_id=pickle.id, docker_image=choice.image.name,
                           python=python or choice.image.python_version, model_id=call.model_id)
    line = (f"registered {server_filename} as pickle {pickle.id} with {choice.image.name} ({choice.how}); "
            f"validation is {pickle.validation_status}.")
    return pickle, line


def _registered(operation: str, pickle: Pickle, line: str, choice: deploy.ImageChoice,
                version: DataVersion | None, *, python: str | None, **extra: Any) -> UploadModelResult:
    return UploadModelResult(
        operation=operation, summary=line, pickle=pickle, docker_image=_image_summary(choice), data_version=version,
        server_filename=pickle.filename, python_version=python,
        next_step=f"upload_model operation='list' pickleId={pickle.id!r} wait=true, until it is 'validated'.", **extra,
    )


async def _put(ctx: Context[Any, Any], url: str, path: Path) -> PutSummary:
    state = server_state(ctx)
    result = await put_file(url, path, http=state.http, timeout=state.settings.upload_timeout,
                            retries=state.settings.max_retries, backoff=state.settings.retry_backoff,
                            progress=async_progress(ctx))
    return PutSummary(size=result.size, md5=result.md5, etag=result.etag, attempts=result.attempts,
                      seconds=round(result.seconds, 3), mib_per_s=round(result.mib_per_s, 1))


# ------------------------------------------------------------------ after the upload


def _python_fix(call: Call, pickle: Pickle) -> str:
    """Concrete advice for a Python mismatch: register the same file again with the image of its Python."""
    record = call.memory.by_pickle(pickle.id) if pickle.id else None
    python = record.python if record and record.python_source in ("verdict", "scan") else None
    model = pickle.model_id or call.model_id
    target = f"dockerImage='Python {python}'" if python else "dockerImage set to the Python that built it"
    if pickle.filename and model:
        return (f"Register the file again with the matching image: upload_model operation='create' modelId={model!r} "
                f"filename={pickle.filename!r} {target}, or rebuild the pickle with build_pickle for the image's Python.")
    return f"Register it again with {target}, or rebuild the pickle with build_pickle for the image's Python."


async def _op_list(call: Call, client: NumeraiClient) -> UploadModelResult:
    ctx, wait, wait_s = call.ctx, call.wait, call.wait_s
    pickle_id = call.pickle_id
    if call.filename and not pickle_id:
        pickle_id = await _pickle_for_filename(call, client, call.filename)
    if wait:
        if not pickle_id:
            raise ToolError("wait=true needs pickleId (the pickle whose validation to wait for).")
        pickle, finished = await deploy.wait_for_validation(client, pickle_id, timeout_s=wait_s, progress=async_progress(ctx))
        return _validation_result(call, pickle, finished, wait_s)
    pickles = await ops.list_pickles(client, pickle_id=pickle_id, model_id=call.model_id)
    if pickle_id and not pickles:
        raise ToolError(f"No pickle with id {pickle_id!r}; call list without pickleId to see yours.")
    if len(pickles) == 1 and pickle_id:
        return _validation_result(call, pickles[0], pickles[0].validation_finished, None)
    note = " (modelId filters by the slot a pickle was uploaded for, not where it is assigned)" if call.model_id else ""
    if not pickles:
        model = repr(call.model_id) if call.model_id else "(the slot's id)"
        return UploadModelResult(operation="list", pickles=[], summary=f"No pickles{note}.",
                                 next_step=f"Upload one: upload_model operation='upload' modelId={model} "
                                 "localPath=(your validated .pkl).")
    newest = max(pickles, key=lambda p: (p.inserted_at or "", p.id))
    focus = _validation_result(call, newest, newest.validation_finished, None)
    return UploadModelResult(operation="list", pickles=pickles, pickle=newest, trigger_id=focus.trigger_id,
                             summary=f"{len(pickles)} pickles{note}. Newest: {focus.summary}",
                             next_step=focus.next_step)


async def _pickle_for_filename(call: Call, client: NumeraiClient, filename: str) -> str:
    record = call.memory.resolve(filename, call.model_id)
    if record is not None and record.pickle_id:
        return record.pickle_id
    server_name = record.server_filename if record else filename
    for pickle in await ops.list_pickles(client, model_id=call.model_id):
        if pickle.filename == server_name:
            return pickle.id
    raise ToolError(f"No registered pickle is named {server_name!r}"
                    + (f" (Numerai's name for {filename!r})" if server_name != filename else "")
                    + ": register it with operation='create' first, or call list without filename to see yours.")


def _validation_result(call: Call, pickle: Pickle, finished: bool, wait_s: int | None) -> UploadModelResult:
    status = (pickle.validation_status or "").lower()
    trig = pickle.newest_trigger()
    reason = trig.last_description if trig else None
    model = pickle.model_id or call.model_id
    if status == "validated":
        target = f"modelId={model!r}" if model else "modelId=(the slot to run it in)"
        summary = f"Pickle {pickle.id} is validated."
        next_step = (f"Ask the user to confirm, then upload_model operation='assign' {target} pickleId={pickle.id!r} "
                     "(confirm=true only if the client cannot ask the user itself).")
    elif finished:
        summary = f"Pickle {pickle.id} failed validation ({pickle.validation_status}): {reason or 'no reason given'}."
        next_step = (f"{deploy.explain_failure(reason, python_fix=_python_fix(call, pickle))} The logs: upload_model "
                     f"operation='get_logs' pickleId={pickle.id!r}.")
    else:
        waited = f" after {wait_s} s" if wait_s else ""
        summary = f"Pickle {pickle.id} is still {pickle.validation_status or 'pending'}{waited}."
        next_step = f"Call upload_model operation='list' pickleId={pickle.id!r} wait=true to wait for the result."
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
        next_step = (f"To resume hosted runs, assign a validated pickle: upload_model operation='assign' "
                     f"modelId={model_id!r} pickleId=(a validated pickle from operation='list').")
    else:
        summary = f"Pickle {pickle_id} is assigned to {model.name} (confirmed by reading the slot back)."
        next_step = f"Optionally run it now: upload_model operation='trigger' pickleId={pickle_id!r} wait=true."
    return UploadModelResult(operation="assign", model=model, summary=summary, next_step=next_step, warnings=notes)


def _run_outcome(call: Call, pickle: Pickle | None, trig: Trigger | None) -> tuple[bool | None, bool | None, str, str]:
    """(finished, succeeded, one-line state, next step) of a run, for trigger and get_logs."""
    pickle_arg = f" pickleId={pickle.id!r}" if pickle else ""
    if trig is None:
        return None, None, "not started (no run recorded)", (
            f"Start one: upload_model operation='trigger'{pickle_arg or ' modelId=(the slot)'} wait=true.")
    state = f"{trig.status}" + (f": {trig.last_description}" if trig.last_description else "")
    if not trig.finished:
        return False, None, f"still running ({state})", (
            f"The run is still going: call upload_model operation='get_logs' triggerId={trig.id!r}{pickle_arg} again "
            "in a minute.")
    text = (trig.status or "").lower()
    if "succe" in text or text == "success" or "complete" in text:
        return True, True, f"finished and succeeded ({state})", (
            "Nothing to do: the model is deployed and Numerai runs it every round. Check on it later with "
            f"operation='list'{pickle_arg}.")
    fix = deploy.explain_failure(trig.last_description, python_fix=_python_fix(call, pickle) if pickle else
                                 "Register the pickle with the image of the Python that built it.")
    return True, False, f"finished and failed ({state})", fix


async def _op_trigger(call: Call, client: NumeraiClient) -> UploadModelResult:
    pickle, trig = await deploy.trigger_run(client, pickle_id=call.pickle_id, model_id=call.model_id,
                                            trigger_validation=call.trigger_validation)
    if call.wait and not trig.finished:
        latest, _finished = await deploy.wait_for_trigger(client, pickle.id, trig.id, timeout_s=call.wait_s,
                                                          progress=async_progress(call.ctx))
        trig = latest or trig
    finished, succeeded, state, _fix = _run_outcome(call, pickle, trig)
    return UploadModelResult(
        operation="trigger", pickle=pickle, trigger_id=trig.id, trigger=trig, run_finished=finished,
        run_succeeded=succeeded, summary=f"Triggered pickle {pickle.id}: trigger {trig.id} is {state}.",
        next_step=f"Read its logs: upload_model operation='get_logs' pickleId={pickle.id!r} triggerId={trig.id!r}"
        + ("." if finished else " (or trigger with wait=true to follow it)."),
    )


async def _find_trigger(client: NumeraiClient, trigger_id: str, pickle_id: str | None) -> tuple[Pickle | None, Trigger | None]:
    """The pickle and trigger row of a trigger id (Numerai has no lookup by trigger id: search the pickles)."""
    pickles = [await deploy.require_pickle(client, pickle_id)] if pickle_id else await ops.list_pickles(client)
    for pickle in pickles:
        for trig in pickle.triggers:
            if trig.id == trigger_id:
                return pickle, trig
    return (pickles[0] if pickle_id else None), None


async def _op_get_logs(call: Call, client: NumeraiClient) -> UploadModelResult:
    trigger_id, pickle_id, offset, limit = call.trigger_id, call.pickle_id, call.offset, call.limit
    if not trigger_id and not pickle_id:
        raise ToolError("operation='get_logs' needs triggerId, or pickleId to read its newest run's logs.")
    if trigger_id:
        pickle, trigger = await _find_trigger(client, trigger_id, pickle_id)
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
    finished, succeeded, state, next_step = _run_outcome(call, pickle, trigger)
    if page.next_offset:
        next_step = f"Read on: get_logs with offset={page.next_offset}. Then: {next_step}"
    return UploadModelResult(
        operation="get_logs", trigger_id=trigger_id, trigger=trigger, pickle=pickle, logs=page.lines,
        logs_total=page.total, next_offset=page.next_offset, run_finished=finished, run_succeeded=succeeded,
        summary=f"Logs of trigger {trigger_id or '(diagnostics)'}: {shown}. The run is {state}.",
        next_step=next_step,
    )


async def _op_list_docker_images(call: Call, client: NumeraiClient) -> UploadModelResult:
    images = await ops.docker_images(client)
    default = next((i for i in images if i.default), None)
    return UploadModelResult(
        operation="list_docker_images", docker_images=images,
        summary=f"{len(images)} runtime images; default: {default.name if default else 'none'}.",
        next_step="Omit dockerImage in create/upload: the image matching the Python that built the pickle is chosen. "
        "Pass dockerImage (e.g. 'Python 3.11') only to override that.",
    )


async def _op_list_data_versions(call: Call, client: NumeraiClient) -> UploadModelResult:
    versions = await ops.data_versions(client)
    default = next((v for v in versions if v.default), None)
    return UploadModelResult(
        operation="list_data_versions", data_versions=versions,
        summary=f"{len(versions)} data versions; default: {default.name if default else 'none'}.",
        next_step="Omit dataVersion in create/upload for the default, or pass one of these names.",
    )


async def _op_diagnostics(call: Call, client: NumeraiClient) -> UploadModelResult:
    if not call.pickle_id and not call.model_id:
        raise ToolError("operation='diagnostics' needs pickleId, or modelId to read the diagnostics of the slot's "
                        "pickle (the assigned one, else the newest upload).")
    pickle = await diagnostics.pickle_for(client, pickle_id=call.pickle_id, model_id=call.model_id)
    if call.wait:
        pickle, found = await diagnostics.wait(client, pickle.id, timeout_s=call.wait_s,
                                               progress=async_progress(call.ctx))
    else:
        found = await diagnostics.read(client, pickle)
    summary, next_step = _diagnostics_outcome(call, pickle, found)
    record = call.memory.by_pickle(pickle.id) or (call.memory.get(pickle.filename) if pickle.filename else None)
    local = LocalFile(local_path=record.local_path, sha256=record.sha256, python=record.python,
                      verdict_passed=record.verdict_passed, verdict_summary=record.verdict_summary) if record else None
    cache_dir = server_state(call.ctx).settings.cache_dir
    plots, warnings = await draw_plots(cache_dir, pickle, found, progress=thread_progress(call.ctx))
    call.images = plot_images(plots)
    beside = local_evaluation(cache_dir, record.sha256 if record else None, found) if found.succeeded else None
    if beside is not None:
        summary += f" Local evaluation: {beside.verdict}"
    return UploadModelResult(operation="diagnostics", pickle=pickle, diagnostics=found, local_file=local,
                             local_evaluation=beside, plots=plots or None, warnings=warnings, summary=summary,
                             next_step=next_step)


def _diagnostics_outcome(call: Call, pickle: Pickle, found: DiagnosticsReport) -> tuple[str, str]:
    """(summary, next step) of a diagnostics report."""
    name = f"pickle {pickle.id}" + (f" ({pickle.filename})" if pickle.filename else "")
    again = f"upload_model operation='diagnostics' pickleId={pickle.id!r} wait=true"
    if not found.finished:
        state = found.status or f"not started (validation is {pickle.validation_status or 'pending'})"
        waited = f" after {call.wait_s} s" if call.wait else ""
        return (f"Numerai's diagnostics of {name} are {state}{waited}.",
                f"Wait for them: {again} (they start once validation has passed).")
    if not found.succeeded:
        reason = found.description or "no reason given"
        return (f"Numerai's diagnostics of {name} {found.status or 'did not run'}: {reason}.",
                f"{deploy.explain_failure(reason, python_fix=_python_fix(call, pickle))} The logs: upload_model "
                f"operation='get_logs' pickleId={pickle.id!r}.")
    summary = f"Numerai's diagnostics of {name} {found.status}: {diagnostics.headline(found)}."
    if found.description and "synthetic" in found.description.lower():  # the sandbox: say what the numbers are
        summary += f" {found.description}"
    slots = pickle.assigned_model_slots or []
    if slots:
        return summary, "It is assigned and runs every round; see how every slot is doing with model_status."
    model = pickle.model_id or call.model_id
    target = f"modelId={model!r}" if model else "modelId=(the slot to run it in)"
    return summary, (f"If these numbers suit you, ask the user, then upload_model operation='assign' {target} "
                     f"pickleId={pickle.id!r}.")


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
    "diagnostics": _op_diagnostics,
}


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="upload_model",
        title="Upload and deploy a Numerai model pickle",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True),
    )(upload_model)
