"""Fast, vectorized PII patterns (the seed's list): for the quality family and previews."""

from __future__ import annotations

import re

import pandas as pd

PATTERNS: dict[str, str] = {
    "ssn": r"\b\d{3}-\d{2}-\d{4}\b",
    "credit_card": r"\b\d{4}[\s-]?\d{4}[\s-]?\d{4}[\s-]?\d{4}\b",
    "email": r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
    "phone": r"(?<![\w-])(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b",
    "ip_address": r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b",
}
_ANY = re.compile("|".join(f"(?:{p})" for p in PATTERNS.values()))
MASK = "••••"


def is_text(series: pd.Series) -> bool:
    """String-like columns (pandas 3 `str`, object, category of strings)."""
    return (pd.api.types.is_string_dtype(series.dtype) or series.dtype == object
            or isinstance(series.dtype, pd.CategoricalDtype))


def scan_series(series: pd.Series) -> dict[str, pd.Series]:
    """Per pattern, a bool Series: does the cell contain that kind of PII (each distinct value
    is matched once)."""
    text = series.dropna()
    codes, uniques = pd.factorize(text.astype(str))
    distinct = pd.Series(uniques, dtype=str)
    out = {}
    for name, pat in PATTERNS.items():
        hit = distinct.str.contains(pat, regex=True).to_numpy(dtype=bool)
        out[name] = pd.Series(hit[codes] if len(codes) else hit[:0], index=text.index)
    return out


def pii_columns(frame: pd.DataFrame, rows: int | None = 200) -> set[str]:
    """Columns whose first `rows` rows contain a PII pattern (previews mask them)."""
    head = frame if rows is None else frame.head(rows)
    found = set()
    for col in head.columns:
        s = head[col]
        if is_text(s) and s.dropna().astype(str).str.contains(_ANY, regex=True).any():
            found.add(str(col))
    return found


def mask_text(value: object) -> str:
    """The text with every PII pattern replaced by a mask."""
    return _ANY.sub(MASK, str(value))


def mask_value(value: object, keep_last: int = 0) -> str:
    """A fully masked value (optionally keeping the last characters)."""
    text = str(value)
    if keep_last and len(text) > keep_last * 2:
        return MASK + text[-keep_last:]
    return MASK
