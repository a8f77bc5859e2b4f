"""Per-family settings of `quality_validation` (`checks:`); `false` turns a family off."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datasetgen_assets.pipeline.condition import parse_condition
from datasetgen_assets.quality.issues import Severity


class _Family(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _bool(cls, data: Any) -> Any:
        return {"enabled": data} if isinstance(data, bool) else data


class MissingValues(_Family):
    severity: Severity = "medium"
    columns: list[str] | None = Field(None, description="Columns to check (default all).")


class Duplicates(_Family):
    key: list[str] = Field(default_factory=list, description="Columns that identify a row.")
    fuzzy_columns: list[str] = Field(default_factory=list, description="Compared as text.")
    fuzzy_threshold: float = Field(92.0, ge=0, le=100, description="rapidfuzz ratio, 0-100.")
    fuzzy_max_values: int = Field(20000, ge=1, description="Distinct values compared at most.")


class TypeConsistency(_Family):
    numeric_share: float = Field(0.8, gt=0, le=1,
                                 description="Text columns this numeric count as numbers.")


class Outliers(_Family):
    method: Literal["zscore", "iqr", "isolation_forest"] = "zscore"
    threshold: float | None = Field(None, gt=0, description="z (3.0) or IQR factor (1.5).")
    contamination: float | Literal["auto"] = "auto"
    columns: list[str] | None = None
    severity: Severity = "low"

    @model_validator(mode="after")
    def _contamination(self) -> Outliers:
        c = self.contamination
        if c != "auto" and not 0 < float(c) <= 0.5:
            raise ValueError("contamination must be 'auto' or in (0, 0.5]")
        return self


class FormatInconsistency(_Family):
    date_columns: list[str] | None = Field(None, description="Default: names with date/_at.")
    phone_columns: list[str] | None = Field(None, description="Default: names with phone/tel.")
    case_columns: list[str] | None = Field(None, description="Default: low-cardinality text.")
    severity: Severity = "medium"


class InvalidValues(_Family):
    ranges: dict[str, dict[str, float]] = Field(default_factory=dict,
                                                description="{column: {min, max}}")
    enums: dict[str, list[Any]] = Field(default_factory=dict, description="{column: [values]}")
    logical: list[str] = Field(default_factory=list,
                               description="Conditions every row satisfies (filter language).")
    severity: Severity = "high"

    @field_validator("logical")
    @classmethod
    def _parse(cls, v: list[str]) -> list[str]:
        for cond in v:
            parse_condition(cond)  # a ValueError with the position, under this field
        return v


class PiiExposure(_Family):
    allow: list[str] = Field(default_factory=list, description="Columns allowed to hold PII.")
    severity: Severity = "critical"


class StatisticalAnomalies(_Family):
    threshold: float = Field(0.2, gt=0, le=1, description="KS statistic / total variation.")
    severity: Severity = "medium"


class SemanticIssues(_Family):
    sample_rows: int = Field(20, ge=1, le=500, description="Rows sent to the LLM.")
    severity: Severity = "medium"


class Checks(BaseModel):
    model_config = ConfigDict(extra="forbid")
    missing_values: MissingValues = Field(default_factory=MissingValues)
    duplicates: Duplicates = Field(default_factory=Duplicates)
    type_consistency: TypeConsistency = Field(default_factory=TypeConsistency)
    outliers: Outliers = Field(default_factory=Outliers)
    format_inconsistency: FormatInconsistency = Field(default_factory=FormatInconsistency)
    invalid_values: InvalidValues = Field(default_factory=InvalidValues)
    pii_exposure: PiiExposure = Field(default_factory=PiiExposure)
    statistical_anomalies: StatisticalAnomalies = Field(default_factory=StatisticalAnomalies)
    semantic_issues: SemanticIssues = Field(default_factory=SemanticIssues)

    def columns(self) -> list[tuple[str, list[str]]]:
        """(field, columns) named by the settings, for validate-time checks."""
        out = [("checks.duplicates.key", self.duplicates.key),
               ("checks.duplicates.fuzzy_columns", self.duplicates.fuzzy_columns),
               ("checks.invalid_values.ranges", list(self.invalid_values.ranges)),
               ("checks.invalid_values.enums", list(self.invalid_values.enums)),
               ("checks.pii_exposure.allow", self.pii_exposure.allow)]
        for name in ("missing_values", "outliers"):
            cols = getattr(self, name).columns
            if cols:
                out.append((f"checks.{name}.columns", cols))
        fmt = self.format_inconsistency
        for name in ("date_columns", "phone_columns", "case_columns"):
            if getattr(fmt, name):
                out.append((f"checks.format_inconsistency.{name}", getattr(fmt, name)))
        return out
