"""Generate strings matching a regex, vectorized over rows.

The pattern is parsed with Python's own regex parser (`sre_parse`) into a small tree of
character sets, sequences, repeats and alternations. Each node fills an (n, width) matrix of
code points for all rows at once (0 = no character); the matrix becomes one numpy string array
by a view, so no Python code runs per row. Unbounded repeats (`*`, `+`, `{2,}`) take at most
`UNBOUNDED_EXTRA` more repetitions than their minimum. Backreferences, lookarounds and word
boundaries cannot be generated and are rejected with the reason.
"""

from __future__ import annotations

import re
import string
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

from datasetgen_assets.errors import DatasetGenError

try:  # Python 3.11+: sre_parse is a deprecated alias of re._parser
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

UNBOUNDED_EXTRA = 8
CAP = 10**18  # capacities above this are "practically unlimited"
_PRINTABLE = np.array([ord(c) for c in string.printable if c not in "\t\n\r\x0b\x0c"],
                      dtype=np.uint32)
_CATEGORIES = {
    C.CATEGORY_DIGIT: string.digits,
    C.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    C.CATEGORY_SPACE: " ",
}
_NEGATED = {
    C.CATEGORY_NOT_DIGIT: string.digits,
    C.CATEGORY_NOT_WORD: string.ascii_letters + string.digits + "_",
    C.CATEGORY_NOT_SPACE: " \t\n\r\x0b\x0c",
}
_UNSUPPORTED = {
    C.GROUPREF: "a backreference (\\1)",
    C.GROUPREF_EXISTS: "a conditional group (?(1)...)",
    C.ASSERT: "a lookahead/lookbehind (?=...) (?<=...)",
    C.ASSERT_NOT: "a negative lookahead/lookbehind (?!...) (?<!...)",
}


class RegexError(DatasetGenError):
    """A pattern that is invalid or cannot be generated."""

    def __init__(self, message: str, fix: str) -> None:
        self.fix = fix
        super().__init__(message)


class Node(ABC):
    """One part of a pattern: generates an (n, width) uint32 matrix, 0-padded."""

    width: int  # most characters
    fixed: bool  # always exactly `width` characters

    @abstractmethod
    def generate(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` values as an (n, width) matrix of code points."""

    @abstractmethod
    def capacity(self) -> int:
        """How many distinct values this part can produce."""


@dataclass
class Chars(Node):
    codes: np.ndarray

    def __post_init__(self) -> None:
        self.width, self.fixed = 1, True

    def generate(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if len(self.codes) == 1:
            return np.full((n, 1), self.codes[0], dtype=np.uint32)
        return self.codes[rng.integers(0, len(self.codes), size=(n, 1))]

    def capacity(self) -> int:
        return len(self.codes)


@dataclass
class Seq(Node):
    items: list[Node]

    def __post_init__(self) -> None:
        self.width = sum(i.width for i in self.items)
        self.fixed = all(i.fixed for i in self.items)

    def generate(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if not self.items:
            return np.zeros((n, 0), dtype=np.uint32)
        mats = [i.generate(rng, n) for i in self.items]
        out = mats[0] if len(mats) == 1 else np.concatenate(mats, axis=1)
        # variable-width parts leave zeros inside a row: move them to the end
        if any(not i.fixed for i in self.items[:-1]):
            out = _compact(out)
        return out

    def capacity(self) -> int:
        total = 1
        for i in self.items:
            total = min(total * i.capacity(), CAP)
        return total


@dataclass
class Repeat(Node):
    item: Node
    lo: int
    hi: int

    def __post_init__(self) -> None:
        self.width = self.item.width * self.hi
        self.fixed = self.item.fixed and self.lo == self.hi

    def generate(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.hi == 0:
            return np.zeros((n, 0), dtype=np.uint32)
        counts = (np.full(n, self.lo) if self.lo == self.hi
                  else rng.integers(self.lo, self.hi + 1, size=n))
        if isinstance(self.item, Chars):  # the common case: [A-Z]{3,5}, \d+
            codes = self.item.codes
            mat = codes[rng.integers(0, len(codes), size=(n, self.hi))]
            mat[np.arange(self.hi)[None, :] >= counts[:, None]] = 0
            return mat
        w = self.item.width
        mat = np.concatenate([self.item.generate(rng, n) for _ in range(self.hi)], axis=1)
        blocks = np.repeat(np.arange(self.hi), w)
        mat[blocks[None, :] >= counts[:, None]] = 0
        return mat if self.item.fixed else _compact(mat)

    def capacity(self) -> int:
        c = self.item.capacity()
        total, power = 0, 1
        for k in range(self.hi + 1):
            if k >= self.lo:
                total = min(total + power, CAP)
            power = min(power * c, CAP)
        return total


@dataclass
class Branch(Node):
    options: list[Node]

    def __post_init__(self) -> None:
        self.width = max(o.width for o in self.options)
        self.fixed = all(o.fixed and o.width == self.width for o in self.options)

    def generate(self, rng: np.random.Generator, n: int) -> np.ndarray:
        pick = rng.integers(0, len(self.options), size=n)
        out = np.zeros((n, self.width), dtype=np.uint32)
        for k, opt in enumerate(self.options):
            rows = np.flatnonzero(pick == k)
            if len(rows) and opt.width:
                out[rows, : opt.width] = opt.generate(rng, len(rows))
        return out

    def capacity(self) -> int:
        return min(sum(o.capacity() for o in self.options), CAP)


def _compact(mat: np.ndarray) -> np.ndarray:
    """Move the zeros of every row to its end, keeping the order of the characters."""
    order = np.argsort(mat == 0, axis=1, kind="stable")
    return np.take_along_axis(mat, order, axis=1)


def to_arrow(mat: np.ndarray) -> pa.Array:
    """An (n, width) code-point matrix (zeros only at row ends) as an Arrow string array.
    ASCII goes straight into Arrow's buffers; other text through numpy's UTF-32 strings."""
    n, width = mat.shape
    if width == 0:
        return pa.array([""] * n, type=pa.string())
    if int(mat.max(initial=0)) < 128:
        m8 = np.ascontiguousarray(mat, dtype=np.uint8)
        lengths = np.count_nonzero(m8, axis=1)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        data = m8[m8 != 0] if (lengths != width).any() else m8.reshape(-1)
        return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets),
                                                pa.py_buffer(data)).cast(pa.string())
    wide = np.ascontiguousarray(mat, dtype=np.uint32).view(f"<U{width}").reshape(n)
    return pa.array(wide, type=pa.string())


class Pattern:
    """A compiled pattern: `generate(rng, n)` -> numpy array of n matching strings."""

    def __init__(self, pattern: str, root: Node) -> None:
        self.pattern = pattern
        self.root = root

    def generate(self, rng: np.random.Generator, n: int) -> pa.Array:
        """n matching strings as an Arrow string array."""
        return to_arrow(self.root.generate(rng, n))

    def capacity(self) -> int:
        return self.root.capacity()


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Pattern:
    """Parse `pattern` into a generator; RegexError when invalid or not generable."""
    try:
        re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        raise RegexError(f"invalid regex {pattern!r}: {exc}",
                         "fix the pattern (Python regex syntax)") from None
    return Pattern(pattern, _build(list(parsed), pattern))


def _build(items: list, pattern: str) -> Node:
    nodes = [n for n in (_node(op, av, pattern) for op, av in items) if n is not None]
    return nodes[0] if len(nodes) == 1 else Seq(nodes)


def _fail(what: str, pattern: str) -> RegexError:
    return RegexError(f"regex {pattern!r} uses {what}, which cannot be generated",
                      "rewrite it with literals, character classes, groups, alternation "
                      "and repeats only")


def _node(op, av, pattern: str) -> Node | None:
    if op in _UNSUPPORTED:
        raise _fail(_UNSUPPORTED[op], pattern)
    if op == C.LITERAL:
        return Chars(np.array([av], dtype=np.uint32))
    if op == C.NOT_LITERAL:
        return Chars(_PRINTABLE[av != _PRINTABLE])
    if op == C.ANY:
        return Chars(np.array([ord(c) for c in string.ascii_letters + string.digits],
                              dtype=np.uint32))
    if op == C.IN:
        return Chars(_charset(av, pattern))
    if op in (C.MAX_REPEAT, C.MIN_REPEAT) or op == getattr(C, "POSSESSIVE_REPEAT", None):
        lo, hi, sub = av
        if hi == C.MAXREPEAT:
            hi = lo + UNBOUNDED_EXTRA
        return Repeat(_build(list(sub), pattern), int(lo), int(hi))
    if op == C.SUBPATTERN:
        return _build(list(av[-1]), pattern)
    if op == getattr(C, "ATOMIC_GROUP", None):
        return _build(list(av), pattern)
    if op == C.BRANCH:
        return Branch([_build(list(b), pattern) for b in av[1]])
    if op == C.AT:
        if av in (C.AT_BEGINNING, C.AT_BEGINNING_STRING, C.AT_END, C.AT_END_STRING):
            return None
        raise _fail("a word boundary (\\b, \\B)", pattern)
    raise _fail(f"'{op}'", pattern)


def _charset(items: list, pattern: str) -> np.ndarray:
    codes: set[int] = set()
    negate = False
    for op, av in items:
        if op == C.NEGATE:
            negate = True
        elif op == C.LITERAL:
            codes.add(av)
        elif op == C.RANGE:
            codes.update(range(av[0], av[1] + 1))
        elif op == C.CATEGORY:
            if av in _CATEGORIES:
                codes.update(ord(c) for c in _CATEGORIES[av])
            elif av in _NEGATED:
                excluded = {ord(c) for c in _NEGATED[av]}
                codes.update(int(c) for c in _PRINTABLE if int(c) not in excluded)
            else:
                raise _fail(f"the category {av}", pattern)
        else:
            raise _fail(f"'{op}' in a character class", pattern)
    if negate:
        codes = {int(c) for c in _PRINTABLE} - codes
    if not codes:
        raise RegexError(f"regex {pattern!r} has a character class that matches nothing "
                         "printable", "allow at least one printable character in [...]")
    return np.array(sorted(codes), dtype=np.uint32)
