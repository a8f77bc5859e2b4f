"""Vectorized pandas evaluation of a parsed condition (SQL three-valued logic)."""

from __future__ import annotations

import operator
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from datasetgen_assets.pipeline.condition.syntax import (
    Condition,
    ConditionTypeError,
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

# ---------------------------------------------------------------------------- pandas

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_INFERRED_KIND = {
    "string": "string",
    "integer": "number",
    "floating": "number",
    "mixed-integer-float": "number",
    "decimal": "number",
    "boolean": "bool",
    "datetime": "datetime",
    "datetime64": "datetime",
    "date": "date",
    "timedelta": "timedelta",
    "timedelta64": "timedelta",
    "empty": "any",
}


def _series_kind(s: pd.Series) -> str:
    """string | number | bool | datetime | date | timedelta | any | other."""
    dtype = s.dtype
    api = pd.api.types
    if api.is_bool_dtype(dtype):
        return "bool"
    if api.is_numeric_dtype(dtype):
        return "number"
    if api.is_datetime64_any_dtype(dtype):
        return "datetime"
    if api.is_timedelta64_dtype(dtype):
        return "timedelta"
    if api.is_object_dtype(dtype):
        return _INFERRED_KIND.get(api.infer_dtype(s, skipna=True), "other")
    if api.is_string_dtype(dtype):
        return "string"
    return "other"


_NO: Any = object()  # "no valid conversion" marker (None is a valid literal)


def _type_error_fix(kind: str, lit: _Lit) -> str:
    if kind == "string":
        return f"quote the literal ('{lit.raw}'), or cast the column with a select step"
    return "write a literal of the column's type, or cast the column with a select step"


def _describe_literal(lit: _Lit) -> str:
    if lit.value is True or lit.value is False:
        return f"the boolean {lit.raw}"
    if isinstance(lit.value, str):
        return f"the string {lit.raw}"
    return f"the number {lit.raw}"


def _coerce(
    lit: _Lit, kind: str, col: str, dtype: object, tz: Any = None, *, keep_offset: bool = False
) -> Any:
    """The literal converted for comparison with a column of `kind`, or ConditionTypeError.

    `tz` is the time zone of a tz-aware pandas column; `keep_offset` lets an aware literal
    through unchanged (SQL columns with a time zone).
    """
    value = lit.value
    if value is None or kind in ("any", "other"):
        return value
    ok: Any = _NO
    if kind == "string":
        if isinstance(value, str):
            ok = value
    elif kind == "number":
        if isinstance(value, str):
            ok = _to_number(value)
        elif not isinstance(value, bool):
            ok = value
    elif kind == "bool":
        if isinstance(value, bool) or value in (0, 1):
            ok = bool(value)
    elif isinstance(value, str) and kind in ("datetime", "date", "timedelta"):
        ok = _to_time(lit, kind, col, dtype, tz, keep_offset)
    if ok is _NO:
        raise ConditionTypeError(
            f"column '{col}' ({dtype}) cannot be compared with {_describe_literal(lit)}."
            f" Fix: {_type_error_fix(kind, lit)}.",
            column=col,
            position=lit.pos,
        )
    return ok


def _to_time(lit: _Lit, kind: str, col: str, dtype: object, tz: Any, keep_offset: bool) -> Any:
    """A string literal parsed as a Timestamp, date or Timedelta for a column of `kind`."""
    try:
        if kind == "timedelta":
            value: Any = pd.Timedelta(str(lit.value))
        else:
            value = pd.Timestamp(str(lit.value))
    except (ValueError, OverflowError) as exc:
        what = "duration" if kind == "timedelta" else "date/time"
        raise ConditionTypeError(
            f"column '{col}' ({dtype}) cannot be compared with {lit.raw}: it is not a valid"
            f" {what} ({exc}).",
            column=col,
            position=lit.pos,
        ) from None
    if value is pd.NaT:
        return _NO
    if kind == "date":
        return value.date()
    if kind == "datetime" and tz is not None:
        return value.tz_localize(tz) if value.tzinfo is None else value.tz_convert(tz)
    if kind == "datetime" and value.tzinfo is not None and not keep_offset:
        raise ConditionTypeError(
            f"column '{col}' ({dtype}) has no time zone but the literal {lit.raw} has one."
            " Fix: drop the offset from the literal, or localize the column with a select step.",
            column=col,
            position=lit.pos,
        )
    return value


def _to_number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return _NO
    return _NO if np.isnan(value) else value


_COMPATIBLE = {frozenset({"number", "bool"})}


class _Frame:
    """Column access for one evaluation: prepared series and their kinds, cached by name."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.n = len(df)
        self.cache: dict[str, tuple[pd.Series, str]] = {}

    def column(self, col: _Col) -> tuple[pd.Series, str]:
        hit = self.cache.get(col.name)
        if hit is not None:
            return hit
        s = self.df[col.name]
        if isinstance(s, pd.DataFrame):
            raise ConditionTypeError(
                f"column '{col.name}' appears {s.shape[1]} times in the input; rename the"
                " duplicates with a select step.",
                column=col.name,
                position=col.pos,
            )
        if isinstance(s.dtype, pd.CategoricalDtype):
            try:
                s = s.astype(s.cat.categories.dtype)
            except (TypeError, ValueError):
                s = s.astype(object)
        hit = (s, _series_kind(s))
        self.cache[col.name] = hit
        return hit

    def unknown(self) -> pd.arrays.BooleanArray:
        return pd.arrays.BooleanArray(np.zeros(self.n, bool), np.ones(self.n, bool))


def _bool_array(values: Any, na: np.ndarray) -> pd.arrays.BooleanArray:
    """A nullable boolean array from a bool-ish pandas result and an unknown-mask."""
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=bool, na_value=False)
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), na)


def _compare(frame: _Frame, op: str, left: _Col, right: _Operand) -> pd.arrays.BooleanArray:
    s, kind = frame.column(left)
    if isinstance(right, _Lit):
        if right.value is None:
            return frame.unknown()
        other: Any = _coerce(right, kind, left.name, s.dtype, getattr(s.dtype, "tz", None))
        na = s.isna().to_numpy()
        what = right.raw
    else:
        other, other_kind = frame.column(right)
        if not (
            kind == other_kind
            or "any" in (kind, other_kind)
            or "other" in (kind, other_kind)
            or frozenset({kind, other_kind}) in _COMPATIBLE
        ):
            raise ConditionTypeError(
                f"columns '{left.name}' ({s.dtype}) and '{right.name}' ({other.dtype}) cannot"
                " be compared. Fix: cast one of them with a select step.",
                column=left.name,
                position=left.pos,
            )
        na = s.isna().to_numpy() | other.isna().to_numpy()
        what = f"column '{right.name}' ({other.dtype})"
    try:
        with np.errstate(all="ignore"):
            raw = _OPS[op](s, other)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConditionTypeError(
            f"column '{left.name}' ({s.dtype}) cannot be compared with {what} using"
            f" '{op}': {exc}. Fix: cast the column with a select step.",
            column=left.name,
            position=left.pos,
        ) from None
    return _bool_array(raw, na)


def _in(frame: _Frame, node: _In) -> pd.arrays.BooleanArray:
    s, kind = frame.column(node.col)
    tz = getattr(s.dtype, "tz", None)
    values = [_coerce(v, kind, node.col.name, s.dtype, tz) for v in node.values]
    has_null = any(v is None for v in values)
    try:
        hit = s.isin([v for v in values if v is not None]).to_numpy(dtype=bool, na_value=False)
    except (TypeError, ValueError) as exc:
        raise ConditionTypeError(
            f"column '{node.col.name}' ({s.dtype}) cannot be matched against the 'in' list: {exc}.",
            column=node.col.name,
            position=node.col.pos,
        ) from None
    na = s.isna().to_numpy()
    if has_null:  # x in (1, null) is true or unknown, never false
        na = na | ~hit
    result = pd.arrays.BooleanArray(hit, na)
    return ~result if node.negated else result


def _regex(frame: _Frame, col: _Col, pattern: str, *, full: bool) -> pd.arrays.BooleanArray:
    s, _ = frame.column(col)
    na = s.isna().to_numpy()
    text = s if isinstance(s.dtype, pd.StringDtype) else s.astype(str)
    if full:
        hit = text.str.fullmatch(pattern)
    elif re.compile(pattern).groups:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "This pattern is interpreted as a regular")
            hit = text.str.contains(pattern, regex=True)
    else:
        hit = text.str.contains(pattern, regex=True)
    return _bool_array(hit, na)


def _eval(node: _Node, frame: _Frame) -> pd.arrays.BooleanArray:
    if isinstance(node, _Compare):
        return _compare(frame, node.op, node.left, node.right)
    if isinstance(node, _And):
        result = _eval(node.operands[0], frame)
        for part in node.operands[1:]:
            result = result & _eval(part, frame)
        return result
    if isinstance(node, _Or):
        result = _eval(node.operands[0], frame)
        for part in node.operands[1:]:
            result = result | _eval(part, frame)
        return result
    if isinstance(node, _Not):
        return ~_eval(node.operand, frame)
    if isinstance(node, _In):
        return _in(frame, node)
    if isinstance(node, _Between):
        result = _compare(frame, ">=", node.col, node.low) & _compare(
            frame, "<=", node.col, node.high
        )
        return ~result if node.negated else result
    if isinstance(node, _IsNull):
        s, _ = frame.column(node.col)
        isna = s.isna().to_numpy()
        return _bool_array(~isna if node.negated else isna, np.zeros(frame.n, bool))
    if isinstance(node, _Like):
        result = _regex(frame, node.col, node.regex, full=True)
        return ~result if node.negated else result
    if isinstance(node, _Matches):
        result = _regex(frame, node.col, str(node.pattern.value), full=False)
        return ~result if node.negated else result
    raise AssertionError(f"unhandled condition node {node!r}")  # pragma: no cover


def evaluate(cond: Condition | str, df: pd.DataFrame) -> pd.Series:
    """The rows of `df` for which `cond` is true, as a bool Series aligned to `df.index`."""
    cond = _as_condition(cond)
    check_columns(cond, list(df.columns))
    result = _eval(cond._tree, _Frame(df))
    return pd.Series(result.to_numpy(dtype=bool, na_value=False), index=df.index, dtype=bool)
