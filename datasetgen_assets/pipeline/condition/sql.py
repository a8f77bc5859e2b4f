"""A parsed condition as a SQLAlchemy expression with the same semantics as `evaluate`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from datasetgen_assets.pipeline.condition.frame import (
    _OPS,
    _coerce,
)
from datasetgen_assets.pipeline.condition.syntax import (
    Condition,
    _And,
    _as_condition,
    _Between,
    _Col,
    _Compare,
    _In,
    _IsNull,
    _Like,
    _Lit,
    _Matches,
    _Node,
    _Not,
    _Operand,
    _Or,
    check_columns,
)

# ---------------------------------------------------------------------------- SQLAlchemy


class _ExactText(ColumnElement[str]):
    """A string column compared code point by code point and case-sensitively, as pandas does.

    `mode` is "equal" (=, !=, in), "order" (<, <=, >, >=, between) or "match" (like, regex).
    PostgreSQL equality is exact already, so only orderings get COLLATE "C". MySQL/MariaDB
    collations usually ignore case and trailing spaces, so comparisons there run on the
    binary (UTF-8 byte order is code point order) and matches on utf8mb4_bin. Other dialects
    use the column as it is.
    """

    __visit_name__ = "datasetgen_exact_text"
    inherit_cache = True
    _traverse_internals = [
        ("expr", InternalTraversal.dp_clauseelement),
        ("mode", InternalTraversal.dp_string),
    ]

    def __init__(self, expr: ColumnElement[Any], mode: str) -> None:
        self.expr = expr
        self.mode = mode
        self.type = expr.type if isinstance(expr.type, sqltypes.String) else sa.String()


class _SqlLike(ColumnElement[bool]):
    """Case-sensitive LIKE with backslash escapes; GLOB on SQLite, whose LIKE ignores case."""

    __visit_name__ = "datasetgen_like"
    inherit_cache = True
    _traverse_internals = [
        ("expr", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("glob", InternalTraversal.dp_clauseelement),
    ]
    type = sa.Boolean()

    def __init__(self, expr: ColumnElement[Any], pattern: str, glob: str) -> None:
        self.expr = expr
        self.pattern = sa.literal(pattern, sa.String())
        self.glob = sa.literal(glob, sa.String())


@compiles(_ExactText)
def _exact_default(element: _ExactText, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.expr, **kw)


@compiles(_ExactText, "postgresql")
def _exact_postgresql(element: _ExactText, compiler: Any, **kw: Any) -> str:
    expr = element.expr
    if element.mode == "order":
        expr = sa.collate(expr, "C").self_group()
    return compiler.process(expr, **kw)


@compiles(_ExactText, "mysql")
def _exact_mysql(element: _ExactText, compiler: Any, **kw: Any) -> str:
    if element.mode == "match":
        text = sa.cast(element.expr, mysql.CHAR(charset="utf8mb4"))
        expr = sa.collate(text, "utf8mb4_bin").self_group()
    else:
        expr = sa.cast(element.expr, mysql.BINARY())
    return compiler.process(expr, **kw)


@compiles(_SqlLike)
def _like_default(element: _SqlLike, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.expr.like(element.pattern, escape="\\"), **kw)


@compiles(_SqlLike, "sqlite")
def _like_sqlite(element: _SqlLike, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.expr.op("GLOB", is_comparison=True)(element.glob), **kw)


_SQL_NUMBERS = (sqltypes.Integer, sqltypes.Numeric, sqltypes.Float)


def _sql_kind(expr: ColumnElement[Any]) -> str:
    t = expr.type
    if isinstance(t, sqltypes.Boolean):
        return "bool"
    if isinstance(t, sqltypes.String):
        return "string"
    if isinstance(t, _SQL_NUMBERS):
        return "number"
    if isinstance(t, sqltypes.DateTime):
        return "datetime"
    if isinstance(t, sqltypes.Date):
        return "date"
    if isinstance(t, sqltypes.Interval):
        return "timedelta"
    return "any"


def _sql_literal(lit: _Lit, expr: ColumnElement[Any], name: str) -> Any:
    kind = _sql_kind(expr)
    aware = bool(getattr(expr.type, "timezone", False))
    value = _coerce(lit, kind, name, expr.type, keep_offset=aware)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    return value


_SQL_UNKNOWN = sa.type_coerce(sa.null(), sa.Boolean())


def _sql(node: _Node, columns: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    def column(col: _Col, mode: str) -> ColumnElement[Any]:
        expr = columns[col.name]
        return _ExactText(expr, mode) if _sql_kind(expr) == "string" else expr

    def operand(op: _Operand, against: _Col, mode: str) -> Any:
        if isinstance(op, _Col):
            return column(op, mode)
        return _sql_literal(op, columns[against.name], against.name)

    def as_text(col: _Col) -> ColumnElement[Any]:
        expr = columns[col.name]
        if _sql_kind(expr) not in ("string", "any"):
            expr = sa.cast(expr, sa.String())
        return _ExactText(expr, "match")

    def negate(expr: ColumnElement[Any], negated: bool) -> ColumnElement[Any]:
        return sa.not_(expr) if negated else expr

    if isinstance(node, _Compare):
        if isinstance(node.right, _Lit) and node.right.value is None:
            return _SQL_UNKNOWN
        mode = "equal" if node.op in ("=", "!=") else "order"
        left = column(node.left, mode)
        return _OPS[node.op](left, operand(node.right, node.left, mode))
    if isinstance(node, _And):
        return sa.and_(*(_sql(p, columns) for p in node.operands))
    if isinstance(node, _Or):
        return sa.or_(*(_sql(p, columns) for p in node.operands))
    if isinstance(node, _Not):
        return sa.not_(_sql(node.operand, columns))
    if isinstance(node, _In):
        values = [operand(v, node.col, "equal") for v in node.values]
        return negate(column(node.col, "equal").in_(values), node.negated)
    if isinstance(node, _Between):
        low = operand(node.low, node.col, "order")
        high = operand(node.high, node.col, "order")
        return negate(column(node.col, "order").between(low, high), node.negated)
    if isinstance(node, _IsNull):
        col = columns[node.col.name]
        return col.is_not(None) if node.negated else col.is_(None)
    if isinstance(node, _Like):
        like = _SqlLike(as_text(node.col), str(node.pattern.value), node.glob)
        return negate(like, node.negated)
    if isinstance(node, _Matches):
        return negate(as_text(node.col).regexp_match(str(node.pattern.value)), node.negated)
    raise AssertionError(f"unhandled condition node {node!r}")  # pragma: no cover


def to_sqlalchemy(
    cond: Condition | str, columns: Mapping[str, ColumnElement[Any]]
) -> ColumnElement[bool]:
    """A SQLAlchemy boolean expression with the condition's SQL WHERE semantics.

    Literals become bound parameters, converted to each column's SQLAlchemy type the same way
    `evaluate` converts them for pandas dtypes. String comparisons and `like` are made exact
    and case-sensitive on SQLite, PostgreSQL and MySQL/MariaDB (see `_ExactText`). `matches`
    uses the dialect's regex operator: Python `re` on SQLite (registered by SQLAlchemy),
    POSIX regexes on PostgreSQL, PCRE/ICU on MariaDB/MySQL, which agree on common patterns.
    """
    cond = _as_condition(cond)
    check_columns(cond, list(columns.keys()))
    return _sql(cond._tree, columns)
