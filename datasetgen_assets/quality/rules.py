"""Declarative rules (business rules and invalid-value rules) and their validation."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datasetgen_assets.pipeline.condition import parse_condition
from datasetgen_assets.quality.issues import Severity


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str | None = Field(None, description="Label shown in reports.")
    severity: Severity = Field("high", description="critical | high | medium | low.")

    def columns(self) -> list[str]:
        col = getattr(self, "column", None)
        return [col] if col else []

    def label(self) -> str:
        return self.name or f"{self.type}:{','.join(self.columns()) or 'rows'}"  # type: ignore[attr-defined]


class RangeRule(_Rule):
    type: Literal["range"]
    column: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("range rule: give 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"range rule on '{self.column}': min {self.min} > max {self.max}")
        return self


class RegexRule(_Rule):
    type: Literal["regex"]
    column: str
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"pattern {v!r} does not compile: {exc}") from None
        return v


class EnumRule(_Rule):
    type: Literal["enum"]
    column: str
    values: list[Any] = Field(min_length=1)


class NotNullRule(_Rule):
    type: Literal["not_null"]
    column: str


class UniqueRule(_Rule):
    type: Literal["unique"]
    columns_: list[str] = Field(alias="columns", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_column(cls, data: Any) -> Any:
        if isinstance(data, dict) and "column" in data and "columns" not in data:
            data = dict(data)
            data["columns"] = [data.pop("column")]
        return data

    def columns(self) -> list[str]:
        return list(self.columns_)


class ConditionRule(_Rule):
    """Every row must satisfy a condition in the filter language (cross-field rules)."""

    type: Literal["condition"]
    condition: str

    @field_validator("condition")
    @classmethod
    def _parses(cls, v: str) -> str:
        parse_condition(v)  # ConditionSyntaxError is a ValueError with the position
        return v

    def columns(self) -> list[str]:
        return sorted(parse_condition(self.condition).columns)


class CustomRule(_Rule):
    """`module:function(df) -> bool Series` (True = valid row), from an allowed module."""

    type: Literal["custom"]
    function: str

    @field_validator("function")
    @classmethod
    def _allowed(cls, v: str) -> str:
        from datasetgen_assets.steps.custom_python import CustomPythonConfig

        CustomPythonConfig(function=v)
        return v


Rule = Annotated[RangeRule | RegexRule | EnumRule | NotNullRule | UniqueRule | ConditionRule
                 | CustomRule, Field(discriminator="type")]
GE_RULES = (RangeRule, RegexRule, EnumRule, NotNullRule, UniqueRule)
