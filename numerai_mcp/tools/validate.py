"""validate_pickle: run a pickle the way Numerai's numerai_predict image would, locally and sandboxed."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from numerai_mcp.config import Settings
from numerai_mcp.errors import NumeraiMcpError
from numerai_mcp.facts import gather_facts
from numerai_mcp.harness.facts import NumeraiFacts
from numerai_mcp.harness.verdict import Check, Verdict
from numerai_mcp.tools.common import CAMEL, caller_settings, server_state, thread_progress
from numerai_mcp.tools.paths import check_input_file

DESCRIPTION = """Run a model-upload pickle exactly as Numerai would, before uploading it: same Python minor
version and pinned libraries as the numerai_predict_py_3_X image, 1 CPU, 4 GB, 10 minutes, no network,
in a sandboxed process (the pickle never runs inside this server).

It first scans the file without loading it (Python version that built it, modules it needs, dangerous code),
then calls predict on live data (your files, else Numerai's current live data, else synthetic data shaped like it)
and applies Numerai's checks with Numerai's wording plus stricter ones. With expectedPredictions (what the model
predicted on the same live data in the training environment) it also checks that the pickle reproduces them, to
catch a pickle that runs but is not the model you trained (feature order, a missing scaler, other fill values).
Returns a verdict with each check, the fix for each failure, timings and peak memory, and the feature columns the
pickle reads (featuresRead) with those the live data lacks (featuresMissing; numerai://features lists the current
data version's sets). Takes seconds once the runtime is cached (the first run for a Python version provisions it).
Next: if it passed, evaluate_pickle (validation scores and plots), then upload_model operation='upload' (the
runtime image is matched to this Python version); if it failed, apply the fixes (or rebuild with build_pickle) and
validate again."""

class CheckView(Check):
    model_config = CAMEL


class VerdictView(Verdict):
    """The harness Verdict with camelCase names like every other tool result."""

    model_config = CAMEL
    checks: list[CheckView] = Field(default_factory=list)  # type: ignore[assignment]
    next_step: str = ""


def verdict_view(verdict: Verdict, next_step: str) -> VerdictView:
    return VerdictView.model_validate({**verdict.model_dump(), "next_step": next_step})


def next_step_for(verdict: Verdict, path: Path) -> str:
    if verdict.passed:
        return (f"upload_model operation='upload' localPath={str(path)!r} modelId=(the slot's id, from create_model or "
                f"graphql_query `query {{ account {{ models {{ id name }} }} }}`): the runtime image for Python "
                f"{verdict.python_version_used} is chosen automatically.")
    return ("Do not upload this file: apply the fix above (fixes lists them all), then validate again, or rebuild it "
            "with build_pickle.")


def run_validation(settings: Settings, path: Path, progress: Any, *, facts: NumeraiFacts, **options: Any) -> Verdict:
    """Synchronous core call with argument errors turned into tool errors (runs in a worker thread)."""
    from numerai_mcp.harness.validate import validate_pickle

    try:
        return validate_pickle(path, cache_dir=settings.cache_dir, facts=facts, progress=progress, **options)
    except NumeraiMcpError as exc:  # bad arguments, unknown version, no interpreter or isolation: the fix is said
        raise ToolError(str(exc)) from None


async def validate_pickle_tool(
    localPath: Annotated[str, Field(description="Absolute path of the .pkl to validate.")],
    ctx: Context[Any, Any],
    pythonVersion: Annotated[str, Field(description="'auto' (the Python that built the pickle, else Numerai's default) or '3.10'…'3.13'.")] = "auto",
    liveData: Annotated[str | None, Field(description="Optional live features parquet (Numerai's live.parquet layout).")] = None,
    benchmarkData: Annotated[str | None, Field(description="Optional live_benchmark_models.parquet for 2-argument predicts.")] = None,
    backend: Annotated[Literal["auto", "local", "docker"], Field(description="'auto' uses Docker when an engine answers, else a local pinned runtime.")] = "auto",
    timeoutSeconds: Annotated[int | None, Field(description="Wall-clock limit; Numerai's is 600.", ge=5, le=600)] = None,
    allowUnsafe: Annotated[bool, Field(description="Only for files you trust: run even if the scan finds dangerous code (still sandboxed), and run without isolation on a machine where the sandbox cannot isolate (the refusal says why; Docker is the safe way out there).")] = False,
    expectedPredictions: Annotated[str | None, Field(description="Predictions you made in the training environment on the same live data (parquet or CSV indexed by id; the 'prediction' column): adds the check 'reproduces the training model' (relative 1e-6, or the same per-era order), naming the largest differences and the likely cause.")] = None,
) -> VerdictView:
    settings = server_state(ctx).settings
    path = check_input_file(localPath, settings)
    live = check_input_file(liveData, settings, what="liveData", suffixes=(".parquet",), max_bytes=None) if liveData else None
    bench = check_input_file(benchmarkData, settings, what="benchmarkData", suffixes=(".parquet",), max_bytes=None) if benchmarkData else None
    expected = check_input_file(expectedPredictions, settings, what="expectedPredictions", suffixes=(".parquet", ".csv"), max_bytes=None) if expectedPredictions else None
    python = None if pythonVersion.strip().lower() in ("", "auto") else pythonVersion.strip()
    with caller_settings(ctx) as as_caller:
        await ctx.report_progress(0, None, "asking Numerai for the default runtime and the current live data")
        facts = await gather_facts(as_caller, images=python is None, live=live is None)
        call = functools.partial(
            run_validation, as_caller, path, thread_progress(ctx), facts=facts, python_version=python,
            live_data=live, benchmark_data=bench, backend=backend, timeout_s=timeoutSeconds, allow_unsafe=allowUnsafe,
            expected_predictions=expected,
        )
        verdict = await anyio.to_thread.run_sync(call)
    return verdict_view(verdict, next_step_for(verdict, path))


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="validate_pickle",
        title="Validate a pickle as Numerai would",
        description=DESCRIPTION,
        # open world: it may download Numerai's current live data through the API
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True),
    )(validate_pickle_tool)
