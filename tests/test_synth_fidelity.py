"""Fidelity metrics on small hand-computed cases (the SDMetrics QualityReport method)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datasetgen_assets.synth import fidelity
from datasetgen_assets.synth.formats import ColumnPlan


def test_tv_complement_hand_computed():
    real = pd.Series(["a", "a", "b", "b"])
    synth = pd.Series(["a", "a", "a", "b", None])  # nulls dropped: a .75, b .25
    assert fidelity.tv_complement(real, synth) == pytest.approx(0.75)
    # a category only the synthetic rows have counts fully
    assert fidelity.tv_complement(pd.Series(["a"] * 4), pd.Series(["b"] * 4)) == pytest.approx(
        0.0, abs=1e-5)


def test_ks_complement_hand_computed_and_nulls_dropped():
    real = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan])
    synth = pd.Series([1.0, 2.0, 3.0, 5.0])
    # ECDFs differ most at 4: 1.0 vs 0.75
    assert fidelity.ks_complement(real, synth) == pytest.approx(0.75)
    dates = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"]))
    assert fidelity.ks_complement(dates, dates) == 1.0


def test_correlation_similarity_hand_computed():
    real = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4, 6, 8]})          # r = 1
    anti = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [8.0, 6, 4, 2]})          # r = -1
    score, cr, cs = fidelity.correlation_similarity(real, anti)
    assert (score, cr, cs) == (pytest.approx(0.0), pytest.approx(1.0), pytest.approx(-1.0))
    same, _, _ = fidelity.correlation_similarity(real, real)
    assert same == pytest.approx(1.0)
    const = pd.DataFrame({"x": [1.0, 1, 1, 1], "y": [1.0, 2, 3, 4]})
    assert np.isnan(fidelity.correlation_similarity(const, real)[0])


def test_contingency_similarity_hand_computed():
    real = pd.DataFrame({"a": ["p", "q", "p", "q"], "b": ["x", "y", "x", "y"]})
    swapped = pd.DataFrame({"a": ["p", "q", "p", "q"], "b": ["y", "x", "y", "x"]})
    assert fidelity.contingency_similarity(real, swapped) == pytest.approx(0.0)
    half = pd.DataFrame({"a": ["p", "q", "p", "q"], "b": ["x", "y", "y", "x"]})
    assert fidelity.contingency_similarity(real, half) == pytest.approx(0.5)
    # nulls are a cell of their own
    with_null = pd.DataFrame({"a": ["p", None], "b": ["x", "x"]})
    assert fidelity.contingency_similarity(with_null, with_null) == pytest.approx(1.0)


def test_discretize_like_sdmetrics_ten_bins_of_own_range_nulls_with_the_maximum():
    s = pd.Series([0.0, 10.0, 5.0, np.nan])
    bins = fidelity.discretize(s)
    # np.digitize on 11 edges: the maximum and NaN both land past the last edge (SDMetrics)
    assert list(bins) == [1, 11, 6, 11]


def test_quality_report_is_mean_of_properties_and_skips_constant_pairs():
    real = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4, 6, 8], "c": ["a", "a", "b", "b"]})
    synth = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [8.0, 6, 4, 2], "c": ["a", "a", "b", "b"]})
    rep = fidelity.quality_report(real, synth, {"x": "numerical", "y": "numerical",
                                                "c": "categorical"},
                                  real_correlation_threshold=0, real_association_threshold=0)
    assert rep["column_shapes"] == pytest.approx(1.0)
    by_pair = {tuple(p["columns"]): p for p in rep["pairs"]}
    assert by_pair[("x", "y")]["metric"] == "CorrelationSimilarity"
    assert by_pair[("x", "y")]["score"] == pytest.approx(0.0)
    assert by_pair[("x", "c")]["metric"] == "ContingencySimilarity"
    assert by_pair[("x", "c")]["score"] == pytest.approx(1.0)
    # y reversed: its bins against c swap -> bins {1,4} vs {11,7}: contingency 0
    assert by_pair[("y", "c")]["score"] == pytest.approx(0.0)
    assert rep["column_pair_trends"] == pytest.approx(1 / 3)
    assert rep["score"] == pytest.approx((1.0 + 1 / 3) / 2)
    const = pd.DataFrame({"x": [1.0, 1, 1, 1], "y": [2.0, 4, 6, 8]})
    rep2 = fidelity.quality_report(const, const, {"x": "numerical", "y": "numerical"},
                                   real_correlation_threshold=0)
    assert np.isnan(rep2["pairs"][0]["score"]) and np.isnan(rep2["column_pair_trends"])
    assert rep2["score"] == pytest.approx(1.0)  # nan property left out of the mean


def test_constraint_adherence_counts_range_category_and_shape_violations():
    real = pd.DataFrame({"n": [1.0, 5.0], "c": ["a", "b"], "id": ["AB-12", "CD-34"]})
    synth = pd.DataFrame({"n": [2.0, 9.0], "c": ["a", "z"], "id": ["XY-99", "xy-9"]})
    plans = [ColumnPlan("n", "model", "float", sdtype="numerical"),
             ColumnPlan("c", "model", "categorical", sdtype="categorical"),
             ColumnPlan("id", "fresh", "identifier", text=True)]
    rep = fidelity.constraint_adherence(real, real, synth, synth, plans)
    assert rep["columns"] == {"n": 0.5, "c": 0.5, "id": 0.5}
    assert rep["score"] == pytest.approx(0.5)


def test_only_pairs_related_in_the_real_data_are_scored_by_default():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    real = pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.1, size=200),
                         "z": rng.normal(size=200),
                         "c": np.where(x > 0, "hi", "lo"), "d": rng.choice(["p", "q"], 200)})
    sd = {"x": "numerical", "y": "numerical", "z": "numerical", "c": "categorical",
          "d": "categorical"}
    rep = fidelity.quality_report(real, real, sd)
    scored = {tuple(p["columns"]) for p in rep["pairs"] if not np.isnan(p["score"])}
    # |r(x, y)| ~ 1 > 0.5; Cramér's V of (x bins, c) is high; z and d are unrelated
    assert scored == {("x", "y"), ("x", "c"), ("y", "c")}
    assert rep["column_pair_trends"] == pytest.approx(1.0)
    v = fidelity.cramers_v(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]))
    assert v == pytest.approx(1.0)
    assert np.isnan(fidelity.cramers_v(np.array([0, 0]), np.array([0, 1])))
