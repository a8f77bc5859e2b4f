"""The whitelist condition language: parsing, errors, pandas evaluation and SQL pushdown."""

from __future__ import annotations

import ast
import builtins
import datetime as dt
import functools
import operator
import pickle
import random
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasetgen_assets.errors import UnknownColumnError
from datasetgen_assets.pipeline import condition as condition_module
from datasetgen_assets.pipeline.condition import (
    Condition,
    ConditionSyntaxError,
    ConditionTypeError,
    check_columns,
    evaluate,
    parse_condition,
    to_sqlalchemy,
)
from tests.fixtures.services import MARIADB_URL, POSTGRES_URL, require_service

# ---------------------------------------------------------------------------- fixed frame

IDX = [10, 11, 12, 13, 14, 15]
FRAME = pd.DataFrame(
    {
        "x": pd.array([1, None, 3, 5, -2, 0], dtype="Int64"),
        "f": [1.5, 2.0, np.nan, -0.5, 3.25, 1000.0],
        "s": pd.array(["apple", "Banana", None, "a%b", "cherry pie", "a_b"], dtype="str"),
        "d": pd.to_datetime(
            ["2024-01-01", "2023-06-30", None, "2024-12-31 23:59", "2025-03-01", "2023-01-01"],
            format="ISO8601",
        ),
        "b": [True, False, True, False, True, False],
        "weird name": pd.array(["p", "q", "p", None, "q", "p"], dtype="str"),
        "t.a": [1, 2, 3, 4, 5, 6],
    },
    index=IDX,
)

# (condition, kept index labels). Worked out by hand from FRAME above.
CASES: list[tuple[str, list[int]]] = [
    # comparisons, every operator spelling
    ("x = 3", [12]),
    ("x == 3", [12]),
    ("x != 3", [10, 13, 14, 15]),
    ("x <> 3", [10, 13, 14, 15]),
    ("x < 1", [14, 15]),
    ("x <= 1", [10, 14, 15]),
    ("x > 1", [12, 13]),
    ("x >= 1", [10, 12, 13]),
    ("x > -1", [10, 12, 13, 15]),
    ("3 < x", [13]),
    ("-1 >= x", [14]),
    ("f > 1.75", [11, 14, 15]),
    ("f < 1e2", [10, 11, 13, 14]),
    ("f = -.5", [13]),
    ("f = 1000", [15]),
    ("x = 3.0", [12]),
    ("x < f", [10, 14, 15]),
    ("f > x", [10, 14, 15]),
    ("x = '3'", [12]),
    ("f > '1.75'", [11, 14, 15]),
    ("s = 'apple'", [10]),
    ('s = "apple"', [10]),
    ("s > 'b'", [14]),
    ("s <= 'a_b'", [11, 13, 15]),
    ("`weird name` = 'p'", [10, 12, 15]),
    ("`t.a` >= 5", [14, 15]),
    ("t.a >= 5", [14, 15]),
    ("b = true", [10, 12, 14]),
    ("b = FALSE", [11, 13, 15]),
    ("b != True", [11, 13, 15]),
    # in / not in
    ("s in ('apple', 'a%b')", [10, 13]),
    ("s not in ('apple', 'a%b')", [11, 14, 15]),
    ("x in (1, 3, 99)", [10, 12]),
    ("x in (1, null)", [10]),
    ("x not in (1, null)", []),
    ("x IN ('1', 5)", [10, 13]),
    # between
    ("x between 0 and 3", [10, 12, 15]),
    ("x not between 0 and 3", [13, 14]),
    ("x between 0 and 3 and b = true", [10, 12]),
    ("f between x and 4", [10, 14]),
    ("x between null and 2", []),
    ("x not between null and 2", [12, 13]),
    # is [not] null
    ("s is null", [12]),
    ("s is not null", [10, 11, 13, 14, 15]),
    ("x IS NULL", [11]),
    ("f is null", [12]),
    ("d is null", [12]),
    # like
    ("s like 'a%'", [10, 13, 15]),
    ("s like 'a_b'", [13, 15]),
    (r"s like 'a\\_b'", [15]),
    (r"s like 'a\\%b'", [13]),
    ("s like '%pie'", [14]),
    ("s like '%'", [10, 11, 13, 14, 15]),
    ("s like 'APPLE'", []),
    ("s like 'a.ple'", []),
    ("s like '(%'", []),
    ("s not like 'a%'", [11, 14]),
    ("x like '_'", [10, 12, 13, 15]),
    # matches / ~
    ("s matches '^a'", [10, 13, 15]),
    ("s ~ 'an+a$'", [11]),
    ("s MATCHES 'P'", []),
    ("s matches '(?i)P'", [10, 14]),
    ("s not matches 'a'", [14]),
    ("s not ~ 'e'", [11, 13, 15]),
    (r"s ~ '\w+ \w+'", [14]),
    ("s ~ '(a)(p)'", [10]),
    ("f matches '^1'", [10, 15]),
    # datetime column vs string literal
    ("d >= '2024-01-01'", [10, 13, 14]),
    ("d < '2024-01-01'", [11, 15]),
    ("d between '2024-01-01' and '2024-12-31'", [10]),
    ("d in ('2023-01-01', '2025-03-01')", [14, 15]),
    # not / and / or with nulls (three-valued logic)
    ("NOT x > 1", [10, 14, 15]),
    ("not (x > 1)", [10, 14, 15]),
    ("not not x > 1", [12, 13]),
    ("x > 1 or x is null", [11, 12, 13]),
    ("x > 100 or f > 1.75", [11, 14, 15]),
    ("x > 0 and f is null", [12]),
    ("not (x > 100 and f < 0)", IDX),
    ("not (x > 0 or f > 1000)", [14, 15]),
    ("x = null", []),
    ("not x = null", []),
    ("x != null or x = null", []),
    ("x > 1 AND s Is Not Null", [13]),
    # precedence: not > and > or
    ("x = 1 or x = 3 and f > 100", [10]),
    ("(x = 1 or x = 3) and f > 100", []),
    ("not x = 1 and x = 3", [12]),
    ("not (x = 1 and x = 3)", [10, 12, 13, 14, 15]),
    ("x = 0 or not x = 1 and f < 0", [13, 15]),
    ("x = 1 and f > 1 or x = 0 and f > 1", [10, 15]),
    ("((((x = 1))))", [10]),
]


def kept(cond: str, df: pd.DataFrame = FRAME) -> list[int]:
    return df.index[evaluate(cond, df)].tolist()


@pytest.mark.parametrize(("cond", "expected"), CASES, ids=[c for c, _ in CASES])
def test_evaluate_constructs(cond: str, expected: list[int]) -> None:
    assert kept(cond) == sorted(expected)


def test_result_is_bool_series_aligned_to_index() -> None:
    df = FRAME.iloc[::-1].copy()
    df.index = [7, 7, 3, 2, 1, 0]  # unsorted, with a duplicate label
    mask = evaluate("x >= 1", df)
    assert mask.dtype == bool
    assert mask.index.equals(df.index)
    assert mask.tolist() == [False, False, True, True, False, True]
    assert df[mask]["x"].tolist() == [5, 3, 1]


def test_empty_frame() -> None:
    mask = evaluate("x > 1 and s like 'a%'", FRAME.iloc[:0])
    assert mask.dtype == bool
    assert len(mask) == 0


def test_string_escapes_and_quotes() -> None:
    df = pd.DataFrame({"s": ["it's", 'say "hi"', "back\\slash", "line\nbreak", "tab\t", "%"]})
    assert kept(r"s = 'it\'s'", df) == [0]
    assert kept('s = "it\'s"', df) == [0]
    assert kept("s = 'say \"hi\"'", df) == [1]
    assert kept(r's = "say \"hi\""', df) == [1]
    assert kept(r"s = 'back\\slash'", df) == [2]
    assert kept(r"s = 'line\nbreak'", df) == [3]
    assert kept(r"s like 'line%'", df) == [3]  # % runs across a newline
    assert kept(r"s like '%\t'", df) == [4]
    assert kept(r"s like '\\%'", df) == [5]  # escaped % is literal
    assert kept(r"s matches 'k\\\\s'", df) == [2]  # k, a literal backslash, s
    assert kept(r"s matches 'e\\sb'", df) == [3]  # \\s in the string is \s in the regex
    assert kept(r"s matches 'e\sb'", df) == [3]  # an unknown escape keeps its backslash


def test_backquoted_names_and_columns_attribute() -> None:
    cond = parse_condition(
        "order_date >= '2024-01-01' and status in ('paid', 'shipped') or `a``b c` is null"
    )
    assert cond.columns == frozenset({"order_date", "status", "a`b c"})
    assert parse_condition("x < f and 'f' = s").columns == frozenset({"x", "f", "s"})
    df = pd.DataFrame({"a`b c": [1, None], "and": [1, 2]})
    assert kept("`a``b c` is null or `and` = 1", df) == [0, 1]


def test_parse_is_cached_and_condition_is_frozen() -> None:
    text = "x > 1 and s like 'a%'"
    cond = parse_condition(text)
    assert parse_condition(text) is cond
    assert isinstance(cond, Condition)
    assert cond.text == text
    with pytest.raises(AttributeError):
        cond.text = "x > 2"  # type: ignore[misc]
    assert evaluate(cond, FRAME).equals(evaluate(text, FRAME))
    copy = pickle.loads(pickle.dumps(cond))  # conditions travel inside step configs
    assert copy == cond and evaluate(copy, FRAME).equals(evaluate(cond, FRAME))


# ---------------------------------------------------------------------------- syntax errors

SYNTAX_ERRORS: list[tuple[str, int, str]] = [
    ("amount >> 5", 8, "expected a column name or a literal after '>'"),
    ("s = 'abc", 4, "unterminated string"),
    ('s = "abc', 4, "unterminated string"),
    ("`abc = 1", 0, "unterminated column name"),
    ("x = 1 andd y = 2", 6, "Did you mean 'and'?"),
    ("x lik 'a'", 2, "Did you mean 'like'?"),
    ("x is nul", 5, "Did you mean 'null'?"),
    ("x not = 1", 6, "in, between, like, matches or ~ after 'not'"),
    ("s matches '('", 10, "invalid regular expression"),
    ("s ~ 'a[b-'", 4, "invalid regular expression"),
    (r"s like 'a\\'", 7, "lone escaping backslash"),
    ("x in ()", 6, "a literal value in the 'in' list"),
    ("x in (1, 2", 10, "',' or ')'"),
    ("x in (1, y)", 9, "column names are not allowed"),
    ("x in 1", 5, "'('"),
    ("(x = 1", 6, "')' to close the '(' at position 0"),
    ("x = 1)", 5, "unbalanced ')'"),
    ("x between 1 5", 12, "'and' between the two bounds"),
    ("", 0, "empty condition"),
    ("   ", 0, "empty condition"),
    ("x = 5abc", 4, "invalid number"),
    ("x ! 3", 2, "Did you mean '!='?"),
    ("x = 1; drop table t", 5, "unexpected character ';'"),
    ("'a' = 'b'", 0, "column on at least one side"),
    ("1 in (1)", 0, "must be a column"),
    ("and = 1", 0, "write `and`"),
    ("s like x", 7, "a quoted pattern string"),
    ("x = 1 y = 2", 6, "'and', 'or' or the end of the condition"),
    ("x >", 3, "unexpected end of condition"),
    ("x = 1 or", 8, "a column name, a literal, 'not' or '('"),
    ("__import__('os').system('x')", 10, "expected a comparison operator"),
    ("x.__class__.__mro__()", 19, "expected a comparison operator"),
    ("lambda: 1", 6, "unexpected character ':'"),
    ("x = [1]", 4, "unexpected character '['"),
    ("x = 1 + 1", 6, "unexpected character '+'"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), SYNTAX_ERRORS)
def test_syntax_error_positions(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    err = info.value
    assert (err.position, err.text) == (position, text)
    assert fragment in err.message
    assert isinstance(err, ValueError)


def test_syntax_error_rendering() -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition("amount >> 5")
    assert str(info.value) == (
        "unexpected '>'; expected a column name or a literal after '>'.\n  amount >> 5\n          ^"
    )


def test_syntax_error_caret_on_the_right_line() -> None:
    text = "x > 1\nand s ~ '('"
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    assert info.value.position == text.index("'(")
    assert str(info.value).endswith("\n  and s ~ '('\n          ^")


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(ConditionSyntaxError, match="nested deeper"):
        parse_condition("(" * 300 + "x = 1" + ")" * 300)
    with pytest.raises(ConditionSyntaxError, match="nested deeper"):
        parse_condition("not " * 300 + "x = 1")
    assert kept("(" * 50 + "x = 1" + ")" * 50) == [10]


def test_long_flat_chains_do_not_recurse() -> None:
    text = " or ".join(f"x = {i}" for i in range(2000))
    assert kept(text) == [10, 12, 13, 15]


# ---------------------------------------------------------------------------- no eval


def test_no_eval_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing reaches eval/exec/DataFrame.query/DataFrame.eval, even for hostile text."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("dynamic evaluation used")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    monkeypatch.setattr(pd.DataFrame, "query", forbidden)
    monkeypatch.setattr(pd.DataFrame, "eval", forbidden)
    monkeypatch.setattr(pd, "eval", forbidden)
    for cond, expected in CASES:
        assert kept(cond) == sorted(expected)
    for text, _, _ in SYNTAX_ERRORS:
        with pytest.raises(ConditionSyntaxError):
            parse_condition(text + " ")  # bypass the parse cache


def test_module_source_has_no_dynamic_evaluation() -> None:
    sources = sorted(Path(condition_module.__file__).parent.glob("*.py"))
    assert len(sources) >= 4  # the package: __init__, syntax, frame, sql
    bad_names = {"eval", "exec", "compile", "__import__"}
    bad_attrs = {"query", "eval", "text", "literal_column", "exec_driver_sql"}
    nodes = [n for src in sources for n in ast.walk(ast.parse(src.read_text()))]
    for node in nodes:
        if isinstance(node, ast.Call):
            func = node.func
            assert not (isinstance(func, ast.Name) and func.id in bad_names), ast.dump(func)
            assert not (isinstance(func, ast.Attribute) and func.attr in bad_attrs), ast.dump(func)


def test_dunder_names_are_only_column_lookups() -> None:
    df = pd.DataFrame({"__class__": [1, 2], "__dict__": ["a", "b"]})
    assert kept("__class__ = 2", df) == [1]
    assert kept("`__dict__` = 'a' or __class__ = 2", df) == [0, 1]
    with pytest.raises(UnknownColumnError) as info:
        evaluate("x.__class__ = 1", df)
    assert info.value.column == "x.__class__"
    with pytest.raises(UnknownColumnError):
        evaluate("__builtins__ is null", df)


def test_injection_attempt_in_a_literal_is_just_data() -> None:
    df = pd.DataFrame({"s": ["x'; drop table t; --", "x"]})
    assert kept(r"s = 'x\'; drop table t; --'", df) == [0]


# ---------------------------------------------------------------------------- columns and types


def test_missing_column_at_evaluation() -> None:
    with pytest.raises(UnknownColumnError) as info:
        evaluate("x > 1 and amout > 2", FRAME.rename(columns={"f": "amount"}))
    err = info.value
    assert err.column == "amout"
    assert "Did you mean 'amount'?" in str(err)
    assert err.position == 10  # type: ignore[attr-defined]


def test_check_columns() -> None:
    check_columns("x > 1 and s is null", None)  # unknown input columns: nothing to check
    check_columns("x > 1 and s is null", ["x", "s", "other"])
    with pytest.raises(UnknownColumnError) as info:
        check_columns("zz = 1 or x > 1 and yy = 2", ["x"], field="rules[0].when")
    err = info.value
    assert (err.column, err.field, err.available) == ("zz", "rules[0].when", ["x"])
    assert err.position == 0  # type: ignore[attr-defined]
    with pytest.raises(UnknownColumnError) as info:
        check_columns(parse_condition("x > 1 and yy = 2"), ["x"])
    assert info.value.column == "yy"
    assert info.value.position == 10  # type: ignore[attr-defined]
    assert info.value.field == "condition"


def test_type_error_number_literal_on_string_column() -> None:
    with pytest.raises(ConditionTypeError) as info:
        evaluate("s = 5", FRAME)
    msg = str(info.value)
    assert "'s'" in msg and "str" in msg and "5" in msg
    assert "quote the literal ('5')" in msg and "select step" in msg
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    with pytest.raises(ConditionTypeError, match="'s'"):
        evaluate("s in ('a', 1)", FRAME)
    with pytest.raises(ConditionTypeError, match="boolean true"):
        evaluate("s != true", FRAME)


def test_type_error_string_literal_on_numeric_column() -> None:
    with pytest.raises(ConditionTypeError) as info:
        evaluate("f > 'abc'", FRAME)
    assert "'f'" in str(info.value) and "'abc'" in str(info.value)
    with pytest.raises(ConditionTypeError, match=r"'d'.*number 5"):
        evaluate("d > 5", FRAME)
    with pytest.raises(ConditionTypeError, match="not a valid date/time"):
        evaluate("d > 'yesterday-ish'", FRAME)
    with pytest.raises(ConditionTypeError, match=r"columns 's' .* and 'x'"):
        evaluate("s < x", FRAME)


def test_datetime_literals() -> None:
    df = pd.DataFrame(
        {
            "naive": pd.to_datetime(["2024-01-01 00:30", "2024-01-01 02:00", None]),
            "ny": pd.to_datetime(["2024-01-01 00:30", "2024-01-01 02:00", None]).tz_localize(
                "America/New_York"
            ),
            "day": [dt.date(2024, 1, 1), dt.date(2024, 6, 1), None],
        }
    )
    assert kept("naive < '2024-01-01 01:00'", df) == [0]
    assert kept("naive = '2024-01-01T02:00:00'", df) == [1]
    # a naive literal is read in the column's time zone (not UTC: that would keep both rows)
    assert kept("ny < '2024-01-01 01:00'", df) == [0]
    # an aware literal is converted: 06:30 UTC is 01:30 in New York
    assert kept("ny < '2024-01-01T06:30:00+00:00'", df) == [0]
    assert kept("ny between '2024-01-01' and '2024-01-02'", df) == [0, 1]
    assert kept("day >= '2024-03-01'", df) == [1]
    with pytest.raises(ConditionTypeError, match="no time zone"):
        evaluate("naive < '2024-01-01T00:00:00+00:00'", df)


def test_other_dtypes() -> None:
    df = pd.DataFrame(
        {
            "obj": pd.Series(["a", None, "c"], dtype=object),
            "cat": pd.Categorical(["x", None, "z"]),
            "nb": pd.array([True, None, False], dtype="boolean"),
            "ps": pd.array(["a", None, "c"], dtype="string"),
            "td": pd.to_timedelta(["1h", None, "3h"]),
            "mixed": pd.Series([1, "a", None], dtype=object),
        }
    )
    assert kept("obj < 'b'", df) == [0]
    assert kept("obj like '_'", df) == [0, 2]
    assert kept("cat > 'y' or cat = 'x'", df) == [0, 2]
    assert kept("nb = false", df) == [2]
    assert kept("not nb = true", df) == [2]
    assert kept("ps >= 'b'", df) == [2]
    assert kept("ps ~ 'a|c'", df) == [0, 2]
    assert kept("td > '2h'", df) == [2]
    assert kept("mixed = 1", df) == [0]
    with pytest.raises(ConditionTypeError, match="'mixed'"):
        evaluate("mixed < 'b'", df)


# ---------------------------------------------------------------------------- SQLAlchemy


def _sql_table(name: str = "t") -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("x", sa.Integer),
        sa.Column("f", sa.Float),
        sa.Column("s", sa.String(50)),
        sa.Column("d", sa.DateTime),
        sa.Column("b", sa.Boolean),
        sa.Column("weird name", sa.String(50)),
        sa.Column("t.a", sa.Integer),
    )


def _sql_rows() -> list[dict[str, Any]]:
    rows = []
    for idx, rec in zip(IDX, FRAME.to_dict("records"), strict=True):
        row = {k: (None if pd.isna(v) else v) for k, v in rec.items()}
        row["d"] = None if row["d"] is None else row["d"].to_pydatetime()
        row["x"] = None if row["x"] is None else int(row["x"])
        rows.append({"id": idx, **row})
    return rows


# Conditions whose SQL meaning is exactly the pandas meaning. `like`/`matches` on numeric
# columns are left out: SQL and pandas render numbers to text differently (1000.0 vs 1000).
SQL_CASES = [(c, e) for c, e in CASES if not re.match(r"(x|f) (like|matches)", c)] + [
    ("s = 'APPLE'", []),
    ("s like 'A%'", []),
    ("s < 'B'", []),
]


def _sql_kept(engine: sa.Engine, table: sa.Table, cond: str) -> list[int]:
    query = sa.select(table.c.id).where(to_sqlalchemy(cond, table.c)).order_by(table.c.id)
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


@pytest.fixture(scope="module")
def sqlite_table() -> tuple[sa.Engine, sa.Table]:
    engine = sa.create_engine("sqlite://")
    table = _sql_table()
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), _sql_rows())
    return engine, table


@pytest.mark.parametrize(("cond", "expected"), SQL_CASES, ids=[c for c, _ in SQL_CASES])
def test_sqlite_matches_evaluate(
    sqlite_table: tuple[sa.Engine, sa.Table], cond: str, expected: list[int]
) -> None:
    engine, table = sqlite_table
    assert _sql_kept(engine, table, cond) == kept(cond) == sorted(expected)


LIKE_TEXTS = ["a*b", "a?b", "a[b", "a]b", "axb", "A*B", "%", "_", "a\\b", "ab", "a\nb"]
LIKE_PATTERNS = {
    "a*b": [0],
    "a?b": [1],
    "a[b": [2],
    "a]b": [3],
    "a_b": [0, 1, 2, 3, 4, 8, 10],
    "%*%": [0, 5],
    "%[%": [2],
    "[ab]%": [],
    "\\\\%": [6],
    "\\\\_": [7],
    "a\\\\\\\\b": [8],
    "a\\\\*b": [0],
    "a\\\\?b": [1],
    "a%b": [0, 1, 2, 3, 4, 8, 9, 10],
    "a%": [0, 1, 2, 3, 4, 8, 9, 10],
}


@pytest.mark.parametrize(("pattern", "expected"), LIKE_PATTERNS.items())
def test_like_special_characters_pandas_and_sqlite(pattern: str, expected: list[int]) -> None:
    """LIKE must treat regex and GLOB metacharacters literally, in pandas and in SQLite."""
    df = pd.DataFrame({"s": pd.array(LIKE_TEXTS, dtype="str")})
    engine = sa.create_engine("sqlite://")
    table = sa.Table(
        "l", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("s", sa.String)
    )
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": i, "s": v} for i, v in enumerate(LIKE_TEXTS)])
    cond = f"s like '{pattern}'"
    assert kept(cond, df) == expected
    assert _sql_kept(engine, table, cond) == expected
    unescaped = pattern.replace("\\\\", "\\")
    assert [i for i, v in enumerate(LIKE_TEXTS) if like_ref(v, unescaped)] == expected


def test_sql_literals_are_bound_parameters(sqlite_table: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = sqlite_table
    expr = to_sqlalchemy(r"s = 'x\'; drop table t; --' or s in ('paid', 'shipped')", table.c)
    sql = str(expr.compile(engine))
    assert "drop" not in sql and "paid" not in sql
    assert _sql_kept(engine, table, r"s = 'x\'; drop table t; --'") == []
    assert _sql_kept(engine, table, "x > 0") == [10, 12, 13]  # the table is still there


def test_sql_literals_are_converted_to_column_types() -> None:
    table = sa.Table(
        "c",
        sa.MetaData(),
        sa.Column("n", sa.Numeric(10, 2)),
        sa.Column("ts", sa.DateTime()),
        sa.Column("tstz", sa.DateTime(timezone=True)),
        sa.Column("day", sa.Date()),
        sa.Column("flag", sa.Boolean()),
    )

    def params(cond: str) -> list[Any]:
        return list(to_sqlalchemy(cond, table.c).compile().params.values())

    assert params("n > '2.5'") == [2.5]
    assert params("ts >= '2024-01-31'") == [dt.datetime(2024, 1, 31)]
    aware = dt.datetime(2024, 1, 1, 6, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert params("tstz < '2024-01-01T06:00:00+02:00'") == [aware]
    assert params("day between '2024-01-01' and '2024-02-01'") == [
        dt.date(2024, 1, 1),
        dt.date(2024, 2, 1),
    ]
    assert str(to_sqlalchemy("flag = 1", table.c).compile()) == "c.flag = true"
    with pytest.raises(ConditionTypeError, match="no time zone"):
        to_sqlalchemy("ts < '2024-01-01T00:00:00Z'", table.c)
    with pytest.raises(ConditionTypeError, match="'flag'"):
        to_sqlalchemy("flag = 'yes'", table.c)


def test_sql_errors(sqlite_table: tuple[sa.Engine, sa.Table]) -> None:
    _, table = sqlite_table
    with pytest.raises(UnknownColumnError) as info:
        to_sqlalchemy("x > 1 and amout > 2", table.c)
    assert info.value.column == "amout"
    with pytest.raises(ConditionTypeError, match="'s'"):
        to_sqlalchemy("s = 5", table.c)
    with pytest.raises(ConditionTypeError, match="'x'"):
        to_sqlalchemy("x = 'five'", table.c)
    with pytest.raises(ConditionSyntaxError):
        to_sqlalchemy("x >> 1", table.c)


def test_sql_string_semantics_per_dialect() -> None:
    """Exact, case-sensitive string comparisons where the default collation would not be."""
    from sqlalchemy.dialects import mysql, postgresql, sqlite

    table = _sql_table()
    expr = to_sqlalchemy("s < 'b' and s = 'a' and s like 'a%' and s ~ 'a'", table.c)
    pg = str(expr.compile(dialect=postgresql.dialect()))
    assert '(t.s COLLATE "C") <' in pg and "t.s = " in pg
    assert "LIKE" in pg and "ESCAPE" in pg and "t.s ~ " in pg
    my = str(expr.compile(dialect=mysql.dialect()))
    assert my.count("CAST(t.s AS BINARY)") == 2 and "utf8mb4_bin" in my
    lite = str(expr.compile(dialect=sqlite.dialect()))
    assert "GLOB" in lite and "LIKE" not in lite


@pytest.mark.service
@pytest.mark.parametrize(
    ("url", "port"), [(POSTGRES_URL, 5432), (MARIADB_URL, 3306)], ids=["postgresql", "mariadb"]
)
def test_server_sql_matches_evaluate(url: str, port: int) -> None:
    require_service(url.split("+")[0], "127.0.0.1", port)
    engine = sa.create_engine(url)
    table = _sql_table(f"cond_test_{uuid.uuid4().hex[:10]}")
    table.metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(table.insert(), _sql_rows())
        for cond, expected in SQL_CASES:
            assert _sql_kept(engine, table, cond) == sorted(expected), cond
    finally:
        table.metadata.drop_all(engine)
        engine.dispose()


# ---------------------------------------------------------------------------- property test
# Random small frames and random condition trees, rendered to text with random spelling,
# checked against a per-row reference evaluator written from the SQL definitions.


@dataclass(frozen=True)
class Col:
    name: str


@dataclass(frozen=True)
class Lit:
    value: Any
    quoted_number: bool = False  # render a number as a string literal ('3')


@dataclass(frozen=True)
class Cmp:
    col: Col
    op: str
    rhs: Col | Lit


@dataclass(frozen=True)
class In:
    col: Col
    values: tuple[Lit, ...]
    negated: bool


@dataclass(frozen=True)
class Between:
    col: Col
    low: Col | Lit
    high: Col | Lit
    negated: bool


@dataclass(frozen=True)
class IsNull:
    col: Col
    negated: bool


@dataclass(frozen=True)
class Like:
    col: Col
    pattern: str
    negated: bool


@dataclass(frozen=True)
class Match:
    col: Col
    pattern: str
    negated: bool


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class And:
    left: Any
    right: Any


@dataclass(frozen=True)
class Or:
    left: Any
    right: Any


NUM_COLS = ("i", "j", "f")
STR_COLS = ("s", "u")
TEXT_ALPHABET = "ab.%_*[\n"
REGEXES = ("a", "^a", "b$", "a|b", "[ab]{2}", r"\.", "^$", "a.b", r"\n", "(a)b", "(?i)A", r"\*")
OPS = ("=", "!=", "<", "<=", ">", ">=")

texts = st.text(alphabet=TEXT_ALPHABET, max_size=3)
ints = st.integers(-3, 3)
num_values = st.one_of(ints, st.sampled_from([-1.5, 0.5, 2.0, 2.5]))


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 7))

    def column(values: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))

    int_dtype = draw(st.sampled_from(["Int64", "float64"]))
    return pd.DataFrame(
        {
            "i": pd.array(column(ints), dtype=int_dtype),
            "j": pd.array(column(ints), dtype="Int64"),
            "f": pd.array([np.nan if v is None else v for v in column(num_values)], "float64"),
            "s": pd.array(column(texts), dtype="str"),
            "u": pd.array(column(texts), dtype="str"),
        }
    )


def literal_for(col: str) -> st.SearchStrategy[Lit]:
    if col in NUM_COLS:
        return st.builds(Lit, num_values, st.booleans())
    return st.builds(Lit, texts)


@st.composite
def leaves(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["cmp", "cmpcol", "in", "between", "null", "like", "match"]))
    num = draw(st.booleans())
    name = draw(st.sampled_from(NUM_COLS if num else STR_COLS))
    col = Col(name)
    lit = literal_for(name)
    maybe_null = st.one_of(lit, st.just(Lit(None)))
    same_kind_col = st.sampled_from(NUM_COLS if num else STR_COLS).map(Col)
    negated = draw(st.booleans())
    if kind == "cmp":
        return Cmp(col, draw(st.sampled_from(OPS)), draw(maybe_null))
    if kind == "cmpcol":
        return Cmp(col, draw(st.sampled_from(OPS)), draw(same_kind_col))
    if kind == "in":
        values = draw(st.lists(maybe_null, min_size=1, max_size=4))
        return In(col, tuple(values), negated)
    if kind == "between":
        bound = st.one_of(maybe_null, same_kind_col)
        return Between(col, draw(bound), draw(bound), negated)
    if kind == "null":
        return IsNull(col, negated)
    col = Col(draw(st.sampled_from(STR_COLS)))
    if kind == "like":
        parts = st.sampled_from(["a", "b", ".", "%", "_", "*", "[", "\\%", "\\_", "\n"])
        return Like(col, "".join(draw(st.lists(parts, max_size=4))), negated)
    return Match(col, draw(st.sampled_from(REGEXES)), negated)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(Not, children),
        st.builds(And, children, children),
        st.builds(Or, children, children),
    )


conditions = st.recursive(leaves(), _extend, max_leaves=6)

# -- rendering


def _kw(word: str, rnd: random.Random) -> str:
    return rnd.choice([word, word.upper(), word.capitalize()])


def render_lit(lit: Lit, rnd: random.Random) -> str:
    v = lit.value
    if v is None:
        return _kw("null", rnd)
    if isinstance(v, str) or lit.quoted_number:
        text = str(v)
        quote = rnd.choice("'\"")
        body = text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\t", "\\t")
        if rnd.random() < 0.5:
            body = body.replace("\n", "\\n")
        return quote + body + quote
    return repr(v)


def render_col(col: Col, rnd: random.Random) -> str:
    return f"`{col.name}`" if rnd.random() < 0.3 else col.name


def render_operand(op: Col | Lit, rnd: random.Random) -> str:
    return render_col(op, rnd) if isinstance(op, Col) else render_lit(op, rnd)


FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
SPELLINGS = {"=": ["=", "=="], "!=": ["!=", "<>"]}
PREC = {Or: 1, And: 2, Not: 3}


def render(node: Any, rnd: random.Random, parent: int = 0) -> str:
    prec = PREC.get(type(node), 4)
    text = _render(node, rnd, prec)
    if prec < parent or rnd.random() < 0.15:  # needed parentheses, plus some redundant ones
        text = f"({text})"
    return text


def _render(node: Any, rnd: random.Random, prec: int) -> str:
    nt = f"{_kw('not', rnd)} " if getattr(node, "negated", False) else ""
    if isinstance(node, Or | And):
        word = _kw("or" if isinstance(node, Or) else "and", rnd)
        return f"{render(node.left, rnd, prec)} {word} {render(node.right, rnd, prec)}"
    if isinstance(node, Not):
        return f"{_kw('not', rnd)} {render(node.operand, rnd, prec)}"
    col = render_col(node.col, rnd)
    if isinstance(node, Cmp):
        if isinstance(node.rhs, Lit) and node.rhs.value is not None and rnd.random() < 0.3:
            op = rnd.choice(SPELLINGS.get(FLIPPED[node.op], [FLIPPED[node.op]]))
            return f"{render_lit(node.rhs, rnd)} {op} {col}"
        op = rnd.choice(SPELLINGS.get(node.op, [node.op]))
        return f"{col} {op} {render_operand(node.rhs, rnd)}"
    if isinstance(node, In):
        values = ", ".join(render_lit(v, rnd) for v in node.values)
        return f"{col} {nt}{_kw('in', rnd)} ({values})"
    if isinstance(node, Between):
        low, high = render_operand(node.low, rnd), render_operand(node.high, rnd)
        return f"{col} {nt}{_kw('between', rnd)} {low} {_kw('and', rnd)} {high}"
    if isinstance(node, IsNull):
        return f"{col} {_kw('is', rnd)} {nt}{_kw('null', rnd)}"
    if isinstance(node, Like):
        return f"{col} {nt}{_kw('like', rnd)} {render_lit(Lit(node.pattern), rnd)}"
    word = rnd.choice(["~", _kw("matches", rnd)])
    return f"{col} {nt}{word} {render_lit(Lit(node.pattern), rnd)}"


# -- reference evaluator: one row at a time, None is SQL null / unknown

PY_OPS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def not3(a: bool | None) -> bool | None:
    return None if a is None else not a


def and3(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def or3(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def like_ref(text: str, pattern: str) -> bool:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            tokens.append(("lit", pattern[i + 1]))
            i += 2
            continue
        tokens.append({"%": ("any", ""), "_": ("one", "")}.get(pattern[i], ("lit", pattern[i])))
        i += 1

    @functools.cache
    def match(ti: int, pi: int) -> bool:
        if pi == len(tokens):
            return ti == len(text)
        kind, ch = tokens[pi]
        if kind == "any":
            return any(match(k, pi + 1) for k in range(ti, len(text) + 1))
        if ti == len(text):
            return False
        return (kind == "one" or text[ti] == ch) and match(ti + 1, pi + 1)

    return match(0, 0)


def ref_value(op: Col | Lit, row: dict[str, Any]) -> Any:
    return row[op.name] if isinstance(op, Col) else op.value


def ref_cmp(a: Any, op: str, b: Any) -> bool | None:
    return None if a is None or b is None else PY_OPS[op](a, b)


def ref_eval(node: Any, row: dict[str, Any]) -> bool | None:
    if isinstance(node, Not):
        return not3(ref_eval(node.operand, row))
    if isinstance(node, And):
        return and3(ref_eval(node.left, row), ref_eval(node.right, row))
    if isinstance(node, Or):
        return or3(ref_eval(node.left, row), ref_eval(node.right, row))
    v = row[node.col.name]
    if isinstance(node, Cmp):
        return ref_cmp(v, node.op, ref_value(node.rhs, row))
    if isinstance(node, IsNull):
        return (v is not None) if node.negated else (v is None)
    result: bool | None
    if isinstance(node, In):
        values = [lit.value for lit in node.values]
        if v is None:
            result = None
        elif v in [x for x in values if x is not None]:
            result = True
        else:
            result = None if None in values else False
    elif isinstance(node, Between):
        low, high = ref_value(node.low, row), ref_value(node.high, row)
        result = and3(ref_cmp(v, ">=", low), ref_cmp(v, "<=", high))
    elif isinstance(node, Like):
        result = None if v is None else like_ref(v, node.pattern)
    else:
        result = None if v is None else re.search(node.pattern, v) is not None
    return not3(result) if node.negated else result


def reference_kept(node: Any, df: pd.DataFrame) -> list[int]:
    out = []
    for pos, rec in enumerate(df.astype(object).to_dict("records")):
        row = {k: (None if pd.isna(v) else v) for k, v in rec.items()}
        if ref_eval(node, row) is True:
            out.append(pos)
    return out


PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(frames(), conditions, st.randoms(use_true_random=False))
def test_evaluate_matches_reference(df: pd.DataFrame, node: Any, rnd: random.Random) -> None:
    text = render(node, rnd)
    mask = evaluate(text, df)
    assert mask.dtype == bool
    assert np.flatnonzero(mask.to_numpy()).tolist() == reference_kept(node, df), text


@pytest.fixture(scope="module")
def sqlite_scratch() -> tuple[sa.Engine, sa.Table]:
    engine = sa.create_engine("sqlite://")
    table = sa.Table(
        "r",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("i", sa.Integer),
        sa.Column("j", sa.Integer),
        sa.Column("f", sa.Float),
        sa.Column("s", sa.String),
        sa.Column("u", sa.String),
    )
    table.metadata.create_all(engine)
    return engine, table


@PROPERTY
@given(frames(), conditions, st.randoms(use_true_random=False))
def test_sqlite_matches_reference(
    sqlite_scratch: tuple[sa.Engine, sa.Table], df: pd.DataFrame, node: Any, rnd: random.Random
) -> None:
    engine, table = sqlite_scratch
    native = {"i": int, "j": int, "f": float, "s": str, "u": str}
    rows = [
        {"id": pos, **{k: (None if pd.isna(v) else native[k](v)) for k, v in rec.items()}}
        for pos, rec in enumerate(df.astype(object).to_dict("records"))
    ]
    with engine.begin() as conn:
        conn.execute(table.delete())
        if rows:
            conn.execute(table.insert(), rows)
    text = render(node, rnd)
    assert _sql_kept(engine, table, text) == reference_kept(node, df), text
