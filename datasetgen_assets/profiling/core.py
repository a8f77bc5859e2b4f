"""Profiling one or several DataFrames: per column, then dataset facts, then descriptions."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from datasetgen_assets.profiling.dataset import (
    candidate_keys,
    code_hash,
    duplicate_rows,
    foreign_keys,
)
from datasetgen_assets.profiling.options import ProfileOptions
from datasetgen_assets.profiling.report import (
    RULE_BASED,
    llm_enrich,
    rule_description,
    rule_suggestions,
)
from datasetgen_assets.profiling.schema import DatasetProfile, Issue
from datasetgen_assets.profiling.stats import (
    distinct,
    normalize,
    profile_column,
    profile_numbers,
)


def _options(options: ProfileOptions | dict[str, Any] | None) -> ProfileOptions:
    if options is None:
        return ProfileOptions()
    return options if isinstance(options, ProfileOptions) else ProfileOptions(**options)


def column_names(df: pd.DataFrame) -> list[str]:
    """Column names as unique strings ('a', 'a.1' for a repeated 'a')."""
    seen: dict[str, int] = {}
    out = []
    for col in df.columns:
        name = str(col)
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def profile_frame(df: pd.DataFrame, *, name: str | None = None,
                  options: ProfileOptions | dict[str, Any] | None = None,
                  references: dict[str, pd.DataFrame] | None = None,
                  llm: Any = None) -> DatasetProfile:
    """The profile of `df`. `references`: other datasets (by name) to find foreign keys into;
    `llm`: a client with `structured(...)` for descriptions (rule-based when None)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"profile_frame needs a pandas DataFrame, got {type(df).__name__}")
    opts = _options(options)
    started = time.perf_counter()
    rng = np.random.default_rng(opts.seed)
    names = column_names(df)
    n = len(df)
    profile = DatasetProfile(name=name or "dataset", row_count=n, column_count=df.shape[1],
                             null_tokens=list(opts.null_tokens))
    hashes: list[np.ndarray] = []
    issues: list[Issue] = []
    for i, (col_name, (_, raw)) in enumerate(zip(names, df.items(), strict=True)):
        if isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "iuf":
            col, col_issues, codes = profile_numbers(raw.to_numpy(), col_name, str(raw.dtype))
        else:
            s = normalize(raw)
            codes, vc = distinct(s)
            col, col_issues, _ = profile_column(s, col_name, opts, rng, vc=vc,
                                                physical=str(raw.dtype))
        hashes.append(code_hash(codes, i))
        col.description = rule_description(col)
        profile.columns.append(col)
        issues += col_issues
    profile.inference_sample_rows = min(opts.sample_size, n)
    profile.duplicate_rows = duplicate_rows(hashes, n)
    if profile.duplicate_rows:
        issues.insert(0, Issue(kind="duplicate_rows", count=profile.duplicate_rows,
                               detail=f"{profile.duplicate_rows} rows repeat an earlier row"))
    if len(names) != len(set(map(str, df.columns))):
        issues.insert(0, Issue(kind="mixed_types", detail="repeated column names were "
                               "suffixed (.1, .2, ...) in the profile"))
    profile.primary_keys = candidate_keys(profile.columns, hashes, n, opts.max_key_columns)
    profile.issues = issues
    if references:
        others = {ref: (ref_df, profile_frame(ref_df, name=ref, options=opts))
                  for ref, ref_df in references.items()}
        renamed = df.set_axis(names, axis=1)
        profile.foreign_keys = foreign_keys(profile, renamed, others, opts.fk_min_inclusion)
    profile.suggested_transformations = rule_suggestions(profile)
    profile.descriptions = RULE_BASED
    if llm is not None:
        try:
            llm_enrich(profile, llm)
        except Exception as exc:  # a failed LLM call never fails the profile
            profile.descriptions = f"rule-based (LLM call failed: {type(exc).__name__}: {exc})"
    profile.seconds = round(time.perf_counter() - started, 3)
    return profile


def profile_datasets(frames: dict[str, pd.DataFrame], *,
                     options: ProfileOptions | dict[str, Any] | None = None,
                     llm: Any = None) -> dict[str, DatasetProfile]:
    """Profiles of several datasets with foreign keys between them."""
    opts = _options(options)
    profiles = {n: profile_frame(df, name=n, options=opts, llm=llm) for n, df in frames.items()}
    for n, df in frames.items():
        others = {o: (frames[o], profiles[o]) for o in frames if o != n}
        renamed = df.set_axis(column_names(df), axis=1)
        profiles[n].foreign_keys = foreign_keys(profiles[n], renamed, others,
                                                opts.fk_min_inclusion)
        profiles[n].suggested_transformations = (
            profiles[n].suggested_transformations if profiles[n].descriptions != RULE_BASED
            else rule_suggestions(profiles[n]))
    return profiles
