"""Options of a profile run (also the `profile` step's config fields)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_NULL_TOKENS = (
    "", "n/a", "na", "#n/a", "null", "none", "nil", "nan", "-", "--", "?", "missing",
    "undefined", "(null)", "<null>", "(blank)", "#null!", "n.a.", "not available",
)  # fmt: skip


class ProfileOptions(BaseModel):
    """How to profile. Defaults suit most data; every figure the sample decides is marked."""

    model_config = ConfigDict(extra="forbid")

    null_tokens: list[str] = Field(
        default_factory=lambda: list(DEFAULT_NULL_TOKENS),
        description="Values (compared stripped and case-insensitively) that mean null.",
    )
    sample_size: int = Field(
        5_000, ge=100,
        description="Distinct values per column used for type inference and patterns; counts, "
        "nulls, uniques, min/max/mean and quantiles are exact.",
    )
    type_threshold: float = Field(
        0.95, gt=0.5, le=1.0,
        description="Share of non-null rows that must fit a semantic type for it to be chosen.",
    )
    max_categories: int = Field(50, ge=2, description="Most distinct values of a categorical.")
    dayfirst: bool | None = Field(
        None, description="Decide 01/02/2024 style dates when the data cannot: true = day "
        "first. Omitted: decided from the data; a tie is reported as ambiguity.",
    )
    decimal_separator: Literal[".", ","] | None = Field(
        None, description="Decide '1,234' style numbers when the data cannot.",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "DE", "FR"],
        description="Regions tried for phone numbers without a + prefix, in order.",
    )
    max_key_columns: int = Field(3, ge=1, le=4, description="Widest composite key searched.")
    fk_min_inclusion: float = Field(
        0.95, gt=0, le=1, description="Share of a column's values that must exist in the "
        "referenced key for a foreign key.",
    )
    seed: int = Field(0, description="Seed of the sampling (profiles are reproducible).")
