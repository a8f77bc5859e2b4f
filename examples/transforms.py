"""Custom transforms the example pipelines call with `custom_python`."""

from __future__ import annotations

import pandas as pd


def price_bands(frame: pd.DataFrame, column: str = "unit_price",
                edges: tuple[float, ...] = (0, 25, 100, 250, float("inf"))) -> pd.DataFrame:
    """Add `price_band` (budget, mid, premium, luxury) from a price column."""
    labels = ["budget", "mid", "premium", "luxury"][: len(edges) - 1]
    out = frame.copy()
    out["price_band"] = pd.cut(out[column], bins=list(edges), labels=labels,
                               right=False).astype("string")
    return out
