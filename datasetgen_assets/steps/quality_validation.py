"""`quality_validation`: rules that become Dagster asset checks (blocking quality gates).

This module holds the gate plumbing and the structural rules (required columns, not null,
unique keys, minimum rows). Each rule family is one asset check; a blocking check that fails
stops the downstream steps of the run.
"""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from datasetgen_assets.steps.registry import (
    CheckOutcome,
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    passthrough_columns,
    register,
)


class SchemaRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    required_columns: list[str] = Field(default_factory=list, description="Must be present.")


class QualityConfig(StepConfig):
    schema_: SchemaRules = Field(default_factory=SchemaRules, alias="schema",
                                 description="Structural expectations.")
    not_null: list[str] = Field(default_factory=list, description="Columns without nulls.")
    unique: list[str] = Field(default_factory=list, description="Columns forming a unique key.")
    min_rows: int | None = Field(None, ge=0, description="Fewest rows accepted.")
    blocking: bool = Field(True, description="Failed checks stop downstream steps.")


def _checks(config: QualityConfig) -> list[tuple[str, bool, str]]:
    out = []
    if config.schema_.required_columns:
        out.append(("required_columns", config.blocking, "The required columns are present."))
    if config.not_null:
        out.append(("not_null", config.blocking, f"No nulls in {', '.join(config.not_null)}."))
    if config.unique:
        out.append(("unique", config.blocking, f"({', '.join(config.unique)}) is a unique key."))
    if config.min_rows is not None:
        out.append(("min_rows", config.blocking, f"At least {config.min_rows} rows."))
    return out


def run(inputs: list[pd.DataFrame], config: QualityConfig, ctx: StepContext) -> StepResult:
    frame = inputs[0]
    blocking = config.blocking
    outcomes: list[CheckOutcome] = []
    if config.schema_.required_columns:
        missing = [c for c in config.schema_.required_columns if c not in frame.columns]
        outcomes.append(CheckOutcome("required_columns", not missing,
                                     f"missing: {missing}" if missing else "all present",
                                     blocking, {"missing_columns": missing}))
    if config.not_null:
        present = [c for c in config.not_null if c in frame.columns]
        nulls = {c: int(frame[c].isna().sum()) for c in present}
        absent = [c for c in config.not_null if c not in frame.columns]
        bad = sum(nulls.values())
        outcomes.append(CheckOutcome("not_null", bad == 0 and not absent,
                                     f"{bad} null cells", blocking,
                                     {"null_counts": nulls, "missing_columns": absent}))
    if config.unique:
        cols = [c for c in config.unique if c in frame.columns]
        dupes = int(frame.duplicated(subset=cols, keep="first").sum()) if cols else 0
        ok = dupes == 0 and len(cols) == len(config.unique)
        outcomes.append(CheckOutcome("unique", ok, f"{dupes} duplicate keys", blocking,
                                     {"duplicate_rows": dupes}))
    if config.min_rows is not None:
        outcomes.append(CheckOutcome("min_rows", len(frame) >= config.min_rows,
                                     f"{len(frame)} rows", blocking, {"rows": len(frame)}))
    report = {"checks": {o.name: o.passed for o in outcomes},
              "passed": all(o.passed for o in outcomes)}
    return StepResult(frame, report, outcomes)


def _infer(config: QualityConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    check_known(config.not_null, inputs[0], "not_null")
    check_known(config.unique, inputs[0], "unique")
    return passthrough_columns(config, inputs, ctx)


register(StepType(
    name="quality_validation", kind="validation", config_model=QualityConfig, run=run,
    description="Rules that become blocking Dagster asset checks (quality gates).",
    kinds=("pandas", "quality"), infer_columns=_infer, check_specs=_checks,
    estimate_rows=lambda c, ins, ctx: ins[0],
))
