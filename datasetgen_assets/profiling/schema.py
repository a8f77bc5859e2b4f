"""The profile model and its JSON schema document (what other steps read instead of guessing).

`DatasetProfile.to_json_schema()` writes a JSON Schema (draft 2020-12) whose properties carry
the full column profiles under `x-profile`; `DatasetProfile.from_json_schema()` reads it back
exactly.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

SemanticType = Literal[
    "integer", "float", "decimal", "boolean", "date", "datetime", "time", "categorical",
    "free_text", "identifier", "email", "phone", "url", "ip_address", "uuid", "postal_code",
    "currency", "percentage", "country", "json", "empty",
]  # fmt: skip
SEMANTIC_TYPES: tuple[str, ...] = SemanticType.__args__  # type: ignore[attr-defined]

# JSON Schema `type` and `format` for each semantic type.
_JSON_TYPES: dict[str, tuple[str, str | None]] = {
    "integer": ("integer", None), "float": ("number", None), "decimal": ("number", None),
    "boolean": ("boolean", None), "date": ("string", "date"), "datetime": ("string", "date-time"),
    "time": ("string", "time"), "email": ("string", "email"), "url": ("string", "uri"),
    "uuid": ("string", "uuid"), "ip_address": ("string", "ip-address"),
    "currency": ("number", None), "percentage": ("number", None),
}  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopValue(_Model):
    value: str
    count: int


class NumericStats(_Model):
    """Stats of numbers (or of dates/times as ISO strings in min/max/quantiles)."""

    min: float | str | None = None
    max: float | str | None = None
    mean: float | str | None = None
    std: float | None = None
    quantiles: dict[str, float | str | None] = Field(default_factory=dict)


class ColumnProfile(_Model):
    """Everything known about one column."""

    name: str
    semantic_type: SemanticType
    physical_type: str
    confidence: float = 1.0
    count: int = 0
    null_count: int = 0
    null_ratio: float = 0.0
    unique_count: int = 0
    unique_ratio: float = 0.0
    format: str | None = None  # date/datetime/time strftime format
    other_formats: list[str] | None = None  # further formats some values use
    timezone: str | None = None
    precision: int | None = None  # decimal
    scale: int | None = None
    decimal_separator: str | None = None
    thousands_separator: str | None = None
    currency_symbol: str | None = None
    region: str | None = None  # phone
    true_values: list[str] | None = None
    false_values: list[str] | None = None
    categories: list[str] | None = None
    stats: NumericStats | None = None
    top_values: list[TopValue] = Field(default_factory=list)
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_ratio: float | None = None
    pii: str | None = None
    ambiguity: str | None = None
    description: str = ""
    sampled: list[str] = Field(default_factory=list)  # figures computed on a sample


class ForeignKey(_Model):
    column: str
    references: str  # dataset name
    referenced_column: str
    inclusion: float
    name_similarity: float


class Issue(_Model):
    kind: Literal[
        "mixed_types", "inconsistent_date_formats", "outliers", "casing_variants",
        "whitespace", "sentinel_values", "null_tokens", "duplicate_rows", "all_null",
        "ambiguous_type",
    ]  # fmt: skip
    column: str | None = None
    detail: str
    count: int | None = None


class DatasetProfile(_Model):
    """The profile of one dataset: columns, keys, relationships and issues."""

    version: int = SCHEMA_VERSION
    name: str = "dataset"
    row_count: int = 0
    column_count: int = 0
    duplicate_rows: int = 0
    columns: list[ColumnProfile] = Field(default_factory=list)
    primary_keys: list[list[str]] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)
    null_tokens: list[str] = Field(default_factory=list)
    inference_sample_rows: int = 0  # rows per column used for type inference
    descriptions: str = "rule-based (no LLM configured)"
    suggested_transformations: list[str] = Field(default_factory=list)
    llm_usage: dict[str, Any] | None = None
    seconds: float | None = None

    def column(self, name: str) -> ColumnProfile:
        """The profile of column `name` (KeyError when absent)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    def to_json_schema(self) -> dict[str, Any]:
        """A JSON Schema document of one record, with the profile in `x-` keywords."""
        props: dict[str, Any] = {}
        for col in self.columns:
            jtype, jformat = _JSON_TYPES.get(col.semantic_type, ("string", None))
            prop: dict[str, Any] = {"type": [jtype, "null"] if col.null_count else jtype}
            if jformat:
                prop["format"] = jformat
            if col.semantic_type == "categorical" and col.categories is not None:
                prop["enum"] = [*col.categories, *([None] if col.null_count else [])]
            if col.description:
                prop["description"] = col.description
            prop["x-semantic-type"] = col.semantic_type
            prop["x-profile"] = col.model_dump(mode="json")
            props[col.name] = prop
        dataset = self.model_dump(mode="json", exclude={"columns"})
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "title": self.name,
            "type": "object",
            "properties": props,
            "required": [c.name for c in self.columns if c.null_count == 0 and c.count > 0],
            "x-datasetgen-profile": dataset,
        }

    @classmethod
    def from_json_schema(cls, doc: dict[str, Any]) -> DatasetProfile:
        """Read back a document written by `to_json_schema`."""
        try:
            dataset = dict(doc["x-datasetgen-profile"])
            props = doc["properties"]
        except (KeyError, TypeError):
            raise ValueError(
                "not a DatasetGen profile schema (no 'x-datasetgen-profile' or 'properties')"
            ) from None
        dataset["columns"] = [ColumnProfile.model_validate(p["x-profile"]) for p in props.values()]
        return cls.model_validate(dataset)
