"""`llm_process`: one LLM call per row (batched by the LLM resource) in five modes:
enrich (add named fields), classify (fixed labels, with confidence), summarize, translate,
extract (fields from text into columns). Prompts are templates over row fields with a safe
`{column}` substitution (no eval, no str.format); `{{`/`}}` are literal braces.

Vision: `image_column` names a column of image references (a file path, s3:// object,
http(s) URL, data: URI or a PDF page `report.pdf#page=3`); each row's image is sent with its
prompt as an image part (chart -> data points, scanned table -> rows, photo -> caption). It
needs a vision-capable provider chain (ProviderSpec.vision). Image rows go one per request,
are cached by prompt + image bytes, and are accounted like any call; the report estimates
their image tokens (see datasetgen_assets.vision.image_tokens)."""

from __future__ import annotations

import os
import re
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from datasetgen_assets import vision
from datasetgen_assets.errors import DatasetGenError, StepInputError
from datasetgen_assets.steps.registry import (
    Columns,
    EnvVarName,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)
from datasetgen_resources.llm.providers import PRESETS, ProviderSpec

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
             schema: dict[str, Any], opts: LLMOptions,
             images: list[list[str]] | None = None) -> Any:
    from datasetgen_resources.llm.client import LLMBudgetExceeded

    client = get_client(ctx)
    try:
        return client.structured(rows, instruction, schema, tier=opts.tier, model=opts.model,
                                 step=f"{ctx.pipeline}/{ctx.step_id}",
                                 max_cost_usd=opts.max_cost_usd,
                                 **({"images": images} if images is not None else {}))
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
    image_column: str | None = Field(None, description="vision: a column of image paths,"
                                     " s3:// or http(s) URLs, data: URIs or PDF pages"
                                     " (file.pdf#page=N); empty cells send no image")
    max_image_mb: float = Field(vision.DEFAULT_MAX_MB, gt=0, description="vision: larger"
                                " images are refused")
    max_image_side: int | None = Field(vision.DEFAULT_MAX_SIDE, ge=64, description="vision:"
                                       " PNG/JPEG images with a longer side are scaled down"
                                       " to it before sending (null: sent as they are)")
    pdf_dpi: int = Field(vision.DEFAULT_PDF_DPI, ge=36, le=600, description="vision:"
                         " resolution PDF pages are rendered at")
    pdf_password_env: EnvVarName | None = Field(None, description="vision: NAME of the"
                                                " environment variable with the password of"
                                                " encrypted PDFs")
    on_image_error: Literal["fail", "row"] = Field(
        "fail", description="vision: a missing, unsupported or too large image stops the step"
        " before any call (fail) or goes to the row's error column, the row unsent (row)")

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


class VisionUnsupportedError(DatasetGenError):
    """An image input was configured, but the LLM providers cannot take images."""


def _vision_fix() -> str:
    vis = [n for n, p in PRESETS.items() if p.get("vision")]
    return (f"use a vision-capable provider chain, e.g. DATASETGEN_LLM_PROVIDERS={vis[0]}"
            f" (vision presets: {', '.join(vis)}; a custom provider needs vision: true), or"
            " remove image_column")


def check_vision(step: str, specs: list[Any]) -> None:
    """VisionUnsupportedError unless every provider of the chain takes images (a fallback
    to a text-only model would silently answer without the image)."""
    blind = [s.name for s in specs if not getattr(s, "vision", False)]
    if blind:
        raise VisionUnsupportedError(
            f"step '{step}' sends images (image_column), but the LLM provider(s)"
            f" {', '.join(blind)} are not vision-capable. Fix: {_vision_fix()}")


def configured_chain() -> list[str]:
    """The provider chain the default LLM resource uses ($DATASETGEN_LLM_PROVIDERS, else
    local), read without Dagster for validation."""
    raw = os.environ.get("DATASETGEN_LLM_PROVIDERS") or ""
    return [p.strip() for p in raw.split(",") if p.strip()] or ["local"]


IMAGE_CHUNK_ROWS = 32  # rows whose images are held in memory at once (as data: URIs)


def load_images(frame: pd.DataFrame, config: LLMProcessConfig, ctx: StepContext,
                first_row: int = 0) -> tuple[list[list[str]], list[str | None], dict[str, Any]]:
    """Per row: the image parts to send, the image error (on_image_error=row) and a report
    (images, bytes, estimated image tokens). Identical references are read once."""
    assert config.image_column is not None
    kind = getattr((getattr(get_client(ctx), "providers", None) or [None])[0], "kind",
                   "openai")
    seen: dict[str, tuple[str, vision.ImageInfo]] = {}
    images: list[list[str]] = []
    errors: list[str | None] = []
    nbytes = tokens = 0
    for pos, value in enumerate(frame[config.image_column].tolist()):
        ref = _text(value).strip()
        if not ref:
            images.append([])
            errors.append(None)
            continue
        try:
            if ref not in seen:
                seen[ref] = vision.image_input(ref, ctx.resolve, max_mb=config.max_image_mb,
                                               pdf_dpi=config.pdf_dpi,
                                               pdf_password_env=config.pdf_password_env,
                                               max_side=config.max_image_side)
        except StepInputError as exc:
            where = f"row {first_row + pos + 1}, column '{config.image_column}'"
            if config.on_image_error == "fail":
                raise vision.ImageInputError(f"llm_process: {where}: {exc.message}",
                                             fix=exc.fix) from None
            images.append([])
            errors.append(f"image: {exc.message}")
            continue
        url, info = seen[ref]
        images.append([url])
        errors.append(None)
        nbytes += info.nbytes or 0
        tokens += vision.image_tokens(info.width, info.height, kind)
    report = {"images": sum(1 for i in images if i), "image_errors": sum(map(bool, errors)),
              "image_bytes": nbytes, "image_tokens_estimated": tokens}
    return images, errors, report


def _add_usage(total: dict[str, Any], usage: dict[str, Any]) -> None:
    for k, v in usage.items():
        if isinstance(v, int) and not isinstance(v, bool):
            total[k] = total.get(k, 0) + v
        elif isinstance(v, float):
            total[k] = round(total.get(k, 0.0) + v, 9)
        elif v or k not in total:
            total[k] = v


def run_with_images(frame: pd.DataFrame, rows: list[dict[str, Any]], instruction: str,
                    schema: dict[str, Any], config: LLMProcessConfig, ctx: StepContext
                    ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Rows with their images, IMAGE_CHUNK_ROWS at a time (memory stays bounded), under one
    max_cost_usd for the step: (results, usage, vision report)."""
    assert config.image_column is not None
    results: list[dict[str, Any]] = []
    usage: dict[str, Any] = {}
    report: dict[str, Any] = {}
    for start in range(0, len(rows), IMAGE_CHUNK_ROWS):
        part = frame.iloc[start:start + IMAGE_CHUNK_ROWS]
        images, errors, rep = load_images(part, config, ctx, start)
        _add_usage(report, rep)
        chunk: list[dict[str, Any]] = [{"_error": e} for e in errors]
        send = [i for i, e in enumerate(errors) if e is None]
        opts: LLMOptions = config
        if send and config.max_cost_usd is not None:
            left = config.max_cost_usd - float(usage.get("cost_usd", 0.0))
            if left <= 0:
                raise LLMStepError(f"LLM budget reached in step '{ctx.pipeline}/{ctx.step_id}'"
                                   f": spent ${usage.get('cost_usd', 0.0):.4f} of"
                                   f" ${config.max_cost_usd:.4f}; answers so far are cached,"
                                   " a rerun continues from there")
            opts = config.model_copy(update={"max_cost_usd": left})
        if send:
            res = call_llm(ctx, [rows[start + i] for i in send], instruction, schema, opts,
                           images=[images[i] for i in send])
            for i, r in zip(send, res.results, strict=True):
                chunk[i] = r
            _add_usage(usage, res.usage)
        results += chunk
    refs = frame[config.image_column].map(_text).str.strip()
    report["distinct_images"] = int(refs[refs != ""].nunique())
    return results, usage, report


def run(inputs: list[pd.DataFrame], config: LLMProcessConfig, ctx: StepContext) -> StepResult:
    frame = inputs[0]
    missing = [c for c in (config.input_columns or []) + template_fields(config.prompt or "")
               + ([config.image_column] if config.image_column else [])
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
    vision_report: dict[str, Any] = {}
    if config.image_column:
        check_vision(f"{ctx.pipeline}/{ctx.step_id}", get_client(ctx).providers)
        results, usage, vision_report = run_with_images(frame, rows, instruction, schema,
                                                        config, ctx)
    else:
        res = call_llm(ctx, rows, instruction, schema, config)
        results, usage = res.results, res.usage
    out = frame.copy()
    for key, col in mapping.items():
        out[col] = [r.get(key) for r in results]
    out[config.error_column] = [r.get("_error") for r in results]
    report = {"rows_in": len(frame), "rows_out": len(out), "mode": config.mode,
              "llm": usage_report(usage)}
    if vision_report:
        report["vision"] = vision_report
    return StepResult(out, report)


def _infer(config: LLMProcessConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    check_known(config.input_columns or [], inputs[0], "input_columns")
    check_known(template_fields(config.prompt or ""), inputs[0], "prompt")
    if config.image_column:
        check_known([config.image_column], inputs[0], "image_column")
        # presets say whether they take images; custom providers are checked when running
        check_vision(ctx.step_id, [ProviderSpec(name=n, **PRESETS[n])
                                   for n in configured_chain() if n in PRESETS])
    if inputs[0] is None:
        return None
    return list(inputs[0]) + config.new_columns()


def _needed(config: LLMProcessConfig, needed: set[str] | None,
            inputs: list[Columns]) -> list[set[str] | None]:
    if needed is None or (config.input_columns is None and not config.prompt):
        return [None]
    used = set(config.input_columns or []) | set(template_fields(config.prompt or ""))
    used |= {config.image_column} if config.image_column else set()
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


def _estimate(config: LLMProcessConfig, rows: int, client: Any) -> dict[str, Any]:
    """`explain` / `llm estimate`: as for any LLM step from the instruction and schema; with
    image_column every row is its own request carrying an image of unknown size, counted as
    1024x1024 (vision.image_tokens: 765 tokens on OpenAI, 1398 on Anthropic)."""
    from datasetgen_assets.commands.llm import TOKENS_PER_COLUMN

    instruction, schema, _ = task(config)
    text = "x" * (4 * TOKENS_PER_COLUMN * (len(config.input_columns or []) or 4))
    if not config.image_column:
        return client.estimate([{"input": text}] * rows, instruction, schema,
                               tier=config.tier, model=config.model)
    kind = client.providers[0].kind if client.providers else "openai"
    per_image = vision.image_tokens(None, None, kind)
    one = client.estimate([{"input": text + "x" * (4 * per_image)}], instruction, schema,
                          tier=config.tier, model=config.model)
    return {**one, "rows": rows, "requests": rows, "input_tokens": one["input_tokens"] * rows,
            "output_tokens": one["output_tokens"] * rows,
            "cost_usd": round(one["cost_usd"] * rows, 6), "image_tokens_per_row": per_image}


register(StepType(
    name="llm_process", kind="transform", config_model=LLMProcessConfig, run=run,
    description="Enrich, classify, summarize, translate or extract with an LLM, row by row.",
    kinds=("pandas", "llm"), infer_columns=_infer, needed_inputs=_needed,
    filter_targets=rowwise_filter_targets(lambda c: c.new_columns()),
    estimate_rows=lambda config, ins, ctx: ins[0], uses_llm=True, llm_estimate=_estimate,
))
