"""`llm_validate`: flag rows with semantic problems (contradictions, nonsense values) that
rule checks cannot see. Every row is kept; flags and reasons are columns, and the flagged
fraction is an asset check the quality gate can block on."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import Field, field_validator

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.llm_process import (
    LLMOptions,
    call_llm,
    check_template,
    row_payloads,
    template_fields,
    usage_report,
)
from datasetgen_assets.steps.registry import (
    CheckOutcome,
    Columns,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)

CHECK = "llm_semantic_validity"
SCHEMA = {"type": "object",
          "properties": {"valid": {"type": "boolean"},
                         "problems": {"type": "array", "items": {"type": "string"},
                                      "maxItems": 5}},
          "required": ["valid", "problems"], "additionalProperties": False}


class LLMValidateConfig(LLMOptions):
    rules: str = Field("", description="what a sensible row looks like, in words")
    prompt: str | None = None
    input_columns: list[str] | None = None
    max_flagged_fraction: float = Field(0.0, ge=0, le=1, description="the check fails above")
    blocking: bool = Field(False, description="a failing check stops downstream steps")
    flag_column: str = "_llm_flagged"
    problems_column: str = "_llm_problems"
    error_column: str = "_llm_error"

    @field_validator("prompt")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        return check_template(v) if v else v


def run(inputs: list[pd.DataFrame], config: LLMValidateConfig, ctx: StepContext) -> StepResult:
    frame = inputs[0]
    for c in (config.input_columns or []) + template_fields(config.prompt or ""):
        if c not in frame.columns:
            raise StepInputError(f"llm_validate: unknown column '{c}'",
                                 fix=f"use one of {', '.join(map(str, frame.columns))}")
    rules = f" Rules: {config.rules}" if config.rules else ""
    instruction = ("Check the row for semantic problems: contradictions between fields,"
                   " impossible or nonsense values. valid=false with short problem notes when"
                   f" there are any.{rules}")
    res = call_llm(ctx, row_payloads(frame, config.prompt, config.input_columns), instruction,
                   SCHEMA, config)
    flagged: list[bool | None] = []
    problems: list[str | None] = []
    for r in res.results:
        if "_error" in r:
            flagged.append(None)
            problems.append(None)
        else:
            bad = (not r["valid"]) or bool(r["problems"])
            flagged.append(bad)
            problems.append("; ".join(r["problems"]) if r["problems"] else None)
    out = frame.copy()
    out[config.flag_column] = pd.array(flagged, dtype="boolean")
    out[config.problems_column] = problems
    out[config.error_column] = [r.get("_error") for r in res.results]
    checked = sum(f is not None for f in flagged)
    n_flagged = sum(bool(f) for f in flagged)
    fraction = n_flagged / checked if checked else 0.0
    unchecked = len(flagged) - checked
    passed = fraction <= config.max_flagged_fraction and unchecked == 0
    examples: list[dict[str, Any]] = [
        {"row": i, "problems": p} for i, (f, p) in enumerate(zip(flagged, problems, strict=True))
        if f][:10]
    check = CheckOutcome(
        name=CHECK, passed=passed, blocking=config.blocking,
        description=f"{n_flagged} of {checked} checked rows flagged ({fraction:.1%}, limit"
                    f" {config.max_flagged_fraction:.1%}); {unchecked} rows not checked",
        metadata={"flagged": n_flagged, "checked": checked, "unchecked": unchecked,
                  "flagged_fraction": round(fraction, 4), "examples": examples})
    report = {"rows_in": len(frame), "rows_out": len(out), "flagged": n_flagged,
              "unchecked": unchecked, "llm": usage_report(res.usage)}
    return StepResult(out, report, [check])


def _infer(config: LLMValidateConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    check_known(config.input_columns or [], inputs[0], "input_columns")
    check_known(template_fields(config.prompt or ""), inputs[0], "prompt")
    if inputs[0] is None:
        return None
    return [*inputs[0], config.flag_column, config.problems_column, config.error_column]


register(StepType(
    name="llm_validate", kind="validation", config_model=LLMValidateConfig, run=run,
    description="Flag rows with semantic problems (LLM); an asset check on the flagged share.",
    kinds=("pandas", "llm"), infer_columns=_infer,
    check_specs=lambda c: [(CHECK, c.blocking, "Share of rows the LLM flags as semantically"
                            " wrong stays under max_flagged_fraction.")],
    estimate_rows=lambda config, ins, ctx: ins[0], uses_llm=True,
))
