"""The core transform steps as pure functions: select, join, aggregate, sort, custom_python."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from datasetgen_assets.errors import StepInputError, UnknownColumnError
from datasetgen_assets.steps.registry import StepContext, get_step_type

CTX = StepContext()


def run(type_name: str, config: dict, *frames: pd.DataFrame) -> pd.DataFrame:
    st = get_step_type(type_name)
    return st.run(list(frames), st.config_model.model_validate(config), CTX).frame


def infer(type_name: str, config: dict, *cols):
    st = get_step_type(type_name)
    return st.infer_columns(st.config_model.model_validate(config), list(cols), CTX)


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3, 4], "name": ["a", "b", "c", "d"],
                         "age": ["31", "40", None, "25"], "joined": ["2024-01-02"] * 4,
                         "active": ["yes", "no", "y", "false"]})


def test_select_keeps_casts_renames(people):
    out = run("select", {"columns": ["id", "age", "joined", "active"], "drop": ["joined"],
                         "cast": {"age": "int", "active": "bool"}, "rename": {"age": "years"}},
              people)
    assert list(out.columns) == ["id", "years", "active"]
    assert out["years"].tolist()[:2] == [31, 40] and pd.isna(out["years"][2])
    assert out["active"].tolist() == [True, False, True, False]
    assert infer("select", {"columns": ["id", "age"], "rename": {"age": "years"}},
                 list(people.columns)) == ["id", "years"]


def test_select_errors_name_the_column(people):
    with pytest.raises(UnknownColumnError, match=r"unknown column 'agee'.*Did you mean 'age'"):
        run("select", {"columns": ["agee"]}, people)
    with pytest.raises(StepInputError, match="cannot cast column 'name' to int"):
        run("select", {"cast": {"name": "int"}}, people)
    with pytest.raises(StepInputError, match="two columns would be named 'id'"):
        infer("select", {"rename": {"name": "id"}}, list(people.columns))


def test_join_kinds_multikey_and_suffixes():
    left = pd.DataFrame({"k1": [1, 1, 2, 3], "k2": ["a", "b", "a", "a"], "v": [10, 11, 12, 13]})
    right = pd.DataFrame({"k1": [1, 2, 4], "k2": ["a", "a", "a"], "v": [100, 200, 400]})
    inner = run("join", {"on": ["k1", "k2"]}, left, right)
    assert inner[["k1", "v", "v_right"]].values.tolist() == [[1, 10, 100], [2, 12, 200]]
    lj = run("join", {"how": "left", "on": ["k1", "k2"]}, left, right)
    assert len(lj) == 4 and lj["v_right"].isna().sum() == 2
    rj = run("join", {"how": "right", "on": ["k1", "k2"]}, left, right)
    assert sorted(rj["k1"].tolist()) == [1, 2, 4]
    oj = run("join", {"how": "outer", "on": ["k1", "k2"]}, left, right)
    assert len(oj) == 5
    assert infer("join", {"on": ["k1", "k2"], "suffixes": ["_l", "_r"]},
                 list(left.columns), list(right.columns)) == ["k1", "k2", "v_l", "v_r"]
    named = run("join", {"left_on": ["k1"], "right_on": ["id"]},
                left, pd.DataFrame({"id": [3], "w": ["x"]}))
    assert named[["k1", "id", "w"]].values.tolist() == [[3, 3, "x"]]


def test_join_three_inputs_and_key_validation():
    a = pd.DataFrame({"k": [1, 2, 3], "a": [1, 2, 3]})
    b = pd.DataFrame({"k": [1, 2], "b": [5, 6]})
    c = pd.DataFrame({"k": [2, 2], "c": [7, 8]})
    out = run("join", {"on": "k"}, a, b, c)
    assert out.values.tolist() == [[2, 2, 6, 7], [2, 2, 6, 8]]
    with pytest.raises(StepInputError, match=r"join #2.*not a many-to-one"):
        run("join", {"on": "k", "validate_keys": "many_to_one"}, a, b, c)
    with pytest.raises(StepInputError, match="no key column 'k'"):
        run("join", {"on": "k"}, a, pd.DataFrame({"x": [1]}))
    with pytest.raises(ValidationError, match="give the key columns"):
        get_step_type("join").config_model.model_validate({})


def test_aggregate_functions_and_null_groups():
    df = pd.DataFrame({"g": ["x", "x", "y", None], "v": [1.0, 3.0, 5.0, 7.0],
                       "u": ["p", "q", "p", "p"]})
    out = run("aggregate", {"group_by": "g", "metrics": [
        {"func": "count", "as": "n"}, {"func": "sum", "column": "v"},
        {"func": "mean", "column": "v", "as": "avg"}, {"func": "min", "column": "v"},
        {"func": "max", "column": "v"}, {"func": "nunique", "column": "u"}]}, df)
    x = out[out.g == "x"].iloc[0]
    assert (x.n, x.sum_v, x.avg, x.min_v, x.max_v, x.nunique_u) == (2, 4.0, 2.0, 1.0, 3.0, 2)
    assert out["g"].isna().sum() == 1  # null keys form their own group unless dropna
    total = run("aggregate", {"metrics": [{"func": "count"}, {"func": "sum", "column": "v"}]}, df)
    assert total.values.tolist() == [[4, 16.0]]
    with pytest.raises(ValidationError, match="'sum' needs a column"):
        get_step_type("aggregate").config_model.model_validate({"metrics": [{"func": "sum"}]})


def test_sort_stable_descending_nulls_and_limit():
    df = pd.DataFrame({"a": [2, 1, 2, np.nan], "b": ["x", "y", "z", "w"]})
    out = run("sort", {"by": ["a"], "descending": True, "nulls": "first"}, df)
    assert out["b"].tolist() == ["w", "x", "z", "y"]  # stable among the two 2s
    assert run("sort", {"by": "a", "limit": 2}, df)["b"].tolist() == ["y", "x"]


def test_custom_python_calls_function_and_checks_result(monkeypatch):
    df = pd.DataFrame({"unit_price": [3.0, 50.0, 120.0, 999.0]})
    out = run("custom_python", {"function": "examples.transforms:price_bands"}, df)
    assert out["price_band"].tolist() == ["budget", "mid", "premium", "luxury"]
    monkeypatch.setenv("DATASETGEN_CUSTOM_PYTHON_MODULES", "examples,builtins")
    with pytest.raises(StepInputError, match="returned int, not a DataFrame"):
        run("custom_python", {"function": "builtins:len"}, df)
    with pytest.raises(StepInputError, match=r"cannot load 'examples\.transforms:nope'"):
        run("custom_python", {"function": "examples.transforms:nope"}, df)
