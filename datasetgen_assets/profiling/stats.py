"""One column's profile: counts, nulls (with null tokens), the semantic type, exact stats of
the typed values, top values, lengths, the dominant pattern, PII and column-level issues.

Strings are reduced to their distinct values first (one hash pass); everything after works on
distinct values and their counts, so exact figures stay cheap on millions of rows.
"""

from __future__ import annotations

import json
import math
import re
import string
from typing import Any

import numpy as np
import pandas as pd

from datasetgen_assets.profiling.options import ProfileOptions
from datasetgen_assets.profiling.parse import NUMERIC_TYPES, parse_typed
from datasetgen_assets.profiling.pii import detect_pii
from datasetgen_assets.profiling.schema import ColumnProfile, Issue, NumericStats, TopValue
from datasetgen_assets.profiling.types import (
    HINT_ID,
    HINT_PERCENT,
    TypeGuess,
    infer_strings,
    isin,
)

TOP_N = 10
PATTERN_SAMPLE = 5000
PII_SAMPLE = 300
MAX_TOP_CHARS = 100
MASK = "•••• (PII)"
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
NUM_SENTINELS = frozenset({-1, -9, -99, -999, -9999, -99999, 99, 999, 9999, 99999, 999999,
                           9999999})
DATE_SENTINELS = frozenset({"1900-01-01", "1970-01-01", "9999-12-31", "2099-12-31",
                            "0001-01-01", "1899-12-30"})


def _to_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    if value is pd.NaT:
        return None
    return str(value)


def normalize(s: pd.Series) -> pd.Series:
    """A column with a dtype the profiler handles: numbers, bools, datetimes or `str`."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return normalize(s.astype(object))
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype) \
            or pd.api.types.is_datetime64_any_dtype(dtype):
        if pd.api.types.is_complex_dtype(dtype):
            return s.astype("str")
        return s
    if pd.api.types.is_timedelta64_dtype(dtype):
        return s.dt.total_seconds()
    if isinstance(dtype, pd.StringDtype):
        return s
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(s, errors="coerce")
    if kind == "boolean":
        return s.astype("boolean")
    if kind == "string":
        return s.astype("str")
    return s.map(_to_text).astype("str")


def _weighted_stats(x: np.ndarray, w: np.ndarray) -> tuple[float, float, float, float,
                                                            dict[float, float]]:
    """(min, max, mean, std, quantiles) of values x with counts w (x sorted ascending)."""
    total = w.sum()
    with np.errstate(over="ignore", invalid="ignore"):  # huge floats: inf, reported as None
        mean = float((x * w).sum() / total)
        var = float((w * (x - mean) ** 2).sum() / (total - 1)) if total > 1 else 0.0
    cum = np.cumsum(w)
    qs = {q: float(x[min(np.searchsorted(cum, q * total, side="left"), len(x) - 1)])
          for q in QUANTILES}
    std = math.sqrt(var) if math.isfinite(var) and var > 0 else (0.0 if var == 0 else math.nan)
    return float(x[0]), float(x[-1]), mean, std, qs


def _finite(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, 10)


_SHAPE = str.maketrans({**{c: "A" for c in string.ascii_uppercase},
                        **{c: "a" for c in string.ascii_lowercase},
                        **{c: "9" for c in string.digits}})
_RUN_A, _RUN_LOWER, _RUN_9 = re.compile("AA+"), re.compile("aa+"), re.compile("99+")


def _pattern(values: pd.Series, weights: np.ndarray) -> tuple[str | None, float | None]:
    """The most common shape (A upper, a lower, 9 digit) of the values, and its share; runs
    are collapsed (Aa+ 9+) when no exact shape dominates."""
    if not len(values):
        return None, None
    shapes = [v[:64].translate(_SHAPE) for v in values.tolist()]
    total = float(weights.sum())
    best: tuple[str | None, float] = (None, 0.0)
    for collapse in (False, True):
        if collapse:
            if best[1] >= 0.5:
                break
            shapes = [_RUN_A.sub("A+", _RUN_LOWER.sub("a+", _RUN_9.sub("9+", s))) for s in shapes]
        acc: dict[str, float] = {}
        for s, w in zip(shapes, weights.tolist(), strict=True):
            acc[s] = acc.get(s, 0.0) + w
        top = max(acc, key=acc.__getitem__)
        share = acc[top] / total
        if best[0] is None or share > best[1] + 0.1:
            best = (top, share)
    return best[0], round(best[1], 4)


def _numeric_issues(name: str, x: np.ndarray, w: np.ndarray, count: int,
                    qs: dict[float, float]) -> list[Issue]:
    issues: list[Issue] = []
    q1, q3 = qs[0.25], qs[0.75]
    iqr = q3 - q1
    lo, hi = q1 - 3 * iqr, q3 + 3 * iqr
    sentinels = []
    for v in (x[0], x[-1]):
        if v in NUM_SENTINELS:
            share = w[x == v].sum()
            far = (iqr > 0 and (v < lo or v > hi)) or (v < 0 and len(x) > 1 and x[1] >= 0)
            if share >= max(2, 0.001 * count) and far:
                sentinels.append((v, int(share)))
    for v, n in sentinels:
        issues.append(Issue(kind="sentinel_values", column=name, count=n,
                            detail=f"{v:g} occurs {n} times at the edge of the range; "
                                   "probably a placeholder for a missing value"))
    if iqr > 0:
        out_mask = (x < lo) | (x > hi)
        for v, _ in sentinels:
            out_mask &= x != v
        n_out = int(w[out_mask].sum())
        if 0 < n_out <= 0.05 * count:
            issues.append(Issue(kind="outliers", column=name, count=n_out,
                                detail=f"{n_out} values outside [{lo:g}, {hi:g}] "
                                       "(3 x IQR beyond the quartiles)"))
    return issues


def distinct(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes per row, -1 for null; counts per distinct value indexed by the value), in one
    hash pass."""
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":  # sorted, via numpy
        arr = s.to_numpy()
        codes = np.full(len(arr), -1, dtype=np.int64)
        ok = ~np.isnan(arr) if arr.dtype.kind == "f" else slice(None)
        uniq, inverse, counts = np.unique(arr[ok], return_inverse=True, return_counts=True)
        codes[ok] = inverse
        return codes, pd.Series(counts, index=uniq)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return codes, pd.Series(counts, index=uniques)


def profile_column(s: pd.Series, name: str, opts: ProfileOptions, rng: np.random.Generator,
                   vc: pd.Series | None = None,
                   physical: str | None = None) -> tuple[ColumnProfile, list[Issue], pd.Series]:
    """(profile, issues, distinct stripped non-null values as strings).

    `s` must be `normalize`d; `vc` is its `distinct(...)[1]` when already computed."""
    n = len(s)
    physical = physical or str(s.dtype)
    if vc is None:
        vc = distinct(s)[1]
    issues: list[Issue] = []
    attrs: dict[str, Any] = {}
    sampled: list[str] = []
    pattern: tuple[str | None, float | None] = (None, None)
    min_len = max_len = None
    guess: TypeGuess
    stats: NumericStats | None = None
    if pd.api.types.is_bool_dtype(s.dtype):
        vc = vc.sort_values(ascending=False, kind="stable")
        guess = TypeGuess("boolean", attrs={"true_values": ["True"], "false_values": ["False"]})
        null_count = n - int(vc.sum())
        keys = pd.Series(vc.index.astype(str), dtype="str")
        counts = vc.to_numpy()
        unique = len(vc)
    elif pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        if not vc.index.is_monotonic_increasing:
            vc = vc.sort_index()
        counts = vc.to_numpy()
        null_count = n - int(counts.sum())
        guess, stats, extra = _typed_column(name, vc, n - null_count)
        issues += extra
        unique = len(vc)
        order = np.argsort(-counts, kind="stable")[:PII_SAMPLE]
        keys = pd.Series([_num_text(v) for v in vc.index[order]], dtype=object)
        counts = counts[order]
    else:
        guess, stats, null_count, keys, counts, more, info = _string_column(n, vc, name, opts,
                                                                            rng)
        issues += more
        min_len, max_len, pattern, attrs = info["min_len"], info["max_len"], info["pattern"], {}
        sampled = info["sampled"]
        unique = len(keys)
    count = n - null_count
    if count == 0:
        guess = TypeGuess("empty")
        if n:
            issues.append(Issue(kind="all_null", column=name, count=n,
                                detail="every value is null"))
    attrs.update(guess.attrs)
    if guess.semantic_type == "categorical" and "categories" not in attrs:
        attrs["categories"] = sorted(keys.tolist())
    pii = detect_pii(name, guess.semantic_type, keys.iloc[:PII_SAMPLE].tolist())
    if guess.ambiguity:
        issues.append(Issue(kind="ambiguous_type", column=name, detail=guess.ambiguity))
    for kind, detail, cnt in guess.issues:
        issues.append(Issue(kind=kind, column=name, detail=detail, count=cnt))  # type: ignore[arg-type]
    if guess.semantic_type not in ("free_text", "categorical", "identifier", "empty", "country") \
            and guess.confidence < 1.0 and not any(i.kind == "mixed_types" for i in issues):
        shown = ", ".join(repr(v[:40]) for v in guess.unmatched) if not pii else MASK
        issues.append(Issue(kind="mixed_types", column=name,
                            detail=f"{1 - guess.confidence:.1%} of values are not "
                                   f"{guess.semantic_type} (e.g. {shown})"))
    if pii:  # issue texts quote values: keep only the counts
        for i, issue in enumerate(issues):
            if issue.kind in ("casing_variants", "mixed_types") and issue.column == name:
                issues[i] = issue.model_copy(update={"detail": f"{issue.kind.replace('_', ' ')}"
                                                               f" ({MASK})"})
    top = [TopValue(value=MASK if pii else _cut(str(k)), count=int(c))
           for k, c in zip(keys.head(TOP_N), counts[:TOP_N], strict=False)]
    if pii and stats is not None and guess.semantic_type not in NUMERIC_TYPES:
        stats = None
    categories = attrs.pop("categories", None)
    prof = ColumnProfile(
        name=name, semantic_type=guess.semantic_type, physical_type=physical,  # type: ignore[arg-type]
        confidence=round(float(guess.confidence), 4), count=count, null_count=null_count,
        null_ratio=round(null_count / n, 6) if n else 0.0, unique_count=unique,
        unique_ratio=round(unique / count, 6) if count else 0.0,
        categories=None if pii else categories, stats=stats, top_values=top,
        min_length=min_len, max_length=max_len, pattern=pattern[0], pattern_ratio=pattern[1],
        pii=pii, ambiguity=guess.ambiguity, sampled=sampled,
        **{k: v for k, v in attrs.items() if k in ColumnProfile.model_fields},
    )
    return prof, issues, keys


def _num_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TOP_CHARS else text[: MAX_TOP_CHARS - 1] + "…"


def _typed_column(name: str, vc: pd.Series, count: int) -> tuple[TypeGuess, NumericStats | None,
                                                                list[Issue]]:
    """Type and stats of a numeric or datetime column from its sorted value counts."""
    if not len(vc):
        return TypeGuess("empty"), None, []
    w = vc.to_numpy(dtype=float)
    if pd.api.types.is_datetime64_any_dtype(vc.index.dtype):
        idx = pd.DatetimeIndex(vc.index)
        tz = str(idx.tz) if idx.tz is not None else None
        is_date = bool((idx == idx.normalize()).all())
        guess = TypeGuess("date" if is_date else "datetime",
                          attrs={"format": "%Y-%m-%d" if is_date else "%Y-%m-%d %H:%M:%S",
                                 "timezone": tz})
        return guess, _date_stats(idx, w), _date_sentinels(name, idx, w)
    return _number_stats_and_type(name, vc.index.to_numpy(dtype=float), w, count)


def _number_stats_and_type(name: str, x: np.ndarray, w: np.ndarray, count: int
                           ) -> tuple[TypeGuess, NumericStats | None, list[Issue]]:
    """Type and stats from sorted distinct numbers `x` with counts `w`."""
    lname = name.lower().replace(" ", "_")
    finite = np.isfinite(x)
    x, w = x[finite], w[finite]
    if not len(x):
        return TypeGuess("float"), None, []
    mn, mx, mean, std, qs = _weighted_stats(x, w)
    stats = NumericStats(min=_finite(mn), max=_finite(mx), mean=_finite(mean), std=_finite(std),
                         quantiles={f"p{round(q * 100)}": _finite(v) for q, v in qs.items()})
    integral = bool(np.all(np.floor(x) == x))
    if len(x) == 2 and x[0] == 0.0 and x[1] == 1.0:
        guess = TypeGuess("boolean", attrs={"true_values": ["1"], "false_values": ["0"]},
                          ambiguity="only 1 and 0 occur: read as boolean, could be an "
                                    "integer flag")
    elif integral:
        guess = TypeGuess("integer")
        if HINT_ID.search(lname) and len(x) == count:
            guess = TypeGuess("identifier")
    else:
        guess = TypeGuess("float")
    if HINT_PERCENT.search(lname):
        guess = TypeGuess("percentage")
    return guess, stats, _numeric_issues(name, x, w, count, qs)


def profile_numbers(arr: np.ndarray, name: str, physical: str
                    ) -> tuple[ColumnProfile, list[Issue], np.ndarray]:
    """(profile, issues, codes) of a plain numpy int/float column: numpy only (wide frames)."""
    n = len(arr)
    codes = np.full(n, -1, dtype=np.int64)
    ok = ~np.isnan(arr) if arr.dtype.kind == "f" else slice(None)
    uniq, inverse, counts = np.unique(arr[ok], return_inverse=True, return_counts=True)
    codes[ok] = inverse
    count = int(counts.sum())
    issues: list[Issue] = []
    if count == 0:
        guess, stats = TypeGuess("empty"), None
        if n:
            issues.append(Issue(kind="all_null", column=name, count=n,
                                detail="every value is null"))
    else:
        guess, stats, issues = _number_stats_and_type(name, uniq.astype(float),
                                                      counts.astype(float), count)
    order = np.argsort(-counts, kind="stable")
    top_idx = order[:TOP_N]
    big = bool(count) and guess.semantic_type in ("integer", "identifier") and float(
        np.abs(uniq[[0, -1]]).max()) >= 1e12
    sample = [_num_text(v) for v in uniq[order[:PII_SAMPLE]]] if big else None
    pii = detect_pii(name, guess.semantic_type, sample)
    if guess.ambiguity:
        issues.append(Issue(kind="ambiguous_type", column=name, detail=guess.ambiguity))
    prof = ColumnProfile(
        name=name, semantic_type=guess.semantic_type, physical_type=physical,  # type: ignore[arg-type]
        confidence=1.0, count=count, null_count=n - count,
        null_ratio=round((n - count) / n, 6) if n else 0.0, unique_count=len(uniq),
        unique_ratio=round(len(uniq) / count, 6) if count else 0.0, stats=stats,
        top_values=[TopValue(value=MASK if pii else _num_text(uniq[i]), count=int(counts[i]))
                    for i in top_idx],
        pii=pii, ambiguity=guess.ambiguity,
        **{k: v for k, v in guess.attrs.items() if k in ColumnProfile.model_fields},
    )
    return prof, issues, codes


def _date_stats(idx: pd.DatetimeIndex, w: np.ndarray) -> NumericStats:
    ns = idx.as_unit("ns").asi8.astype(float)
    mn, mx, mean, std, qs = _weighted_stats(ns, w)
    iso = lambda v: pd.Timestamp(int(v), tz=idx.tz).isoformat()  # noqa: E731
    return NumericStats(min=iso(mn), max=iso(mx), mean=iso(mean), std=_finite(std / 1e9),
                        quantiles={f"p{round(q * 100)}": iso(v) for q, v in qs.items()})


def _date_sentinels(name: str, idx: pd.DatetimeIndex, w: np.ndarray) -> list[Issue]:
    days = idx.strftime("%Y-%m-%d")
    out = []
    for day in DATE_SENTINELS:
        n = int(w[np.asarray(days == day)].sum())
        if n >= 2:
            out.append(Issue(kind="sentinel_values", column=name, count=n,
                             detail=f"{day} occurs {n} times; probably a placeholder date"))
    return out


def _string_column(n: int, vc: pd.Series, name: str, opts: ProfileOptions,
                   rng: np.random.Generator) -> tuple[Any, ...]:
    vc = vc.sort_values(ascending=False, kind="stable")
    raw = pd.Series(vc.index, dtype="str")
    counts = vc.to_numpy()
    stripped = raw.str.strip()
    tokens = {t.strip().lower() for t in opts.null_tokens}
    if len(stripped) <= 4096:
        null_mask = isin([v.lower() for v in stripped.tolist()], tokens | {""})
    else:
        null_mask = (stripped.str.lower().isin(tokens) | (stripped == "")).to_numpy()
    issues: list[Issue] = []
    found = raw[null_mask]
    null_count = n - int(counts.sum()) + int(counts[null_mask].sum())
    shown_tokens = [(t, int(c)) for t, c in zip(found, counts[null_mask], strict=True) if t != ""]
    if shown_tokens:
        listed = ", ".join(f"{t!r} ({c})" for t, c in shown_tokens[:5])
        issues.append(Issue(kind="null_tokens", column=name,
                            count=sum(c for _, c in shown_tokens),
                            detail=f"placeholder values treated as null: {listed}"))
    keep = ~null_mask
    raw, stripped, counts = raw[keep], stripped[keep], counts[keep]
    padded = (raw != stripped).to_numpy()
    if padded.any():
        ws = int(counts[padded].sum())
        issues.append(Issue(kind="whitespace", column=name, count=ws,
                            detail=f"{ws} values have leading or trailing whitespace"))
        merged = pd.Series(counts).groupby(stripped.to_numpy()).sum().sort_values(
            ascending=False, kind="stable")
        stripped = pd.Series(merged.index, dtype="str")
        counts = merged.to_numpy()
    else:
        stripped = stripped.reset_index(drop=True)
    n_unique, n_nonnull = len(stripped), int(counts.sum())
    info: dict[str, Any] = {"min_len": None, "max_len": None, "pattern": (None, None),
                            "sampled": []}
    if not n_unique:
        return TypeGuess("empty"), None, null_count, stripped, counts, issues, info
    lengths = raw.str.len()
    info["min_len"], info["max_len"] = int(lengths.min()), int(lengths.max())
    limit = opts.sample_size
    if n_unique > limit:  # the most frequent half exactly, a uniform sample of the rest
        head = limit // 2
        rest = rng.choice(np.arange(head, n_unique), size=limit - head, replace=False)
        pick = np.concatenate([np.arange(head), np.sort(rest)])
        w = counts[pick].astype(float)
        w[head:] *= (n_unique - head) / (limit - head)
        values = stripped.iloc[pick].reset_index(drop=True)
        info["sampled"] = ["semantic_type", "pattern"]
    else:
        values, w = stripped, counts.astype(float)
    guess = infer_strings(values, w, name=name, n_unique=n_unique, n_nonnull=n_nonnull,
                          threshold=opts.type_threshold, max_categories=opts.max_categories,
                          dayfirst=opts.dayfirst, decimal_separator=opts.decimal_separator,
                          phone_regions=opts.phone_regions)
    info["pattern"] = _pattern(values.iloc[:PATTERN_SAMPLE], w[:PATTERN_SAMPLE])
    stats = None
    st = guess.semantic_type
    if st in NUMERIC_TYPES or st in ("date", "datetime"):
        typed = parse_typed(stripped, st, guess.attrs)
        ok = typed.notna().to_numpy()
        if ok.any():
            if st in NUMERIC_TYPES:
                x = typed.to_numpy(dtype=float, na_value=np.nan)[ok]
                cw = counts[ok].astype(float)
                order = np.argsort(x, kind="stable")
                x, cw = x[order], cw[order]
                mn, mx, mean, std, qs = _weighted_stats(x, cw)
                stats = NumericStats(min=_finite(mn), max=_finite(mx), mean=_finite(mean),
                                     std=_finite(std), quantiles={f"p{round(q * 100)}": _finite(v)
                                                                  for q, v in qs.items()})
                issues += _numeric_issues(name, x, cw, n_nonnull, qs)
            else:
                idx = pd.DatetimeIndex(typed[ok])
                cw = counts[ok].astype(float)
                order = np.argsort(idx.asi8, kind="stable")
                idx, cw = idx[order], cw[order]
                stats = _date_stats(idx, cw)
                issues += _date_sentinels(name, idx, cw)
    if st in ("categorical", "country", "free_text", "boolean") and n_unique <= 5000:
        issues += _casing(name, stripped, counts)
    return guess, stats, null_count, stripped, counts, issues, info


def _casing(name: str, values: pd.Series, counts: np.ndarray) -> list[Issue]:
    low = values.str.lower().str.replace(r"\s+", " ", regex=True)
    groups = pd.Series(values.to_numpy()).groupby(low.to_numpy()).agg(list)
    variants = [v for v in groups if len(v) > 1]
    if not variants:
        return []
    shown = "; ".join(" / ".join(repr(x) for x in v[:4]) for v in variants[:3])
    n = int(sum(counts[values.isin([x for v in variants for x in v]).to_numpy()]))
    return [Issue(kind="casing_variants", column=name, count=n,
                  detail=f"{len(variants)} value(s) spelled with different casing: {shown}")]
