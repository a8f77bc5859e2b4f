"""The whitelist condition language of `filter` steps, the optimizer and quality rules.

A condition is parsed by a small hand-written recursive-descent parser into a private tree
and then either evaluated with vectorized pandas operations or translated into a SQLAlchemy
expression. Nothing is ever handed to `eval`, `DataFrame.query`/`DataFrame.eval` or built
into SQL text, so a condition can only compare columns with literals.

Grammar (keywords are case-insensitive)::

    condition  := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | predicate
    predicate  := operand ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") operand
                | column ["not"] "in" "(" literal ("," literal)* ")"
                | column ["not"] "between" operand "and" operand
                | column "is" ["not"] "null"
                | column ["not"] "like" string
                | column ["not"] ("matches" | "~") string
    operand    := column | literal
    column     := identifier ([A-Za-z_][A-Za-z0-9_.]*) | `backquoted name` (`` for a `)
    literal    := 'string' | "string" | int | float | true | false | null

Strings understand the escapes \\\\ \\' \\" \\n \\t \\r; any other backslash is kept, so
regexes read naturally ('\\d+'). In a `like` pattern `%` matches any run of characters,
`_` one character and a backslash makes the next character literal ('100\\%').

Semantics are those of a SQL WHERE clause: a comparison with a null operand is unknown,
`and`/`or`/`not` follow three-valued (Kleene) logic and only rows that are true are kept.
`like` is case-sensitive; `matches` searches with Python's `re` (unanchored, like `~` in
PostgreSQL). On a non-string column both work on the string form of non-null values.
"""

from __future__ import annotations

import functools
import operator
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from datasetgen_assets.errors import UnknownColumnError, did_you_mean

__all__ = [
    "Condition",
    "ConditionSyntaxError",
    "ConditionTypeError",
    "check_columns",
    "evaluate",
    "parse_condition",
    "to_sqlalchemy",
]

LiteralValue: TypeAlias = str | int | float | bool | None

_MAX_DEPTH = 100


# ---------------------------------------------------------------------------- errors


class ConditionSyntaxError(ValueError):
    """A condition that does not parse, with the offending 0-based character position."""

    def __init__(self, text: str, position: int, message: str) -> None:
        self.text = text
        self.position = max(0, min(position, len(text)))
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        # Show only the line holding the position so the caret lines up in multi-line text.
        start = self.text.rfind("\n", 0, self.position) + 1
        end = self.text.find("\n", self.position)
        line = self.text[start : len(self.text) if end < 0 else end].replace("\t", " ")
        return f"{self.message}\n  {line}\n  {' ' * (self.position - start)}^"


class ConditionTypeError(TypeError, ValueError):
    """A column and a literal (or two columns) whose types cannot be compared."""

    def __init__(self, message: str, *, column: str | None = None, position: int | None = None):
        self.message = message
        self.column = column
        self.position = position
        super().__init__(message)


# ---------------------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class _Col:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class _Lit:
    value: LiteralValue
    pos: int
    raw: str


_Operand: TypeAlias = _Col | _Lit


@dataclass(frozen=True, slots=True)
class _Compare:
    op: str  # one of = != < <= > >=; the left side is always a column
    left: _Col
    right: _Operand


@dataclass(frozen=True, slots=True)
class _In:
    col: _Col
    values: tuple[_Lit, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class _Between:
    col: _Col
    low: _Operand
    high: _Operand
    negated: bool


@dataclass(frozen=True, slots=True)
class _IsNull:
    col: _Col
    negated: bool


@dataclass(frozen=True, slots=True)
class _Like:
    col: _Col
    pattern: _Lit
    regex: str  # anchored Python regex equivalent to the LIKE pattern
    glob: str  # SQLite GLOB pattern equivalent to the LIKE pattern
    negated: bool


@dataclass(frozen=True, slots=True)
class _Matches:
    col: _Col
    pattern: _Lit
    negated: bool


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node


@dataclass(frozen=True, slots=True)
class _And:
    operands: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Or:
    operands: tuple[_Node, ...]


_Node: TypeAlias = _Compare | _In | _Between | _IsNull | _Like | _Matches | _Not | _And | _Or


@dataclass(frozen=True)
class Condition:
    """A parsed condition: its text, the columns it reads and (privately) its tree."""

    text: str
    columns: frozenset[str]
    _tree: _Node = field(repr=False, compare=False)
    _positions: tuple[tuple[str, int], ...] = field(repr=False, compare=False)  # text order


# ---------------------------------------------------------------------------- tokenizer

_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "between", "is", "null", "like", "matches", "true", "false"}
)
_PREDICATE_WORDS = ("in", "between", "is", "like", "matches", "not")
_CMP_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER_RE = re.compile(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_OP_RE = re.compile(r"==|!=|<>|<=|>=|[=<>~]")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ident | quoted | string | number | op | ( | ) | , | end
    value: Any
    pos: int
    raw: str

    @property
    def word(self) -> str | None:
        """The lower-cased keyword this token spells, if it is a bare keyword."""
        if self.kind == "ident" and self.value.lower() in _KEYWORDS:
            return self.value.lower()
        return None

    def describe(self) -> str:
        return "end of condition" if self.kind == "end" else repr(self.raw)


def _tokenize(text: str) -> Iterator[_Token]:
    """Tokens produced lazily, so errors come out in text order; then `end` forever."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if m := _SPACE_RE.match(text, i):
            i = m.end()
            continue
        if ch in "'\"":
            value, end = _read_quoted(text, i, ch, backslash=True, what="string")
            yield _Token("string", value, i, text[i:end])
        elif ch == "`":
            value, end = _read_quoted(text, i, "`", backslash=False, what="column name")
            if not value:
                raise ConditionSyntaxError(text, i, "empty `backquoted` column name")
            yield _Token("quoted", value, i, text[i:end])
        elif (m := _NUMBER_RE.match(text, i)) is not None:
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                raise ConditionSyntaxError(
                    text, i, f"invalid number {text[i : end + 1]!r}; expected digits only"
                )
            raw = m.group()
            is_int = not any(c in raw for c in ".eE")
            yield _Token("number", int(raw) if is_int else float(raw), i, raw)
        elif (m := _IDENT_RE.match(text, i)) is not None:
            end = m.end()
            yield _Token("ident", m.group(), i, m.group())
        elif (m := _OP_RE.match(text, i)) is not None:
            end = m.end()
            yield _Token("op", m.group(), i, m.group())
        elif ch in "(),":
            end = i + 1
            yield _Token(ch, ch, i, ch)
        else:
            hint = " Did you mean '!='?" if ch == "!" else ""
            raise ConditionSyntaxError(
                text,
                i,
                f"unexpected character {ch!r}; expected a column name, a quoted literal,"
                f" a number, a comparison operator or a parenthesis.{hint}",
            )
        i = end
    end_token = _Token("end", None, n, "")
    while True:
        yield end_token


def _read_quoted(text: str, start: int, quote: str, *, backslash: bool, what: str):
    """The unescaped content of the quoted token at `start` and the index after it."""
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if backslash and ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
        elif ch == quote:
            if not backslash and i + 1 < n and text[i + 1] == quote:  # `` inside backquotes
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise ConditionSyntaxError(
        text, start, f"unterminated {what}; expected a closing {quote} to match this one"
    )


# ---------------------------------------------------------------------------- parser


def _like_to_regex(pattern: str) -> tuple[str, str, int | None]:
    """(Python regex, SQLite GLOB pattern, index of a dangling escape or None)."""
    rx: list[str] = []
    glob: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 == len(pattern):
                return "", "", i
            lit = pattern[i + 1]
            rx.append(re.escape(lit))
            glob.append(f"[{lit}]" if lit in "*?[" else lit)
            i += 2
            continue
        if ch == "%":
            rx.append(".*")
            glob.append("*")
        elif ch == "_":
            rx.append(".")
            glob.append("?")
        else:
            rx.append(re.escape(ch))
            glob.append(f"[{ch}]" if ch in "*?[" else ch)
        i += 1
    return "(?s)" + "".join(rx), "".join(glob), None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.tok = next(self.tokens)
        self.depth = 0
        self.positions: dict[str, int] = {}

    # -- helpers

    def advance(self) -> _Token:
        tok = self.tok
        self.tok = next(self.tokens)
        return tok

    def fail(
        self, expected: str, tok: _Token | None = None, hint: str = ""
    ) -> ConditionSyntaxError:
        tok = tok or self.tok
        return ConditionSyntaxError(
            self.text, tok.pos, f"unexpected {tok.describe()}; expected {expected}.{hint}"
        )

    @staticmethod
    def keyword_hint(tok: _Token, words: tuple[str, ...]) -> str:
        """' Did you mean <keyword>?' for a misspelt keyword, else ''."""
        if tok.kind != "ident" or tok.word:
            return ""
        return did_you_mean(tok.value.lower(), words)

    # -- grammar

    def parse(self) -> _Node:
        if self.tok.kind == "end":
            raise ConditionSyntaxError(self.text, 0, "empty condition; expected e.g. amount > 0")
        node = self.or_expr()
        if self.tok.kind == ")":
            raise self.fail("'and', 'or' or the end of the condition (unbalanced ')')")
        if self.tok.kind != "end":
            raise self.fail(
                "'and', 'or' or the end of the condition",
                hint=self.keyword_hint(self.tok, ("and", "or")),
            )
        return node

    def or_expr(self) -> _Node:
        parts = [self.and_expr()]
        while self.tok.word == "or":
            self.advance()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else _Or(tuple(parts))

    def and_expr(self) -> _Node:
        parts = [self.not_expr()]
        while self.tok.word == "and":
            self.advance()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else _And(tuple(parts))

    def not_expr(self) -> _Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ConditionSyntaxError(
                self.text, self.tok.pos, f"condition nested deeper than {_MAX_DEPTH} levels"
            )
        try:
            if self.tok.word == "not":
                self.advance()
                return _Not(self.not_expr())
            if self.tok.kind == "(":
                open_tok = self.advance()
                node = self.or_expr()
                if self.tok.kind != ")":
                    raise self.fail(
                        f"')' to close the '(' at position {open_tok.pos}, 'and' or 'or'",
                        hint=self.keyword_hint(self.tok, ("and", "or")),
                    )
                self.advance()
                return node
            return self.predicate()
        finally:
            self.depth -= 1

    def operand(self, expected: str) -> _Operand:
        tok = self.tok
        if tok.kind == "quoted" or (tok.kind == "ident" and tok.word is None):
            self.advance()
            self.positions.setdefault(tok.value, tok.pos)
            return _Col(tok.value, tok.pos)
        if tok.kind in ("string", "number"):
            self.advance()
            return _Lit(tok.value, tok.pos, tok.raw)
        if tok.word in ("true", "false", "null"):
            self.advance()
            value = {"true": True, "false": False, "null": None}[tok.word]
            return _Lit(value, tok.pos, tok.raw)
        hint = ""
        if tok.word:
            hint = f" To use '{tok.value}' as a column name, write `{tok.value}`."
        raise self.fail(expected, hint=hint)

    def literal(self, expected: str) -> _Lit:
        tok = self.tok
        value = self.operand(expected)
        if not isinstance(value, _Lit):
            raise self.fail(expected + " (column names are not allowed here)", tok)
        return value

    def predicate(self) -> _Node:
        left_tok = self.tok
        left = self.operand("a column name, a literal, 'not' or '('")
        tok = self.tok
        if tok.kind == "op" and tok.value in _CMP_OPS:
            self.advance()
            right = self.operand(f"a column name or a literal after {tok.value!r}")
            op = _CMP_OPS[tok.value]
            if isinstance(left, _Col):
                return _Compare(op, left, right)
            if isinstance(right, _Col):
                return _Compare(_FLIP[op], right, left)
            raise ConditionSyntaxError(
                self.text, left.pos, "a comparison needs a column on at least one side"
            )
        if tok.word in _PREDICATE_WORDS or (tok.kind == "op" and tok.value == "~"):
            if not isinstance(left, _Col):
                raise ConditionSyntaxError(
                    self.text, left_tok.pos, f"the left side of '{tok.raw}' must be a column"
                )
            return self.column_predicate(left)
        raise self.fail(
            "a comparison operator (=, !=, <, <=, >, >=) or one of in, between, is, like,"
            " matches, ~",
            hint=self.keyword_hint(tok, _PREDICATE_WORDS),
        )

    def column_predicate(self, col: _Col) -> _Node:
        negated = False
        if self.tok.word == "not":
            self.advance()
            negated = True
            if self.tok.word not in ("in", "between", "like", "matches") and not (
                self.tok.kind == "op" and self.tok.value == "~"
            ):
                raise self.fail(
                    "in, between, like, matches or ~ after 'not'",
                    hint=self.keyword_hint(self.tok, ("in", "between", "like", "matches")),
                )
        kw = self.advance()
        word = "matches" if kw.kind == "op" else kw.word
        if word == "is":
            if self.tok.word == "not":
                self.advance()
                negated = True
            if self.tok.word != "null":
                raise self.fail(
                    "null after 'is' or 'is not'", hint=self.keyword_hint(self.tok, ("null",))
                )
            self.advance()
            return _IsNull(col, negated)
        if word == "in":
            if self.tok.kind != "(":
                raise self.fail("'(' to start the list of values after 'in'")
            self.advance()
            values = [self.literal("a literal value in the 'in' list")]
            while self.tok.kind == ",":
                self.advance()
                values.append(self.literal("a literal value after ','"))
            if self.tok.kind != ")":
                raise self.fail("',' or ')' in the 'in' list")
            self.advance()
            return _In(col, tuple(values), negated)
        if word == "between":
            low = self.operand("a literal or column as the lower bound of 'between'")
            if self.tok.word != "and":
                raise self.fail("'and' between the two bounds of 'between'")
            self.advance()
            high = self.operand("a literal or column as the upper bound of 'between'")
            return _Between(col, low, high, negated)
        pattern = self.tok
        if pattern.kind != "string":
            raise self.fail(f"a quoted pattern string after '{kw.raw}'")
        self.advance()
        lit = _Lit(pattern.value, pattern.pos, pattern.raw)
        if word == "like":
            regex, glob, bad = _like_to_regex(pattern.value)
            if bad is not None:
                raise ConditionSyntaxError(
                    self.text,
                    pattern.pos,
                    "like pattern ends with a lone escaping backslash; expected a character"
                    " after it (write '\\\\\\\\' for a literal backslash)",
                )
            return _Like(col, lit, regex, glob, negated)
        try:
            re.compile(pattern.value)
        except re.error as exc:
            raise ConditionSyntaxError(
                self.text, pattern.pos, f"invalid regular expression {pattern.raw}: {exc}"
            ) from None
        return _Matches(col, lit, negated)


@functools.lru_cache(maxsize=2048)
def parse_condition(text: str) -> Condition:
    """Parse `text`; raises ConditionSyntaxError pointing at the first problem."""
    if not isinstance(text, str):
        raise TypeError(f"a condition must be a string, not {type(text).__name__}")
    parser = _Parser(text)
    tree = parser.parse()
    positions = tuple(sorted(parser.positions.items(), key=lambda item: item[1]))
    return Condition(text, frozenset(parser.positions), tree, positions)


def _as_condition(cond: Condition | str) -> Condition:
    return cond if isinstance(cond, Condition) else parse_condition(cond)


def check_columns(cond: Condition | str, known: list[str] | None, field: str = "condition") -> None:
    """Raise UnknownColumnError for the first column (in text order) not in `known`."""
    if known is None:
        return
    cond = _as_condition(cond)
    known_set = set(known)
    for name, pos in cond._positions:
        if name not in known_set:
            err = UnknownColumnError(name, [str(k) for k in known], field=field)
            err.position = pos  # type: ignore[attr-defined]
            err.add_note(f"  {cond.text}\n  {' ' * pos}^")
            raise err


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
