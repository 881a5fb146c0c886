"""What an agent reads before acting: resources (runtimes, checklist, statuses and errors) and the
`deploy_model` prompt that walks the whole upload workflow."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mcp.server import MCPServer

from numerai_mcp.config import Settings

if TYPE_CHECKING:
    from numerai_mcp.api.datasets import FeaturesDocument

CHECKLIST = """# Before uploading a Numerai model pickle

1. `check_api_credentials`: the key has upload_submission, read_submission_info and read_user_info.
2. The slot: reuse one (`graphql_query` on `account { models { id name submissionWebhook } }`) or `create_model`
   (Classic, tournament 8; ≤ 20 characters: letters, digits, underscores). A slot with a submission webhook
   cannot take a pickle: assign with `clearWebhook=true` removes it.
3. The pickle is a cloudpickled `predict(live_features[, live_benchmark_models]) -> pandas.DataFrame`:
   - built by the **same Python minor version** as the runtime image (otherwise Numerai segfaults or raises
     "Pickle incompatible"); `build_pickle` writes it with the target runtime itself;
   - imports only the standard library and the image's pinned packages (no repo-local modules such as
     `agents.*`; models moved to CPU);
   - returns one column `prediction` in [0, 1], indexed like `live_features`, no NaN, every row;
   - runs in under 10 minutes on 1 CPU within 4 GB of memory, without network access.
4. `validate_pickle` passes (it runs the pickle the way Numerai does; `upload_model` refuses a failed one).
5. `upload_model operation='upload'` picks the runtime image matching the pickle's Python.
6. Wait for `validationStatus == 'validated'` (`operation='list' wait=true`), then ask the user before
   `operation='assign'`.
7. Optionally `operation='trigger'` and read `operation='get_logs'`.
"""

STATUSES = """# Numerai model-upload statuses and error messages

## validationStatus (of a pickle)
- `pending` / `validating` (or anything not below): Numerai is still validating; poll with `list wait=true`.
- `validated`: passed; it can be assigned to a slot.
- `failed` / `invalid` / `error`: did not pass; read `triggers[].statuses[].description` and `get_logs`.

## trigger status (of a run)
Lifecycle in Numerai's UI: Pending → Running → Validating → Success. **Error** means a fault on Numerai's side
(retry later); **Failed** means the model failed (version mismatch, invalid output, memory, timeout).
Values seen in the API: `pending`, `running`, `succeeded`/`submission_succeeded`, `failed`, `error`; new values
may appear (all are plain strings).

## diagnosticsStatus (of a pickle)
Numerai scores a validated pickle on its validation data: `pending` → `running` → `succeeded` (or `failed`, with
`diagnosticsStatusDescription`). Read the scores with `upload_model operation='diagnostics' pickleId=… wait=true`.

## How every slot is doing
`model_status` (or the resource `numerai://slots`) gives each slot a verdict (healthy, pending, unhealthy) and, for an
unhealthy one, the exact call that fixes it.

## Error strings and what to do
| Message | Meaning | Do |
|---|---|---|
| `Segmentation fault! Ensure python and library versions match our environment.` | The pickle ran on another Python minor version (or numpy build) | Register it with the image of the Python that built it, or rebuild with `build_pickle` |
| `unknown opcode 0` | A 3.11 pickle ran on 3.12 (bytecode mismatch) | Same as above |
| `Pickle incompatible with 3.X` | Built with Python ≤ 3.10 or for another version | Rebuild with Python 3.X |
| `Import error reading pickle - No module named '…'` | The pickle imports a module the image lacks (repo-local code, unpinned library, numpy 2 array on numpy 1) | Remove the import / pickle the code by value; use the image's pins |
| `Invalid pickle - …` | Corrupt, truncated or not a pickle | Re-create the file |
| `Invalid pickle function - … must have 1 or 2 arguments` | predict has another signature | `def predict(live_features, live_benchmark_models=None)` counts as 2 |
| `Pickle function is invalid - returned None` / `… instead of pd.DataFrame` / `returned 0 predictions` | Wrong return value | Return a non-empty `pd.DataFrame` |
| `Pickle function returned at least 1 NaN prediction` | NaN in the output | Fill or rank before returning |
| `Pickle function returned invalid predictions. Ensure values are between 0 and 1.` | First column outside [0, 1] | Rank per era or clip |
| `No currently open rounds!` | The pickle is fine; no round is open now | Wait for the next round |
| `Insufficient permission for <scope>` | The key lacks a scope | Add it at numer.ai → Account → Custom API Keys |
| Timeout / out of memory | Over 10 minutes or 4 GB at 1 CPU | Fewer features or trees, float32, lighter model |
"""

DEPLOY_PROMPT = """Deploy my Numerai model as a hosted model upload{target}.

Follow this workflow with the numerai tools, one step at a time, and stop to ask me where it says so:
1. Call check_api_credentials. If anything is missing, tell me how to fix it and stop.
2. Choose the model slot{slot}: list my slots (graphql_query `query {{ account {{ models {{ id name submissionWebhook
   computePickleUpload {{ id validationStatus }} }} }} }}`), or, if I want a new one, propose a name and create it
   with create_model after I agree.
3. Produce the pickle{source}: with an inference bundle, call build_pickle (it writes the pickle with Numerai's
   runtime and validates it); with an existing .pkl, call validate_pickle. If validation fails, show me the failed
   checks and their fixes and stop.
4. Upload it with upload_model operation='upload' (modelId, localPath). Do not pass dockerImage unless I ask:
   the server matches the runtime image to the pickle's Python version.
5. Wait for Numerai's validation: upload_model operation='list' pickleId=… wait=true. If it failed, read the logs
   (operation='get_logs') and explain.
6. Tell me the result and ask me to confirm before assigning it to the slot (operation='assign').
7. Trigger a run (operation='trigger' wait=true) and show me the last lines of its logs (operation='get_logs').
Read numerai://checklist and numerai://statuses when a step fails."""


def _runtimes_json(settings: Settings) -> str:
    from numerai_mcp.harness.catalogue import KEY_DISTRIBUTIONS, load_catalogue

    catalogue = load_catalogue(settings.cache_dir)
    return json.dumps(
        {
            "default_python": catalogue.default_python,
            "default_source": catalogue.default_source,
            "runtimes": [
                {
                    "python": rt.python,
                    "image": rt.docker_ref,
                    "default": rt.python == catalogue.default_python,
                    "pins_source": rt.pins_source,
                    "key_pins": {name: rt.pin(name) for name in KEY_DISTRIBUTIONS if rt.pin(name)},
                    "pinned_packages": len(rt.pins),
                }
                for rt in catalogue.runtimes.values()
            ],
            "note": "A pickle must be built and run by the same Python minor version; it may import only the "
            "standard library and these pinned packages.",
        },
        indent=2,
    )


async def _features(settings: Settings) -> FeaturesDocument:
    """features.json, read with the server's key only where it lends it (resources get no per-request header)."""
    from numerai_mcp.api.client import NumeraiClient
    from numerai_mcp.api.datasets import features_document
    from numerai_mcp.api.errors import NumeraiError

    try:
        async with NumeraiClient(settings, use_settings_credentials=settings.allow_server_key) as client:
            return await features_document(client, settings.cache_dir)
    except NumeraiError as exc:
        from mcp.server.mcpserver.exceptions import ResourceError

        raise ResourceError(f"Numerai's features.json could not be read: {exc}") from None


def register(server: MCPServer[Any], settings: Settings) -> None:
    @server.resource("numerai://runtimes", name="runtimes", title="Numerai predict runtimes",
                     description="The numerai_predict_py_3_X images: Python version, image tag, key pinned "
                     "libraries, and which one is the default.", mime_type="application/json")
    def runtimes() -> str:
        return _runtimes_json(settings)

    @server.resource("numerai://checklist", name="checklist", title="Pre-upload checklist",
                     description="What must be true of a model pickle before it is uploaded.", mime_type="text/markdown")
    def checklist() -> str:
        return CHECKLIST

    @server.resource("numerai://statuses", name="statuses", title="Statuses and error messages",
                     description="What each validation/trigger status and Numerai error string means, and what to do.",
                     mime_type="text/markdown")
    def statuses() -> str:
        return STATUSES

    @server.resource("numerai://features", name="features", title="Feature sets of the current data version",
                     description="The current data version's feature sets from Numerai's features.json (how many "
                     "features each has, and the names of the small set), and its targets. A pickle must be fed "
                     "these columns in its training order. Full lists: numerai://features/{feature_set}.",
                     mime_type="application/json")
    async def features() -> str:
        document = await _features(settings)
        summary = {
            "data_version": document.data_version,
            "source": document.source,
            "feature_sets": {name: len(names) for name, names in document.feature_sets.items()},
            "small": document.feature_sets.get("small", []),
            "targets": document.targets,
            "more": "Read numerai://features/<set> (e.g. numerai://features/all) for every name of a set. "
            "validate_pickle reports which feature columns a pickle reads and which the live data lacks.",
        }
        return json.dumps(summary, indent=1)

    @server.resource("numerai://features/{feature_set}", name="feature_set", title="One feature set",
                     description="Every feature name of one set (small, medium, all, …) of the current data version, "
                     "in Numerai's order.", mime_type="application/json")
    async def feature_set(feature_set: str) -> str:
        document = await _features(settings)
        if feature_set not in document.feature_sets:
            from mcp.server.mcpserver.exceptions import ResourceError

            raise ResourceError(f"No feature set {feature_set!r} in {document.data_version}; sets: "
                                f"{', '.join(document.feature_sets)}.")
        names = document.feature_sets[feature_set]
        return json.dumps({"data_version": document.data_version, "feature_set": feature_set, "count": len(names),
                           "features": names})

    @server.prompt(name="deploy_model", title="Deploy a Numerai model upload",
                   description="Walk the whole workflow: credentials → slot → build/validate → upload → wait → "
                   "confirm → assign → trigger → logs.")
    def deploy_model(modelName: str = "", localPath: str = "", bundlePath: str = "") -> str:
        source = (f" from the bundle {bundlePath}" if bundlePath else f" from {localPath}" if localPath else "")
        return DEPLOY_PROMPT.format(
            target=f" to the slot {modelName!r}" if modelName else "",
            slot=f" (I want {modelName!r})" if modelName else "",
            source=source,
        )
