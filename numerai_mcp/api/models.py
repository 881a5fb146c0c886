"""Typed views of the Numerai objects the upload flow touches.

They parse GraphQL answers (camelCase) and are reused as MCP tool outputs, so the model
reading a result sees Numerai's own field names.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field
from pydantic.alias_generators import to_camel

from numerai_mcp.pyversion import find_python_version

# validationStatus values that end validation (numerai-api.md §4); anything else is still pending.
VALIDATION_TERMINAL = {"validated", "failed", "invalid", "error"}
VALIDATION_OK = "validated"
# trigger statuses that end a run (INFERRED vocabulary: match on words, not exact values).
_TRIGGER_DONE_WORDS = ("succeeded", "success", "failed", "error", "complete", "cancel")


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class TriggerStatusEntry(ApiModel):
    status: str | None = None
    description: str | None = None
    inserted_at: str | None = None


class Trigger(ApiModel):
    id: str
    type: str | None = None
    status: str | None = None
    round_id: str | None = None
    submission_id: str | None = None
    inserted_at: str | None = None
    statuses: list[TriggerStatusEntry] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        return is_trigger_finished(self.status)

    @property
    def last_description(self) -> str | None:
        for entry in reversed(self.statuses):
            if entry.description:
                return entry.description
        return None


class Pickle(ApiModel):
    """A registered compute pickle (`ComputePickleUpload`)."""

    id: str
    filename: str | None = None
    label: str | None = None
    model_id: str | None = Field(default=None, description="The slot it was uploaded for (owner), not where it is assigned.")
    assigned_model_slots: list[str] | None = None
    docker_image_name: str | None = None
    data_version: str | None = None
    runtime: str | None = None
    validation_status: str | None = None
    trigger_status: str | None = None
    diagnostics_id: str | None = Field(default=None, description="Its diagnostics run: upload_model operation='diagnostics'.")
    diagnostics_status: str | None = None
    diagnostics_status_description: str | None = None
    inserted_at: str | None = None
    updated_at: str | None = None
    triggers: list[Trigger] = Field(default_factory=list)

    @property
    def validation_finished(self) -> bool:
        return (self.validation_status or "").lower() in VALIDATION_TERMINAL

    def newest_trigger(self) -> Trigger | None:
        if not self.triggers:
            return None
        return max(self.triggers, key=lambda t: (t.inserted_at or "", t.id))

    def newest_triggers(self, count: int, *, runs_only: bool = False) -> list[Trigger]:
        """Up to `count` triggers (only runs, not validations, with `runs_only`), newest first; within the same
        second the API's own order stands (newest first, as Numerai and the sandbox list them)."""
        rows = [t for t in self.triggers if not (runs_only and is_validation_trigger(t))]
        return sorted(rows, key=lambda t: t.inserted_at or "", reverse=True)[:count]


class LatestSubmission(ApiModel):
    """One round's submission of a slot (`Model.latestSubmissions`)."""

    id: str | None = None
    filename: str | None = None
    round_number: int | None = None
    round_open: str | None = None
    round_close_staking: str | None = None
    round_close: str | None = None
    status: str | None = None
    timestamp: str | None = None


class ModelSlot(ApiModel):
    id: str
    name: str
    tournament: int | None = None
    submission_webhook: str | None = None
    compute_enabled: bool | None = None
    compute_pickle_upload: Pickle | None = Field(default=None, description="The pickle currently assigned to this slot.")
    latest_submissions: list[LatestSubmission] | None = Field(default=None, description="Newest round first.")


class Account(ApiModel):
    username: str | None = None
    max_model_slots: int | None = None
    models: list[ModelSlot] = Field(default_factory=list)


class DockerImage(ApiModel):
    id: str
    name: str | None = None
    image: str | None = None
    tag: str | None = None
    default: bool | None = None
    deprecated: bool | None = None
    experimental: bool | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def python_version(self) -> str | None:
        """'3.12' from the image name ('numerai_predict_py_3_12') or display name ('Python 3.12')."""
        return find_python_version(self.image, self.name)


class DataVersion(ApiModel):
    id: str
    name: str | None = None
    version: str | None = None
    type: str | None = None
    default: bool | None = None
    deprecated: bool | None = None
    experimental: bool | None = None


class UploadAuth(ApiModel):
    filename: str = Field(description="Server-side key: pass this (not the local name) to create.")
    url: str = Field(description="Presigned PUT URL; short-lived.")
    accelerated: bool | None = None
    country_code: str | None = None


class TokenInfo(ApiModel):
    account_username: str | None = None
    name: str | None = None
    public_id: str | None = None
    scopes: list[str] = Field(default_factory=list)


class Scope(ApiModel):
    name: str
    description: str | None = None


class LogLine(ApiModel):
    timestamp: int | None = None
    message: str | None = None


class DiagnosticsEra(ApiModel):
    """One validation era of a diagnostics run (`V2DiagnosticsEras`)."""

    era: str | None = None
    validation_corr: float | None = None
    validation_mmc: float | None = None
    validation_bmc: float | None = None
    validation_feature_corr_max: float | None = None
    validation_feature_neutral_corr: float | None = None
    example_preds_corr: float | None = None


class Diagnostics(ApiModel):
    """Numerai's diagnostics of a pickle on the validation data (`V2Diagnostics`, the headline fields)."""

    id: str | None = None
    compute_pickle_upload_id: str | None = None
    filename: str | None = None
    status: str | None = None
    message: str | None = None
    inserted_at: str | None = None
    updated_at: str | None = None
    process_secs: float | None = None
    eras_accepted_count: int | None = None
    eras_missing: list[str | None] | None = None
    tickers_accepted_count: int | None = None
    tickers_submitted_count: int | None = None
    trained_on_val: bool | None = None
    validation_corr_mean: float | None = None
    validation_corr_std: float | None = None
    validation_corr_sharpe: float | None = None
    validation_max_drawdown: float | None = None
    validation_corr_max_drawdown: float | None = None
    validation_bmc_mean: float | None = None
    validation_mmc_mean: float | None = None
    validation_mmc_sharpe: float | None = None
    validation_corr_plus_mmc_mean: float | None = None
    validation_corr_plus_mmc_sharpe: float | None = None
    validation_feature_corr_max: float | None = Field(default=None, description="Max feature exposure.")
    validation_feature_neutral_corr_mean: float | None = None
    validation_corr_corr_w_example_preds: float | None = Field(default=None, description="Correlation with the example model.")
    example_preds_corr_mean: float | None = None
    validation_apy: float | None = None
    validation_adjusted_sharpe: float | None = None
    per_era_diagnostics: list[DiagnosticsEra] = Field(default_factory=list)


def is_trigger_finished(status: str | None) -> bool:
    """Whether a trigger (or diagnostics) status ends its run: both use the same inferred vocabulary."""
    text = (status or "").lower()
    return any(word in text for word in _TRIGGER_DONE_WORDS)


def is_status_success(status: str | None) -> bool:
    text = (status or "").lower()
    return "succe" in text or "complete" in text


def is_validation_trigger(trigger: Trigger) -> bool:
    return "validat" in (trigger.type or "").lower()
