"""Privacy of synthetic rows: exact copies of real rows, distance to closest record (DCR).

The DCR follows SDMetrics' DCROverfittingProtection: the distance between two rows is the
mean over the compared columns of a per-column distance, |a - b| / range for numbers and
datetimes (range of the real data), 0/1 mismatch for categories and booleans, and 1 when only
one side is null. Vectorized as a Manhattan nearest-neighbour query (scipy cKDTree) on that
encoding: numbers scaled by 1/range, categories one-hot at weight 1/2 (a mismatch costs 1),
a null category as its own one-hot slot; a numeric null is a flag at weight 1/2 with its value
at mid-range, so a one-sided null costs 0.5 to 1 (SDMetrics: 1) and two nulls 0. SDMetrics
also caps a numeric gap at 1: our synthetic values stay inside the real range, where the two
agree.

The training split is subsampled to the holdout's size, so a share of synthetic rows closer to
the training rows near 50% means the model did not memorize them (SDMetrics' score:
min(1, 2 * (1 - share))).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from datasetgen_assets.synth.fidelity import CONTINUOUS, DISCRETE, _numbers


def _column_hash(s: pd.Series) -> np.ndarray:
    """A 64-bit hash per value; numbers (any int/float dtype) and datetimes hash by value, so
    1, 1.0 and Int64 1 agree; nulls hash alike; other values by their text."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        x = s.astype("datetime64[ns]").to_numpy().view("int64").astype("float64")
        x[s.isna().to_numpy()] = np.nan
        return pd.util.hash_array(x)
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return pd.util.hash_array(s.astype("float64").to_numpy(dtype="float64",
                                                              na_value=np.nan))
    text = s.astype(object).where(s.notna(), "\x00null").astype(str)
    return pd.util.hash_array(text.to_numpy(dtype=object))


def row_keys(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A 64-bit hash per row of `columns` (see _column_hash; nulls equal to nulls)."""
    if not columns:
        return np.zeros(len(df), dtype="uint64")
    out = np.zeros(len(df), dtype="uint64")
    for i, c in enumerate(columns):
        h = _column_hash(df[c])
        out = (out * np.uint64(0x100000001B3)) ^ (h + np.uint64(i + 1))
    return out


def copy_mask(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """True for each synthetic row equal to some real row on `columns`."""
    if not columns:
        return np.zeros(len(synthetic), dtype=bool)
    return np.isin(row_keys(synthetic, columns), row_keys(real, columns))


def exact_copies(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str]) -> int:
    """How many synthetic rows equal a real row on `columns`."""
    return int(copy_mask(real, synthetic, columns).sum())


def encode(frames: list[pd.DataFrame], sdtypes: dict[str, str],
           reference: pd.DataFrame) -> list[np.ndarray]:
    """The DCR encoding (see the module docstring) of each frame; ranges and categories from
    `reference`. Every row's coordinates are divided by the number of columns."""
    cols = [c for c in sdtypes if sdtypes[c] in CONTINUOUS | DISCRETE]
    parts: list[list[np.ndarray]] = [[] for _ in frames]
    for c in cols:
        if sdtypes[c] in CONTINUOUS:
            ref = _numbers(reference[c])
            lo, span = ref.min(), ref.max() - ref.min()
            span = span if span and np.isfinite(span) else 1.0
            lo = lo if np.isfinite(lo) else 0.0
            for i, f in enumerate(frames):
                x = _numbers(f[c]).to_numpy()
                null = np.isnan(x)
                parts[i].append(np.where(null, 0.5, (x - lo) / span))
                parts[i].append(null * 0.5)
        else:
            cats = pd.Index(reference[c].dropna().astype(str).unique())
            for i, f in enumerate(frames):
                s = f[c]
                codes = cats.get_indexer(s.astype(str).where(s.notna(), None))
                onehot = np.zeros((len(f), len(cats) + 2))
                k = np.where(s.isna().to_numpy(), len(cats), np.where(codes < 0, len(cats) + 1,
                                                                        codes))
                onehot[np.arange(len(f)), k] = 0.5
                parts[i].append(onehot)
    out = []
    for p in parts:
        m = np.column_stack([a if a.ndim == 2 else a[:, None] for a in p]) if p else None
        out.append(m / max(1, len(cols)) if m is not None else np.zeros((0, 0)))
    return out


def dcr_report(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
               sdtypes: dict[str, str], seed: int = 0) -> dict[str, Any]:
    """Share of synthetic rows closer to the training rows than to the holdout rows, the
    median DCRs to each, and SDMetrics' DCROverfittingProtection score."""
    cols = [c for c in sdtypes if sdtypes[c] in CONTINUOUS | DISCRETE]
    if not cols or holdout.empty or synthetic.empty:
        return {"closer_to_training": None, "median_dcr_training": None,
                "median_dcr_holdout": None, "overfitting_protection": None,
                "compared_columns": cols}
    rng = np.random.default_rng(seed)
    if len(train) > len(holdout):
        train = train.iloc[np.sort(rng.choice(len(train), len(holdout), replace=False))]
    reference = pd.concat([train, holdout], ignore_index=True)
    t, h, s = encode([train, holdout, synthetic], sdtypes, reference)
    d_train = cKDTree(t).query(s, k=1, p=1)[0]
    d_hold = cKDTree(h).query(s, k=1, p=1)[0]
    share = float((d_train < d_hold).mean())
    return {
        "closer_to_training": round(share, 4),
        "median_dcr_training": round(float(np.median(d_train)), 6),
        "median_dcr_holdout": round(float(np.median(d_hold)), 6),
        "overfitting_protection": round(min(1.0, 2.0 * (1.0 - share)), 4),
        "compared_columns": cols,
        "rows_compared": {"training": len(train), "holdout": len(holdout),
                          "synthetic": len(synthetic)},
    }
