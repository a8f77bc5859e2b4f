"""Human-facing parts of a profile: column descriptions and suggested transformations (rule
based, or through the LLM resource), the compact markdown table and the Dagster column schema.
"""

from __future__ import annotations

import re
from typing import Any

from datasetgen_assets.profiling.schema import ColumnProfile, DatasetProfile

RULE_BASED = "rule-based (no LLM configured)"
MAX_MD_COLUMNS = 200
TYPE_WORDS = {
    "integer": "whole number", "float": "number", "decimal": "decimal number",
    "boolean": "yes/no flag", "date": "date", "datetime": "timestamp", "time": "time of day",
    "categorical": "category", "free_text": "free text", "identifier": "identifier",
    "email": "email address", "phone": "phone number", "url": "URL", "ip_address": "IP address",
    "uuid": "UUID", "postal_code": "postal code", "currency": "money amount",
    "percentage": "percentage", "country": "country", "json": "JSON document",
    "empty": "empty column",
}  # fmt: skip


def _humanize(name: str) -> str:
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return " ".join(words.split()).capitalize() or name


def type_details(col: ColumnProfile) -> str:
    """The type with its parameters, e.g. `date %d/%m/%Y` or `decimal(10,2)`."""
    st = col.semantic_type
    if st == "decimal" and col.precision is not None:
        text = f"decimal({col.precision},{col.scale})"
    elif st in ("date", "datetime", "time") and col.format:
        text = f"{st} {col.format}" + (f" {col.timezone}" if col.timezone else "")
    elif st == "currency":
        text = f"currency {col.currency_symbol or ''} dec '{col.decimal_separator}'"
    elif st == "phone" and col.region:
        text = f"phone ({col.region})"
    elif st == "postal_code" and col.region:
        text = f"postal code ({col.region})"
    elif st == "categorical" and col.categories is not None:
        shown = ", ".join(col.categories[:5]) + (" …" if len(col.categories) > 5 else "")
        text = f"categorical {{{shown}}}"
    elif st in ("integer", "float") and col.decimal_separator == ",":
        text = f"{st} (decimal ',')"
    else:
        text = st
    return text


def rule_description(col: ColumnProfile) -> str:
    """One line from the name and the inferred type."""
    what = TYPE_WORDS.get(col.semantic_type, col.semantic_type)
    bits = [f"{_humanize(col.name)}: {what}"]
    if col.semantic_type in ("date", "datetime") and col.format:
        bits.append(f"written as {col.format}")
    if col.semantic_type == "categorical" and col.categories:
        bits.append(f"one of {len(col.categories)} values")
    if col.pii:
        bits.append(f"personal data ({col.pii})")
    if col.null_ratio:
        bits.append(f"{col.null_ratio:.0%} missing")
    return ", ".join(bits) + "."


def rule_suggestions(profile: DatasetProfile) -> list[str]:
    """Transformations the issues and types call for."""
    out: list[str] = []
    if profile.duplicate_rows:
        out.append(f"drop {profile.duplicate_rows} duplicate rows")
    for issue in profile.issues:
        col = f"'{issue.column}'" if issue.column else ""
        if issue.kind == "whitespace":
            out.append(f"trim whitespace in {col}")
        elif issue.kind == "casing_variants":
            out.append(f"normalise the casing of {col}")
        elif issue.kind == "null_tokens":
            out.append(f"replace placeholder values in {col} with null")
        elif issue.kind == "sentinel_values":
            out.append(f"replace sentinel values in {col} with null")
        elif issue.kind == "inconsistent_date_formats":
            out.append(f"parse {col} with each of its date formats into one date type")
        elif issue.kind == "mixed_types":
            out.append(f"fix or drop the values of {col} that are not its type")
        elif issue.kind == "outliers":
            out.append(f"review outliers in {col} (cap or drop)")
        elif issue.kind == "all_null":
            out.append(f"drop the empty column {col}")
    for col in profile.columns:
        if col.physical_type in ("str", "object", "string") and col.semantic_type in (
                "integer", "float", "decimal", "currency", "percentage", "boolean", "date",
                "datetime"):
            out.append(f"convert '{col.name}' to {type_details(col)}")
        if col.pii:
            out.append(f"mask or drop '{col.name}' ({col.pii})")
    return list(dict.fromkeys(out))[:30]


def llm_enrich(profile: DatasetProfile, llm: Any) -> None:
    """Column descriptions and dataset suggestions through the LLM resource (in place).

    Rows sent carry names, types and, for columns that are not PII, a few top values. A row the
    LLM fails keeps its rule-based description.
    """
    rows = [{"column": c.name, "semantic_type": type_details(c), "null_ratio": c.null_ratio,
             "examples": [] if c.pii else [t.value for t in c.top_values[:5]]}
            for c in profile.columns]
    result = llm.structured(
        rows,
        "Write a one-line description (at most 20 words) of what this dataset column holds, "
        f"in dataset '{profile.name}'.",
        {"type": "object", "properties": {"description": {"type": "string"}},
         "required": ["description"]},
        tier="cheap", step="profile.describe",
    )
    for col, out in zip(profile.columns, result.results, strict=False):
        text = out.get("description") if isinstance(out, dict) else None
        if isinstance(text, str) and len(re.findall(r"[^\W\d_]{2,}", text)) >= 2:
            col.description = " ".join(text.split())[:300]  # else: rule-based kept
    summary = [{"dataset": profile.name, "rows": profile.row_count,
                "columns": [f"{c.name}: {type_details(c)}" for c in profile.columns[:200]],
                "issues": [i.detail if not i.column else f"{i.column}: {i.kind}"
                           for i in profile.issues[:50]]}]
    advice = llm.structured(
        summary,
        "Suggest up to 8 short, concrete transformations that would make this dataset ready "
        "for analysis or ML.",
        {"type": "object", "properties": {"suggestions": {"type": "array",
                                                          "items": {"type": "string"}}},
         "required": ["suggestions"]},
        tier="cheap", step="profile.suggest",
    )
    got = advice.results[0] if advice.results else {}
    if isinstance(got, dict) and isinstance(got.get("suggestions"), list):
        profile.suggested_transformations = [str(s) for s in got["suggestions"]][:8] or \
            profile.suggested_transformations
    profile.descriptions = "llm"
    profile.llm_usage = _merge_usage(getattr(result, "usage", None),
                                     getattr(advice, "usage", None))


def _merge_usage(*usages: Any) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for usage in usages:
        for k, v in (usage or {}).items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                total[k] = total.get(k, 0) + v
            else:
                total.setdefault(k, v)
    return total


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(profile: DatasetProfile) -> str:
    """A compact markdown summary: one table row per column, then keys and issues."""
    head = (f"**{profile.name}**: {profile.row_count:,} rows x {profile.column_count} columns, "
            f"{profile.duplicate_rows:,} duplicate rows. Descriptions: {profile.descriptions}.")
    lines = [head, "", "| column | type | nulls | unique | PII | description |",
             "|---|---|---|---|---|---|"]
    for col in profile.columns[:MAX_MD_COLUMNS]:
        lines.append(f"| {_md(col.name)} | {_md(type_details(col))} | {col.null_ratio:.1%} | "
                     f"{col.unique_ratio:.1%} | {col.pii or ''} | {_md(col.description)} |")
    if len(profile.columns) > MAX_MD_COLUMNS:
        lines.append(f"\n_{len(profile.columns) - MAX_MD_COLUMNS} more columns in the JSON "
                     "report_")
    if profile.primary_keys:
        lines.append("\nCandidate keys: " + "; ".join(" + ".join(k)
                                                       for k in profile.primary_keys))
    if profile.foreign_keys:
        lines.append("\nForeign keys: " + "; ".join(
            f"{f.column} → {f.references}.{f.referenced_column} ({f.inclusion:.0%})"
            for f in profile.foreign_keys))
    if profile.issues:
        lines.append("\nIssues:")
        lines += [f"- {i.kind}" + (f" `{_md(i.column)}`" if i.column else "")
                  + f": {_md(i.detail)}" for i in profile.issues[:50]]
    return "\n".join(lines)


def column_schema(profile: DatasetProfile) -> list[dict[str, Any]]:
    """[{name, type, description, nullable, unique}] for `dagster/column_schema`."""
    return [{"name": c.name, "type": type_details(c), "description": c.description,
             "nullable": c.null_count > 0, "unique": c.count > 0 and c.unique_count == c.count}
            for c in profile.columns]
