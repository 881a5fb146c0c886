"""build_pickle: from an inference bundle to a predict pickle written by Numerai's own runtime."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from numerai_mcp.api.models import ApiModel
from numerai_mcp.config import Settings
from numerai_mcp.facts import gather_facts
from numerai_mcp.harness.facts import NumeraiFacts
from numerai_mcp.tools.common import caller_settings, server_state, thread_progress
from numerai_mcp.tools.paths import check_input_path, check_output_file
from numerai_mcp.tools.validate import VerdictView, next_step_for, verdict_view

DESCRIPTION = """Build a Numerai model-upload pickle from an inference bundle, inside Numerai's runtime.

The bundle is what `numerai_mcp.bundle.export(model, features, "model.bundle.npz")` writes in the training
environment (scikit-learn linear models and MLPRegressor, PyTorch nn.Sequential, LightGBM, or plain numpy
weights): feature order, fill values, scaling and weights, no pickle. This tool starts the target runtime (the
Python minor version and pinned libraries of numerai_predict_py_3_X), writes there a self-contained
predict(live_features, live_benchmark_models) that ranks per era into [0, 1], and validates it as Numerai would
unless validate=false. Returns the path, size, sha256, Python version and the verdict.
Next: if the verdict passed, upload_model operation='upload' with localPath = the output path."""


class BuildPickleResult(ApiModel):
    path: str
    size: int
    sha256: str
    python_version: str = Field(description="The Python minor version that wrote the pickle (and must run it).")
    python_version_source: str
    runtime: str
    pins_source: str
    libraries: dict[str, str] = Field(default_factory=dict)
    features: int
    kind: str
    engine: str
    transform: str
    benchmark_column: str | None = None
    notes: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    summary: str
    verdict: VerdictView | None = None
    next_step: str


def run_build(settings: Settings, bundle: Path, output: Path, progress: Any, *, facts: NumeraiFacts,
              **options: Any) -> Any:
    from numerai_mcp.bundle.build import build_pickle

    try:
        return build_pickle(bundle, output, cache_dir=settings.cache_dir, facts=facts,
                            allowed_roots=settings.allowed_roots, progress=progress, **options)
    except (ValueError, RuntimeError) as exc:  # bad bundle, unknown version, missing interpreter, failed build
        raise ToolError(str(exc)) from None


async def build_pickle_tool(
    bundlePath: Annotated[str, Field(description="Path of the inference bundle (.npz file or bundle directory).")],
    outputPath: Annotated[str, Field(description="Where to write the pickle (.pkl).")],
    ctx: Context[Any, Any],
    pythonVersion: Annotated[str, Field(description="'auto' (Numerai's default runtime) or '3.10'…'3.13'.")] = "auto",
    validate: Annotated[bool, Field(description="Run validate_pickle on the result (recommended).")] = True,
    overwrite: Annotated[bool, Field(description="Replace outputPath if it already exists.")] = False,
) -> BuildPickleResult:
    settings = server_state(ctx).settings
    bundle = check_input_path(bundlePath, settings, what="bundlePath")
    output = check_output_file(outputPath, settings)
    if output.exists() and not overwrite:
        raise ToolError(f"outputPath {output} already exists; choose another name or pass overwrite=true.")
    python = pythonVersion.strip() or "auto"
    with caller_settings(ctx) as as_caller:
        facts = await gather_facts(as_caller, images=python == "auto", live=validate)
        call = functools.partial(run_build, as_caller, bundle, output, thread_progress(ctx), facts=facts,
                                 python_version=python, validate=validate)
        result = await anyio.to_thread.run_sync(call)
    data = result.model_dump(exclude={"verdict"})
    if result.verdict is not None:
        next_step = next_step_for(result.verdict, output)
        view = verdict_view(result.verdict, next_step)
    else:
        next_step = f"validate_pickle localPath={str(output)!r}, then upload_model operation='upload'."
        view = None
    return BuildPickleResult(**data, verdict=view, next_step=next_step)


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="build_pickle",
        title="Build a pickle in Numerai's runtime",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True),
    )(build_pickle_tool)
