"""The upload flow's decisions, kept apart from MCP: which runtime image, when validation is
over, whether an assignment really happened, which trigger a run created, which log lines to show.

Every refusal is a FlowError whose message tells the caller what to do instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from numerai_mcp.api import operations as ops
from numerai_mcp.api.client import NumeraiClient
from numerai_mcp.api.errors import FlowError, UncertainOutcomeError
from numerai_mcp.api.models import (
    VALIDATION_OK,
    DataVersion,
    DockerImage,
    LogLine,
    ModelSlot,
    Pickle,
    Trigger,
)
from numerai_mcp.progress import AsyncProgress
from numerai_mcp.pyversion import find_python_version


@dataclass(frozen=True)
class ImageChoice:
    image: DockerImage
    how: str  # why this image: explicit, matched to the pickle, or the server default


def _describe_images(images: list[DockerImage]) -> str:
    parts = []
    for img in images:
        flags = [f for f, on in (("default", img.default), ("experimental", img.experimental), ("deprecated", img.deprecated)) if on]
        parts.append(f"{img.name or img.image} (id {img.id}{', ' + ', '.join(flags) if flags else ''})")
    return "; ".join(parts) or "none"


def _best(candidates: list[DockerImage]) -> DockerImage:
    """Prefer the default, then stable over experimental/deprecated."""
    return sorted(candidates, key=lambda i: (not i.default, bool(i.deprecated), bool(i.experimental)))[0]


async def resolve_docker_image(client: NumeraiClient, spec: str | None, *, pickle_python: str | None = None) -> ImageChoice:
    """Pick the runtime image from an id, a name ('Python 3.12'), an image name or '3.12'.

    Without `spec`, the image matching `pickle_python` (when known) wins over the server default,
    because a pickle run by another Python minor version segfaults at Numerai.
    """
    images = await ops.docker_images(client)
    if not images:
        raise FlowError("The API lists no runtime images (computePickleDockerImages is empty).")
    if spec is None or not spec.strip():
        if pickle_python:
            matching = [i for i in images if i.python_version == pickle_python]
            if not matching:
                raise FlowError(
                    f"The pickle was built with Python {pickle_python}, and Numerai offers no runtime for it "
                    f"(available: {_describe_images(images)}). Rebuild it with one of those Python versions."
                )
            return ImageChoice(_best(matching), f"matched to the pickle's Python {pickle_python}")
        defaults = [i for i in images if i.default]
        if not defaults:
            raise FlowError(f"No default runtime image is marked; pass dockerImage (one of: {_describe_images(images)}).")
        return ImageChoice(defaults[0], "server default (no dockerImage was given)")
    wanted = spec.strip()
    found = [i for i in images if i.id == wanted]
    found = found or [i for i in images if wanted.lower() in {(i.name or "").lower(), (i.image or "").lower()}]
    version = find_python_version(wanted)
    if not found and version:
        found = [i for i in images if i.python_version == version]
    if not found:
        raise FlowError(f"Unknown dockerImage {wanted!r}. Available: {_describe_images(images)}.")
    chosen = _best(found)
    if pickle_python and chosen.python_version and chosen.python_version != pickle_python:
        raise FlowError(
            f"dockerImage {wanted!r} runs Python {chosen.python_version}, but the pickle was built with Python "
            f"{pickle_python}: Numerai would load it and then crash ('Segmentation fault'). Use dockerImage "
            f"{pickle_python!r}, or rebuild the pickle with Python {chosen.python_version}."
        )
    return ImageChoice(chosen, "as requested")


async def resolve_data_version(client: NumeraiClient, spec: str | None) -> DataVersion | None:
    """None when not given (the server's default applies); else match id, name or version."""
    if spec is None or not spec.strip():
        return None
    versions = await ops.data_versions(client)
    wanted = spec.strip().lower()
    for version in versions:
        if wanted in {version.id.lower(), (version.name or "").lower(), (version.version or "").lower()}:
            return version
    names = ", ".join(f"{v.name} (id {v.id})" for v in versions) or "none"
    raise FlowError(f"Unknown dataVersion {spec!r}. Available: {names}.")


async def find_model(client: NumeraiClient, model_id: str) -> ModelSlot:
    account = await ops.account(client)
    for model in account.models:
        if model.id == model_id:
            return model
    listing = ", ".join(f"{m.name} ({m.id})" for m in account.models) or "none"
    raise FlowError(f"modelId {model_id!r} is not one of this account's models. Yours: {listing}.")


async def require_pickle(client: NumeraiClient, pickle_id: str) -> Pickle:
    pickle = await ops.get_pickle(client, pickle_id)
    if pickle is None:
        raise FlowError(f"No pickle with id {pickle_id!r}; list yours with upload_model operation='list'.")
    return pickle


async def poll_until(
    read: Callable[[], Awaitable[tuple[bool, str]]],
    *,
    timeout_s: float,
    initial: float,
    maximum: float,
    progress: AsyncProgress | None,
) -> bool:
    """Call `read` until it reports done or `timeout_s` passes; returns whether it finished."""
    started, delay = time.monotonic(), initial
    while True:
        done, status = await read()
        elapsed = time.monotonic() - started
        if progress is not None:
            await progress(min(elapsed, timeout_s), timeout_s, f"{status} after {elapsed:.0f} s")
        if done:
            return True
        if elapsed + delay > timeout_s:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, maximum)


async def wait_for_validation(
    client: NumeraiClient, pickle_id: str, *, timeout_s: float, progress: AsyncProgress | None = None
) -> tuple[Pickle, bool]:
    """Poll until validationStatus is terminal; returns the pickle and whether it finished in time."""
    latest: list[Pickle] = []

    async def read() -> tuple[bool, str]:
        pickle = await require_pickle(client, pickle_id)
        latest[:] = [pickle]
        return pickle.validation_finished, f"validationStatus={pickle.validation_status}"

    settings = client.settings
    finished = await poll_until(read, timeout_s=timeout_s, initial=settings.poll_initial, maximum=settings.poll_max, progress=progress)
    return latest[0], finished


async def assign_and_confirm(
    client: NumeraiClient, model_id: str, pickle_id: str | None, *, clear_webhook: bool
) -> tuple[ModelSlot, list[str]]:
    """Assign (or with None, disable) and read the slot back; returns the slot and notes."""
    notes: list[str] = []
    model = await find_model(client, model_id)
    if pickle_id is not None:
        pickle = await require_pickle(client, pickle_id)
        if (pickle.validation_status or "").lower() != VALIDATION_OK:
            raise FlowError(
                f"Pickle {pickle_id} has validationStatus={pickle.validation_status!r}; only a 'validated' pickle "
                f"can be assigned. Wait with upload_model operation='list' pickleId={pickle_id!r} wait=true, and read the logs "
                "with get_logs if it failed."
            )
        if pickle.model_id and pickle.model_id != model_id:
            notes.append(
                f"This pickle was uploaded for model {pickle.model_id}; Numerai advises uploading a fresh pickle "
                "for each slot rather than moving one across slots."
            )
        if model.submission_webhook:
            if not clear_webhook:
                raise FlowError(
                    f"Model {model.name!r} has a submission webhook ({model.submission_webhook}), which blocks model "
                    "uploads. Call assign again with clearWebhook=true to remove the webhook (the model will then "
                    "be run by Numerai from the pickle instead of the webhook)."
                )
            await ops.set_webhook(client, model_id, None)
            notes.append(f"Removed the submission webhook {model.submission_webhook}.")
    await ops.assign(client, model_id, pickle_id)
    confirmed = await find_model(client, model_id)
    assigned = confirmed.compute_pickle_upload.id if confirmed.compute_pickle_upload else None
    if assigned != pickle_id:
        raise UncertainOutcomeError(
            f"Numerai accepted the assignment, but model {model_id} now shows pickle {assigned!r} instead of {pickle_id!r}.",
            hint="Call assign again, or check the model on numer.ai.",
        )
    return confirmed, notes


async def trigger_run(
    client: NumeraiClient,
    *,
    pickle_id: str | None,
    model_id: str | None,
    trigger_validation: bool,
) -> tuple[Pickle, Trigger]:
    """Trigger a run and find the trigger it created (the mutation itself returns the pickle)."""
    if pickle_id is None:
        if model_id is None:
            raise FlowError("trigger needs pickleId, or modelId of a slot that has a pickle assigned.")
        model = await find_model(client, model_id)
        if model.compute_pickle_upload is None:
            raise FlowError(f"Model {model.name!r} has no pickle assigned; assign one first, or pass pickleId.")
        pickle_id = model.compute_pickle_upload.id
    before = await require_pickle(client, pickle_id)
    known = {t.id for t in before.triggers}
    await ops.trigger(client, pickle_id=pickle_id, model_id=model_id, trigger_validation=trigger_validation, known=known)
    deadline = time.monotonic() + 10.0
    while True:  # the trigger row can appear a moment after the mutation returns
        after = await require_pickle(client, pickle_id)
        new = [t for t in after.triggers if t.id not in known]
        if new:
            return after, max(new, key=lambda t: (t.inserted_at or "", t.id))
        if time.monotonic() > deadline:
            raise UncertainOutcomeError(
                f"The run was triggered for pickle {pickle_id}, but no new trigger appeared within 10 s.",
                hint="List the pickle (upload_model operation='list') to see its triggers.",
            )
        await asyncio.sleep(0.5)


async def wait_for_trigger(
    client: NumeraiClient, pickle_id: str, trigger_id: str, *, timeout_s: float, progress: AsyncProgress | None = None
) -> tuple[Trigger | None, bool]:
    latest: list[Trigger] = []

    async def read() -> tuple[bool, str]:
        pickle = await require_pickle(client, pickle_id)
        trig = next((t for t in pickle.triggers if t.id == trigger_id), None)
        latest[:] = [trig] if trig else []
        return (trig is not None and trig.finished), f"trigger status={trig.status if trig else 'unknown'}"

    settings = client.settings
    finished = await poll_until(read, timeout_s=timeout_s, initial=settings.poll_initial, maximum=settings.poll_max, progress=progress)
    return (latest[0] if latest else None), finished


@dataclass(frozen=True)
class LogPage:
    trigger_id: str | None
    lines: list[LogLine]
    total: int
    offset: int
    next_offset: int | None


MAX_LINE_CHARS = 4000
MAX_PAGE_CHARS = 40_000


def page_logs(lines: list[LogLine], *, trigger_id: str | None, offset: int, limit: int) -> LogPage:
    """One page of log lines, cut to a size a model can read; long lines are shortened."""
    page: list[LogLine] = []
    used = 0
    for line in lines[offset : offset + limit]:
        message = line.message or ""
        if len(message) > MAX_LINE_CHARS:
            message = message[:MAX_LINE_CHARS] + f"… [{len(message) - MAX_LINE_CHARS} more characters]"
        if page and used + len(message) > MAX_PAGE_CHARS:
            break
        used += len(message)
        page.append(LogLine(timestamp=line.timestamp, message=message))
    end = offset + len(page)
    return LogPage(trigger_id=trigger_id, lines=page, total=len(lines), offset=offset, next_offset=end if end < len(lines) else None)


# Numerai's failure descriptions (numerai-api.md §5) and what to do about each; matched on words because
# only these texts are known and new ones appear.
_FAILURE_FIXES: tuple[tuple[str, str], ...] = (
    ("segmentation fault", "The runtime image's Python does not match the Python that built the pickle. {python_fix}"),
    ("unknown opcode", "A pickle built by one Python minor version ran on another. {python_fix}"),
    ("pickle incompatible", "The pickle was built with another Python version. {python_fix}"),
    ("no currently open rounds", "Nothing is wrong with the model: no round is open now. Trigger it again once the "
                                 "next round opens (or wait: Numerai runs it every round by itself)."),
    ("import error", "The pickle imports a module Numerai's image lacks (a local module or an unpinned library): "
                     "pickle that code by value or use only the image's pinned packages, then upload again."),
    ("nan prediction", "Some predictions are NaN: fill missing features inside predict, then upload again."),
    ("between 0 and 1", "Predictions must lie in [0, 1]: rank them per era inside predict, then upload again."),
    ("must have 1 or 2 arguments", "predict must take 1 or 2 parameters (no defaults, *args or **kwargs)."),
    ("returned none", "predict must return a pandas DataFrame with a 'prediction' column."),
    ("instead of pd.dataframe", "predict must return exactly a pandas DataFrame."),
    ("insufficient permission", "The key lacks a scope: add it at numer.ai → Account → Custom API Keys."),
    ("memory", "predict needs more than Numerai's 4 GB: predict in batches or use float32, then upload again."),
    ("timeout", "predict takes longer than Numerai's 10 minutes on 1 CPU: make it faster, then upload again."),
    ("timed out", "predict takes longer than Numerai's 10 minutes on 1 CPU: make it faster, then upload again."),
)


def explain_failure(description: str | None, *, python_fix: str) -> str:
    """What to do about a failed validation or run, from Numerai's one-line description.

    `python_fix` is the caller's concrete advice for a Python mismatch (which image to register with)."""
    text = (description or "").lower()
    for words, fix in _FAILURE_FIXES:
        if words in text:
            return fix.format(python_fix=python_fix)
    return ("Read the logs (upload_model operation='get_logs'); validate_pickle reproduces most failures locally "
            "with the fix for each.")
