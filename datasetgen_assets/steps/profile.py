"""`profile` transform: its input unchanged; its report is the input's profile (semantic types,
stats, keys, foreign keys into further inputs, issues), and the JSON schema document is saved
beside the data as `<data dir>/<pipeline>/<step>.schema.json`."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import Field

from datasetgen_assets.profiling import (
    ProfileOptions,
    column_schema,
    markdown,
    profile_frame,
    profile_url,
    save_profile,
)
from datasetgen_assets.steps.registry import (
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    passthrough_columns,
    register,
)

MAX_INLINE_COLUMNS = 500


class ProfileConfig(ProfileOptions, StepConfig):
    """Config of the `profile` step: the profiling options plus what to do with the result."""

    llm_descriptions: bool = Field(
        False, description="Describe columns and suggest transformations through the LLM "
        "resource (cached and costed there); rule-based descriptions otherwise.",
    )
    save_schema: bool = Field(True, description="Write the JSON schema document beside the data.")
    reference_names: list[str] | None = Field(
        None, description="Names of the further inputs (foreign keys point at them); "
        "default input_2, input_3, ...",
    )


def run(inputs: list[pd.DataFrame], config: ProfileConfig, ctx: StepContext) -> StepResult:
    """Profile the first input; the others are references for foreign keys."""
    frame = inputs[0]
    names = list(config.reference_names or [])
    refs = {(names[i - 1] if i - 1 < len(names) else f"input_{i + 1}"): df
            for i, df in enumerate(inputs) if i > 0}
    options = ProfileOptions(**config.model_dump(include=set(ProfileOptions.model_fields)))
    llm = ctx.llm if config.llm_descriptions else None
    profile = profile_frame(frame, name=ctx.step_id, options=options, references=refs or None,
                            llm=llm)
    if config.llm_descriptions and ctx.llm is None:
        ctx.log.warning("llm_descriptions is on but no LLM is configured: rule-based "
                        "descriptions")
    report: dict[str, Any] = {
        "rows": profile.row_count,
        "columns": profile.column_count,
        "semantic_types": {c.name: c.semantic_type for c in profile.columns},
        "pii_columns": profile.pii_columns,
        "primary_keys": profile.primary_keys,
        "foreign_keys": [fk.model_dump() for fk in profile.foreign_keys],
        "issues": len(profile.issues),
        "descriptions": profile.descriptions,
        "sampled": f"type inference and patterns on up to {options.sample_size:,} distinct "
                   "values per column; counts, nulls, uniques and stats are exact",
        "markdown": markdown(profile),
        "markdown_label": "profile",
        "column_schema": column_schema(profile),
    }
    if profile.column_count <= MAX_INLINE_COLUMNS:  # wider: only in the schema document
        report["profile"] = profile.model_dump(mode="json", exclude_none=True)
    if profile.llm_usage is not None:
        report["llm_usage"] = profile.llm_usage
    if config.save_schema:
        report["schema_path"] = save_profile(profile, profile_url(ctx.pipeline, ctx.step_id,
                                                                  ctx.partition_key))
    ctx.log.info("profiled %s rows x %s columns in %.2fs", profile.row_count,
                 profile.column_count, profile.seconds or 0.0)
    return StepResult(frame, report)


def _estimate(config: ProfileConfig, inputs: list[int | None], ctx: StepContext) -> int | None:
    return inputs[0] if inputs else None


register(
    StepType(
        name="profile",
        kind="transform",
        config_model=ProfileConfig,
        run=run,
        description="Profile the input (semantic types, stats, keys, PII, issues); output "
        "unchanged, JSON schema saved beside the data. Further inputs: foreign-key targets.",
        min_inputs=1,
        max_inputs=None,
        infer_columns=lambda config, inputs, ctx: passthrough_columns(config, inputs[:1], ctx),
        estimate_rows=_estimate,
        uses_llm=True,
    )
)
