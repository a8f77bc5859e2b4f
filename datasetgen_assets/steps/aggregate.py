"""`aggregate`: group by columns and compute count, sum, mean, min, max, nunique, ..."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)

Func = Literal["count", "sum", "mean", "min", "max", "nunique", "median", "std", "first", "last"]


class Metric(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    func: Func = Field(description="Aggregate function.")
    column: str | None = Field(None, description="Input column; omit for count of rows.")
    name: str | None = Field(None, alias="as", description="Output column name.")

    @model_validator(mode="after")
    def _column(self) -> Metric:
        if self.column is None and self.func != "count":
            raise ValueError(f"'{self.func}' needs a column")
        return self

    @property
    def output(self) -> str:
        return self.name or (f"{self.func}_{self.column}" if self.column else "count")


class AggregateConfig(StepConfig):
    group_by: list[str] = Field(default_factory=list, description="Grouping columns.")
    metrics: list[Metric] = Field(min_length=1, description="What to compute per group.")
    dropna: bool = Field(False, description="Drop groups whose key is null.")

    @field_validator("group_by", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _unique_names(self) -> AggregateConfig:
        names = self.group_by + [m.output for m in self.metrics]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"output column names clash: {sorted(dup)}; set 'as:' on metrics")
        return self


def run(inputs: list[pd.DataFrame], config: AggregateConfig, ctx: StepContext) -> StepResult:
    frame = inputs[0]
    check_known(config.group_by, list(frame.columns), "group_by")
    check_known([m.column for m in config.metrics if m.column], list(frame.columns), "metrics")
    named = {
        m.output: (m.column or (config.group_by[0] if config.group_by else frame.columns[0]),
                   "size" if m.column is None else m.func)
        for m in config.metrics
    }
    if config.group_by:
        out = frame.groupby(config.group_by, dropna=config.dropna, sort=True).agg(**named)
        out = out.reset_index()
    else:
        out = pd.DataFrame({name: [frame[col].agg(func) if func != "size" else len(frame)]
                            for name, (col, func) in named.items()})
    return StepResult(out, {"rows_in": len(frame), "groups": len(out)})


def _infer(config: AggregateConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    check_known(config.group_by, inputs[0], "group_by")
    check_known([m.column for m in config.metrics if m.column], inputs[0], "metrics")
    return config.group_by + [m.output for m in config.metrics]


def _needed(config: AggregateConfig, needed: set[str] | None, inputs: list[Columns]):
    used = set(config.group_by) | {m.column for m in config.metrics if m.column}
    return [used or None]  # a bare row count needs the rows, so any columns: keep all


register(StepType(
    name="aggregate", kind="transform", config_model=AggregateConfig, run=run,
    description="Group by columns and compute count, sum, mean, min, max, nunique, ...",
    infer_columns=_infer,
    needed_inputs=_needed,
    # a filter on grouping keys selects whole groups: it can run before the grouping
    filter_targets=lambda c, cols, ins: [0] if c.group_by and cols <= set(c.group_by) else [],
    estimate_rows=lambda c, ins, ctx: None if ins[0] is None else max(1, ins[0] // 10),
))
