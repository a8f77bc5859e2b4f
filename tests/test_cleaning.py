"""data_cleaning: every operation changes what it should and reports how much."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from datasetgen_assets.errors import UnknownColumnError
from datasetgen_assets.steps import data_cleaning as dc
from datasetgen_assets.steps.registry import StepContext, get_step_type


def clean(df: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, list[dict]]:
    result = dc.run([df], dc.CleaningConfig.model_validate(cfg), StepContext())
    return result.frame, result.report["operations"]


def test_duplicates_exact_key_and_fuzzy():
    df = pd.DataFrame({"id": [1, 1, 2, 3, 4], "name": ["Ann Lee", "Ann Lee", "Bob Stone",
                                                       "Bob Stone", "Bobb Stone"]})
    out, [rep] = clean(df, {"operations": ["remove_duplicates"]})
    assert len(out) == 4 and rep["rows_removed"] == 1 and rep["removed_rows"] == [1]
    out, [rep] = clean(df, {"operations": ["remove_duplicates"],
                            "duplicates": {"mode": "key", "key": ["name"]}})
    assert out["id"].tolist() == [1, 2, 4] and rep["rows_removed"] == 2
    out, [rep] = clean(df, {"operations": ["remove_duplicates"],
                            "duplicates": {"mode": "fuzzy", "columns": ["name"], "threshold": 90}})
    assert out["name"].tolist() == ["Ann Lee", "Bob Stone"] and rep["rows_removed"] == 3


def test_whitespace_and_case():
    df = pd.DataFrame({"s": [" a ", "B", None, "c"], "n": [1, 2, 3, 4]})
    out, reps = clean(df, {"operations": ["strip_whitespace", "standardize_case"],
                           "case": {"to": "upper"}})
    assert out["s"].tolist()[:2] == ["A", "B"] and pd.isna(out["s"][2])
    assert reps[0]["cells_changed"] == 1 and reps[1]["cells_changed"] == 2


@pytest.mark.parametrize("strategy, expected", [
    ("mean", 2.0), ("median", 2.0), ("constant", -1.0), ("ffill", 3.0), ("mode", 1.0)])
def test_missing_fill_strategies(strategy, expected):
    df = pd.DataFrame({"x": [1.0, 1.0, 3.0, np.nan, 3.0]})
    if strategy in ("mean", "median"):
        df = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan, 2.0]})
    cfg = {"operations": ["handle_missing"], "missing": {"strategy": strategy}}
    if strategy == "constant":
        cfg["missing"]["value"] = -1
    out, [rep] = clean(df, cfg)
    assert out["x"][3] == expected and rep["cells_changed"] == 1


def test_missing_drop_model_and_text_columns():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, np.nan], "b": [2.0, 4.0, 6.0, 8.0, 10.0],
                       "t": ["x", None, "x", "y", "x"]})
    out, [rep] = clean(df, {"operations": ["handle_missing"], "missing": {"strategy": "drop"}})
    assert len(out) == 3 and rep["rows_removed"] == 2 and rep["removed_rows"] == [1, 4]
    out, [rep] = clean(df, {"operations": ["handle_missing"], "missing": {"strategy": "model"}})
    assert 2.0 < out["a"][4] <= 4.0 and out["t"][1] == "x" and rep["cells_changed"] == 2
    out, [rep] = clean(df, {"operations": ["handle_missing"], "missing": {"strategy": "mean"}})
    assert "t" in rep["skipped"] and out["t"].isna().sum() == 1  # reported, not guessed


def test_fix_types():
    df = pd.DataFrame({"n": ["1", "2", "3", "4"], "d": ["2024-01-01", "2024-01-02",
                                                        "2024-01-03", "2024-01-04"],
                       "s": ["a", "b", "c", "d"]})
    out, [rep] = clean(df, {"operations": ["fix_types"]})
    assert pd.api.types.is_numeric_dtype(out["n"]) and out["n"].sum() == 10
    assert pd.api.types.is_datetime64_any_dtype(out["d"])
    assert set(rep["columns"]) == {"n", "d"}
    fb, info = dc._fix_types_fallback(df)
    assert info["engine"] == "fallback" and set(info["columns"]) == {"n", "d"}
    assert fb["n"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_standardize_formats():
    df = pd.DataFrame({"signup_date": ["2024-01-05", "01/06/2024", "Jan 7, 2024", "soon"],
                       "phone": ["(212) 555-0123", "+44 20 7946 0958", "212.555.0199", "n/a"],
                       "email": [" Ann@Mail.COM", "b@x.io", None, "C@X.IO"]})
    out, [rep] = clean(df, {"operations": ["standardize_formats"]})
    assert out["signup_date"].tolist() == ["2024-01-05", "2024-01-06", "2024-01-07", "soon"]
    assert out["phone"].tolist() == ["+12125550123", "+442079460958", "+12125550199", "n/a"]
    assert out["email"].tolist()[:2] == ["ann@mail.com", "b@x.io"] and out["email"][3] == "c@x.io"
    assert rep["columns"] == {"signup_date": 2, "phone": 3, "email": 2}
    assert rep["distinct_values_left_as_is"] == {"signup_date": 1, "phone": 1}


@pytest.mark.parametrize("method", ["zscore", "iqr", "isolation_forest"])
def test_remove_outliers(method):
    rng = np.random.default_rng(0)
    x = rng.normal(10, 1, 300)
    x[5] = 100.0
    df = pd.DataFrame({"x": x})
    cfg = {"operations": ["remove_outliers"], "outliers": {"method": method}}
    if method == "isolation_forest":
        cfg["outliers"]["contamination"] = 0.01
    out, [rep] = clean(df, cfg)
    assert 100.0 not in out["x"].tolist() and rep["rows_removed"] == 300 - len(out) >= 1
    assert 5 in rep["removed_rows"]


def test_clip_outliers_keeps_rows():
    df = pd.DataFrame({"x": [1.0, 2.0, 2.0, 3.0, 50.0]})
    out, [rep] = clean(df, {"operations": ["remove_outliers"],
                            "outliers": {"method": "iqr", "action": "clip"}})
    assert len(out) == 5 and out["x"].max() < 50 and rep["cells_changed"] == 1


@pytest.mark.parametrize("cfg, text", [
    ({"operations": []}, "operations"),
    ({"operations": ["shred"]}, "operations"),
    ({"operations": ["remove_duplicates"], "duplicates": {"mode": "key"}}, "key"),
    ({"operations": ["remove_duplicates"], "duplicates": {"mode": "fuzzy", "columns": ["a"],
                                                          "threshold": 120}}, "threshold"),
    ({"operations": ["handle_missing"], "missing": {"strategy": "constant"}}, "value"),
    ({"operations": ["remove_outliers"], "outliers": {"contamination": 0.8}}, "contamination"),
])
def test_bad_config(cfg, text):
    with pytest.raises(ValidationError) as info:
        dc.CleaningConfig.model_validate(cfg)
    assert text in str(info.value)


def test_unknown_columns_at_validate_time():
    st = get_step_type("data_cleaning")
    cfg = dc.CleaningConfig.model_validate({"operations": ["remove_duplicates"],
                                            "duplicates": {"mode": "key", "key": ["idd"]}})
    with pytest.raises(UnknownColumnError):
        st.infer_columns(cfg, [["id", "x"]], StepContext())
