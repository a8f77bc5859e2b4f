"""Fidelity of synthetic rows, computed the way SDMetrics' QualityReport does (0.32).

- Column Shapes: KSComplement (1 - two-sample KS statistic, values rounded to 14 decimals) for
  numerical and datetime columns, TVComplement (1 - total variation distance of the category
  frequencies) for categorical and boolean columns; nulls dropped first.
- Column Pair Trends: CorrelationSimilarity (1 - |Pearson real - Pearson synthetic| / 2, rows
  with a null in the pair dropped) for two continuous columns; ContingencySimilarity (1 - total
  variation of the joint frequencies, nulls kept as a cell) for two discrete columns and for
  mixed pairs, whose continuous side is discretized into 10 equal-width bins of its own data
  (np.histogram_bin_edges on each dataset separately, np.digitize, so nulls share the bin past
  the last edge with the maximum, as in SDMetrics).
  As in SDMetrics 0.32's QualityReport, only pairs related in the real data count: |Pearson|
  above 0.5, Cramér's V of the real contingency table above 0.3; the others, and pairs whose
  metric cannot be computed (a constant column), are left out of the average.
- Overall score: the mean of the two property scores (each the mean of its details; a
  property with no scored detail is left out).

Datetimes are compared as nanoseconds. `constraint_adherence` adds the share of synthetic
values that keep the upload's constraints (type and format, range, category set, id shape).
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

CONTINUOUS = frozenset({"numerical", "datetime"})
DISCRETE = frozenset({"categorical", "boolean"})
KS_DECIMALS = 14  # sys.float_info.dig - 1, as SDMetrics' KSComplement
REAL_CORRELATION_THRESHOLD = 0.5  # SDMetrics' DEFAULT_REAL_CORRELATION_THRESHOLD
REAL_ASSOCIATION_THRESHOLD = 0.3  # SDMetrics' DEFAULT_REAL_ASSOCIATION_THRESHOLD


def _numbers(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ns = s.astype("datetime64[ns]") if not isinstance(s.dtype, pd.DatetimeTZDtype) else \
            s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        out = pd.Series(ns.to_numpy().astype("int64").astype(float), index=s.index)
        return out.mask(s.isna())
    return pd.to_numeric(s, errors="coerce").astype("float64")


def ks_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - the Kolmogorov-Smirnov statistic of the non-null values (NaN when one is empty)."""
    r = _numbers(real).dropna().round(KS_DECIMALS)
    s = _numbers(synthetic).dropna().round(KS_DECIMALS)
    if r.empty or s.empty:
        return float("nan")
    return float(1.0 - ks_2samp(r.to_numpy(), s.to_numpy()).statistic)


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - total variation distance between the category frequencies (nulls dropped)."""
    r = Counter(real.dropna().tolist())
    s = Counter(synthetic.dropna().tolist())
    if not r or not s:
        return float("nan")
    for value in s:
        if value not in r:
            r[value] += 1e-6  # SDMetrics' regularization
    rt, st = sum(r.values()), sum(s.values())
    return float(1.0 - 0.5 * sum(abs(s[v] / st - r[v] / rt) for v in r))


def correlation_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[float, float,
                                                                                   float]:
    """(score, real Pearson, synthetic Pearson) of two continuous columns; NaN score when a
    column is constant or the correlation is undefined."""
    a, b = real.columns[:2]
    r = pd.DataFrame({"a": _numbers(real[a]), "b": _numbers(real[b])})
    s = pd.DataFrame({"a": _numbers(synthetic[a]), "b": _numbers(synthetic[b])})
    if (r.nunique() == 1).any() or (s.nunique() == 1).any():
        return float("nan"), float("nan"), float("nan")
    r, s = r.dropna(), s.dropna()
    if len(r) < 2 or len(s) < 2:
        return float("nan"), float("nan"), float("nan")
    with np.errstate(all="ignore"):
        cr = float(np.corrcoef(r["a"], r["b"])[0, 1])
        cs = float(np.corrcoef(s["a"], s["b"])[0, 1])
    if np.isnan(cr) or np.isnan(cs):
        return float("nan"), cr, cs
    return 1.0 - abs(cr - cs) / 2.0, cr, cs


def contingency_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """1 - total variation distance of the joint frequencies of two discrete columns."""
    cols = list(real.columns[:2])
    r = real[cols].groupby(cols, dropna=False).size() / len(real)
    s = synthetic[cols].groupby(cols, dropna=False).size() / len(synthetic)
    idx = r.index.union(s.index, sort=False).drop_duplicates()
    diff = (r.reindex(idx, fill_value=0) - s.reindex(idx, fill_value=0)).abs().fillna(0)
    return float(1.0 - diff.sum() / 2.0)


def discretize(s: pd.Series) -> pd.Series:
    """10 equal-width bins of the column's own non-null range (np.digitize: the maximum and
    nulls fall past the last edge, as in SDMetrics)."""
    x = _numbers(s)
    present = x.dropna()
    if present.empty:
        return pd.Series(np.ones(len(x), dtype=int), index=s.index)
    edges = np.histogram_bin_edges(present.to_numpy())
    return pd.Series(np.digitize(x.to_numpy(), bins=edges), index=s.index)


def _codes(real: pd.Series, synthetic: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Shared integer codes of two discrete columns; null is a code of its own."""
    both = pd.concat([real.astype(object), synthetic.astype(object)], ignore_index=True)
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes)
    return codes[: len(real)], codes[len(real):], len(uniques) + 1


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two code arrays (scipy's association, no continuity correction); NaN
    when the table has fewer than two rows or columns."""
    from scipy.stats.contingency import association

    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max(initial=-1) + 1, ib.max(initial=-1) + 1), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    if table.sum() == 0 or min(table.shape) < 2:
        return float("nan")
    with np.errstate(all="ignore"):
        return float(association(table, method="cramer"))


def _joint_tv(ra: np.ndarray, rb: np.ndarray, sa: np.ndarray, sb: np.ndarray, kb: int) -> float:
    """1 - total variation of the joint frequencies of two code arrays (ContingencySimilarity)."""
    r = np.unique(ra.astype(np.int64) * kb + rb, return_counts=True)
    s = np.unique(sa.astype(np.int64) * kb + sb, return_counts=True)
    keys = np.union1d(r[0], s[0])
    fr = np.zeros(len(keys))
    fs = np.zeros(len(keys))
    fr[np.searchsorted(keys, r[0])] = r[1] / len(ra)
    fs[np.searchsorted(keys, s[0])] = s[1] / len(sa)
    return float(1.0 - np.abs(fr - fs).sum() / 2.0)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 2:
        return float("nan")
    with np.errstate(all="ignore"):
        return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _constant(x: np.ndarray) -> bool:
    ok = x[~np.isnan(x)]
    return len(ok) > 0 and ok.min() == ok.max()


def quality_report(real: pd.DataFrame, synthetic: pd.DataFrame, sdtypes: dict[str, str], *,
                   real_correlation_threshold: float = REAL_CORRELATION_THRESHOLD,
                   real_association_threshold: float = REAL_ASSOCIATION_THRESHOLD
                   ) -> dict[str, Any]:
    """Column Shapes, Column Pair Trends and their mean, with per-column and per-pair details.

    `sdtypes` maps each compared column to numerical, datetime, categorical or boolean; pairs
    weaker than the thresholds in the real data are listed but not scored (0 scores all)."""
    cols = [c for c in sdtypes if sdtypes[c] in CONTINUOUS | DISCRETE]
    shapes: list[dict[str, Any]] = []
    num_r: dict[str, np.ndarray] = {}
    num_s: dict[str, np.ndarray] = {}
    code_r: dict[str, np.ndarray] = {}
    code_s: dict[str, np.ndarray] = {}
    width: dict[str, int] = {}
    for c in cols:
        if sdtypes[c] in CONTINUOUS:
            shapes.append({"column": c, "metric": "KSComplement",
                           "score": ks_complement(real[c], synthetic[c])})
            num_r[c] = _numbers(real[c]).to_numpy()
            num_s[c] = _numbers(synthetic[c]).to_numpy()
            code_r[c] = discretize(real[c]).to_numpy()
            code_s[c] = discretize(synthetic[c]).to_numpy()
            width[c] = 12  # np.digitize on 11 edges: 0..11
        else:
            shapes.append({"column": c, "metric": "TVComplement",
                           "score": tv_complement(real[c], synthetic[c])})
            code_r[c], code_s[c], width[c] = _codes(real[c], synthetic[c])
    pairs: list[dict[str, Any]] = []
    nan = float("nan")
    for a, b in itertools.combinations(cols, 2):
        row: dict[str, Any] = {"columns": [a, b]}
        if sdtypes[a] in CONTINUOUS and sdtypes[b] in CONTINUOUS:
            if any(_constant(x) for x in (num_r[a], num_r[b], num_s[a], num_s[b])):
                score, cr, cs = nan, nan, nan
            else:
                cr, cs = _pearson(num_r[a], num_r[b]), _pearson(num_s[a], num_s[b])
                score = nan if np.isnan(cr) or np.isnan(cs) else 1.0 - abs(cr - cs) / 2.0
                if real_correlation_threshold > 0 and not abs(cr) > real_correlation_threshold:
                    score = nan
            row.update(metric="CorrelationSimilarity", score=score, real_correlation=cr,
                       synthetic_correlation=cs)
        else:
            assoc = nan
            if real_association_threshold > 0:
                assoc = cramers_v(code_r[a], code_r[b])
            if real_association_threshold > 0 and not assoc > real_association_threshold:
                score = nan
            else:
                score = _joint_tv(code_r[a], code_r[b], code_s[a], code_s[b], width[b])
            row.update(metric="ContingencySimilarity", score=score, real_association=assoc)
        pairs.append(row)
    shape_score = _mean([s["score"] for s in shapes])
    pair_score = _mean([p["score"] for p in pairs])
    overall = _mean([shape_score, pair_score])
    return {"score": overall, "column_shapes": shape_score, "column_pair_trends": pair_score,
            "columns": shapes, "pairs": pairs}


def _mean(values: list[float]) -> float:
    x = np.array([v for v in values if v is not None], dtype=float)
    x = x[~np.isnan(x)]
    return float(x.mean()) if len(x) else float("nan")


def shape_of(values: pd.Series) -> pd.Series:
    """The character shape of each value: digits 9, lowercase a, uppercase A."""
    text = values.astype("str")
    text = text.str.replace(r"[0-9]", "9", regex=True).str.replace(r"[a-z]", "a", regex=True)
    return text.str.replace(r"[A-Z]", "A", regex=True)


def constraint_adherence(real: pd.DataFrame, real_typed: pd.DataFrame,
                         synthetic: pd.DataFrame, synthetic_typed: pd.DataFrame,
                         plans: list[Any]) -> dict[str, Any]:
    """Share of non-null synthetic values that keep each column's constraints: they parse as
    the profiled type and format, lie in the real range (numbers, dates), belong to the real
    categories (categoricals), keep a real id shape (identifiers, phones, uuids)."""
    per_column: dict[str, float] = {}
    failures = synthetic_typed.attrs.get("coerce_failures", {})
    for p in plans:
        if p.role == "empty":
            continue
        s_raw = synthetic[p.name]
        n = int(s_raw.notna().sum())
        if n == 0:
            continue
        bad = int(failures.get(p.name, 0))
        if p.role == "model" and p.sdtype in CONTINUOUS:
            r, s = _numbers(real_typed[p.name]), _numbers(synthetic_typed[p.name])
            lo, hi = r.min(), r.max()
            bad += int(((s < lo - 1e-9 * abs(lo)) | (s > hi + 1e-9 * abs(hi))).sum())
        elif p.role == "model":
            known = set(real[p.name].dropna().astype(str))
            bad += int((~s_raw.dropna().astype(str).isin(known)).sum())
        elif p.text and p.semantic_type in ("identifier", "phone", "uuid", "ip_address") and \
                p.pii in (None, "PHONE_NUMBER", "IP_ADDRESS"):  # numeric ids may grow a digit
            shapes = set(shape_of(real[p.name].dropna()))
            bad += int((~shape_of(s_raw.dropna()).isin(shapes)).sum())
        per_column[p.name] = round(1.0 - min(bad, n) / n, 6)
    overall = float(np.mean(list(per_column.values()))) if per_column else 1.0
    return {"score": overall, "columns": per_column}
