"""`sort`: order rows by columns (stable), optionally keeping the first N."""

from __future__ import annotations

import pandas as pd
from pydantic import Field, field_validator

from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)


class SortConfig(StepConfig):
    by: list[str] = Field(min_length=1, description="Columns to sort by, most significant first.")
    descending: bool | list[bool] = Field(False, description="One flag, or one per column.")
    nulls: str = Field("last", pattern="^(first|last)$", description="Where nulls go.")
    limit: int | None = Field(None, ge=0, description="Keep only the first N rows (top-N).")

    @field_validator("by", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v


def run(inputs: list[pd.DataFrame], config: SortConfig, ctx: StepContext) -> StepResult:
    desc = config.descending
    ascending = [not d for d in desc] if isinstance(desc, list) else not desc
    if isinstance(ascending, list) and len(ascending) != len(config.by):
        raise ValueError("descending needs one flag per column in 'by'")
    out = inputs[0].sort_values(config.by, ascending=ascending, kind="stable",
                                na_position=config.nulls)
    if config.limit is not None:
        out = out.head(config.limit)
    return StepResult(out.reset_index(drop=True), {"rows": len(out)})


def _infer(config: SortConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    check_known(config.by, inputs[0], "by")
    return inputs[0]


register(StepType(
    name="sort", kind="transform", config_model=SortConfig, run=run,
    description="Order rows by one or more columns; optionally keep the top N.",
    infer_columns=_infer,
    needed_inputs=lambda c, needed, ins: [None if needed is None else needed | set(c.by)],
    # a filter commutes with a sort, but not with a top-N cut
    filter_targets=lambda c, cols, ins: [0] if c.limit is None else [],
    estimate_rows=lambda c, ins, ctx: ins[0] if c.limit is None or ins[0] is None
    else min(c.limit, ins[0]),
))
