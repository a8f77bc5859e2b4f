"""The vectorized rule families (what Great Expectations has no expectation for)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from datasetgen_assets.quality import config as qc
from datasetgen_assets.quality.issues import Issue
from datasetgen_assets.quality.pii_regex import is_text, scan_series

EXAMPLES = 5
_DATE_NAME = re.compile(r"date|_at$|^dob$|birth|time", re.I)
_PHONE_NAME = re.compile(r"phone|tel|mobile|fax", re.I)


def _rows(mask: pd.Series, frame: pd.DataFrame, column: str | None = None) -> list[Any]:
    """A few failing rows as {row, column, value} (the caller masks PII)."""
    idx = mask[mask].index[:EXAMPLES]
    if column is None:
        return [{"row": int(i) if isinstance(i, int | np.integer) else str(i)} for i in idx]
    return [{"row": int(i) if isinstance(i, int | np.integer) else str(i), "column": column,
             "value": frame.at[i, column]} for i in idx]


def _numeric(frame: pd.DataFrame, columns: list[str] | None = None) -> list[str]:
    cols = columns if columns is not None else list(frame.columns)
    return [c for c in cols if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]


def _text(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if is_text(frame[c])]


def _blank(s: pd.Series) -> pd.Series:
    """Null, NaN or an empty/whitespace-only string."""
    na = s.isna()
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return na | s.str.strip().eq("").fillna(False).astype(bool)
    if s.dtype == object:
        return na | s.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    return na


def missing_values(frame: pd.DataFrame, cfg: qc.MissingValues, required: set[str]) -> list[Issue]:
    out = []
    for col in cfg.columns or list(frame.columns):
        if col not in frame.columns:
            continue
        mask = _blank(frame[col])
        n = int(mask.sum())
        if not n:
            continue
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        hint = "impute with the median" if numeric else "impute with the mode"
        out.append(Issue("missing_values", "missing", "high" if col in required else cfg.severity,
                         n, str(col), f"{n} of {len(frame)} ({n / len(frame):.1%}) missing; "
                         f"{hint} or drop", _rows(mask, frame)))
    return out


def _hashable(frame: pd.DataFrame) -> pd.DataFrame:
    try:
        frame.head(1000).duplicated()
        return frame
    except TypeError:  # lists or dicts in cells
        return frame.astype(str)


def duplicates(frame: pd.DataFrame, cfg: qc.Duplicates, unique: list[str]) -> list[Issue]:
    out = []
    data = _hashable(frame)
    full = data.duplicated(keep="first")
    if n := int(full.sum()):
        out.append(Issue("duplicates", "full_row", "high", n, None,
                         f"{n} rows repeat an earlier row", _rows(full, frame)))
    for key in [k for k in (cfg.key, unique) if k]:
        cols = [c for c in key if c in frame.columns]
        if not cols:
            continue
        dup = data.duplicated(subset=cols, keep="first") & ~full
        if n := int(dup.sum()):
            out.append(Issue("duplicates", "key", "high", n, ",".join(cols),
                             f"{n} rows repeat the key ({', '.join(cols)})", _rows(dup, frame)))
    if cfg.fuzzy_columns:
        out += _fuzzy(frame, cfg)
    return out


def near_duplicates(frame: pd.DataFrame, cols: list[str], threshold: float,
                    max_values: int = 20000) -> pd.Series:
    """Rows whose text (over `cols`) is close to an earlier, different value's (rapidfuzz
    ratio >= threshold, compared within blocks sharing the first two characters)."""
    from rapidfuzz import fuzz, process

    text = frame[cols].astype(str).agg(" ".join, axis=1)
    norm = text.str.lower().str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
    values = pd.Series(norm.unique()[:max_values])
    near: set[str] = set()
    for _, block in values.groupby(values.str[:2]):
        items = block.tolist()
        if len(items) < 2:
            continue
        scores = process.cdist(items, items, scorer=fuzz.ratio, score_cutoff=threshold,
                               workers=1)
        hit = np.tril(scores, k=-1).max(axis=1) > 0  # close to an earlier distinct value
        near.update(v for v, h in zip(items, hit, strict=True) if h)
    return (norm.isin(near) & ~norm.duplicated(keep="first")).astype(bool)


def _fuzzy(frame: pd.DataFrame, cfg: qc.Duplicates) -> list[Issue]:
    cols = [c for c in cfg.fuzzy_columns if c in frame.columns]
    if not cols:
        return []
    mask = near_duplicates(frame, cols, cfg.fuzzy_threshold, cfg.fuzzy_max_values)
    if not (n := int(mask.sum())):
        return []
    return [Issue("duplicates", "fuzzy", "medium", n, ",".join(cols),
                  f"{n} rows are near-duplicates (ratio >= {cfg.fuzzy_threshold:g})",
                  _rows(mask, frame))]


def type_consistency(frame: pd.DataFrame, cfg: qc.TypeConsistency) -> list[Issue]:
    out = []
    for col in _text(frame):
        s = frame[col].dropna()
        if s.empty:
            continue
        if s.dtype == object:
            kinds = s.map(lambda v: type(v).__name__)
            counts = kinds.value_counts()
            if len(counts) > 1:
                bad = kinds != counts.index[0]
                out.append(Issue("type_consistency", "mixed_types", "high", int(bad.sum()),
                                 str(col), "mixed types: " + ", ".join(
                                     f"{k} {v}" for k, v in counts.items())
                                 + f"; convert to {counts.index[0]}",
                                 _rows(bad.reindex(frame.index, fill_value=False), frame)))
                continue
        text = s.astype(str).str.strip()
        text = text[text != ""]
        if text.empty:
            continue
        num = pd.to_numeric(text, errors="coerce")
        share = float(num.notna().mean())
        if cfg.numeric_share <= share < 1:
            bad = num.isna().reindex(frame.index, fill_value=False)
            out.append(Issue("type_consistency", "not_numeric", "high", int(bad.sum()), str(col),
                             f"{share:.1%} of values are numbers; the rest are not: cast "
                             "to float after fixing them", _rows(bad, frame)))
    return out


def outliers(frame: pd.DataFrame, cfg: qc.Outliers) -> list[Issue]:
    cols = _numeric(frame, cfg.columns)
    if not cols or frame.empty:
        return []
    if cfg.method == "isolation_forest":
        return _isolation_forest(frame, cols, cfg)
    out = []
    for col in cols:
        x = frame[col].astype("float64")
        if cfg.method == "zscore":
            std = x.std()
            if not std or np.isnan(std):
                continue
            mask = ((x - x.mean()).abs() / std) > (cfg.threshold or 3.0)
        else:
            q1, q3 = x.quantile(0.25), x.quantile(0.75)
            k = (cfg.threshold or 1.5) * (q3 - q1)
            mask = (x < q1 - k) | (x > q3 + k)
        mask = mask.fillna(False).astype(bool)
        if n := int(mask.sum()):
            out.append(Issue("outliers", cfg.method, cfg.severity, n, str(col),
                             f"{n} values outside the {cfg.method} bounds", _rows(mask, frame,
                                                                                   col)))
    return out


def _isolation_forest(frame: pd.DataFrame, cols: list[str], cfg: qc.Outliers) -> list[Issue]:
    from sklearn.ensemble import IsolationForest

    x = frame[cols].astype("float64")
    x = x.fillna(x.median()).fillna(0.0).to_numpy()
    model = IsolationForest(contamination=cfg.contamination, random_state=0, n_estimators=100)
    model.fit(x[np.random.default_rng(0).permutation(len(x))[:100_000]])
    mask = pd.Series(model.predict(x) == -1, index=frame.index)
    if not (n := int(mask.sum())):
        return []
    return [Issue("outliers", "isolation_forest", cfg.severity, n, ",".join(cols),
                  f"{n} rows isolated as anomalies", _rows(mask, frame))]


def _signature(s: pd.Series) -> pd.Series:
    text = s.dropna().astype(str).str.strip()
    return text.str.replace(r"\d", "9", regex=True).str.replace(r"[A-Za-z]+", "a", regex=True)


def _auto(frame: pd.DataFrame, given: list[str] | None, pattern: re.Pattern[str]) -> list[str]:
    if given is not None:
        return [c for c in given if c in frame.columns]
    return [c for c in _text(frame) if pattern.search(str(c))]


def format_inconsistency(frame: pd.DataFrame, cfg: qc.FormatInconsistency) -> list[Issue]:
    out = []
    for kind, cols in (("date_format", _auto(frame, cfg.date_columns, _DATE_NAME)),
                       ("phone_format", _auto(frame, cfg.phone_columns, _PHONE_NAME))):
        for col in cols:
            if not is_text(frame[col]):
                continue
            sig = _signature(frame[col])
            if sig.empty:
                continue
            counts = sig.value_counts()
            bad = (sig != counts.index[0]).reindex(frame.index, fill_value=False)
            if n := int(bad.sum()):
                out.append(Issue("format_inconsistency", kind, cfg.severity, n, str(col),
                                 f"{len(counts)} formats; {n} values differ from the most "
                                 f"common one ({counts.index[0]})", _rows(bad, frame, col)))
    case_cols = cfg.case_columns if cfg.case_columns is not None else _text(frame)
    for col in case_cols:
        if col not in frame.columns or not is_text(frame[col]):
            continue
        counts = frame[col].dropna().astype(str).value_counts()
        if len(counts) > 1000 or len(counts) < 2:
            continue
        vc = pd.DataFrame({"value": counts.index, "n": counts.to_numpy()})
        vc["key"] = vc["value"].str.strip().str.lower()
        top = vc.sort_values("n", ascending=False).drop_duplicates("key")
        minority = set(vc["value"]) - set(top["value"])
        if not minority:
            continue
        bad = frame[col].isin(minority).fillna(False).astype(bool)
        out.append(Issue("format_inconsistency", "case", cfg.severity, int(bad.sum()), str(col),
                         f"{len(minority)} spellings differ only in case or spaces",
                         _rows(bad, frame, col)))
    return out


def pii_exposure(frame: pd.DataFrame, cfg: qc.PiiExposure) -> tuple[list[Issue], set[str]]:
    out, flagged = [], set()
    for col in _text(frame):
        if col in cfg.allow:
            continue
        hits = scan_series(frame[col])
        any_hit = pd.concat(hits, axis=1).any(axis=1) if hits else pd.Series(dtype=bool)
        if n := int(any_hit.sum()):
            flagged.add(str(col))
            kinds = {k: int(v.sum()) for k, v in hits.items() if v.any()}
            out.append(Issue("pii_exposure", "pii", cfg.severity, n, str(col),
                             "cells with " + ", ".join(f"{k} {v}" for k, v in kinds.items()),
                             _rows(any_hit.reindex(frame.index, fill_value=False), frame)))
    return out, flagged


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / len(a)
                               - np.searchsorted(b, grid, side="right") / len(b))))


def _sample(x: np.ndarray, n: int = 200_000) -> np.ndarray:
    return x if len(x) <= n else np.random.default_rng(0).choice(x, n, replace=False)


def distribution_shift(frame: pd.DataFrame, previous: pd.DataFrame | None,
                       cfg: qc.StatisticalAnomalies) -> tuple[list[Issue], dict[str, Any]]:
    """Shift of each shared column against the previous materialization (KS or TV distance)."""
    if previous is None:
        return [], {"compared": False, "reason": "no previous materialization"}
    out, stats = [], {}
    for col in [c for c in frame.columns if c in previous.columns]:
        cur, old = frame[col].dropna(), previous[col].dropna()
        if cur.empty or old.empty:
            continue
        if col in _numeric(frame) and col in _numeric(previous):
            a, b = cur.to_numpy("float64"), old.to_numpy("float64")
            stat, how = _ks(_sample(a), _sample(b)), "ks"
        elif cur.nunique() <= 50 and old.nunique() <= 50:
            p = cur.astype(str).value_counts(normalize=True)
            q = old.astype(str).value_counts(normalize=True)
            stat, how = float(0.5 * p.sub(q, fill_value=0).abs().sum()), "total_variation"
        else:
            continue
        stats[str(col)] = {"statistic": round(stat, 4), "method": how}
        if stat > cfg.threshold:
            out.append(Issue("statistical_anomalies", f"shift_{how}", cfg.severity,
                             round(stat * len(frame)), str(col),
                             f"distribution shifted vs the previous run ({how} {stat:.3f} > "
                             f"{cfg.threshold})"))
    return out, {"compared": True, "previous_rows": len(previous), "columns": stats}


SEMANTIC_SCHEMA = {"type": "object", "properties": {
    "has_issue": {"type": "boolean"}, "issue": {"type": "string"}}, "required": ["has_issue"]}
SEMANTIC_INSTRUCTION = (
    "Check this record for semantic problems: contradictory fields, nonsensical values or "
    "values that violate the context of the other fields. Answer has_issue and, if true, a "
    "short issue description without repeating personal data.")


def semantic_issues(rows: list[dict[str, Any]], llm: Any, cfg: qc.SemanticIssues,
                    step: str) -> tuple[list[Issue], dict[str, Any]]:
    """Ask the LLM about a sample of rows (PII already masked by the caller)."""
    if llm is None:
        return [], {"ran": False, "reason": "no LLM resource"}
    result = llm.structured(rows, SEMANTIC_INSTRUCTION, SEMANTIC_SCHEMA, tier="cheap", step=step)
    flagged, errors = [], 0
    for i, res in enumerate(result.results):
        if not isinstance(res, dict) or "_error" in res:
            errors += 1
        elif res.get("has_issue"):
            flagged.append({"row": rows[i].get("_row", i), "issue": str(res.get("issue", ""))})
    issues = [Issue("semantic_issues", "llm", cfg.severity, len(flagged), None,
                    f"{len(flagged)} of {len(rows)} sampled rows look wrong", flagged[:EXAMPLES])]
    return (issues if flagged else []), {"ran": True, "rows": len(rows), "errors": errors,
                                          "usage": getattr(result, "usage", {})}
