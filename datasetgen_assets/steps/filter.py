"""`filter`: keep the rows where a condition holds (whitelist grammar, never eval)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import Field, field_validator

from datasetgen_assets.pipeline.condition import check_columns, evaluate, parse_condition
from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    register,
)


class FilterConfig(StepConfig):
    condition: str = Field(
        description="Rows to keep, e.g. \"status in ('paid', 'shipped') and amount > 10\"."
        " Comparisons, and/or/not, in, between, is null, like, matches (regex)."
    )

    @field_validator("condition")
    @classmethod
    def _parses(cls, v: str) -> str:
        parse_condition(v)  # ConditionSyntaxError (a ValueError) shows the position
        return v


def apply_conditions(frame: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """Rows of `frame` passing every condition, index reset."""
    if not conditions:
        return frame
    mask = pd.Series(True, index=frame.index)
    for text in conditions:
        mask &= evaluate(parse_condition(text), frame)
    return frame.loc[mask].reset_index(drop=True)


def run(inputs: list[pd.DataFrame], config: FilterConfig, ctx: StepContext) -> StepResult:
    frame = inputs[0]
    out = apply_conditions(frame, [config.condition])
    return StepResult(out, {"rows_in": len(frame), "rows_out": len(out),
                            "rows_removed": len(frame) - len(out)})


def _infer(config: FilterConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    check_columns(parse_condition(config.condition), inputs[0], "condition")
    return inputs[0]


def _needed(config: FilterConfig, needed: set[str] | None, inputs: list[Columns]) -> list[Any]:
    if needed is None:
        return [None]
    return [needed | set(parse_condition(config.condition).columns)]


register(StepType(
    name="filter", kind="transform", config_model=FilterConfig, run=run,
    description="Keep the rows where a condition holds.",
    infer_columns=_infer, needed_inputs=_needed,
    filter_targets=lambda config, cols, inputs: [0],
    estimate_rows=lambda config, ins, ctx: None if ins[0] is None else max(1, ins[0] // 4),
))
