"""Tokenizer, parser and tree of the condition language (see the package docstring)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from datasetgen_assets.errors import UnknownColumnError, did_you_mean

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
