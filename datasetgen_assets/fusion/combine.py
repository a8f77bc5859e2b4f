"""Late fusion arithmetic: a weighted vote over categorical per-modality answers and a
weighted mean over numeric ones. Absent answers (NA) do not vote; weights are renormalized
over the modalities that answered."""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_numeric(preds: pd.DataFrame) -> bool:
    """True when every per-modality column is numeric (bools are categorical)."""
    return all(pd.api.types.is_numeric_dtype(preds[c]) and not
               pd.api.types.is_bool_dtype(preds[c]) for c in preds.columns)


def weighted_vote(preds: pd.DataFrame, weights: dict[str, float]
                  ) -> tuple[pd.Series, pd.Series]:
    """Per row: the label with the largest total weight, and that weight's share of the
    weight that voted. Ties go to the label of the heaviest voter among the tied labels
    (then the first declared modality). Columns of `preds` are modality names."""
    labels: list[object] = []
    shares: list[float] = []
    order = list(preds.columns)
    for _, row in preds.iterrows():
        totals: dict[object, float] = {}
        best_voter: dict[object, tuple[float, int]] = {}
        for pos, name in enumerate(order):
            v = row[name]
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                continue
            w = float(weights.get(name, 1.0))
            totals[v] = totals.get(v, 0.0) + w
            rank = (w, -pos)
            if v not in best_voter or rank > best_voter[v]:
                best_voter[v] = rank
        voted = sum(totals.values())
        if not totals:
            labels.append(None)
            shares.append(np.nan)
            continue
        win = max(totals, key=lambda k: (round(totals[k], 12), best_voter[k]))
        labels.append(win)
        shares.append(totals[win] / voted if voted > 0 else np.nan)
    return (pd.Series(labels, index=preds.index, dtype=object),
            pd.Series(shares, index=preds.index, dtype="float64"))


def weighted_mean(preds: pd.DataFrame, weights: dict[str, float]
                  ) -> tuple[pd.Series, pd.Series]:
    """Per row: the weighted mean of the answers present, and the share of the total weight
    that answered."""
    w = np.array([float(weights.get(c, 1.0)) for c in preds.columns])
    values = preds.to_numpy(dtype="float64")
    have = ~np.isnan(values)
    wsum = (have * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(wsum > 0, np.nansum(values * w, axis=1) / wsum, np.nan)
        support = wsum / w.sum() if w.sum() > 0 else np.full(len(preds), np.nan)
    return (pd.Series(mean, index=preds.index, dtype="float64"),
            pd.Series(support, index=preds.index, dtype="float64"))
