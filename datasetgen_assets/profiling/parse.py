"""Parsing strings into the values their semantic type describes (numbers in a locale,
currency, percentages, booleans, dates with a known format). Shared by the profiler's stats
and by `coerce_to_profile`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datasetgen_assets.profiling.types import RE_CURRENCY, NumberLocale, parse_numbers

NUMERIC_TYPES = frozenset({"integer", "float", "decimal", "currency", "percentage"})
TEMPORAL_TYPES = frozenset({"date", "datetime", "time"})


def parse_typed(values: pd.Series, semantic_type: str, attrs: dict[str, Any]) -> pd.Series:
    """Typed values of stripped, non-null strings: float for numeric types, datetime64 for
    dates and times (times on 1900-01-01), boolean for booleans; NaN/NaT/NA where a value does
    not parse."""
    values = values.astype("str")
    loc = NumberLocale(attrs.get("decimal_separator") or ".", attrs.get("thousands_separator"))
    if semantic_type in ("integer", "float", "decimal"):
        return parse_numbers(values, loc)
    if semantic_type == "percentage":
        return parse_numbers(values.str.replace(r"\s?%$", "", regex=True), loc)
    if semantic_type == "currency":
        parts = values.str.extract(RE_CURRENCY)
        sign = np.where((parts["sign"] == "-") | (parts["sign2"] == "-"), -1.0, 1.0)
        return parse_numbers(parts["num"].fillna("").str.strip(), loc) * sign
    if semantic_type in TEMPORAL_TYPES:
        return parse_dates(values, attrs.get("format"), attrs.get("other_formats") or [])
    if semantic_type == "boolean":
        true = {v.lower() for v in attrs.get("true_values") or []}
        false = {v.lower() for v in attrs.get("false_values") or []}
        low = values.str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[low.isin(true)] = True
        out[low.isin(false)] = False
        return out
    raise ValueError(f"no parser for semantic type '{semantic_type}'")


def parse_dates(values: pd.Series, fmt: str | None, others: list[str]) -> pd.Series:
    """Datetimes parsed with `fmt`, then each of `others` for what is left (UTC when any format
    has an offset)."""
    formats = [f for f in [fmt, *others] if f]
    utc = any("%z" in f for f in formats)
    if not formats:
        return pd.to_datetime(values, errors="coerce", utc=utc)
    out = pd.to_datetime(values, format=formats[0], errors="coerce", utc=utc)
    for extra in formats[1:]:
        missing = out.isna()
        if not missing.any():
            break
        out[missing] = pd.to_datetime(values[missing], format=extra, errors="coerce", utc=utc)
    return out
