"""Asset metadata from a step's output and report: row count, column schema, preview."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from dagster import MetadataValue, TableColumn, TableColumnConstraints, TableSchema

PREVIEW_ROWS = 10
MAX_CELL = 60


def column_schema(frame: pd.DataFrame) -> TableSchema:
    return TableSchema(columns=[TableColumn(name=str(c), type=str(t))
                                for c, t in frame.dtypes.items()])


def table_schema(columns: list[dict[str, Any]]) -> TableSchema:
    """A TableSchema from a step's `column_schema` report (name, type, description,
    nullable, unique), e.g. the profile's semantic types."""
    return TableSchema(columns=[
        TableColumn(name=c["name"], type=c["type"], description=c.get("description") or None,
                    constraints=TableColumnConstraints(nullable=c.get("nullable", True),
                                                       unique=c.get("unique", False)))
        for c in columns])


def preview_markdown(frame: pd.DataFrame, masked: set[str] | None = None) -> str:
    """The first rows as a markdown table; long cells cut, masked columns hidden."""
    head = frame.head(PREVIEW_ROWS).copy()
    for col in head.columns:
        if masked and col in masked:
            head[col] = "•••• (PII)"
        else:
            head[col] = head[col].map(lambda v: _cell(v))
    if head.empty:
        return "_no rows_ — columns: " + ", ".join(f"`{c}`" for c in frame.columns)
    return head.to_markdown(index=False)


def _cell(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def jsonable(value: Any) -> Any:
    """A JSON-safe copy (numpy scalars, timestamps and sets become plain values)."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item")
                                 else sorted(o) if isinstance(o, set) else str(o)))


def step_metadata(frame: pd.DataFrame, report: dict[str, Any], plan_note: str,
                  masked: set[str] | None = None) -> dict[str, Any]:
    """Row count, column schema, a preview (PII masked), the report and the plan. A report may
    add `markdown` (shown as `markdown_label`, default "summary"), a richer `column_schema`
    and files to link (`data_docs`, `schema_path`). Masked in the preview: `masked`, the
    step's `pii_columns` and columns whose first rows look like PII."""
    from datasetgen_assets.quality.pii_regex import pii_columns

    masked = set(masked or ()) | set(report.get("pii_columns") or ()) | pii_columns(frame)
    report = dict(report)
    extra: dict[str, Any] = {}
    if isinstance(report.get("markdown"), str):
        label = str(report.pop("markdown_label", "summary"))
        extra[label] = MetadataValue.md(report.pop("markdown"))
    for key in ("data_docs", "schema_path"):
        if isinstance(report.get(key), str):
            extra[key] = MetadataValue.path(report[key])
    schema = column_schema(frame)
    rich = report.get("column_schema")
    if isinstance(rich, list) and rich and {c.get("name") for c in rich} == set(map(str,
                                                                                  frame.columns)):
        schema = table_schema(rich)
    return {
        "dagster/row_count": MetadataValue.int(len(frame)),
        "dagster/column_schema": schema,
        "preview": MetadataValue.md(preview_markdown(frame, masked)),
        "report": MetadataValue.json(jsonable(report)),
        "plan": MetadataValue.text(plan_note),
        **extra,
    }
