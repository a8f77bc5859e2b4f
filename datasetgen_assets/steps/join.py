"""`join`: combine two or more inputs on key columns (inner, left, right, outer)."""

from __future__ import annotations

from functools import reduce
from typing import Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)


class JoinConfig(StepConfig):
    how: Literal["inner", "left", "right", "outer"] = Field(
        "inner", description="Join type; inputs are joined left to right in depends_on order."
    )
    on: list[str] = Field(default_factory=list, description="Key columns present in every input.")
    left_on: list[str] = Field(default_factory=list, description="Keys of the left input.")
    right_on: list[str] = Field(default_factory=list, description="Keys of the right input.")
    suffixes: tuple[str, str] = Field(
        ("", "_right"), description="Added to clashing non-key column names (left, right)."
    )
    validate_keys: Literal["one_to_one", "one_to_many", "many_to_one", "many_to_many"] | None = (
        Field(None, description="Fail when keys are not unique as stated.")
    )

    @field_validator("on", "left_on", "right_on", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _keys(self) -> JoinConfig:
        if bool(self.left_on) != bool(self.right_on) or len(self.left_on) != len(self.right_on):
            raise ValueError("left_on and right_on must be given together, with equal lengths")
        if not self.on and not self.left_on:
            raise ValueError("give the key columns in 'on' (or 'left_on' and 'right_on')")
        if self.on and self.left_on:
            raise ValueError("use either 'on' or 'left_on'/'right_on', not both")
        if self.suffixes[0] == self.suffixes[1]:
            raise ValueError("the two suffixes must differ")
        return self


def _pair_keys(config: JoinConfig, i: int) -> tuple[list[str], list[str]]:
    if config.on:
        return config.on, config.on
    if i != 1:
        raise StepInputError("left_on/right_on join exactly two inputs", fix="use 'on' for more")
    return config.left_on, config.right_on


def merged_columns(left: list[str], right: list[str], lkeys: list[str], rkeys: list[str],
                   suffixes: tuple[str, str]) -> list[str]:
    """The column names pandas.merge gives (same-named keys appear once)."""
    shared_keys = {lk for lk, rk in zip(lkeys, rkeys, strict=True) if lk == rk}
    right_rest = [c for c in right if c not in shared_keys]
    clash = (set(left) - shared_keys) & set(right_rest)
    out = [c + suffixes[0] if c in clash else c for c in left]
    out += [c + suffixes[1] if c in clash else c for c in right_rest]
    return out


def run(inputs: list[pd.DataFrame], config: JoinConfig, ctx: StepContext) -> StepResult:
    def merge(acc: tuple[pd.DataFrame, int], right: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        left, i = acc
        lk, rk = _pair_keys(config, i)
        for side, keys, frame in (("left", lk, left), ("right", rk, right)):
            missing = [k for k in keys if k not in frame.columns]
            if missing:
                raise StepInputError(
                    f"{side} input of join #{i} has no key column '{missing[0]}'",
                    fix=f"its columns are: {', '.join(map(str, frame.columns))}",
                )
        try:
            out = left.merge(right, how=config.how, left_on=lk, right_on=rk,
                             suffixes=config.suffixes, validate=config.validate_keys)
        except pd.errors.MergeError as exc:
            raise StepInputError(f"join #{i}: {exc}",
                                 fix="check key uniqueness or suffixes") from None
        return out, i + 1

    out, _ = reduce(merge, inputs[1:], (inputs[0], 1))
    rows_in = [len(f) for f in inputs]
    return StepResult(out.reset_index(drop=True), {"rows_in": rows_in, "rows_out": len(out),
                                                   "how": config.how})


def _infer(config: JoinConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    acc = inputs[0]
    for i, right in enumerate(inputs[1:], start=1):
        lk, rk = _pair_keys(config, i)
        check_known(lk, acc, "on" if config.on else "left_on")
        check_known(rk, right, "on" if config.on else "right_on")
        acc = None if acc is None or right is None else merged_columns(
            acc, right, lk, rk, config.suffixes)
    return acc


def origins(config: JoinConfig, inputs: list[list[str]]) -> dict[str, set[int]]:
    """For each output column, the inputs it comes from unchanged (keys: all inputs)."""
    names: dict[str, set[int]] = {}
    acc = list(inputs[0])
    src: dict[str, set[int]] = {c: {0} for c in acc}
    for i, right in enumerate(inputs[1:], start=1):
        lk, rk = _pair_keys(config, i)
        cols = merged_columns(acc, right, lk, rk, config.suffixes)
        new_src: dict[str, set[int]] = {}
        for c in cols:
            if c in src and c in acc and (c not in right or c in lk):
                new_src[c] = set(src[c]) | ({i} if c in lk and c in rk else set())
            elif c in right and c not in acc:
                new_src[c] = {i}
        src, acc = new_src, cols
    names.update(src)
    return names


def _targets(config: JoinConfig, cols: frozenset[str], inputs: list[Columns]) -> list[int]:
    if config.how == "outer" or any(c is None for c in inputs):
        return []
    src = origins(config, [list(c) for c in inputs if c is not None])
    allowed = {"inner": set(range(len(inputs))), "left": {0},
               "right": {len(inputs) - 1}}[config.how]
    common = set(allowed)
    for c in cols:
        common &= src.get(c, set())
    return sorted(common)


def _needed(config: JoinConfig, needed: set[str] | None, inputs: list[Columns]):
    if needed is None or any(c is None for c in inputs):
        return [None for _ in inputs]
    src = origins(config, [list(c) for c in inputs if c is not None])
    if not needed <= set(src):  # a suffixed column is needed: keep everything
        return [None for _ in inputs]
    out = []
    for i, cols in enumerate(inputs):
        keys = set(config.on) | (set(config.left_on) if i == 0 else set(config.right_on))
        out.append({c for c in needed if i in src[c] and c in cols} | (keys & set(cols)))
    return out


def _estimate(config: JoinConfig, ins: list[int | None], ctx: StepContext) -> int | None:
    if any(n is None for n in ins):
        return None
    return min(ins) if config.how == "inner" else max(ins)  # type: ignore[type-var]


register(StepType(
    name="join", kind="transform", config_model=JoinConfig, run=run,
    description="Join inputs on key columns (inner, left, right, outer; multi-key; suffixes).",
    min_inputs=2, max_inputs=None, infer_columns=_infer, needed_inputs=_needed,
    filter_targets=_targets, estimate_rows=_estimate,
))
