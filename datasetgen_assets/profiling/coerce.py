"""`coerce_to_profile`: convert columns to the types their profile describes.

Numbers in the profiled locale, currency amounts and percentages become floats (percentages
as fractions: '12.5%' -> 0.125), integers become nullable Int64, booleans the nullable
`boolean` dtype, dates and datetimes datetime64 (UTC when the text had offsets), times
'HH:MM:SS' strings, categoricals `category` with the profiled categories. Other types stay
text, stripped. Null tokens become nulls; values that do not parse become nulls and are
counted per column in `result.attrs["coerce_failures"]`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datasetgen_assets.profiling.parse import NUMERIC_TYPES, parse_dates, parse_typed
from datasetgen_assets.profiling.schema import ColumnProfile, DatasetProfile

TEXT_DTYPES = ("object", "str", "string")


def _is_text(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.StringDtype) or s.dtype == np.dtype("O") or isinstance(
        s.dtype, pd.CategoricalDtype)


def _text(s: pd.Series, tokens: set[str]) -> pd.Series:
    """Stripped strings with null tokens as missing."""
    raw = s.astype(object).where(s.notna(), None)
    text = pd.Series([None if v is None else str(v) for v in raw], index=s.index, dtype="str")
    text = text.str.strip()
    return text.mask(text.str.lower().isin(tokens) | (text == ""))


def _int_if_integral(vals: pd.Series) -> pd.Series:
    """Nullable Int64 when every value is a finite whole number in int64 range."""
    x = vals.dropna().to_numpy(dtype=float)
    if np.isfinite(x).all() and (np.floor(x) == x).all() and (np.abs(x) < 2**63).all():
        return vals.astype("Int64")
    return vals


def coerce_series(s: pd.Series, col: ColumnProfile, tokens: set[str]) -> pd.Series:
    """One column converted to `col`'s semantic type (see the module docstring)."""
    st = col.semantic_type
    attrs = col.model_dump()
    if not _is_text(s):
        if st == "integer" and pd.api.types.is_numeric_dtype(s.dtype):
            return _int_if_integral(pd.to_numeric(s, errors="coerce"))
        if st == "boolean" and (pd.api.types.is_numeric_dtype(s.dtype)
                                or pd.api.types.is_bool_dtype(s.dtype)):
            return s.astype("boolean")
        if st == "date" and pd.api.types.is_datetime64_any_dtype(s.dtype):
            return s.dt.normalize()
        if st in ("float", "decimal", "currency", "percentage") and pd.api.types.is_numeric_dtype(
                s.dtype):
            return s.astype("float64")
        if st not in TEXT_TYPES:
            return s
    text = _text(s, tokens)
    present = text.notna()
    if st in NUMERIC_TYPES:
        vals = pd.Series(np.nan, index=s.index, dtype="float64")
        if present.any():
            vals[present] = parse_typed(text[present], st, attrs).to_numpy(dtype=float,
                                                                        na_value=np.nan)
        if st == "percentage":
            return vals / 100.0
        if st == "integer":
            return _int_if_integral(vals)
        if st == "decimal" and col.scale is not None:
            return vals.round(col.scale)
        return vals
    if st == "boolean":
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        if present.any():
            out[present] = parse_typed(text[present], st, attrs)
        return out
    if st in ("date", "datetime", "time"):
        parsed = parse_dates(text, col.format, col.other_formats or [])
        if st == "date":
            return parsed.dt.normalize()
        if st == "time":
            return parsed.dt.strftime("%H:%M:%S").astype("str")
        return parsed
    if st == "categorical" and col.categories is not None:
        return pd.Series(pd.Categorical(text, categories=col.categories), index=s.index)
    return text


TEXT_TYPES = frozenset({"identifier", "email", "phone", "url", "ip_address", "uuid",
                        "postal_code", "country", "json", "free_text", "categorical"})


def coerce_to_profile(df: pd.DataFrame, profile: DatasetProfile,
                      columns: list[str] | None = None) -> pd.DataFrame:
    """A copy of `df` with each profiled column (or only `columns`) converted to its type."""
    tokens = {t.strip().lower() for t in profile.null_tokens}
    out = df.copy()
    failures: dict[str, int] = {}
    wanted = set(columns) if columns is not None else None
    for col in profile.columns:
        if col.name not in df.columns or (wanted is not None and col.name not in wanted):
            continue
        before = df[col.name]
        after = coerce_series(before, col, tokens)
        had = _text(before, tokens).notna() if _is_text(before) else before.notna()
        lost = int((had & after.isna()).sum())
        if lost:
            failures[col.name] = lost
        out[col.name] = after
    out.attrs["coerce_failures"] = failures
    return out
