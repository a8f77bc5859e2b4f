"""`synthetic` source: rows generated from a schema (file or inline) or a shipped template,
statistically (default) or through the LLM resource, with a blocking `constraints` check."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Literal

import pandas as pd
from pydantic import ConfigDict, Field, model_validator

from datasetgen_assets.errors import PipelineValidationError, StepInputError
from datasetgen_assets.steps.registry import (
    CheckOutcome,
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    register,
)
from datasetgen_assets.synth.schema import Schema, TableSpec

CHECK = "constraints"
PII_TYPES = {"name", "email", "phone", "address"}


class SyntheticConfig(StepConfig):
    """Config of the `synthetic` step."""

    schema_: str | dict[str, Any] | None = Field(
        None, alias="schema", description="A schema file (YAML/JSON, relative to the project) "
        "or the schema inline (a mapping with `fields:` or `tables:`).")
    template: str | None = Field(None, description="Or: a shipped template (datasetgen "
                                 "templates lists them).")
    table: str | None = Field(None, description="Which table of a multi-table schema this "
                              "asset holds (same seed: keys agree across steps).")
    rows: int = Field(1000, ge=0, description="Rows of root tables (children follow their "
                      "per_parent counts).")
    seed: int = Field(0, description="Random seed: same seed, same rows.")
    generator: Literal["statistical", "llm"] = Field(
        "statistical", description="statistical (offline, vectorized) or llm (the LLM "
        "resource; every row validated, invalid rows regenerated).")
    instruction: str = Field("", description="llm: what the rows describe (domain, tone).")
    tier: str = Field("cheap", description="llm: the model tier of the LLM resource.")
    model: str | None = Field(None, description="llm: a model name (overrides the tier).")
    max_cost_usd: float | None = Field(None, gt=0, description="llm: stop before this step "
                                       "spends more (answers so far stay cached).")
    batch_size: int | None = Field(None, ge=1, le=100, description="llm: rows per request "
                                   "(default: what fits the output token limit).")
    max_rounds: int = Field(4, ge=1, le=20, description="llm: regeneration rounds for rows "
                            "that fail validation or repeat.")
    min_adherence: float = Field(100.0, ge=0, le=100, description="Constraints check: minimum "
                                 "% of rows that break no constraint or rule.")
    blocking: bool = Field(True, description="A failed constraints check stops downstream "
                           "steps.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    @model_validator(mode="after")
    def _one_source(self) -> SyntheticConfig:
        if (self.schema_ is None) == (self.template is None):
            raise ValueError("set exactly one of 'schema' (a file or an inline mapping) and "
                             "'template' (see datasetgen templates)")
        if isinstance(self.schema_, dict):
            schema_from(self, None)  # inline: validated with the pipeline
        if self.template is not None:
            from datasetgen_assets.synth.templates import template_path

            try:
                template_path(self.template)
            except StepInputError as exc:
                raise ValueError(str(exc)) from None
        return self


def schema_from(config: SyntheticConfig, ctx: StepContext | None) -> Schema:
    """The step's schema: a template, an inline mapping or a file (resolved by ctx)."""
    from datasetgen_assets.synth.templates import template_path

    if config.template is not None:
        return _load_file(str(template_path(config.template)))
    if isinstance(config.schema_, dict):
        return _inline(_freeze(config.schema_))
    assert config.schema_ is not None
    path = ctx.resolve(config.schema_) if ctx is not None else config.schema_
    return _load_file(path)


def _freeze(value: Any) -> Any:
    import json

    return json.dumps(value, default=str)  # key order kept: it is the column order


@lru_cache(maxsize=32)
def _inline(frozen: str) -> Schema:
    import json

    from datasetgen_assets.synth.schema import load_schema

    try:
        return load_schema(json.loads(frozen), file="<inline schema>")
    except PipelineValidationError as exc:
        raise ValueError("; ".join(str(e) for e in exc.errors)) from None


def _load_file(path: str) -> Schema:
    from datasetgen_assets.synth.schema import load_schema

    try:
        return load_schema(path)
    except PipelineValidationError as exc:
        raise StepInputError(f"schema {path}: " + "; ".join(str(e) for e in exc.errors),
                             fix="fix the schema file (datasetgen generate SCHEMA --dry-run "
                             "checks it)") from None


def _table(schema: Schema, config: SyntheticConfig) -> TableSpec:
    try:
        return schema.table(config.table)
    except KeyError as exc:
        raise StepInputError(f"field 'table': {exc.args[0]}",
                             fix="set `table:` to one of the schema's tables") from None


def run(inputs: list[pd.DataFrame], config: SyntheticConfig, ctx: StepContext) -> StepResult:
    """Generate the table; report rows, time, per-field summary and adherence."""
    from datasetgen_assets.synth.constraints import adherence, violations
    from datasetgen_assets.synth.generate import generate, summarize

    schema = schema_from(config, ctx)
    table = _table(schema, config)
    start = time.perf_counter()
    llm_report: dict[str, Any] | None = None
    parents: dict[str, pd.DataFrame] | None = None
    if config.generator == "llm":
        frame, llm_report = _generate_llm(schema, table, config, ctx)
    else:
        frames = generate(schema, config.rows, config.seed, [table.name])
        frame = frames[table.name]
        refs = {t for t, _ in table.references().values()}
        if refs:  # parents' key columns, to check foreign keys
            parents = generate(schema, config.rows, config.seed, sorted(refs))
    seconds = time.perf_counter() - start
    adh = adherence(frame, table, parents)
    report: dict[str, Any] = {
        "rows": len(frame), "seconds": round(seconds, 3), "generator": config.generator,
        "table": table.name, "seed": config.seed,
        "source": f"template {config.template}" if config.template else "schema",
        "fields": summarize(frame), "adherence": adh,
    }
    if llm_report is not None:
        report["llm"] = llm_report
    # fake, but shaped like personal data: masked in previews like real PII
    report["pii_columns"] = [n for n, f in table.fields.items() if f.type in PII_TYPES]
    report["markdown"] = _markdown(report)
    report["markdown_label"] = "synthetic"
    ok = adh["overall"] >= config.min_adherence
    worst = sorted((v, k) for k, v in adh["constraints"].items() if v < 100)[:5]
    desc = (f"{adh['overall']:.2f}% of rows meet every constraint (min {config.min_adherence:g}%)"
            + ("; worst: " + ", ".join(f"{k} {v:.2f}%" for v, k in worst) if worst else ""))
    sample = [v for v in violations(frame.head(2000), table, parents) if v][:5] if worst else []
    check = CheckOutcome(CHECK, ok, desc, config.blocking, {
        "adherence": adh["overall"], "min_adherence": config.min_adherence,
        "violating_rows": adh["violating_rows"], "sample_violations": sample})
    ctx.log.info("generated %s rows of %s in %.2fs (%s), adherence %.2f%%", len(frame),
                 table.name, seconds, config.generator, adh["overall"])
    return StepResult(frame, report, [check])


def _generate_llm(schema: Schema, table: TableSpec, config: SyntheticConfig,
                  ctx: StepContext) -> tuple[pd.DataFrame, dict[str, Any]]:
    from datasetgen_assets.synth.constraints import row_json_schema, violations
    from datasetgen_assets.synth.llm_generator import generate_with_llm

    if ctx.llm is None:
        raise StepInputError("generator: llm but no LLM resource is configured",
                             fix="configure the LLM resource, or use generator: statistical")
    unique = [n for n, f in table.fields.items() if f.unique]
    return generate_with_llm(
        ctx.llm, row_schema=row_json_schema(table), instruction=_instruction(schema, table,
                                                                             config),
        rows=config.rows, validate=lambda df: violations(df, table), unique=unique,
        seed=config.seed, step=ctx.step_id, batch_size=config.batch_size,
        max_rounds=config.max_rounds, max_cost_usd=config.max_cost_usd, tier=config.tier,
        model=config.model)


def _instruction(schema: Schema, table: TableSpec, config: SyntheticConfig) -> str:
    from datasetgen_assets.synth.llm_generator import table_instruction

    return table_instruction(schema, table, config.instruction)


def _markdown(report: dict[str, Any]) -> str:
    adh = report["adherence"]
    lines = [f"**{report['rows']:,} rows** of `{report['table']}` ({report['generator']}, "
             f"seed {report['seed']}) in {report['seconds']:.2f}s; constraint adherence "
             f"**{adh['overall']:.2f}%**", "", "| field | type | nulls | distinct | summary |",
             "|---|---|---|---|---|"]
    for name, info in report["fields"].items():
        if "top" in info:
            summ = ", ".join(f"{k[:20]} ({v})" for k, v in info["top"].items())
        else:
            summ = " .. ".join(str(info.get(k)) for k in ("min", "max"))
        summ = summ.replace("|", "\\|")
        lines.append(f"| {name} | {info['dtype']} | {info['nulls']} | {info['distinct']} | "
                     f"{summ} |")
    bad = {k: v for k, v in adh["constraints"].items() if v < 100}
    if bad:
        lines += ["", "Constraints below 100%: " + ", ".join(f"`{k}` {v:.2f}%"
                                                            for k, v in bad.items())]
    return "\n".join(lines)


def _infer(config: SyntheticConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    if isinstance(config.schema_, str) and not ctx.may_read(ctx.resolve(config.schema_)):
        return None
    try:
        schema = schema_from(config, ctx)
        return list(_table(schema, config).fields)
    except StepInputError:
        raise
    except (OSError, ValueError):
        return None


def _estimate(config: SyntheticConfig, inputs: list[int | None], ctx: StepContext) -> int | None:
    from datasetgen_assets.synth.generate import expected_rows

    try:
        schema = schema_from(config, ctx)
        return expected_rows(schema, _table(schema, config).name, config.rows)
    except (StepInputError, OSError, ValueError):
        return None


def _checks(config: SyntheticConfig) -> list[tuple[str, bool, str]]:
    return [(CHECK, config.blocking, f">= {config.min_adherence:g}% of rows meet every field "
             "constraint and cross-field rule of the schema")]


def _llm_estimate(config: SyntheticConfig, rows: int, client: Any) -> dict[str, Any]:
    """The LLM generator's cost estimate for `explain` / `llm estimate`."""
    from datasetgen_assets.synth.constraints import row_json_schema
    from datasetgen_assets.synth.llm_generator import estimate_llm_generation

    schema = schema_from(config, None)
    table = _table(schema, config)
    est = estimate_llm_generation(client, row_schema=row_json_schema(table),
                                  instruction=_instruction(schema, table, config),
                                  rows=rows or config.rows, batch_size=config.batch_size,
                                  tier=config.tier, model=config.model)
    return {**est, "requests": est.get("calls", est.get("requests", 0))}


register(StepType(
    name="synthetic", kind="source", config_model=SyntheticConfig, run=run,
    description="Rows generated from a schema or template (types, constraints, rules, foreign "
    "keys), statistically or by the LLM; blocking `constraints` check on adherence.",
    min_inputs=0, max_inputs=0, kinds=("synthetic", "pandas"),
    infer_columns=_infer, estimate_rows=_estimate, check_specs=_checks,
    uses_llm=lambda config: config.generator == "llm",
    llm_estimate=_llm_estimate,
))
