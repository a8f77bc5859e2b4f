"""Property tests: profiling never crashes on random frames, and its output stays coherent."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasetgen_assets.profiling import (
    SEMANTIC_TYPES,
    DatasetProfile,
    coerce_to_profile,
    profile_frame,
)

ROWS = st.integers(min_value=0, max_value=25)
TOKENS = st.sampled_from(["", "N/A", "null", "-", "1,5", "1.234,56", "€3,50", "12%", "yes",
                          "no", "01/02/2024", "13/01/2024", "2024-01-01T10:00:00Z", "a@b.co",
                          "+49 30 1234567", "10.0.0.1", "{\"a\": 1}", "DE", "12:30", " x "])


def _column(kind: str, n: int) -> st.SearchStrategy[list]:
    if kind == "text":
        return st.lists(st.one_of(st.none(), st.text(max_size=30), TOKENS), min_size=n,
                        max_size=n)
    if kind == "int":
        return st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n)
    if kind == "float":
        return st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n)
    if kind == "bool":
        return st.lists(st.booleans(), min_size=n, max_size=n)
    return st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=8), st.floats(),
                              st.booleans(), TOKENS), min_size=n, max_size=n)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(ROWS)
    kinds = draw(st.lists(st.sampled_from(["text", "int", "float", "bool", "mixed"]),
                          min_size=1, max_size=6))
    data = {}
    for i, kind in enumerate(kinds):
        values = draw(_column(kind, n))
        data[f"{kind}_{i}"] = pd.Series(values, dtype=object if kind in ("text", "mixed")
                                        else None)
    return pd.DataFrame(data)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_profile_never_crashes_and_is_coherent(df: pd.DataFrame) -> None:
    p = profile_frame(df, name="random")
    assert p.row_count == len(df) and len(p.columns) == df.shape[1]
    for col in p.columns:
        assert col.semantic_type in SEMANTIC_TYPES
        assert col.count + col.null_count == len(df)
        assert 0.0 <= col.null_ratio <= 1.0 and 0.0 <= col.unique_ratio <= 1.0
        assert col.unique_count <= max(col.count, 0)
    doc = json.loads(json.dumps(p.to_json_schema(), allow_nan=False))
    assert DatasetProfile.from_json_schema(doc) == p
    out = coerce_to_profile(df, p)
    assert out.shape == df.shape


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), min_size=1,
                max_size=40))
def test_string_inference_never_crashes(values: list[str]) -> None:
    p = profile_frame(pd.DataFrame({"s": pd.Series(values, dtype="str")}))
    assert p.columns[0].semantic_type in SEMANTIC_TYPES


def test_numeric_columns_keep_exact_stats() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(10, 2, 5000)
    col = profile_frame(pd.DataFrame({"x": x})).columns[0]
    assert col.stats.min == round(x.min(), 10) and col.stats.max == round(x.max(), 10)
    assert abs(col.stats.mean - x.mean()) < 1e-9 and abs(col.stats.std - x.std(ddof=1)) < 1e-9
    assert abs(col.stats.quantiles["p50"] - np.median(x)) < 0.01
