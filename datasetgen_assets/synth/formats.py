"""Format preservation: a profiled upload to model space and synthetic values back.

`plan_columns` decides per column, from its profile, how it is synthesized: `model` (numbers,
dates, categoricals, booleans: learnt by the tabular model), `fresh` (identifiers, emails,
phones, names, free text and other PII: new values in the real values' format, never copied),
or `empty` (all null). `to_model` turns the upload into model values (floats, datetimes as
nanoseconds, raw categorical values); `render` turns sampled model values back into the upload's
representation: the date format string, decimal places, thousands/decimal separators, currency
symbol, percent sign, integer-ness and dtype; `fresh_values` writes new identifiers and PII.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from datasetgen_assets.profiling import ColumnProfile, DatasetProfile, coerce_to_profile
from datasetgen_assets.profiling.parse import NUMERIC_TYPES

Role = Literal["model", "fresh", "empty"]
FRESH_TYPES = frozenset({"identifier", "email", "phone", "uuid", "free_text", "url",
                         "ip_address", "json"})
SEQUENCE = re.compile(r"^(\D*?)(\d+)$")


@dataclass
class ColumnPlan:
    """How one column is synthesized and rendered."""

    name: str
    role: Role
    semantic_type: str
    sdtype: str | None = None  # numerical | datetime | categorical | boolean (fidelity)
    text: bool = False  # the upload holds it as text
    dtype: str = "object"
    decimals: int | None = None
    integer: bool = False
    date_format: str | None = None
    tz: str | None = None
    currency: str | None = None
    currency_suffix: bool = False
    percent: bool = False
    decimal_sep: str = "."
    thousands_sep: str | None = None
    casing: str | None = None
    pii: str | None = None
    null_ratio: float = 0.0
    unique: bool = False


def _casing(values: pd.Series) -> str | None:
    text = values.dropna().astype(str).head(500)
    text = text[text.str.contains(r"[A-Za-z]", regex=True)]
    if text.empty:
        return None
    for name, test in (("upper", str.isupper), ("lower", str.islower), ("title", str.istitle)):
        if sum(test(v) for v in text) >= 0.9 * len(text):  # the casing of 90% of values
            return name
    return None


def apply_casing(values: pd.Series, casing: str | None) -> pd.Series:
    """Values in the column's casing (upper, lower, title) or unchanged."""
    if casing == "upper":
        return values.str.upper()
    if casing == "lower":
        return values.str.lower()
    if casing == "title":
        return values.str.title()
    return values


def _codes(raw: pd.Series) -> bool:
    """Whether a text column holds repeating single-token codes (P026, SKU-1) rather than prose:
    values repeat and most have no spaces."""
    text = raw.dropna().astype(str)
    return bool(len(text)) and text.nunique() < 0.9 * len(text) and \
        float(text.str.contains(r"\s", regex=True).mean()) < 0.5


def _decimals_of_text(values: pd.Series, sep: str) -> int:
    text = values.dropna().astype(str).str.strip()
    frac = text.str.extract(re.escape(sep) + r"(\d+)\D*$")[0]
    return int(frac.str.len().max()) if frac.notna().any() else 0


def _decimals_of_numbers(x: np.ndarray) -> int:
    x = x[np.isfinite(x)]
    for d in range(0, 11):
        if np.allclose(np.round(x, d), x, rtol=0, atol=1e-9 * max(1.0, np.abs(x).max(
                initial=0.0))):
            return d
    return 10


def _plan_one(col: ColumnProfile, raw: pd.Series, typed: pd.Series) -> ColumnPlan:
    st = col.semantic_type
    text = raw.dtype == object or isinstance(raw.dtype, pd.StringDtype)
    plan = ColumnPlan(col.name, "model", st, text=text, dtype=str(raw.dtype), pii=col.pii,
                      null_ratio=float(raw.isna().mean()) if len(raw) else 0.0,
                      unique=col.unique_ratio >= 1.0 and col.count > 1)
    if st == "empty" or raw.notna().sum() == 0 or typed.notna().sum() == 0:
        plan.role = "empty"
        return plan
    # a repeating identifier is a reference to something else (a product code, a customer
    # number): its real values are sampled like a category so joins keep working
    reference = col.pii is None and not plan.unique and (
        st == "identifier" or (st == "free_text" and _codes(raw)))
    if (st in FRESH_TYPES and not reference) or (col.pii is not None
                                                 and col.pii != "DATE_OF_BIRTH"):
        plan.role = "fresh"
        plan.casing = _casing(raw) if text else None
        return plan
    if st in NUMERIC_TYPES:
        plan.sdtype = "numerical"
        plan.percent = st == "percentage"
        plan.currency = col.currency_symbol
        plan.decimal_sep = col.decimal_separator or "."
        plan.thousands_sep = col.thousands_separator
        if text:
            plan.decimals = _decimals_of_text(raw, plan.decimal_sep)
            first = raw.dropna().astype(str).str.strip()
            plan.currency_suffix = bool(col.currency_symbol) and bool(
                first.str.endswith(col.currency_symbol or "\x00").mean() > 0.5)
        else:
            x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            plan.decimals = _decimals_of_numbers(x)
        plan.integer = plan.decimals == 0
        return plan
    if st in ("date", "datetime"):
        plan.sdtype = "datetime"
        plan.date_format = col.format
        if isinstance(typed.dtype, pd.DatetimeTZDtype):
            plan.tz = str(typed.dt.tz)
        return plan
    plan.sdtype = "boolean" if st == "boolean" else "categorical"
    return plan


def plan_columns(df: pd.DataFrame, profile: DatasetProfile) -> tuple[list[ColumnPlan],
                                                                      pd.DataFrame]:
    """The plan of every column, and the upload coerced to its profiled types."""
    typed = coerce_to_profile(df, profile)
    by_name = {c.name: c for c in profile.columns}
    plans = [_plan_one(by_name[str(name)], df[name], typed[name]) for name in df.columns]
    return plans, typed


def to_model(df: pd.DataFrame, typed: pd.DataFrame, plans: list[ColumnPlan]
             ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Model-space frame of the `model` columns and their kinds (numeric | categorical)."""
    out: dict[str, Any] = {}
    kinds: dict[str, Any] = {}
    for p in plans:
        if p.role != "model":
            continue
        if p.sdtype == "numerical":
            out[p.name] = pd.to_numeric(typed[p.name], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan)
            kinds[p.name] = "numeric"
        elif p.sdtype == "datetime":
            out[p.name] = datetime_to_float(typed[p.name])
            kinds[p.name] = "numeric"
        else:
            out[p.name] = df[p.name].astype(object).where(df[p.name].notna(), None).to_numpy()
            kinds[p.name] = "categorical"
    return pd.DataFrame(out, index=df.index), kinds


def datetime_to_float(s: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (UTC for zoned values), NaN for NaT."""
    s = pd.to_datetime(s, errors="coerce")
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = s.astype("datetime64[ns]")
    out = ns.to_numpy().astype("int64").astype(float)
    out[ns.isna().to_numpy()] = np.nan
    return out


def _format_numbers(x: np.ndarray, p: ColumnPlan) -> pd.Series:
    d = p.decimals or 0
    out = []
    for v in x:
        if np.isnan(v):
            out.append(None)
            continue
        body = f"{abs(v):,.{d}f}".replace(",", "\x00").replace(".", p.decimal_sep)
        body = body.replace("\x00", p.thousands_sep or "")
        sign = "-" if v < 0 and round(abs(v), d) != 0 else ""
        if p.currency:
            body = f"{body}{p.currency}" if p.currency_suffix else f"{p.currency}{body}"
        if p.percent:
            body += "%"
        out.append(sign + body)
    return pd.Series(out, dtype="str")


def render(sample: pd.DataFrame, p: ColumnPlan) -> pd.Series:
    """One model column in the upload's representation (see the module docstring)."""
    if p.sdtype == "numerical":
        x = sample[p.name].to_numpy(dtype=float, na_value=np.nan)
        if p.percent:
            x = x * 100.0
        x = np.round(x, p.decimals or 0)
        if p.text:
            return _format_numbers(x, p)
        if p.integer or p.dtype.lower().startswith(("int", "uint")):
            ints = pd.array(np.where(np.isnan(x), 0, x).astype("int64"), dtype="Int64")
            ints[np.isnan(x)] = pd.NA
            s = pd.Series(ints)
            if p.dtype.lower().startswith(("int", "uint")) and not np.isnan(x).any():
                return s.astype(p.dtype)
            return s if not p.dtype.startswith("float") else s.astype("float64")
        return pd.Series(x)
    if p.sdtype == "datetime":
        x = sample[p.name].to_numpy(dtype=float, na_value=np.nan)
        ns = pd.Series(pd.to_datetime(np.where(np.isnan(x), np.nan, x), unit="ns"))
        ns = ns.dt.normalize() if p.semantic_type == "date" else ns.dt.floor("s")
        if p.tz:
            ns = ns.dt.tz_localize("UTC").dt.tz_convert(p.tz)
        if p.text:
            fmt = p.date_format or ("%Y-%m-%d" if p.semantic_type == "date" else
                                    "%Y-%m-%dT%H:%M:%S")
            return ns.dt.strftime(fmt).astype("str")
        return ns
    values = pd.Series(sample[p.name].to_numpy(dtype=object))
    if p.dtype == "bool" and values.notna().all():
        return values.astype(bool)
    if p.dtype in ("bool", "boolean"):
        return values.astype("boolean")
    if p.text:
        return values.astype("str")
    try:
        return values.astype(p.dtype)
    except (TypeError, ValueError):
        return values


# --- fresh values: identifiers and PII in the real values' format -------------------------

def _shape_like(templates: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Each template with its digits, lowercase and uppercase letters replaced at random
    (vectorized over code points)."""
    text = [str(t) for t in templates]
    if not text:
        return []
    width = max(1, max(len(t) for t in text))
    codes = np.array(text, dtype=f"<U{width}").view(np.uint32).reshape(len(text), width).copy()
    r = rng.random(codes.shape)
    for lo, hi in ((48, 57), (97, 122), (65, 90)):  # digits, lowercase, uppercase
        mask = (codes >= lo) & (codes <= hi)
        codes[mask] = lo + (r[mask] * (hi - lo + 1)).astype(np.uint32)
    return codes.view(f"<U{width}").ravel().tolist()


def _uuids(n: int, rng: np.random.Generator) -> list[str]:
    """Random version-4 UUIDs from the seeded generator."""
    import uuid

    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return [str(uuid.UUID(bytes=row.tobytes())) for row in raw]


def _sentences(fake: Any, templates: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Fresh sentences with the templates' word counts and final period, from a word pool."""
    words = np.array(fake.words(nb=1000))
    out = []
    for t in templates:
        k = max(1, len(str(t).split()))
        text = " ".join(words[rng.integers(0, len(words), k)]).capitalize()
        out.append(text + "." if str(t).rstrip().endswith(".") else text)
    return out


def _phones(templates: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Phone numbers of the templates' shapes; a leading +country code is kept."""
    parts = pd.Series([str(t) for t in templates], dtype=object).str.extract(
        r"^(\+\d{1,3}[\s.-]?)?(.*)$")
    rest = _shape_like(parts[1].fillna("").to_numpy(), rng)
    return [(pre if isinstance(pre, str) else "") + r
            for pre, r in zip(parts[0].tolist(), rest, strict=True)]


def _sequence(real: pd.Series, n: int) -> list[Any] | None:
    """New ids continuing the real id sequence (numbers, or PREFIX + zero-padded number)."""
    present = real.dropna()
    if pd.api.types.is_integer_dtype(present.dtype) or (
            pd.api.types.is_float_dtype(present.dtype)
            and np.all(np.mod(present.to_numpy(dtype=float), 1) == 0)):
        x = np.sort(present.to_numpy(dtype="int64"))
        diffs = np.diff(x)
        step = int(np.median(diffs[diffs > 0])) if (diffs > 0).any() else 1
        return list(int(x.max()) + step * np.arange(1, n + 1))
    text = present.astype(str)
    parts = text.str.extract(SEQUENCE)
    if parts[1].isna().any() or parts[0].nunique() != 1:
        return None
    prefix = parts[0].iloc[0]
    width = int(parts[1].str.len().max()) if parts[1].str.len().nunique() == 1 else 0
    start = int(parts[1].astype("int64").max()) + 1
    return [f"{prefix}{i:0{width}d}" for i in range(start, start + n)]


def _faker(seed: int) -> Any:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    return fake


def _person(fake: Any, name: str, n: int) -> list[str]:
    low = name.lower()
    maker = fake.first_name if "first" in low or "given" in low else (
        fake.last_name if "last" in low or "sur" in low or "family" in low else fake.name)
    pool = [maker() for _ in range(min(n, 1000))]
    return [pool[i % len(pool)] for i in range(n)]


def _redraw(value: str, p: ColumnPlan, fake: Any, rng: np.random.Generator, tries: int) -> str:
    """Another value in the same format after a collision with a real or drawn value."""
    if p.pii == "PERSON" and tries < 10:
        return str(apply_casing(pd.Series([_person(fake, p.name, 1)[0]]), p.casing)[0])
    if "@" in value and p.semantic_type == "email":
        user, domain = value.rsplit("@", 1)
        return f"{user}{rng.integers(10)}@{domain}"
    return _shape_like(np.array([value]), rng)[0]


def fresh_values(p: ColumnPlan, real: pd.Series, n: int, seed: int) -> pd.Series:
    """N new values for a `fresh` column: same format, none equal to a real value; unique when
    the real column is; the real null ratio."""
    rng = np.random.default_rng(seed)
    present = real.dropna()
    taken = set(present.astype(str))
    values: list[Any] | None = None
    if p.unique and p.semantic_type in ("identifier", "uuid", "integer"):
        values = _sequence(present, n) if p.semantic_type != "uuid" else None
    if values is None:
        fake = _faker(seed)
        templates = present.to_numpy()[rng.integers(0, len(present), n)]
        if p.pii == "PERSON":
            values = _person(fake, p.name, n)
        elif p.pii == "LOCATION":
            pool = [fake.street_address() for _ in range(min(n, 1000))]
            values = [pool[i] for i in rng.integers(0, len(pool), n)]
        elif p.semantic_type == "email":
            users = np.array([fake.user_name() for _ in range(min(n, 1000))])
            picked = users[rng.integers(0, len(users), n)]
            tails = rng.integers(0, 1000, n)
            values = [f"{u}{d}@{str(t).rsplit('@', 1)[-1]}" if d >= 100 else
                      f"{u}@{str(t).rsplit('@', 1)[-1]}"
                      for u, d, t in zip(picked, tails, templates, strict=True)]
        elif p.semantic_type == "free_text" and np.median(
                [len(str(t).split()) for t in templates]) > 1:
            values = _sentences(fake, templates, rng)  # single tokens (codes): shapes below
        elif p.semantic_type == "uuid":
            values = _uuids(n, rng)
        elif p.semantic_type == "phone":
            values = _phones(templates, rng)
        else:
            values = _shape_like(templates, rng)
        values = list(apply_casing(pd.Series(values, dtype="str"), p.casing))
        # no real value repeated; unique columns stay unique
        seen: set[str] = set()
        for i, v in enumerate(values):
            tries = 0
            while (str(v) in taken or (p.unique and str(v) in seen)) and tries < 20:
                v = _redraw(str(v), p, fake, rng, tries)
                tries += 1
            if str(v) in taken or (p.unique and str(v) in seen):
                v = f"{v}-{i}"
            seen.add(str(v))
            values[i] = v
    out = pd.Series(values)
    if p.null_ratio > 0:
        out = out.mask(rng.random(n) < p.null_ratio)
    if pd.api.types.is_integer_dtype(real.dtype) and not out.isna().any():
        return out.astype(real.dtype)
    if pd.api.types.is_numeric_dtype(real.dtype):
        return pd.to_numeric(out).astype("Int64" if out.isna().any() else "int64")
    return out.astype("str")
