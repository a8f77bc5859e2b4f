"""Constraints of a schema table as a JSON schema for one row, and checks of a frame against
every field constraint and cross-field rule (vectorized: one boolean mask per constraint)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datasetgen_assets.synth.schema import (
    NUMERIC,
    TEMPORAL,
    FieldSpec,
    Rule,
    TableSpec,
    parse_duration,
    parse_time,
)

_FORMAT_PATTERNS = {
    "email": r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "url": r"https?://[^\s/$.?#][^\s]*",
    "phone": r"\+?[\d(][\d ().-]{5,}\d",
}
_JSON_TYPES = {"integer": "integer", "float": "number", "decimal": "number",
               "boolean": "boolean"}
_JSON_FORMATS = {"email": "email", "uuid": "uuid", "url": "uri", "date": "date",
                 "datetime": "date-time"}


# -------------------------------------------------------------------- JSON schema of a row


def row_json_schema(table: TableSpec) -> dict[str, Any]:
    """The JSON schema of ONE row of `table`: types, enums, bounds, patterns, formats; rules
    are described in the fields' descriptions."""
    notes = {r.target: rule_text(r) for r in table.rules}
    props = {name: _field_schema(name, f, notes.get(name)) for name, f in table.fields.items()}
    return {"type": "object", "title": table.name, "properties": props,
            "required": list(table.fields), "additionalProperties": False}


def _field_schema(name: str, f: FieldSpec, note: str | None) -> dict[str, Any]:
    t = f.type or "string"
    out: dict[str, Any] = {"type": _JSON_TYPES.get(t, "string")}
    desc = [f.description] if f.description else []
    if f.enum is not None or (f.distribution and f.distribution.weights):
        values = list(f.enum if f.enum is not None else f.distribution.weights)  # type: ignore[union-attr]
        out["enum"] = [_typed(v, t) for v in values]
    elif t in {"date", "datetime"}:
        if f.format:
            desc.append(f"text in strftime format {f.format}")
        else:
            out["format"] = _JSON_FORMATS[t]
        if f.min is not None or f.max is not None:
            desc.append(f"between {f.min or 'any'} and {f.max or 'any'}")
    elif t in _JSON_FORMATS:
        out["format"] = _JSON_FORMATS[t]
    if t in NUMERIC:
        if f.min is not None:
            out["minimum"] = f.min
        if f.max is not None:
            out["maximum"] = f.max
        if f.precision is not None:
            desc.append(f"at most {f.precision} decimal places")
    if f.pattern:
        out["pattern"] = f"^(?:{f.pattern})$"
    if t in {"string", "text"}:
        if f.min_length is not None:
            key = "minLength" if t == "string" else None
            if key:
                out[key] = f.min_length
        if f.max_length is not None and t == "string":
            out["maxLength"] = f.max_length
        if t == "text":
            desc.append(f"{f.min_length or 5} to {f.max_length or 15} words")
    if t in {"name", "address", "company", "phone", "text"}:
        desc.append(f"a realistic {t}")
    if f.unique:
        desc.append("unique across rows")
    if f.references:
        desc.append(f"a {f.references} value")
    if note:
        desc.append(note)
    if f.null_ratio > 0 and not f.required:
        out["type"] = [out["type"], "null"]
        desc.append(f"null in about {f.null_ratio:.0%} of rows")
    if desc:
        out["description"] = "; ".join(desc)
    del name
    return out


def _typed(value: Any, t: str) -> Any:
    if t == "integer":
        return int(value)
    if t in {"float", "decimal"}:
        return float(value)
    return str(value)


def rule_text(rule: Rule) -> str:
    """A rule in words, e.g. 'total = quantity x price'."""
    b = rule.body
    if rule.kind == "after":
        return f"{b.field} is {b.min_gap} to {b.max_gap} after {b.other}"
    if rule.kind == "product":
        return f"{b.field} = " + " x ".join(b.of)
    if rule.kind == "sum":
        return f"{b.field} = " + " + ".join(b.of)
    if rule.kind == "linear":
        return f"{b.field} ≈ {b.intercept} + {b.slope} x {b.of}" + (
            f" (noise std {b.noise})" if b.noise else "")
    pairs = [f"< {e}: {lab}" for e, lab in zip(b.edges, b.labels, strict=False)]
    return f"{b.field} by {b.of}: " + ", ".join(pairs) + f", above: {b.labels[-1]}"


# -------------------------------------------------------------------- checks


@dataclass
class Check:
    """One constraint: the rows violating it and how to describe one."""

    name: str
    bad: np.ndarray
    message: Callable[[int], str]


def violations(df: pd.DataFrame, table: TableSpec,
               parents: dict[str, pd.DataFrame] | None = None) -> list[list[str]]:
    """Per row, the human-readable violations of every field constraint and rule
    (`parents`: referenced tables by name, to check foreign keys too)."""
    out: list[list[str]] = [[] for _ in range(len(df))]
    for check in checks(df, table, parents):
        for i in np.flatnonzero(check.bad):
            out[i].append(check.message(int(i)))
    return out


def adherence(df: pd.DataFrame, table: TableSpec,
              parents: dict[str, pd.DataFrame] | None = None) -> dict[str, Any]:
    """% of rows with no violation, % per constraint, and the count of violating rows."""
    n = len(df)
    found = checks(df, table, parents)
    any_bad = np.zeros(n, dtype=bool)
    per: dict[str, float] = {}
    for c in found:
        any_bad |= c.bad
        per[c.name] = round(float(100.0 * (1 - c.bad.mean())), 4) if n else 100.0
    ok = float(100.0 * (1 - any_bad.mean())) if n else 100.0
    return {"overall": round(ok, 4), "rows": n, "violating_rows": int(any_bad.sum()),
            "constraints": per}


def checks(df: pd.DataFrame, table: TableSpec,
           parents: dict[str, pd.DataFrame] | None = None) -> list[Check]:
    """Every constraint of `table` evaluated on `df`."""
    n = len(df)
    out: list[Check] = []
    for name, f in table.fields.items():
        if name not in df.columns:
            out.append(Check(f"{name}.present", np.ones(n, dtype=bool),
                             lambda i, name=name: f"{name}: column missing"))
            continue
        out.extend(_field_checks(name, f, df[name].reset_index(drop=True), parents))
    for rule in table.rules:
        if not all(c in df.columns for c in [rule.target, *rule.sources]):
            continue
        frame = df.reset_index(drop=True)
        if rule.parent_source is not None:  # needs the parent rows
            other = _parent_values(frame, table, rule, parents)
            if other is None:
                continue
            frame = frame.assign(**{rule.body.other: other})
        out.append(_rule_check(rule, table, frame))
    return out


def _parent_values(df: pd.DataFrame, table: TableSpec, rule: Rule,
                   parents: dict[str, pd.DataFrame] | None) -> pd.Series | None:
    """Per row, the referenced parent row's value of a cross-table rule's source."""
    rt, rf = rule.parent_source or ("", "")
    fk = next((f for f, (ref, _) in table.references().items() if ref == rt), None)
    if not parents or rt not in parents or fk is None or fk not in df.columns:
        return None
    parent = parents[rt]
    key = table.references()[fk][1]
    if key not in parent.columns or rf not in parent.columns:
        return None
    values = pd.Series(parent[rf].to_numpy(), index=pd.Index(parent[key].to_numpy()))
    if not values.index.is_unique:
        return None
    return pd.Series(values.reindex(df[fk].to_numpy()).to_numpy())


def _show(v: Any) -> str:
    text = str(v)
    return text if len(text) <= 40 else text[:39] + "…"


def _numeric(s: pd.Series) -> pd.Series:
    if s.dtype.kind == "b":
        return pd.Series(np.nan, index=s.index)
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _times(s: pd.Series, f: FieldSpec) -> pd.Series:
    if s.dtype.kind == "M":
        return s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
    # text from files or an LLM may carry offsets ("...Z", "+02:00"): compare in naive UTC
    fmt = f.format or "ISO8601"
    return pd.to_datetime(s, format=fmt, errors="coerce", utc=True).dt.tz_convert(None)


def _field_checks(name: str, f: FieldSpec, s: pd.Series,
                  parents: dict[str, pd.DataFrame] | None) -> list[Check]:
    out: list[Check] = []
    null = s.isna().to_numpy()
    present = ~null
    t = f.type or "string"

    def add(kind: str, bad: Any, msg: Callable[[int], str]) -> None:
        out.append(Check(f"{name}.{kind}", np.asarray(bad, dtype=bool) & present
                         if kind != "not_null" else np.asarray(bad, dtype=bool), msg))

    if f.required or f.null_ratio == 0:
        add("not_null", null, lambda i: f"{name}: is null")
    values: pd.Series | None = None
    if t in NUMERIC:
        values = _numeric(s)
        bad = values.isna().to_numpy().copy()
        if t == "integer":
            bad |= (values.fillna(0) % 1 != 0).to_numpy()
        add("type", bad, lambda i: f"{name}: {_show(s.iloc[i])!r} is not "
            f"{'an integer' if t == 'integer' else 'a number'}")
        if f.precision is not None:
            v = values.fillna(0).to_numpy()
            add("precision", np.abs(np.round(v, f.precision) - v) > 1e-9 * np.maximum(1, abs(v)),
                lambda i: f"{name}: {s.iloc[i]} has more than {f.precision} decimal places")
    elif t in TEMPORAL:
        values = _times(s, f)
        bad = values.isna().to_numpy().copy()
        if t == "date" and not f.format:
            bad |= (values.dt.normalize() != values).fillna(False).to_numpy(dtype=bool)
        fmt = f.format or ("YYYY-MM-DD" if t == "date" else "ISO date-time")
        add("type", bad, lambda i: f"{name}: {_show(s.iloc[i])!r} is not a {t} ({fmt})")
    elif t == "boolean":
        ok = s.isin([True, False, "true", "false", "True", "False"]).to_numpy()
        add("type", ~ok, lambda i: f"{name}: {_show(s.iloc[i])!r} is not a boolean")
    else:
        text = s.astype("str")
        pattern = f.pattern or _FORMAT_PATTERNS.get(t)
        if pattern and f.enum is None:
            ok = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
            what = f"match {f.pattern}" if f.pattern else f"look like a {t}"
            add("pattern" if f.pattern else "format", ~ok,
                lambda i: f"{name}: {_show(s.iloc[i])!r} does not {what}")
        else:
            add("type", (text.str.strip().str.len() == 0).to_numpy(),
                lambda i: f"{name}: is empty")
        if f.min_length is not None or f.max_length is not None:
            length = (text.str.split().str.len() if t == "text" else text.str.len()).to_numpy()
            lo, hi = f.min_length or 0, f.max_length if f.max_length is not None else 10**9
            unit = "words" if t == "text" else "characters"
            add("length", (length < lo) | (length > hi),
                lambda i: f"{name}: {length[i]} {unit}, not {lo}..{f.max_length or 'any'}")
    if f.enum is not None or (f.distribution and f.distribution.weights):
        allowed = list(f.enum if f.enum is not None else f.distribution.weights)  # type: ignore[union-attr]
        if t in NUMERIC:
            ok = _numeric(s).isin([float(v) for v in allowed]).to_numpy()
        else:
            ok = s.astype("str").isin([str(v) for v in allowed]).to_numpy()
        add("enum", ~ok, lambda i: f"{name}: {_show(s.iloc[i])!r} is not one of "
            + ", ".join(map(str, allowed[:10])))
    if values is not None and (f.min is not None or f.max is not None):
        if t in TEMPORAL:
            lo_v = pd.Timestamp(parse_time(f.min)) if f.min is not None else None
            hi_v = pd.Timestamp(parse_time(f.max)) if f.max is not None else None
            if hi_v is not None and t == "datetime" and len(str(f.max)) <= 10:
                hi_v = hi_v + pd.Timedelta(seconds=86399)
        else:
            lo_v = float(f.min) if f.min is not None else None  # type: ignore[arg-type]
            hi_v = float(f.max) if f.max is not None else None  # type: ignore[arg-type]
        bad = np.zeros(len(s), dtype=bool)
        if lo_v is not None:
            bad |= (values < lo_v).fillna(False).to_numpy(dtype=bool)
        if hi_v is not None:
            bad |= (values > hi_v).fillna(False).to_numpy(dtype=bool)
        add("range", bad, lambda i: f"{name}: {_show(s.iloc[i])} is outside "
            f"{f.min if f.min is not None else '-inf'}..{f.max if f.max is not None else 'inf'}")
    if f.unique:
        dup = s.duplicated(keep="first").to_numpy()
        add("unique", dup, lambda i: f"{name}: {_show(s.iloc[i])!r} repeats an earlier row")
    if f.references and parents:
        rt, _, rf = f.references.partition(".")
        if rt in parents and rf in parents[rt].columns:
            ok = s.isin(parents[rt][rf]).to_numpy()
            add("references", ~ok, lambda i: f"{name}: {_show(s.iloc[i])!r} is not a "
                f"{f.references} value")
    return out


def _rule_check(rule: Rule, table: TableSpec, df: pd.DataFrame) -> Check:
    b = rule.body
    target = table.fields[rule.target]
    name = f"rule.{rule.kind}.{rule.target}"
    y_raw = df[rule.target]
    text = rule_text(rule)
    if rule.kind == "after":
        temporal = target.type in TEMPORAL
        lo = parse_duration(b.min_gap, temporal)
        hi = parse_duration(b.max_gap, temporal)
        if temporal:
            other = table.fields.get(b.other, FieldSpec(type="datetime"))
            gap = ((_times(y_raw, target) - _times(df[b.other], other))
                   .dt.total_seconds().to_numpy())
        else:
            gap = (_numeric(y_raw) - _numeric(df[b.other])).to_numpy()
        bad = ~np.isnan(gap) & ((gap < lo - 1e-9) | (gap > hi + 1e-9))
        return Check(name, bad, lambda i: f"{rule.target}: breaks '{text}' "
                     f"({_show(y_raw.iloc[i])} vs {_show(df[b.other].iloc[i])})")
    if rule.kind == "bins":
        x = _numeric(df[b.of]).to_numpy()
        idx = np.searchsorted(np.asarray(b.edges, dtype=float), np.nan_to_num(x), side="right")
        expected = np.asarray(b.labels, dtype=object)[idx]
        got = y_raw.astype("str").to_numpy(dtype=object)
        bad = ~np.isnan(x) & y_raw.notna().to_numpy() & (got != expected)
        return Check(name, bad, lambda i: f"{rule.target}: {got[i]!r} but {b.of}="
                     f"{x[i]} gives {expected[i]!r}")
    y = _numeric(y_raw).to_numpy()
    if rule.kind in {"product", "sum"}:
        acc = _numeric(df[b.of[0]]).to_numpy().copy()
        for c in b.of[1:]:
            v = _numeric(df[c]).to_numpy()
            acc = acc * v if rule.kind == "product" else acc + v
        tol = _tolerance(target, acc)
    else:  # linear
        acc = b.intercept + b.slope * _numeric(df[b.of]).to_numpy()
        tol = _tolerance(target, acc) + 5 * b.noise
        clipped = np.zeros(len(y), dtype=bool)  # values held at the field's bounds are fine
        if target.min is not None:
            clipped |= np.isclose(y, float(target.min)) & (acc + tol < float(target.min))
        if target.max is not None:
            clipped |= np.isclose(y, float(target.max)) & (acc - tol > float(target.max))
        bad = ~np.isnan(y) & ~np.isnan(acc) & (np.abs(y - acc) > tol) & ~clipped
        return Check(name, bad, lambda i: f"{rule.target}: {y[i]} breaks '{text}' "
                     f"(expected about {acc[i]:.4g})")
    bad = ~np.isnan(y) & ~np.isnan(acc) & (np.abs(y - acc) > tol)
    return Check(name, bad, lambda i: f"{rule.target}: {y[i]} breaks '{text}' "
                 f"(expected {acc[i]:.6g})")


def _tolerance(f: FieldSpec, expected: np.ndarray) -> np.ndarray:
    digits = f.precision if f.precision is not None else (
        0 if f.type == "integer" else 2 if f.type == "decimal" else None)
    scale = np.maximum(1.0, np.abs(np.nan_to_num(expected)))
    if digits is None:
        return 1e-6 * scale
    return 0.5 * 10.0**-digits + 1e-9 * scale

