"""`select`: keep or drop columns, cast types, rename."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from datasetgen_assets.errors import StepInputError, UnknownColumnError
from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)

CastType = Literal["int", "float", "str", "bool", "datetime", "date", "category"]


class SelectConfig(StepConfig):
    columns: list[str] | None = Field(None, description="Keep only these, in this order.")
    drop: list[str] = Field(default_factory=list, description="Columns to remove.")
    cast: dict[str, CastType] = Field(default_factory=dict, description="Column -> type.")
    rename: dict[str, str] = Field(default_factory=dict, description="Old name -> new name.")


def _cast(series: pd.Series, to: CastType) -> pd.Series:
    if to == "int":
        return pd.to_numeric(series, errors="raise").astype("Int64")
    if to == "float":
        return pd.to_numeric(series, errors="raise").astype("Float64")
    if to == "str":
        return series.astype("string")
    if to == "bool":
        mapping = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False,
                   "y": True, "n": False, "t": True, "f": False}
        lowered = series.astype("string").str.strip().str.lower()
        bad = lowered.notna() & ~lowered.isin(list(mapping))
        if bad.any():
            raise ValueError(f"not a boolean: {series[bad].iloc[0]!r}")
        return lowered.map(mapping).astype("boolean")
    if to in ("datetime", "date"):
        out = pd.to_datetime(series, errors="raise")
        return out.dt.normalize() if to == "date" else out
    return series.astype("category")


def run(inputs: list[pd.DataFrame], config: SelectConfig, ctx: StepContext) -> StepResult:
    frame = inputs[0]
    for field_name, cols in (("columns", config.columns or []), ("drop", config.drop),
                             ("cast", list(config.cast)), ("rename", list(config.rename))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise UnknownColumnError(missing[0], frame.columns, field=field_name)
    out = frame[config.columns] if config.columns is not None else frame
    out = out.drop(columns=config.drop)
    if config.cast:
        out = out.copy()
        for col, to in config.cast.items():
            try:
                out[col] = _cast(out[col], to)
            except (ValueError, TypeError) as exc:
                raise StepInputError(
                    f"cannot cast column '{col}' to {to}: {exc}",
                    fix="clean the column first (data_cleaning) or choose another type",
                ) from None
    out = out.rename(columns=config.rename)
    return StepResult(out.reset_index(drop=True), {"columns": list(out.columns)})


def _infer(config: SelectConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    known = inputs[0]
    if config.columns is not None:
        check_known(config.columns, known, "columns")
        known = list(config.columns)
    if known is None:
        return None
    check_known(config.drop, known, "drop")
    check_known(list(config.cast), known, "cast")
    check_known(list(config.rename), known, "rename")
    out = [config.rename.get(c, c) for c in known if c not in config.drop]
    if len(set(out)) != len(out):
        dup = next(c for c in out if out.count(c) > 1)
        raise StepInputError(f"config.rename: two columns would be named '{dup}'",
                             fix="rename one of them to another name")
    return out


def _needed(config: SelectConfig, needed: set[str] | None, inputs: list[Columns]):
    if needed is None:
        return [set(config.columns) if config.columns is not None else None]
    back = {v: k for k, v in config.rename.items()}
    named = set(config.columns or []) | set(config.drop) | set(config.cast) | set(config.rename)
    return [{back.get(c, c) for c in needed} | named]  # every named column must exist


def _targets(config: SelectConfig, cols: frozenset[str], inputs: list[Columns]) -> list[int]:
    touched = set(config.rename.values()) | set(config.rename) | set(config.cast)
    return [] if cols & touched else [0]


register(StepType(
    name="select", kind="transform", config_model=SelectConfig, run=run,
    description="Keep, drop, cast and rename columns.",
    infer_columns=_infer, needed_inputs=_needed, filter_targets=_targets,
    estimate_rows=lambda c, ins, ctx: ins[0],
))
