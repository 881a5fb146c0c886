"""evaluate_pickle: a pickle's validation scores (per-era CORR and Numerai's headline numbers), with plots."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from numerai_mcp.config import Settings
from numerai_mcp.errors import NumeraiMcpError
from numerai_mcp.harness.evaluate import EraScore, Evaluation
from numerai_mcp.tools.common import (
    CAMEL,
    api_client,
    async_progress,
    plot_images,
    server_state,
    thread_progress,
    tool_errors,
)
from numerai_mcp.tools.paths import check_input_file, check_output_dir
from numerai_mcp.tools.validate import CheckView

DESCRIPTION = """Score a model-upload pickle on validation data before uploading it: per-era CORR against the target
(numerai-tools' numerai_corr, as Numerai scores), its mean, standard deviation, Sharpe and max drawdown, the benchmark
model's CORR on the same eras, the correlation with the benchmark's predictions, the contribution to the benchmark
(BMC) and the max feature exposure, plus two PNG plots (per-era CORR bars and cumulative CORR, the benchmark's on the
same axes) returned as images and written to files.

The pickle runs exactly as validation runs it (sandboxed, Numerai's Python and pins, 4 GB and 1 CPU for the whole
run), loaded once and called once per era with that era's rows and benchmark rows, like a live round. Data: Numerai's
validation.parquet and validation_benchmark_models.parquet for the data version (downloaded once with progress, then
cached; GBs the first time), or your own file (validationData). Default: the most recent 100 eras with targets;
eras='all' takes every one. In the sandbox the data is synthetic and the result says so: only the mechanics are real.
Use it after validate_pickle passed (and build_pickle's reproduction check), to see that the model is the one you
trained and how good it is. Next: upload_model operation='upload' if the numbers are what you expect."""

class EraScoreView(EraScore):
    model_config = CAMEL


class EvaluationView(Evaluation):
    """The harness Evaluation with camelCase names like every other tool result."""

    model_config = CAMEL
    per_era: list[EraScoreView] = Field(default_factory=list)  # type: ignore[assignment]
    checks: list[CheckView] = Field(default_factory=list)  # type: ignore[assignment]
    next_step: str = ""


def next_step_for(evaluation: Evaluation) -> str:
    if not evaluation.passed:
        return ("Do not upload yet: fix what the failed check says (validate_pickle explains the pickle's failures in "
                "detail), then evaluate again.")
    if evaluation.synthetic:
        return ("These numbers come from synthetic data (the sandbox): they show the pickle runs era by era and "
                "ranks rows, not how good the model is. Against Numerai's API this tool scores on real validation "
                f"data. Next: upload_model operation='upload' localPath={evaluation.path!r}.")
    return (f"If these numbers match what you saw in training, upload_model operation='upload' "
            f"localPath={evaluation.path!r}; after Numerai validates it, operation='diagnostics' gives Numerai's own "
            "scores to compare with these.")


def run_evaluation(settings: Settings, path: Path, data: Any, progress: Any, **options: Any) -> Evaluation:
    """Synchronous core call with argument errors turned into tool errors (runs in a worker thread)."""
    from numerai_mcp.harness.evaluate import evaluate_pickle

    try:
        return evaluate_pickle(path, data, cache_dir=settings.cache_dir, progress=progress, **options)
    except NumeraiMcpError as exc:  # bad arguments or data, unknown version, no interpreter or isolation
        raise ToolError(str(exc)) from None


def text_of(evaluation: Evaluation, next_step: str) -> str:
    lines = [evaluation.summary]
    if evaluation.plots:
        lines.append("Plots: " + ", ".join(evaluation.plots.values()))
    lines.append(f"Next: {next_step}")
    return "\n".join(lines)


async def evaluate_pickle_tool(
    localPath: Annotated[str, Field(description="Absolute path of the .pkl to evaluate.")],
    ctx: Context[Any, Any],
    eras: Annotated[int | str | list[str] | None, Field(description="How many of the most recent eras with targets "
                    "(default 100), 'all', or era labels such as ['0575', '0580-0600'].")] = None,
    dataVersion: Annotated[str | None, Field(description="Numerai data version whose validation files to use (default: "
                           "the current one, e.g. 'v5.2').")] = None,
    validationData: Annotated[str | None, Field(description="Your own validation parquet instead of Numerai's: indexed "
                              "by id, with 'era', the feature columns and 'target'.")] = None,
    benchmarkData: Annotated[str | None, Field(description="Benchmark-model predictions for validationData (parquet "
                             "indexed by id); optional.")] = None,
    pythonVersion: Annotated[str, Field(description="'auto' (the Python that built the pickle) or '3.10'…'3.13'.")] = "auto",
    timeoutSeconds: Annotated[int | None, Field(description="Wall-clock limit of the whole run (default 600 s + 60 s "
                              "per era).", ge=10, le=86400)] = None,
    allowUnsafe: Annotated[bool, Field(description="Only for files you trust: run even if the scan finds dangerous code "
                           "(still sandboxed), and without isolation where the sandbox cannot isolate.")] = False,
    includePlots: Annotated[bool, Field(description="Return the two PNG plots as images (they are written to files "
                            "either way).")] = True,
    plotDir: Annotated[str | None, Field(description="Also copy the PNG plots into this directory.")] = None,
) -> Annotated[CallToolResult, EvaluationView]:
    from numerai_mcp.harness.evaluate import EvaluationError, ValidationData, parse_eras

    settings = server_state(ctx).settings
    path = check_input_file(localPath, settings)
    try:
        parse_eras(eras)
    except EvaluationError as exc:
        raise ToolError(str(exc)) from None
    plot_dir = check_output_dir(plotDir, settings, what="plotDir") if plotDir else None
    if validationData:
        data = ValidationData(
            check_input_file(validationData, settings, what="validationData", suffixes=(".parquet",), max_bytes=None),
            check_input_file(benchmarkData, settings, what="benchmarkData", suffixes=(".parquet",), max_bytes=None)
            if benchmarkData else None)
    elif benchmarkData:
        raise ToolError("benchmarkData goes with validationData (your own validation file); without validationData "
                        "Numerai's validation benchmark models are used.")
    else:
        from numerai_mcp.api.datasets import validation_files

        async with api_client(ctx, anonymous_ok=True) as client:
            with tool_errors():
                files = await validation_files(client, settings.cache_dir, dataVersion, progress=async_progress(ctx))
        data = ValidationData(files.validation, files.benchmarks, files.source, files.data_version)
    call = functools.partial(
        run_evaluation, settings, path, data, thread_progress(ctx), eras=eras,
        python_version=None if pythonVersion.strip().lower() in ("", "auto") else pythonVersion.strip(),
        timeout_s=timeoutSeconds, allow_unsafe=allowUnsafe, plot_dir=plot_dir,
    )
    evaluation = await anyio.to_thread.run_sync(call)
    next_step = next_step_for(evaluation)
    view = EvaluationView.model_validate({**evaluation.model_dump(), "next_step": next_step})
    content: list[Any] = [TextContent(text=text_of(evaluation, next_step))]
    if includePlots:
        content += plot_images(evaluation.plots)
    return CallToolResult(content=content, structured_content=view.model_dump(mode="json", by_alias=True))


def register(server: MCPServer[Any], settings: Settings) -> None:
    server.tool(
        name="evaluate_pickle",
        title="Score a pickle on validation data",
        description=DESCRIPTION,
        # open world: it may download Numerai's validation files; not read-only: plotDir receives files
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=True),
    )(evaluate_pickle_tool)
