"""The statistical generator: a Schema -> one DataFrame per table, vectorized and seeded.

Every field draws from its own random stream, seeded by (seed, table, field), so a table or
a single key column comes out the same whether it is generated alone or with the rest: the
`synthetic` steps of one schema agree on keys. Child tables hang `per_parent` rows off their
parent's keys; other foreign keys sample existing parent keys. Rule targets are computed
after the base fields, nulls and text formats are applied last.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.synth import semantic
from datasetgen_assets.synth.regexgen import compile_pattern, to_arrow
from datasetgen_assets.synth.schema import (
    NUMERIC,
    TEMPORAL,
    FieldSpec,
    Rule,
    Schema,
    TableSpec,
    parse_duration,
    parse_time,
    value_capacity,
)

UNIQUE_ROUNDS = 40
DEFAULT_DATES = ("2020-01-01", "2025-12-31")
PHONE_PATTERN = r"\([2-9]\d{2}\) [2-9]\d{2}-\d{4}"
Progress = Callable[[str, str], None]  # (table, field) after each field


def _stream(seed: int, *parts: str | int) -> np.random.Generator:
    keys = [seed & 0xFFFFFFFF] + [p if isinstance(p, int) else zlib.crc32(p.encode())
                                  for p in parts]
    return np.random.default_rng(keys)


def rows_for(schema: Schema, rows: int) -> dict[str, int | None]:
    """Row counts known before generating (None: decided by per_parent draws)."""
    return {name: (None if t.per_parent else (t.rows if t.rows is not None else rows))
            for name, t in schema.table_map().items()}


def expected_rows(schema: Schema, table: str, rows: int) -> int:
    """The expected row count of `table` (per_parent: parents x mean count)."""
    t = schema.table(table)
    if t.per_parent is None:
        return t.rows if t.rows is not None else rows
    pp = t.per_parent
    mean = pp.mean if pp.distribution == "poisson" and pp.mean else (pp.min + pp.max) / 2
    return round(expected_rows(schema, t.parent() or "", rows) * mean)


def generate(schema: Schema, rows: int, seed: int = 0, tables: list[str] | None = None,
             progress: Progress | None = None) -> dict[str, pd.DataFrame]:
    """The tables asked for (default all), each a DataFrame. Referenced tables are generated
    as far as their keys are needed."""
    all_tables = schema.table_map()
    wanted = list(tables) if tables else list(all_tables)
    needed: dict[str, set[str] | None] = {t: None for t in wanted}
    for name in reversed(schema.order()):
        if name not in needed:
            continue
        t = all_tables[name]
        pulls = list(t.references().values()) + [r.parent_source for r in t.rules
                                                  if r.parent_source is not None]
        for rt, rf in pulls:
            cols = needed.setdefault(rt, set())
            if cols is not None:
                cols.add(rf)
    out: dict[str, pd.DataFrame] = {}
    gen = _Generator(schema, rows, seed, progress)
    for name in schema.order():
        if name in needed:
            out[name] = gen.table(all_tables[name], needed[name])
    return {t: out[t] for t in wanted}


def generate_table(schema: Schema, table: str | None, rows: int, seed: int = 0,
                   progress: Progress | None = None) -> pd.DataFrame:
    """One table of the schema (its parents' keys generated as needed)."""
    spec = schema.table(table)
    return generate(schema, rows, seed, [spec.name], progress)[spec.name]


class _Generator:
    def __init__(self, schema: Schema, rows: int, seed: int, progress: Progress | None) -> None:
        self.schema, self.rows, self.seed, self.progress = schema, rows, seed, progress
        self.done: dict[str, pd.DataFrame] = {}
        self.raw: dict[str, dict[str, Any]] = {}  # columns before nulls and text formats
        self._pools: semantic.Pools | None = None

    @property
    def pools(self) -> semantic.Pools:
        if self._pools is None:
            self._pools = semantic.pools(self.schema.locale)
        return self._pools

    # ---------------------------------------------------------------- tables

    def table(self, t: TableSpec, only: set[str] | None) -> pd.DataFrame:
        n, link = self._row_count(t)
        derived = t.derived()
        fields = list(t.fields)
        if only is not None:
            keep = set(only)
            stack = list(only)
            while stack:  # rule sources of what is kept
                f = stack.pop()
                if f in derived:
                    for s in [*derived[f].sources, *_link_field(t, derived[f])]:
                        if s not in keep:
                            keep.add(s)
                            stack.append(s)
            if link is not None:
                keep.add(link[0])
            fields = [f for f in fields if f in keep]
        cols: dict[str, Any] = {}
        for fname in fields:
            if fname in derived:
                continue
            f = t.fields[fname]
            rng = _stream(self.seed, t.name, fname)
            if link is not None and fname == link[0]:
                cols[fname] = link[1]
            elif f.references:
                cols[fname] = self._foreign(t, fname, f, rng, n)
            else:
                cols[fname] = self._unique(t, fname, f, rng, n)
            if self.progress:
                self.progress(t.name, fname)
        for rule in _rule_order(t):
            if rule.target in fields:
                if rule.parent_source is not None:  # the other side comes from the parent row
                    cols[rule.body.other] = self._from_parent(t, rule, cols)
                cols[rule.target] = _apply_rule(rule, t, cols, _stream(self.seed, t.name,
                                                                       rule.target))
                if self.progress:
                    self.progress(t.name, rule.target)
        frame = pd.DataFrame({f: _finish(t, f, cols[f], self.seed) for f in fields})
        self.done[t.name] = frame
        self.raw[t.name] = cols
        return frame

    def _from_parent(self, t: TableSpec, rule: Rule, cols: dict[str, Any]) -> np.ndarray:
        """Per row, the parent row's value of a cross-table rule's source field."""
        rt, rf = rule.parent_source or ("", "")
        [fk] = _link_field(t, rule)
        key = t.references()[fk][1]
        raw = self.raw[rt]
        index = pd.Index(pd.Series(raw[key]).to_numpy())
        values = pd.Series(pd.Series(raw[rf]).to_numpy(), index=index)
        return values.reindex(pd.Series(cols[fk]).to_numpy()).to_numpy()

    def _row_count(self, t: TableSpec) -> tuple[int, tuple[str, np.ndarray] | None]:
        """Rows of `t`, and for a child table (link field, its values)."""
        if t.per_parent is None:
            return (t.rows if t.rows is not None else self.rows), None
        parent = t.parent() or ""
        field = next(f for f, (rt, _) in t.references().items() if rt == parent)
        key = t.references()[field][1]
        keys = self._parent_keys(parent, key)
        pp = t.per_parent
        rng = _stream(self.seed, t.name, "__per_parent__")
        if pp.distribution == "poisson":
            counts = np.clip(rng.poisson(pp.mean or 1.0, size=len(keys)), pp.min, pp.max)
        else:
            counts = rng.integers(pp.min, pp.max + 1, size=len(keys))
        return int(counts.sum()), (field, np.repeat(keys, counts))

    def _parent_keys(self, table: str, field: str) -> np.ndarray:
        frame = self.done.get(table)
        if frame is None or field not in frame:
            raise StepInputError(f"{table}.{field} is referenced but was not generated",
                                 fix="report this: the schema's table order is wrong")
        return frame[field].to_numpy()

    def _foreign(self, t: TableSpec, fname: str, f: FieldSpec, rng: np.random.Generator,
                 n: int) -> np.ndarray:
        rt, rf = t.references()[fname]
        keys = self._parent_keys(rt, rf)
        if len(keys) == 0 and n:
            raise StepInputError(f"{t.name}.{fname} references {rt}.{rf} but {rt} has no rows",
                                 fix=f"give {rt} rows (rows: N) before generating {t.name}")
        if f.unique:
            if n > len(keys):
                raise StepInputError(
                    f"{t.name}.{fname} is unique but {rt} has only {len(keys):,} keys for "
                    f"{n:,} rows", fix=f"drop `unique` or give {rt} at least {n:,} rows")
            return keys[rng.permutation(len(keys))[:n]]
        return keys[rng.integers(0, len(keys), size=n)]

    # ---------------------------------------------------------------- fields

    def _unique(self, t: TableSpec, fname: str, f: FieldSpec, rng: np.random.Generator,
                n: int) -> Any:
        if f.unique and not f.sequence:
            cap = value_capacity(f)
            if cap is not None and cap < n:
                raise StepInputError(
                    f"{t.name}.{fname}: unique with {n:,} rows but only {cap:,} distinct "
                    "values are possible",
                    fix="drop `unique`, generate fewer rows, or widen min/max, the pattern or "
                    "the enum")
        values = self._values(f, rng, n)
        if not f.unique or f.sequence or n < 2:
            return values
        if isinstance(values, pa.Array) and len(pc.unique(values)) == n:
            return values  # Arrow's hash kernel: the common no-collision case, fast
        s = pd.Series(values)
        for _ in range(UNIQUE_ROUNDS):
            dup = s.duplicated().to_numpy()
            if not dup.any():
                return values if isinstance(values, np.ndarray) else s
            idx = np.flatnonzero(dup)
            fresh = pd.Series(self._values(f, rng, len(idx)))
            s = s.copy()
            s.iloc[idx] = fresh.to_numpy()
        distinct = s.nunique()
        raise StepInputError(
            f"{t.name}.{fname}: could not draw {n:,} unique values ({distinct:,} distinct "
            f"after {UNIQUE_ROUNDS} rounds; the field allows too few)",
            fix="drop `unique`, generate fewer rows, or widen min/max, the pattern or enum")

    def _values(self, f: FieldSpec, rng: np.random.Generator, n: int) -> Any:
        t = f.type
        if f.enum is not None or (f.distribution and f.distribution.type == "categorical"):
            return _choice(f, rng, n)
        if t in NUMERIC:
            return _numbers(f, rng, n)
        if t in TEMPORAL:
            return _times(f, rng, n)
        if t == "boolean":
            return rng.random(n) < f.true_ratio
        if t == "uuid":
            return _uuids(rng, n)
        if t in {"string", "phone"}:
            pattern = f.pattern or (PHONE_PATTERN if t == "phone" else
                                    f"[A-Za-z]{{{f.min_length or 8},"
                                    f"{f.max_length or max(f.min_length or 8, 16)}}}")
            return compile_pattern(pattern).generate(rng, n)
        if t == "text":
            return semantic.text(self.pools, rng, n, f.min_length or 5,
                                 f.max_length or max(f.min_length or 5, 15))
        return semantic.GENERATORS[str(t)](self.pools, rng, n)


def _choice(f: FieldSpec, rng: np.random.Generator, n: int) -> Any:
    if isinstance(f.enum, dict) or f.enum is None:
        weights = f.enum if isinstance(f.enum, dict) else (f.distribution.weights or {})  # type: ignore[union-attr]
        values = list(weights)
        p = np.array([weights[v] for v in values], dtype=float)
    else:
        values, p = list(f.enum), np.ones(len(f.enum))
    p = p / p.sum()
    if f.unique:
        if n > len(values):
            raise StepInputError(f"unique with {n:,} rows but only {len(values)} values",
                                 fix="drop `unique` or list more values")
        idx = rng.choice(len(values), size=n, replace=False)
    else:
        idx = rng.choice(len(values), size=n, p=p)
    if f.type in {"integer"}:
        return np.asarray([int(v) for v in values], dtype=np.int64)[idx]
    if f.type in {"float", "decimal"}:
        return np.asarray([float(v) for v in values], dtype=np.float64)[idx]
    return pa.array([str(v) for v in values]).take(pa.array(idx))


def _bounded(draw: Callable[[int], np.ndarray], lo: float | None, hi: float | None,
             n: int) -> np.ndarray:
    """Draws within [lo, hi]: out-of-range values are redrawn a few times, then clipped."""
    x = draw(n)
    if lo is None and hi is None:
        return x
    for _ in range(8):
        bad = np.flatnonzero(((x < lo) if lo is not None else False)
                             | ((x > hi) if hi is not None else False))
        if not len(bad):
            return x
        x[bad] = draw(len(bad))
    return np.clip(x, lo, hi)


def _numbers(f: FieldSpec, rng: np.random.Generator, n: int) -> np.ndarray:
    is_int = f.type == "integer"
    if f.sequence:
        start = int(f.min) if f.min is not None else 1
        return np.arange(start, start + n, dtype=np.int64)
    lo = float(f.min) if f.min is not None else None
    hi = float(f.max) if f.max is not None else None
    d = f.distribution
    kind = d.type if d else "uniform"
    if kind == "uniform":
        lo_u = lo if lo is not None else 0.0
        hi_u = hi if hi is not None else max(lo_u, 0.0) + 1000.0
        if is_int:
            if f.unique and hi_u - lo_u + 1 <= 4 * n:
                return (rng.choice(int(hi_u - lo_u) + 1, size=n, replace=False)
                        + int(lo_u)).astype(np.int64)
            return rng.integers(int(lo_u), int(hi_u) + 1, size=n, dtype=np.int64)
        x = rng.uniform(lo_u, hi_u, size=n)
    elif kind == "normal":
        assert d is not None
        mean = d.mean if d.mean is not None else ((lo + hi) / 2 if lo is not None and
                                                  hi is not None else 0.0)
        std = d.std if d.std is not None else ((hi - lo) / 6 if lo is not None and
                                               hi is not None else 1.0)
        x = _bounded(lambda k: rng.normal(mean, std, size=k), lo, hi, n)
    else:  # lognormal
        assert d is not None
        mu, sigma = d.mu if d.mu is not None else 0.0, d.sigma if d.sigma is not None else 1.0
        x = _bounded(lambda k: rng.lognormal(mu, sigma, size=k), lo, hi, n)
    return _round(f, x)


def _round(f: FieldSpec, x: np.ndarray) -> np.ndarray:
    """Integers rounded, decimals to their precision, both kept inside min/max."""
    lo = float(f.min) if f.min is not None else None
    hi = float(f.max) if f.max is not None else None
    if f.type == "integer":
        x = np.rint(x)
        if lo is not None or hi is not None:
            x = np.clip(x, np.ceil(lo) if lo is not None else None,
                        np.floor(hi) if hi is not None else None)
        return x.astype(np.int64)
    digits = f.precision if f.precision is not None else (2 if f.type == "decimal" else None)
    if digits is None:
        return x
    scale = 10.0**digits
    x = np.round(x, digits)
    if lo is not None or hi is not None:
        x = np.clip(x, np.ceil(lo * scale) / scale if lo is not None else None,
                    np.floor(hi * scale) / scale if hi is not None else None)
    return x


def _times(f: FieldSpec, rng: np.random.Generator, n: int) -> np.ndarray:
    """datetime64 values; dates are whole days."""
    day = f.type == "date"
    unit = "D" if day else "s"
    lo = np.datetime64(parse_time(f.min or DEFAULT_DATES[0]), unit).astype(np.int64)
    hi = np.datetime64(parse_time(f.max or DEFAULT_DATES[1]), unit).astype(np.int64)
    if f.max is not None and not day and len(str(f.max)) <= 10:  # a bare date: whole last day
        hi += 86399
    d = f.distribution
    kind = d.type if d else "uniform"
    per_day = 1 if day else 86400
    if kind == "uniform":
        if f.unique and day and hi - lo + 1 <= 4 * n:
            v = rng.choice(int(hi - lo) + 1, size=n, replace=False) + lo
        else:
            v = rng.integers(lo, hi + 1, size=n)
    elif kind == "normal":
        assert d is not None
        mean = lo + (hi - lo) / 2 if d.mean is None else lo + d.mean * per_day
        std = (hi - lo) / 6 if d.std is None else d.std * per_day
        v = np.rint(_bounded(lambda k: rng.normal(mean, max(std, 1e-9), size=k), lo, hi, n))
    else:  # lognormal: days after min
        assert d is not None
        mu, sigma = d.mu if d.mu is not None else 0.0, d.sigma if d.sigma is not None else 1.0
        v = np.rint(_bounded(lambda k: lo + rng.lognormal(mu, sigma, size=k) * per_day,
                             lo, hi, n))
    return v.astype(np.int64).astype(f"datetime64[{unit}]").astype("datetime64[us]")


# byte -> its two hex digits, as one little-endian uint16 ("0a" -> b"0" | b"a" << 8)
_HEX2 = np.array([ord(f"{i:02x}"[0]) | ord(f"{i:02x}"[1]) << 8 for i in range(256)],
                 dtype="<u2")
_UUID_GROUPS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))  # hex digit spans


def _uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """Random version-4 UUIDs as text (bytes written straight into one buffer)."""
    b = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hexes = _HEX2[b].view(np.uint8)  # (n, 32)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for k, (lo, hi) in enumerate(_UUID_GROUPS):
        out[:, lo + k: hi + k] = hexes[:, lo:hi]
    return to_arrow(out)


# -------------------------------------------------------------------- rules


def _link_field(t: TableSpec, rule: Rule) -> list[str]:
    """[the foreign key field] a cross-table rule follows to its parent row ([] otherwise)."""
    if rule.parent_source is None:
        return []
    rt = rule.parent_source[0]
    return [next(f for f, (ref, _) in t.references().items() if ref == rt)]


def _rule_order(t: TableSpec) -> list[Rule]:
    """Rules with each one's sources computed first."""
    by_target = t.derived()
    done: list[Rule] = []
    seen: set[str] = set()

    def visit(r: Rule) -> None:
        if r.target in seen:
            return
        seen.add(r.target)
        for s in r.sources:
            if s in by_target:
                visit(by_target[s])
        done.append(r)

    for r in t.rules:
        visit(r)
    return done


def _as_float(v: Any) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def _apply_rule(rule: Rule, t: TableSpec, cols: dict[str, Any],
                rng: np.random.Generator) -> Any:
    f = t.fields[rule.target]
    b = rule.body
    if rule.kind == "after":
        base = cols[b.other]
        n = len(base)
        if f.type in TEMPORAL:
            lo = parse_duration(b.min_gap, True)
            hi = parse_duration(b.max_gap, True)
            if f.type == "date":
                gap = rng.integers(int(np.ceil(lo / 86400)), int(hi // 86400) + 1, size=n)
                gap = gap.astype("timedelta64[D]")
            else:
                gap = rng.integers(int(lo), int(hi) + 1, size=n).astype("timedelta64[s]")
            out = np.asarray(base, dtype="datetime64[us]") + gap
            return out.astype("datetime64[D]").astype("datetime64[us]") if f.type == "date" \
                else out
        lo, hi = parse_duration(b.min_gap, False), parse_duration(b.max_gap, False)
        gap = (rng.integers(int(np.ceil(lo)), int(hi) + 1, size=n) if f.type == "integer"
               else rng.uniform(lo, hi, size=n))
        return _round_plain(f, _as_float(base) + gap)
    if rule.kind in {"product", "sum"}:
        arrays = [_as_float(cols[s]) for s in b.of]
        acc = arrays[0].copy()
        for a in arrays[1:]:
            acc = acc * a if rule.kind == "product" else acc + a
        return _round_plain(f, acc)
    if rule.kind == "linear":
        x = _as_float(cols[b.of])
        y = b.intercept + b.slope * x
        if b.noise:
            y = y + rng.normal(0.0, b.noise, size=len(y))
        return _round(f, y)
    # bins
    x = _as_float(cols[b.of])
    idx = np.searchsorted(np.asarray(b.edges, dtype=float), x, side="right")
    return pa.array(b.labels).take(pa.array(idx))


def _round_plain(f: FieldSpec, x: np.ndarray) -> np.ndarray:
    """Rounded like the field, without clipping (a computed value must stay exact)."""
    if f.type == "integer":
        return np.rint(x).astype(np.int64)
    digits = f.precision if f.precision is not None else (2 if f.type == "decimal" else None)
    return x if digits is None else np.round(x, digits)


# -------------------------------------------------------------------- finishing


def _finish(t: TableSpec, fname: str, values: Any, seed: int) -> pd.Series:
    """The column as pandas: strings as `str`, nulls applied, dates formatted."""
    f = t.fields[fname]
    if isinstance(values, pd.Series):
        s = values.reset_index(drop=True)
    elif isinstance(values, pa.Array | pa.ChunkedArray):
        s = pd.Series(values, dtype="str")
    else:
        s = pd.Series(values)
    if s.dtype == object:
        s = s.astype("str")
    if f.null_ratio > 0 and len(s):
        mask = _stream(seed, t.name, fname, 1).random(len(s)) < f.null_ratio
        if s.dtype.kind in "iu":
            s = s.astype("Int64")
        elif s.dtype.kind == "b":
            s = s.astype("boolean")
        s = s.mask(mask)
    if f.type in TEMPORAL and f.format:
        s = pd.to_datetime(s).dt.strftime(f.format).astype("str")
    return s


def summarize(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per field: dtype, nulls, distinct count, and min/mean/max or top values."""
    out: dict[str, dict[str, Any]] = {}
    for col in frame.columns:
        s = frame[col]
        info: dict[str, Any] = {"dtype": str(s.dtype), "nulls": int(s.isna().sum())}
        info["distinct"] = int(s.nunique())
        if s.dtype.kind in "iuf" or str(s.dtype) == "Int64":
            info.update(min=_py(s.min()), mean=_py(round(float(s.mean()), 4))
                        if s.notna().any() else None, max=_py(s.max()))
        elif s.dtype.kind == "M":
            info.update(min=str(s.min()), max=str(s.max()))
        else:
            top = s.value_counts().head(3)
            info["top"] = {str(k): int(v) for k, v in top.items()}
        out[str(col)] = info
    return out


def _py(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    return v.item() if hasattr(v, "item") else v


def timed_generate(schema: Schema, rows: int, seed: int = 0, tables: list[str] | None = None,
                   progress: Progress | None = None) -> tuple[dict[str, pd.DataFrame], float]:
    """`generate` and its wall time in seconds."""
    start = time.perf_counter()
    out = generate(schema, rows, seed, tables, progress)
    return out, time.perf_counter() - start

