"""`semantic_filter`: keep the rows for which a natural-language condition holds.

Rule filters (`filter` steps) on input columns placed after it move below it (the
optimizer's filter pushdown through this step's filter_targets), so cheap rules cut the rows
before the LLM sees them. Optional cascade: a cheap proxy model decides the confident rows
and only the uncertain ones go to the main model."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.llm_process import (
    LLMOptions,
    Tier,
    call_llm,
    check_template,
    row_payloads,
    rowwise_filter_targets,
    template_fields,
    usage_report,
)
from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)

SCHEMA = {"type": "object",
          "properties": {"holds": {"type": "boolean"},
                         "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
          "required": ["holds", "confidence"], "additionalProperties": False}


class Cascade(StepConfig):
    proxy_tier: Tier = "cheap"
    proxy_model: str | None = None
    threshold: float = Field(0.9, ge=0, le=1, description="proxy confidence that decides")


class SemanticFilterConfig(LLMOptions):
    condition: str = Field(min_length=3, description="e.g. 'the review complains about"
                           " delivery'")
    prompt: str | None = Field(None, description="template over row fields")
    input_columns: list[str] | None = None
    on_error: Literal["keep", "drop"] = Field("keep", description="rows the LLM could not"
                                              " judge: kept (flagged) or dropped")
    error_column: str = "_llm_error"
    cascade: Cascade | None = None

    @field_validator("prompt")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        return check_template(v) if v else v


def _instruction(config: SemanticFilterConfig) -> str:
    return (f"Decide whether this condition holds for the row: {config.condition}. Give"
            " holds=true or false and your confidence between 0 and 1.")


def run(inputs: list[pd.DataFrame], config: SemanticFilterConfig,
        ctx: StepContext) -> StepResult:
    frame = inputs[0]
    for c in (config.input_columns or []) + template_fields(config.prompt or ""):
        if c not in frame.columns:
            raise StepInputError(f"semantic_filter: unknown column '{c}'",
                                 fix=f"use one of {', '.join(map(str, frame.columns))}")
    rows = row_payloads(frame, config.prompt, config.input_columns)
    decisions: list[dict[str, Any]] = [{} for _ in rows]
    report: dict[str, Any] = {"rows_in": len(frame)}
    todo = list(range(len(rows)))
    if config.cascade is not None and rows:
        proxy_opts = LLMOptions(tier=config.cascade.proxy_tier, model=config.cascade.proxy_model,
                                max_cost_usd=config.max_cost_usd)
        proxy = call_llm(ctx, rows, _instruction(config), SCHEMA, proxy_opts)
        todo = []
        for i, r in enumerate(proxy.results):
            if "_error" not in r and r["confidence"] >= config.cascade.threshold:
                decisions[i] = r
            else:
                todo.append(i)
        report["cascade"] = {"proxy_decided": len(rows) - len(todo), "escalated": len(todo),
                             "proxy_llm": usage_report(proxy.usage)}
    if todo:
        main = call_llm(ctx, [rows[i] for i in todo], _instruction(config), SCHEMA, config)
        for i, r in zip(todo, main.results, strict=True):
            decisions[i] = r
        report["llm"] = usage_report(main.usage)
    errors = [d.get("_error") for d in decisions]
    keep = [bool(d.get("holds")) if e is None else config.on_error == "keep"
            for d, e in zip(decisions, errors, strict=True)]
    out = frame.copy()
    out[config.error_column] = errors
    out = out.loc[keep].reset_index(drop=True)
    report.update({"rows_out": len(out), "rows_removed": len(frame) - len(out),
                   "row_errors": sum(e is not None for e in errors)})
    return StepResult(out, report)


def _infer(config: SemanticFilterConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    check_known(config.input_columns or [], inputs[0], "input_columns")
    check_known(template_fields(config.prompt or ""), inputs[0], "prompt")
    return None if inputs[0] is None else [*inputs[0], config.error_column]


register(StepType(
    name="semantic_filter", kind="transform", config_model=SemanticFilterConfig, run=run,
    description="Keep rows for which a natural-language condition holds (LLM).",
    kinds=("pandas", "llm"), infer_columns=_infer,
    filter_targets=rowwise_filter_targets(lambda c: [c.error_column]),
    estimate_rows=lambda config, ins, ctx: None if ins[0] is None else max(1, ins[0] // 2),
    uses_llm=True,
))
