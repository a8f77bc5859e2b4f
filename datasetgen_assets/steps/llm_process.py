"""`llm_process`: one LLM call per row (batched by the LLM resource) in five modes:
enrich (add named fields), classify (fixed labels, with confidence), summarize, translate,
extract (fields from text into columns). Prompts are templates over row fields with a safe
`{column}` substitution (no eval, no str.format); `{{`/`}}` are literal braces."""

from __future__ import annotations

import re
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from datasetgen_assets.errors import DatasetGenError, StepInputError
from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)

Tier = Literal["cheap", "standard", "best"]
FieldType = Literal["string", "integer", "number", "boolean"]
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .-]*$")


class LLMStepError(DatasetGenError):
    """An LLM step could not finish (budget reached, no provider)."""


# ---- shared by the LLM steps -------------------------------------------------------------
class LLMOptions(StepConfig):
    """Routing and budget fields every LLM step has."""

    tier: Tier = Field("cheap", description="cheap | standard | best (mapped to a model"
                       " per provider by the LLM resource)")
    model: str | None = Field(None, description="a model name instead of a tier")
    max_cost_usd: float | None = Field(None, gt=0, description="stop before spending more")


def template_fields(template: str) -> list[str]:
    """Column names a `{column}` template refers to."""
    out = []
    for m in _PLACEHOLDER.finditer(template):
        name = m.group(1)
        if name is not None:
            out.append(name.strip())
    return out


def check_template(template: str) -> str:
    for name in template_fields(template):
        if not _NAME.match(name):
            raise ValueError(f"'{{{name}}}' is not a column placeholder: use {{column}} (a"
                             " column name only, no expressions or attributes); write {{ and"
                             " }} for literal braces")
    return template


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def render(template: str, row: dict[str, Any]) -> str:
    """Substitute {column} with the row's value (missing/NA -> empty); nothing else."""
    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "{{":
            return "{"
        if tok == "}}":
            return "}"
        return _text(row.get(m.group(1).strip()))
    return _PLACEHOLDER.sub(sub, template)


def jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if v is None or (not isinstance(v, list | dict) and pd.isna(v)):
            out[str(k)] = None
        elif isinstance(v, int | float | bool | str):
            out[str(k)] = v
        elif hasattr(v, "item"):
            out[str(k)] = v.item()
        else:
            out[str(k)] = str(v)
    return out


def row_payloads(frame: pd.DataFrame, prompt: str | None,
                 columns: list[str] | None) -> list[dict[str, Any]]:
    """What the LLM sees per row: the rendered prompt, or the chosen columns."""
    records = frame.to_dict(orient="records")
    if prompt:
        return [{"input": render(prompt, r)} for r in records]
    cols = columns or [str(c) for c in frame.columns]
    return [jsonable_row({c: r.get(c) for c in cols}) for r in records]


def get_client(ctx: StepContext) -> Any:
    """ctx.llm (set by the asset factory), else the default resource's client (plain
    Python use: tests, `run_plan`)."""
    if ctx.llm is not None:
        return ctx.llm
    from datasetgen_resources.llm.resource import LLMResource

    return LLMResource().get_client().child()


def call_llm(ctx: StepContext, rows: list[dict[str, Any]], instruction: str,
             schema: dict[str, Any], opts: LLMOptions) -> Any:
    from datasetgen_resources.llm.client import LLMBudgetExceeded

    client = get_client(ctx)
    try:
        return client.structured(rows, instruction, schema, tier=opts.tier, model=opts.model,
                                 step=f"{ctx.pipeline}/{ctx.step_id}",
                                 max_cost_usd=opts.max_cost_usd)
    except LLMBudgetExceeded as exc:
        raise LLMStepError(str(exc)) from None


def usage_report(usage: dict[str, Any]) -> dict[str, Any]:
    keep = ("calls", "cache_hits", "input_tokens", "output_tokens", "cost_usd",
            "virtual_cost_usd", "provider", "model", "row_errors", "reasks",
            "single_row_fallbacks", "provider_fallbacks", "quality_note")
    return {k: usage[k] for k in keep if k in usage}


# ---- llm_process ---------------------------------------------------------------------------
class FieldSpec(StepConfig):
    type: FieldType = "string"
    description: str = ""
    enum: list[str] | None = None


class LLMProcessConfig(LLMOptions):
    mode: Literal["enrich", "classify", "summarize", "translate", "extract"]
    prompt: str | None = Field(None, description="template over row fields, e.g."
                               " 'Product: {title}. {description}'")
    input_columns: list[str] | None = Field(None, description="columns sent when there is no"
                                            " prompt (default: all)")
    instruction: str = Field("", description="extra guidance for the model")
    fields: dict[str, FieldSpec | FieldType | str] = Field(
        default_factory=dict, description="enrich/extract: new column -> type or description")
    labels: list[str] = Field(default_factory=list, description="classify: allowed labels")
    output_column: str | None = Field(None, description="classify/summarize/translate: the"
                                      " new column (default label/summary/translation)")
    target_language: str | None = Field(None, description="translate: e.g. French")
    max_words: int = Field(40, gt=0, description="summarize: length limit")
    error_column: str = Field("_llm_error", description="rows that failed: the reason")

    @field_validator("prompt")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        return check_template(v) if v else v

    @model_validator(mode="after")
    def _mode_fields(self) -> LLMProcessConfig:
        if self.mode in {"enrich", "extract"} and not self.fields:
            raise ValueError(f"mode '{self.mode}' needs `fields` (new column -> type)")
        if self.mode == "classify" and len(self.labels) < 2:
            raise ValueError("mode 'classify' needs at least two `labels`")
        if self.mode == "translate" and not self.target_language:
            raise ValueError("mode 'translate' needs `target_language`")
        return self

    def field_specs(self) -> dict[str, FieldSpec]:
        out = {}
        for name, spec in self.fields.items():
            if isinstance(spec, FieldSpec):
                out[name] = spec
            elif spec in {"string", "integer", "number", "boolean"}:
                out[name] = FieldSpec(type=spec)  # type: ignore[arg-type]
            else:
                out[name] = FieldSpec(description=str(spec))
        return out

    def out_column(self) -> str:
        return self.output_column or {"classify": "label", "summarize": "summary",
                                      "translate": "translation"}.get(self.mode, "")

    def new_columns(self) -> list[str]:
        if self.mode in {"enrich", "extract"}:
            cols = list(self.fields)
        elif self.mode == "classify":
            cols = [self.out_column(), f"{self.out_column()}_confidence"]
        else:
            cols = [self.out_column()]
        return [*cols, self.error_column]


def task(config: LLMProcessConfig) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(instruction, output JSON schema, schema property -> output column)."""
    extra = f" {config.instruction}" if config.instruction else ""
    props: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    if config.mode in {"enrich", "extract"}:
        for i, (name, spec) in enumerate(config.field_specs().items()):
            key = f"f{i}" if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else name
            prop: dict[str, Any] = {"type": spec.type}
            if spec.description:
                prop["description"] = spec.description
            if spec.enum:
                prop["enum"] = spec.enum
            if config.mode == "extract":
                prop = {"anyOf": [prop, {"type": "null"}]} | (
                    {"description": spec.description} if spec.description else {})
            props[key] = prop
            mapping[key] = name
        names = ", ".join(f"{n} ({s.description or s.type})"
                          for n, s in config.field_specs().items())
        instruction = (f"Add these fields: {names}." if config.mode == "enrich" else
                       f"Extract these fields from the text: {names}. Use null when the text"
                       " does not say.")
    elif config.mode == "classify":
        props = {"label": {"type": "string", "enum": config.labels},
                 "confidence": {"type": "number", "minimum": 0, "maximum": 1}}
        mapping = {"label": config.out_column(),
                   "confidence": f"{config.out_column()}_confidence"}
        instruction = (f"Classify into exactly one of: {', '.join(config.labels)}; give your"
                       " confidence between 0 and 1.")
    elif config.mode == "summarize":
        props = {"summary": {"type": "string"}}
        mapping = {"summary": config.out_column()}
        instruction = f"Summarize in at most {config.max_words} words."
    else:
        props = {"translation": {"type": "string"}}
        mapping = {"translation": config.out_column()}
        instruction = (f"Translate the text into {config.target_language}; keep names and"
                       " numbers.")
    schema = {"type": "object", "properties": props, "required": list(props),
              "additionalProperties": False}
    return instruction + extra, schema, mapping


def run(inputs: list[pd.DataFrame], config: LLMProcessConfig, ctx: StepContext) -> StepResult:
    frame = inputs[0]
    missing = [c for c in (config.input_columns or []) + template_fields(config.prompt or "")
               if c not in frame.columns]
    if missing:
        raise StepInputError(f"llm_process: unknown column '{missing[0]}'",
                             fix=f"use one of {', '.join(map(str, frame.columns))}")
    clash = [c for c in config.new_columns() if c in frame.columns]
    if clash:
        raise StepInputError(f"llm_process: the new column '{clash[0]}' already exists",
                             fix="rename it with output_column / fields / error_column")
    instruction, schema, mapping = task(config)
    rows = row_payloads(frame, config.prompt, config.input_columns)
    res = call_llm(ctx, rows, instruction, schema, config)
    out = frame.copy()
    for key, col in mapping.items():
        out[col] = [r.get(key) for r in res.results]
    out[config.error_column] = [r.get("_error") for r in res.results]
    report = {"rows_in": len(frame), "rows_out": len(out), "mode": config.mode,
              "llm": usage_report(res.usage)}
    return StepResult(out, report)


def _infer(config: LLMProcessConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    check_known(config.input_columns or [], inputs[0], "input_columns")
    check_known(template_fields(config.prompt or ""), inputs[0], "prompt")
    if inputs[0] is None:
        return None
    return list(inputs[0]) + config.new_columns()


def _needed(config: LLMProcessConfig, needed: set[str] | None,
            inputs: list[Columns]) -> list[set[str] | None]:
    if needed is None or (config.input_columns is None and not config.prompt):
        return [None]
    used = set(config.input_columns or []) | set(template_fields(config.prompt or ""))
    return [(needed - set(config.new_columns())) | used]


def rowwise_filter_targets(new_columns: list[str]) -> Any:
    """A filter on input columns commutes with a row-wise LLM step: the optimizer moves it
    below (cheap rule filters run before the LLM sees the rows)."""
    def targets(config: Any, cols: frozenset[str], inputs: list[Columns]) -> list[int]:
        wanted = set(cols)
        if inputs and inputs[0] is not None and wanted <= set(inputs[0]) \
                and not wanted & set(new_columns(config)):
            return [0]
        return []
    return targets


register(StepType(
    name="llm_process", kind="transform", config_model=LLMProcessConfig, run=run,
    description="Enrich, classify, summarize, translate or extract with an LLM, row by row.",
    kinds=("pandas", "llm"), infer_columns=_infer, needed_inputs=_needed,
    filter_targets=rowwise_filter_targets(lambda c: c.new_columns()),
    estimate_rows=lambda config, ins, ctx: ins[0], uses_llm=True,
))
