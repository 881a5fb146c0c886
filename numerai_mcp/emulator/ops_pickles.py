"""Resolvers for compute pickles: upload/download auth, registration, listing, assignment,
triggers, labels, logs, docker images and data versions.

Error texts marked "emulator-chosen" are not Numerai's (unknown); "No currently open
rounds!" and "Insufficient permission for <scope>" are Numerai's own.
"""

from __future__ import annotations

import re
import secrets
import string
import uuid
from pathlib import PurePosixPath
from typing import Any

from numerai_mcp.emulator import views
from numerai_mcp.emulator.catalog import CLASSIC, DATA_VERSIONS, DOCKER_IMAGES, data_version, docker_image
from numerai_mcp.emulator.context import RequestContext, fail, own_model, own_pickle
from numerai_mcp.emulator.core import PICKLE_PREFIX
from numerai_mcp.emulator.jobs import NO_OPEN_ROUND, add_logs, add_status, new_trigger
from numerai_mcp.emulator.state import ApiKey, Pickle, World, now_iso

_SUFFIX_ALPHABET = string.ascii_letters + string.digits
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def server_filename(local_name: str | None) -> str:
    """`<local stem>-<12 random chars>.pkl`, like Numerai's keys (model-Kc5pT9r85SRD.pkl)."""
    stem = PurePosixPath((local_name or "model.pkl").replace("\\", "/")).name
    stem = _UNSAFE.sub("_", stem.removesuffix(".pkl")).strip("._") or "model"
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(12))
    return f"{stem[:64]}-{suffix}.pkl"


def _auth(ctx: RequestContext, method: str, filename: str, key: ApiKey) -> dict[str, Any]:
    url = ctx.emulator.presign(ctx.base_url, method, PICKLE_PREFIX + filename, key.public_id)
    return {"filename": filename, "url": url, "accelerated": False, "countryCode": None}


def compute_pickle_upload_auth(ctx: RequestContext, key: ApiKey, filename: str | None = "model.pkl",
                               model_id: str | None = None) -> dict[str, Any]:
    if model_id is not None:
        with ctx.emulator.store.read() as world:
            own_model(world, key, model_id)
    return _auth(ctx, "PUT", server_filename(filename), key)


def compute_pickle_download_auth(ctx: RequestContext, key: ApiKey, model_id: str,
                                 pickle_id: str | None = None) -> dict[str, Any]:
    with ctx.emulator.store.read() as world:
        model = own_model(world, key, model_id)
        if pickle_id is None and model.assigned_pickle_id is None:
            raise fail(f"Model {model.name} has no pickle assigned; pass pickleId.")  # emulator-chosen
        pickle = own_pickle(world, key, pickle_id or model.assigned_pickle_id)
        filename = pickle.filename
    return _auth(ctx, "GET", filename, key)


def create_compute_pickle_upload(ctx: RequestContext, key: ApiKey, filename: str, tournament: int,
                                 model_id: str | None = None, data_version_id: str | None = None,
                                 docker_image_id: str | None = None, source: str | None = None) -> dict[str, Any]:
    if tournament != CLASSIC:
        raise fail(f"Compute pickles are only supported in tournament {CLASSIC} (Numerai Classic), "
                   f"not {tournament}.")  # emulator-chosen
    image = docker_image(docker_image_id)
    if image is None:
        known = ", ".join(f"{i.id} ({i.name})" for i in DOCKER_IMAGES)
        raise fail(f"Unknown dockerImageId {docker_image_id}; computePickleDockerImages lists: {known}.")
    version = data_version(data_version_id)
    if version is None:
        known = ", ".join(f"{v.id} ({v.name})" for v in DATA_VERSIONS)
        raise fail(f"Unknown dataVersionId {data_version_id}; computePickleDataVersions lists: {known}.")
    with ctx.emulator.store.change() as world:
        owner_model = own_model(world, key, model_id) if model_id is not None else None
        if owner_model is not None and owner_model.tournament != CLASSIC:
            raise fail(f"Model {owner_model.name} is not a Numerai Classic model; only tournament {CLASSIC} "
                       "models can run pickles.")
        stored = world.objects.get(PICKLE_PREFIX + filename)
        if stored is None or stored.account_id != key.account_id:
            raise fail(f"No uploaded file named '{filename}' for this account. Get a URL and the server filename "
                       "from computePickleUploadAuth, PUT the bytes there (no Content-Type), then pass that "
                       "filename.")  # emulator-chosen
        stamp = now_iso()
        owner_id = owner_model.id if owner_model else None
        siblings = [p for p in world.pickles.values() if p.account_id == key.account_id and p.model_id == owner_id]
        pickle = Pickle(str(uuid.uuid4()), key.account_id, filename, owner_id,
                        image.id, version.id, len(siblings) + 1, stamp, stamp, source=source)
        world.pickles[pickle.id] = pickle
        trigger = new_trigger(world, pickle, "validation", "Queued for validation")
        generation = world.generation
        view = views.pickle(world, pickle)
    ctx.emulator.jobs.submit(generation, trigger.id)
    return view


def compute_pickles(ctx: RequestContext, key: ApiKey, id: str | None = None, model_id: str | None = None,  # noqa: A002
                    unassigned: bool = False) -> list[dict[str, Any]]:
    with ctx.emulator.store.read() as world:
        found = [p for p in world.pickles.values() if p.account_id == key.account_id]
        if id is not None:
            found = [p for p in found if p.id == str(id)]
        if model_id is not None:  # the owner slot, as at Numerai (not the assigned slots)
            found = [p for p in found if p.model_id == str(model_id)]
        if unassigned:
            found = [p for p in found if not world.assigned_slots(p.id)]
        return [views.pickle(world, p) for p in reversed(found)]


def assign_pickle_to_model(ctx: RequestContext, key: ApiKey, model_id: str | None = None,
                           pickle_id: str | None = None) -> str:
    with ctx.emulator.store.change() as world:
        model = own_model(world, key, model_id)
        if pickle_id is None:
            model.assigned_pickle_id = None  # disables hosted runs
            return "true"
        pickle = own_pickle(world, key, pickle_id)
        if model.tournament != CLASSIC:
            raise fail(f"Model {model.name} is not a Numerai Classic model; only tournament {CLASSIC} models can "
                       "run pickles.")  # emulator-chosen
        if model.submission_webhook:
            raise fail(f"Model {model.name} has a submission webhook, so it cannot use an uploaded pickle. Clear it "
                       "with setSubmissionWebhook(modelId, null), then assign the pickle.")  # emulator-chosen
        if pickle.validation_status != "validated":
            raise fail(f"Compute pickle {pickle.id} cannot be assigned: its validationStatus is "
                       f"'{pickle.validation_status}'. Only validated pickles can be assigned.")  # emulator-chosen
        model.assigned_pickle_id = pickle.id
    return "true"


def _pickle_to_trigger(world: World, key: ApiKey, model_id: str | None, pickle_id: str | None) -> Pickle:
    if pickle_id is not None:
        return own_pickle(world, key, pickle_id)
    if model_id is None:
        raise fail("Pass pickleId, or modelId to run that model's assigned pickle.")  # emulator-chosen
    model = own_model(world, key, model_id)
    if model.assigned_pickle_id is None:
        raise fail(f"Model {model.name} has no pickle assigned; assign one with assignPickleToModel "
                   "first.")  # emulator-chosen
    return world.pickles[model.assigned_pickle_id]


def _run_slot(world: World, key: ApiKey, model_id: str | None, pickle: Pickle) -> str | None:
    """The slot a run submits for: the model named, else the first slot it is assigned to, else its owner."""
    if model_id is not None:
        return own_model(world, key, model_id).id
    assigned = world.assigned_slots(pickle.id)
    return assigned[0] if assigned else pickle.model_id


def trigger_compute_pickle_upload(ctx: RequestContext, key: ApiKey, model_id: str | None = None,
                                  pickle_id: str | None = None, trigger_validation: bool | None = False) -> dict[str, Any]:
    """Start a run (or a re-validation); returns the pickle, not the trigger, as Numerai does."""
    submit: str | None = None
    with ctx.emulator.store.change() as world:
        pickle = _pickle_to_trigger(world, key, model_id, pickle_id)
        if trigger_validation:
            if pickle.validation_status in ("pending", "validating"):
                raise fail(f"Compute pickle {pickle.id} is already being validated; wait for it to "
                           "finish.")  # emulator-chosen
            submit = new_trigger(world, pickle, "validation", "Queued for validation").id
        elif pickle.validation_status != "validated":
            raise fail(f"Compute pickle {pickle.id} cannot run: its validationStatus is "
                       f"'{pickle.validation_status}'. Wait for 'validated' (or upload a fixed pickle if it "
                       "failed).")  # emulator-chosen
        else:
            trigger = new_trigger(world, pickle, "manual", "Queued", _run_slot(world, key, model_id, pickle))
            if world.round.open:
                submit = trigger.id
            else:
                add_logs(trigger, [f"ERROR:root:{NO_OPEN_ROUND}"])
                add_status(trigger, "failed", NO_OPEN_ROUND)
                pickle.trigger_status = "submission_failed"
        generation = world.generation
        view = views.pickle(world, pickle)
    if submit:
        ctx.emulator.jobs.submit(generation, submit)
    return view


def update_pickle_label(ctx: RequestContext, key: ApiKey, pickle_id: str, label: str | None = None) -> dict[str, Any]:
    with ctx.emulator.store.change() as world:
        pickle = own_pickle(world, key, pickle_id)
        pickle.label, pickle.updated_at = label, now_iso()
        return views.pickle(world, pickle)


def trigger_logs(ctx: RequestContext, key: ApiKey, trigger_id: str) -> list[dict[str, Any]]:
    with ctx.emulator.store.read() as world:
        trigger = world.triggers.get(str(trigger_id))
        pickle = world.pickles.get(trigger.pickle_id) if trigger else None
        if trigger is None or pickle is None or pickle.account_id != key.account_id:
            raise fail(f"Trigger {trigger_id} not found for this account.")  # emulator-chosen
        return views.logs(trigger)


def diagnostics_trigger_logs(ctx: RequestContext, key: ApiKey, pickle_id: str) -> list[dict[str, Any]]:
    """The logs of the pickle's latest validation (the emulator's diagnostics)."""
    with ctx.emulator.store.read() as world:
        pickle = own_pickle(world, key, pickle_id)
        validations = [world.triggers[t] for t in pickle.trigger_ids
                       if t in world.triggers and world.triggers[t].type == "validation"]
        return views.logs(validations[-1]) if validations else []


def compute_pickle_docker_images(ctx: RequestContext, key: ApiKey | None,
                                 deprecated: bool | None = False) -> list[dict[str, Any]]:
    return [i.view() for i in DOCKER_IMAGES if deprecated or not i.deprecated]


def compute_pickle_data_versions(ctx: RequestContext, key: ApiKey | None,
                                 deprecated: bool = False) -> list[dict[str, Any]]:
    return [v.view() for v in DATA_VERSIONS if deprecated or not v.deprecated]
