"""Privacy metrics: exact copies and distance to closest record against a holdout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datasetgen_assets.synth import privacy


def test_exact_copies_compare_rows_on_the_given_columns_nulls_equal():
    real = pd.DataFrame({"a": [1, 2, None], "b": ["x", "y", "z"], "id": [1, 2, 3]})
    synth = pd.DataFrame({"a": [1, 2, None, 2], "b": ["x", "x", "z", "y"], "id": [7, 8, 9, 10]})
    assert privacy.exact_copies(real, synth, ["a", "b"]) == 3
    assert privacy.exact_copies(real, synth, ["a", "b", "id"]) == 0
    assert list(privacy.copy_mask(real, synth, ["a", "b"])) == [True, False, True, True]


def test_dcr_distance_is_mean_of_scaled_gap_and_category_mismatch():
    ref = pd.DataFrame({"n": [0.0, 10.0], "c": ["a", "b"]})
    sd = {"n": "numerical", "c": "categorical"}
    a, b = privacy.encode([pd.DataFrame({"n": [0.0], "c": ["a"]}),
                           pd.DataFrame({"n": [5.0], "c": ["b"]})], sd, ref)
    # (|0 - 5| / 10 + 1) / 2 columns
    assert np.abs(a - b).sum() == pytest.approx(0.75)
    same = privacy.encode([pd.DataFrame({"n": [np.nan], "c": [None]})] * 2, sd, ref)
    assert np.abs(same[0] - same[1]).sum() == 0.0
    one_null = privacy.encode([pd.DataFrame({"n": [np.nan], "c": ["a"]}),
                               pd.DataFrame({"n": [10.0], "c": ["a"]})], sd, ref)
    assert 0.25 <= np.abs(one_null[0] - one_null[1]).sum() <= 0.5  # (0.5..1) / 2 columns


def test_dcr_report_detects_memorization_and_its_absence():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("abc"), 400)})
    train, holdout = real.iloc[:200], real.iloc[200:]
    sd = {"x": "numerical", "c": "categorical"}
    copied = privacy.dcr_report(train, holdout, train.copy(), sd)
    assert copied["closer_to_training"] == 1.0 and copied["median_dcr_training"] == 0.0
    assert copied["overfitting_protection"] == 0.0
    fresh = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(list("abc"), 300)})
    ok = privacy.dcr_report(train, holdout, fresh, sd)
    assert 0.4 <= ok["closer_to_training"] <= 0.6
    assert ok["overfitting_protection"] >= 0.8
    none = privacy.dcr_report(train, holdout.iloc[:0], fresh, sd)
    assert none["closer_to_training"] is None
