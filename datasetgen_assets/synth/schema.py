"""Schema files for synthetic data: pydantic models, loading (YAML or JSON) and validation.

A schema is one table (`fields:` at the top) or several (`tables:`), each field with a type and
constraints, cross-field `rules:` and foreign keys (`references: table.field`) with one-to-many
counts (`per_parent:`). `load_schema` reports every problem at once, each naming the file,
line, `table.field` and the fix.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from datasetgen_assets.errors import PipelineError, PipelineValidationError

FieldType = Literal[
    "string", "integer", "float", "decimal", "boolean", "date", "datetime", "email", "phone",
    "address", "name", "company", "url", "uuid", "category", "text",
]
NUMERIC = {"integer", "float", "decimal"}
TEMPORAL = {"date", "datetime"}
SINGLE = "data"  # the table name of a single-table schema
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
Scalar = int | float | str | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Distribution(_Model):
    """How a numeric (or date) field's values are spread; categorical: weighted values."""

    type: Literal["uniform", "normal", "lognormal", "categorical"] = Field(
        description="uniform over [min, max]; normal(mean, std); lognormal(mu, sigma) of the "
        "log (numpy's parameters; median = e^mu); categorical: `weights` value -> weight")
    mean: float | None = Field(None, description="normal: the mean (default: middle of min..max)")
    std: float | None = Field(None, description="normal: the standard deviation (> 0)")
    mu: float | None = Field(None, description="lognormal: mean of the log (default 0)")
    sigma: float | None = Field(None, description="lognormal: std of the log (> 0, default 1)")
    weights: dict[str, float] | None = Field(None, description="categorical: value -> weight")


class PerParent(_Model):
    """One-to-many: how many child rows each parent row gets."""

    parent: str | None = Field(None, description="the parent table (default: the only table "
                               "this one references)")
    min: int = Field(0, ge=0, description="fewest children per parent")
    max: int = Field(3, ge=0, description="most children per parent")
    distribution: Literal["uniform", "poisson"] = Field(
        "uniform", description="uniform over min..max, or poisson(mean) clipped to min..max")
    mean: float | None = Field(None, gt=0, description="poisson: the mean count")


class FieldSpec(_Model):
    """One column: its type and constraints."""

    type: FieldType | None = Field(None, description="the value type (omitted with `references`"
                                   ": the referenced field's type)")
    description: str = ""
    required: bool = Field(False, description="never null (conflicts with null_ratio > 0)")
    unique: bool = Field(False, description="no two rows share a value")
    min: Scalar | None = Field(None, description="smallest value (numbers, dates as ISO text)")
    max: Scalar | None = Field(None, description="largest value")
    min_length: int | None = Field(None, ge=0, description="string/text: shortest (text: words)")
    max_length: int | None = Field(None, ge=0, description="string/text: longest (text: words)")
    pattern: str | None = Field(None, description="string/phone: a regex every value matches")
    enum: list[Scalar] | dict[str, float] | None = Field(
        None, description="allowed values, or value -> weight")
    precision: int | None = Field(None, ge=0, le=12, description="decimal places (float/decimal)")
    null_ratio: float = Field(0.0, ge=0.0, le=1.0, description="share of nulls")
    format: str | None = Field(None, description="date/datetime: strftime format of the text "
                               "values (omitted: datetime values)")
    distribution: Distribution | None = None
    true_ratio: float = Field(0.5, ge=0.0, le=1.0, description="boolean: share of true")
    sequence: bool = Field(False, description="integer: consecutive values from `min` (default 1)")
    references: str | None = Field(None, description="foreign key: 'table.field' of a parent")

    @field_validator("enum", mode="before")
    @classmethod
    def _enum_keys(cls, v: Any) -> Any:
        """Weighted values may be numbers in YAML (`{0: 0.5, 4.99: 0.5}`): keys become text."""
        return {str(k): w for k, w in v.items()} if isinstance(v, dict) else v

    @field_validator("min", "max", mode="before")
    @classmethod
    def _iso(cls, v: Any) -> Any:
        """YAML reads 2024-01-31 as a date: keep it as ISO text."""
        return v.isoformat() if isinstance(v, date) else v


class AfterRule(_Model):
    field: str
    other: str = Field(description="a field of this table, or 'table.field' of a table this "
                       "one references (e.g. an order after its customer's signup)")
    min_gap: str | float = Field(0, description="e.g. '1d', '2h' (dates) or a number")
    max_gap: str | float = Field("30d", description="e.g. '30d' (dates) or a number")


class CombineRule(_Model):
    field: str
    of: list[str] = Field(min_length=2)


class LinearRule(_Model):
    field: str
    of: str
    slope: float
    intercept: float = 0.0
    noise: float = Field(0.0, ge=0.0, description="std of normal noise added")


class BinsRule(_Model):
    field: str
    of: str
    edges: list[float] = Field(min_length=1, description="ascending bin edges")
    labels: list[str] = Field(description="one more label than edges")


class Rule(_Model):
    """One cross-field rule; exactly one key is set."""

    after: AfterRule | None = Field(None, description="field = other + a gap in [min_gap, max_gap]")
    product: CombineRule | None = Field(None, description="field = product of `of`")
    sum: CombineRule | None = Field(None, description="field = sum of `of`")
    linear: LinearRule | None = Field(None, description="field = intercept + slope*of + noise "
                                      "(clipped to the field's min/max)")
    bins: BinsRule | None = Field(None, description="field = the label of of's bin")

    @model_validator(mode="after")
    def _one(self) -> Rule:
        set_ = [k for k in ("after", "product", "sum", "linear", "bins") if getattr(self, k)]
        if len(set_) != 1:
            raise ValueError("a rule has exactly one of after, product, sum, linear, bins "
                             f"(got {', '.join(set_) or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("after", "product", "sum", "linear", "bins") if getattr(self, k))

    @property
    def body(self) -> Any:
        return getattr(self, self.kind)

    @property
    def target(self) -> str:
        return str(self.body.field)

    @property
    def sources(self) -> list[str]:
        """The fields of the same table this rule reads."""
        b = self.body
        if self.kind == "after":
            return [] if "." in b.other else [b.other]
        return list(b.of) if isinstance(b.of, list) else [b.of]

    @property
    def parent_source(self) -> tuple[str, str] | None:
        """(table, field) when an `after` rule follows a field of a referenced table."""
        if self.kind == "after" and "." in self.body.other:
            return _split_ref(self.body.other)
        return None


class TableSpec(_Model):
    """One table: its fields, rules and how many rows it gets."""

    name: str = SINGLE
    description: str = ""
    rows: int | None = Field(None, ge=0, description="a fixed row count (root tables; default "
                             "the rows asked for)")
    per_parent: PerParent | None = None
    fields: dict[str, FieldSpec] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)

    def references(self) -> dict[str, tuple[str, str]]:
        """field -> (table, field) of every foreign key."""
        return {n: _split_ref(f.references) for n, f in self.fields.items() if f.references}

    def parent(self) -> str | None:
        """The table whose rows this one's rows hang off (per_parent), if any."""
        if self.per_parent is None:
            return None
        if self.per_parent.parent:
            return self.per_parent.parent
        tables = {t for t, _ in self.references().values()}
        return next(iter(tables)) if len(tables) == 1 else None

    def derived(self) -> dict[str, Rule]:
        """field -> the rule that computes it."""
        return {r.target: r for r in self.rules}


class Schema(_Model):
    """A schema file: one table (`fields:`) or several (`tables:`)."""

    name: str = ""
    description: str = ""
    industry: str = ""
    locale: str = Field("en_US", description="Faker locale of names, streets, cities")
    fields: dict[str, FieldSpec] | None = None
    rules: list[Rule] | None = None
    rows: int | None = Field(None, ge=0)
    tables: dict[str, TableSpec] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Schema:
        if (self.fields is None) == (self.tables is None):
            raise ValueError("a schema has `fields:` (one table) or `tables:` (several), not "
                             "both or neither")
        if self.tables is not None:
            for name, t in self.tables.items():
                t.name = name
        return self

    def table_map(self) -> dict[str, TableSpec]:
        """Every table by name (a single-table schema: one table named `data` or its name)."""
        if self.tables is not None:
            return self.tables
        return {self.name or SINGLE: TableSpec(name=self.name or SINGLE, fields=self.fields or {},
                                               rules=self.rules or [], rows=self.rows)}

    def table(self, name: str | None = None) -> TableSpec:
        """One table; `name` may be omitted for a single-table schema."""
        tables = self.table_map()
        if name is None:
            if len(tables) != 1:
                raise KeyError(f"this schema has {len(tables)} tables ({', '.join(tables)}): "
                               "name one")
            return next(iter(tables.values()))
        if name not in tables:
            from datasetgen_assets.errors import did_you_mean

            raise KeyError(f"no table '{name}'.{did_you_mean(name, tables)} Tables: "
                           + ", ".join(tables))
        return tables[name]

    def order(self) -> list[str]:
        """Tables with every referenced table first."""
        tables = self.table_map()
        done: list[str] = []

        def visit(name: str) -> None:
            if name in done:
                return
            for ref, _ in tables[name].references().values():
                if ref != name and ref in tables:
                    visit(ref)
            done.append(name)

        for n in tables:
            visit(n)
        return done


def json_schema() -> dict[str, Any]:
    """The JSON schema of a schema file (for editors and docs)."""
    return Schema.model_json_schema()


def _split_ref(ref: str) -> tuple[str, str]:
    table, _, field = ref.partition(".")
    return table, field


def parse_duration(value: str | float, temporal: bool) -> float:
    """A gap in seconds ('30d', '12h') for dates, the number itself otherwise."""
    if isinstance(value, int | float):
        return float(value) * (86400.0 if temporal else 1.0)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a duration; write e.g. 30d, 12h, 45m, 10s, 2w")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_time(value: Any) -> datetime:
    """An ISO date or datetime from a schema bound."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


# ----------------------------------------------------------------------------- loading


def load_schema(source: str | Path | dict[str, Any], *, file: str | None = None) -> Schema:
    """A validated Schema from a YAML/JSON file path or a mapping (inline in a pipeline).

    Raises PipelineValidationError listing every problem with file, line and table.field.
    """
    lines: dict[tuple[Any, ...], int] = {}
    if isinstance(source, dict):
        data: Any = source
        file = file or "<schema>"
    else:
        path = Path(source)
        file = file or str(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PipelineValidationError([PipelineError(
                "schema file not found", file=file,
                fix="check the path, or use a template (datasetgen templates)")]) from None
        data, lines = parse_text(text, file, json_file=path.suffix.lower() == ".json")
    if not isinstance(data, dict):
        raise PipelineValidationError([PipelineError(
            "a schema must be a mapping with `fields:` or `tables:`", file=file, line=1,
            fix="start with 'fields:' (one table) or 'tables:' (several)")])
    try:
        schema = Schema.model_validate(data)
    except ValidationError as exc:
        single = str(data.get("name") or SINGLE)
        raise PipelineValidationError(_pydantic_errors(exc, file, lines, single)) from None
    problems = check_schema(schema, file=file, lines=lines)
    if problems:
        raise PipelineValidationError(problems)
    return schema


def parse_text(text: str, file: str, json_file: bool = False
               ) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """YAML (or JSON) text -> data and the line of every key."""
    from datasetgen_assets.pipeline.spec import yaml_with_lines

    if json_file:
        try:
            return json.loads(text), {}
        except json.JSONDecodeError as exc:
            raise PipelineValidationError([PipelineError(
                f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=exc.lineno,
                fix="check commas, quotes and brackets around this line")]) from None
    return yaml_with_lines(text, file)





def _line(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    """The YAML line of `path` (or its nearest parent), as the pipeline spec finds it."""
    from datasetgen_assets.pipeline.spec import _line as spec_line

    return spec_line(lines, path)

def _field_name(loc: tuple[Any, ...], single: str = SINGLE) -> str | None:
    """'table.field' (or the dotted path) of a pydantic error location."""
    parts = [str(p) for p in loc]
    if len(parts) >= 4 and parts[0] == "tables" and parts[2] == "fields":
        return ".".join([parts[1], parts[3], *parts[4:]])
    if len(parts) >= 2 and parts[0] in {"fields", "rules"}:
        return ".".join([single, *parts])if parts[0] == "rules" else ".".join([single, *parts[1:]])
    return ".".join(parts) or None


_UNION_MEMBERS = {"int", "float", "str", "bool", "list[union[int,float,str,bool]]",
                  "dict[str,float]"}


def _pydantic_errors(exc: ValidationError, file: str, lines: dict,
                     single: str = SINGLE) -> list[PipelineError]:
    from datasetgen_assets.errors import did_you_mean

    out = []
    seen: set[tuple[Any, ...]] = set()
    for e in exc.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and (
            p.startswith("function-") or p in _UNION_MEMBERS)))
        if loc in seen:  # one message per location, not one per union member
            continue
        seen.add(loc)
        msg = e["msg"].removeprefix("Value error, ")
        fix = None
        if e["type"] == "extra_forbidden":
            msg, fix = f"unknown key '{loc[-1]}'", "remove it or check its spelling."
            if "fields" in [str(p) for p in loc]:
                fix += did_you_mean(str(loc[-1]), FieldSpec.model_fields)
        elif e["type"] == "missing":
            msg, fix = "is required", f"add '{loc[-1]}:'"
        elif e["type"] == "literal_error":
            fix = "use one of the listed values." + did_you_mean(
                str(e.get("input")), [x.strip("'") for x in
                                      str(e.get("ctx", {}).get("expected", "")).replace(
                                          " or ", ", ").split(", ")])
        elif "input" in e and not isinstance(e["input"], dict | list):
            msg += f" (got {e['input']!r})"
        out.append(PipelineError(msg, file=file, line=_line(lines, loc),
                                 field=_field_name(loc, single), fix=fix))
    return out


def _where(table: TableSpec, single: bool, fname: str | None = None) -> tuple[Any, ...]:
    base: tuple[Any, ...] = () if single else ("tables", table.name)
    return (*base, "fields", fname) if fname else base


def check_schema(schema: Schema, *, file: str = "<schema>",
                 lines: dict[tuple[Any, ...], int] | None = None) -> list[PipelineError]:
    """Every contradiction in a schema that pydantic alone cannot see."""
    from datasetgen_assets.synth.semantic import pool_size_hint

    lines = lines or {}
    single = schema.tables is None
    tables = schema.table_map()
    errors: list[PipelineError] = []

    def err(table: TableSpec, fname: str | None, key: str | None, msg: str, fix: str) -> None:
        path = _where(table, single, fname) + ((key,) if key else ())
        name = f"{table.name}.{fname}" if fname else table.name
        if key and not fname:
            name = f"{table.name}.{key}"
        errors.append(PipelineError(msg, file=file, line=_line(lines, path), field=name, fix=fix))

    for table in tables.values():
        for fname, f in table.fields.items():
            errors_before = len(errors)
            _check_field(table, fname, f, tables, err)
            if len(errors) == errors_before and f.unique and table.rows:
                capacity = value_capacity(f, tables)
                if capacity is not None and capacity < table.rows:
                    err(table, fname, "unique", f"unique with {table.rows:,} rows but only "
                        f"{capacity:,} distinct values are possible",
                        "drop `unique`, lower `rows`, or allow more values")
        _check_rules(table, err, tables)
        _check_per_parent(table, tables, err)
    _check_cycles(tables, errors, file)
    del pool_size_hint
    return errors


def _check_field(table: TableSpec, fname: str, f: FieldSpec, tables: dict[str, TableSpec],
                 err: Any) -> None:
    t = f.type
    if f.references:
        rt, rf = _split_ref(f.references)
        if rt not in tables:
            from datasetgen_assets.errors import did_you_mean

            err(table, fname, "references", f"references unknown table '{rt}'."
                f"{did_you_mean(rt, tables)}", f"use one of: {', '.join(tables)}")
            return
        if rf not in tables[rt].fields:
            err(table, fname, "references", f"references unknown field '{rt}.{rf}'",
                f"use one of: {', '.join(tables[rt].fields)}")
            return
        target = tables[rt].fields[rf]
        if f.type is None:
            f.type = target.type  # a key has its parent key's type
        if not (target.unique or target.sequence):
            err(table, fname, "references", f"references '{rt}.{rf}', which is not unique",
                f"add `unique: true` (or `sequence: true`) to {rt}.{rf}")
        elif target.null_ratio > 0:
            err(table, fname, "references", f"references '{rt}.{rf}', which has nulls "
                f"(null_ratio {target.null_ratio})", f"set null_ratio: 0 on {rt}.{rf}")
        return
    if t is None:
        err(table, fname, "type", "has no type", "add `type:` (string, integer, float, ...)")
        return
    if f.required and f.null_ratio > 0:
        err(table, fname, "null_ratio", f"is required but null_ratio is {f.null_ratio}",
            "drop `required` or set null_ratio: 0")
    if f.unique and f.null_ratio > 0:
        err(table, fname, "null_ratio", f"is unique but null_ratio is {f.null_ratio} (a key "
            "with nulls)", "drop `unique` or set null_ratio: 0")
    if f.precision is not None and t not in {"float", "decimal"}:
        err(table, fname, "precision", f"precision on a {t} field",
            "remove `precision` or make the type float/decimal")
    if f.format is not None:
        if t not in TEMPORAL:
            err(table, fname, "format", f"format on a {t} field",
                "remove `format` (it is a strftime format for date/datetime)")
        elif "%" not in f.format:
            err(table, fname, "format", f"format '{f.format}' has no strftime code",
                "write e.g. '%Y-%m-%d' or '%d/%m/%Y %H:%M'")
    if f.sequence and t != "integer":
        err(table, fname, "sequence", f"sequence on a {t} field", "make the type integer")
    if f.pattern is not None:
        if t not in {"string", "phone"}:
            err(table, fname, "pattern", f"pattern on a {t} field",
                "use a pattern with type string (or phone), or remove it")
        else:
            from datasetgen_assets.synth.regexgen import RegexError, compile_pattern

            try:
                compile_pattern(f.pattern)
            except RegexError as exc:
                err(table, fname, "pattern", str(exc), exc.fix)
    _check_bounds(table, fname, f, err)
    _check_enum(table, fname, f, err)
    d = f.distribution
    if d is not None:
        if d.type == "categorical":
            if t not in {"category", "string", "integer"}:
                err(table, fname, "distribution", f"a categorical distribution on a {t} field",
                    "use type category")
            elif f.enum is not None:
                err(table, fname, "distribution", "both `enum` and a categorical distribution",
                    "keep one: `enum: {value: weight}` says the same")
            elif not d.weights:
                err(table, fname, "distribution.weights", "categorical without weights",
                    "add `weights: {value: weight, ...}`")
            else:
                _check_weights(table, fname, "distribution.weights", d.weights, err)
        elif t not in NUMERIC | TEMPORAL:
            err(table, fname, "distribution", f"a {d.type} distribution on a {t} field",
                "distributions apply to integer, float, decimal, date and datetime")
        elif d.type == "normal" and d.std is not None and d.std <= 0:
            err(table, fname, "distribution.std", f"std must be > 0 (got {d.std})",
                "use a positive std")
        elif d.type == "lognormal" and d.sigma is not None and d.sigma <= 0:
            err(table, fname, "distribution.sigma", f"sigma must be > 0 (got {d.sigma})",
                "use a positive sigma")
    if t == "category" and f.enum is None and not (d and d.weights) \
            and fname not in table.derived():
        err(table, fname, "enum", "a category field needs its values",
            "add `enum: [a, b, c]` or `enum: {a: 0.5, b: 0.3, c: 0.2}`")


def _check_bounds(table: TableSpec, fname: str, f: FieldSpec, err: Any) -> None:
    t = f.type
    lo, hi = f.min, f.max
    if (lo is not None or hi is not None) and t not in NUMERIC | TEMPORAL:
        err(table, fname, "min" if lo is not None else "max", f"min/max on a {t} field",
            "use min_length/max_length for text, or remove min/max")
        return
    if t in NUMERIC:
        for key, v in (("min", lo), ("max", hi)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                err(table, fname, key, f"{key} must be a number (got {v!r})",
                    f"write {key}: 0 (no quotes)")
                return
    if t in TEMPORAL:
        for key, v in (("min", lo), ("max", hi)):
            if v is not None:
                try:
                    parse_time(v)
                except ValueError:
                    err(table, fname, key, f"{key} '{v}' is not an ISO date",
                        f"write {key}: 2024-01-31 (or 2024-01-31T08:00:00)")
                    return
        if lo is not None and hi is not None:
            lo, hi = parse_time(lo), parse_time(hi)  # type: ignore[assignment]
    if lo is not None and hi is not None and lo > hi:  # type: ignore[operator]
        err(table, fname, "min", f"min {f.min} is greater than max {f.max}",
            "swap them or fix one")
    if (f.min_length is not None and f.max_length is not None
            and f.min_length > f.max_length):
        err(table, fname, "min_length", f"min_length {f.min_length} is greater than "
            f"max_length {f.max_length}", "swap them or fix one")
    if t == "integer" and f.unique and not f.sequence and lo is not None and hi is not None:
        pass  # the capacity check covers it


def _check_enum(table: TableSpec, fname: str, f: FieldSpec, err: Any) -> None:
    if f.enum is None:
        return
    if f.type not in {"category", "string", "integer", "float", "decimal"}:
        err(table, fname, "enum", f"enum on a {f.type} field", "use type category")
        return
    if len(f.enum) == 0:
        err(table, fname, "enum", "enum is empty", "list at least one value")
        return
    if isinstance(f.enum, dict):
        _check_weights(table, fname, "enum", f.enum, err)
    if f.type in NUMERIC:
        for v in f.enum:
            try:
                number = float(v)
            except (TypeError, ValueError):
                number = None
            if number is None or (f.type == "integer" and not number.is_integer()):
                err(table, fname, "enum", f"enum value {v!r} is not "
                    f"{'an integer' if f.type == 'integer' else 'a number'}",
                    "list numbers only, or make the field a category")
                return


def _check_weights(table: TableSpec, fname: str, key: str, weights: dict[str, float],
                   err: Any) -> None:
    bad = [k for k, w in weights.items() if w < 0]
    if bad:
        err(table, fname, key, f"negative weight for {bad[0]!r} ({weights[bad[0]]})",
            "weights are >= 0; they are normalised to sum to 1")
    elif sum(weights.values()) <= 0:
        err(table, fname, key, "weights sum to 0", "give at least one value a positive weight")


def value_capacity(f: FieldSpec, tables: dict[str, TableSpec] | None = None) -> int | None:
    """How many distinct values a field can take (None: practically unlimited)."""
    from datasetgen_assets.synth.semantic import pool_size_hint

    t = f.type
    if f.references and tables is not None:
        rt, _ = _split_ref(f.references)
        return tables[rt].rows if rt in tables else None
    if f.enum is not None:
        return len(f.enum)
    if f.distribution is not None and f.distribution.weights:
        return len(f.distribution.weights)
    if t == "boolean":
        return 2
    if t == "integer" and not f.sequence:
        lo = int(f.min) if isinstance(f.min, int | float) else 0
        hi = int(f.max) if isinstance(f.max, int | float) else lo + 10**9
        return max(hi - lo + 1, 0)
    if t == "date":
        lo_d = parse_time(f.min or "2000-01-01")
        hi_d = parse_time(f.max or "2030-12-31")
        return max((hi_d - lo_d).days + 1, 0)
    if t in {"string", "phone"} and f.pattern is not None:
        from datasetgen_assets.synth.regexgen import RegexError, compile_pattern

        try:
            return compile_pattern(f.pattern).capacity()
        except RegexError:
            return None
    if t in {"float", "decimal"} and f.precision is not None and f.min is not None \
            and f.max is not None:
        return int((float(f.max) - float(f.min)) * 10**f.precision) + 1
    return pool_size_hint(t or "")


def _parent_type(table: TableSpec, rule: Rule, tables: dict[str, TableSpec], where: str,
                 err: Any) -> str | None:
    """The type of a cross-table `after` source, or None after reporting why it is unusable."""
    rt, rf = rule.parent_source or ("", "")
    refs = {t for t, _ in table.references().values()}
    if rt not in refs:
        err(table, None, "rules", f"{where}: '{rule.body.other}' is in table '{rt}', which "
            f"{table.name} does not reference", f"add a field with `references: {rt}.<key>`"
            " or compare with a field of this table")
        return None
    if rf not in tables[rt].fields:
        err(table, None, "rules", f"{where}: unknown field '{rt}.{rf}'",
            f"use one of: {', '.join(tables[rt].fields)}")
        return None
    return tables[rt].fields[rf].type


def _check_rules(table: TableSpec, err: Any, tables: dict[str, TableSpec]) -> None:
    seen: dict[str, int] = {}
    for i, rule in enumerate(table.rules):
        where = f"rules.{i}.{rule.kind}"
        names = [rule.target, *rule.sources]
        missing = [n for n in names if n not in table.fields]
        if missing:
            from datasetgen_assets.errors import did_you_mean

            err(table, None, "rules", f"{where}: unknown field '{missing[0]}'."
                f"{did_you_mean(missing[0], table.fields)}",
                f"use one of: {', '.join(table.fields)}")
            continue
        if rule.target in seen:
            err(table, None, "rules", f"{where}: '{rule.target}' is already computed by rule "
                f"{seen[rule.target]}", "keep one rule per field")
            continue
        seen[rule.target] = i
        ft = table.fields[rule.target].type
        src = [table.fields[n].type for n in rule.sources]
        b = rule.body
        if rule.kind == "after":
            if rule.parent_source is not None:
                src = [_parent_type(table, rule, tables, where, err)]
                if src[0] is None:
                    continue
            if ft not in NUMERIC | TEMPORAL or src[0] not in NUMERIC | TEMPORAL or \
                    (ft in TEMPORAL) != (src[0] in TEMPORAL):
                err(table, None, "rules", f"{where}: '{rule.target}' ({ft}) after "
                    f"'{b.other}' ({src[0]}) needs two dates or two numbers",
                    "compare fields of the same kind")
                continue
            try:
                lo = parse_duration(b.min_gap, ft in TEMPORAL)
                hi = parse_duration(b.max_gap, ft in TEMPORAL)
            except ValueError as exc:
                err(table, None, "rules", f"{where}: {exc}", "write e.g. max_gap: 30d")
                continue
            if lo > hi:
                err(table, None, "rules", f"{where}: min_gap {b.min_gap} > max_gap {b.max_gap}",
                    "swap them")
        elif rule.kind in {"product", "sum", "linear"}:
            bad = [n for n, t in zip([rule.target, *rule.sources], [ft, *src], strict=True)
                   if t not in NUMERIC]
            if bad:
                err(table, None, "rules", f"{where}: '{bad[0]}' is not numeric",
                    "rules product/sum/linear combine integer, float or decimal fields")
        elif rule.kind == "bins":
            if src[0] not in NUMERIC:
                err(table, None, "rules", f"{where}: '{rule.sources[0]}' is not numeric",
                    "bin a numeric field")
            elif ft not in {"category", "string"}:
                err(table, None, "rules", f"{where}: '{rule.target}' must be a category",
                    "make it `type: category`")
            elif len(b.labels) != len(b.edges) + 1:
                err(table, None, "rules", f"{where}: {len(b.edges)} edges need "
                    f"{len(b.edges) + 1} labels (got {len(b.labels)})",
                    "one label below the first edge, one between each, one above the last")
            elif any(x >= y for x, y in zip(b.edges, b.edges[1:], strict=False)):
                err(table, None, "rules", f"{where}: edges must be ascending", "sort them")
    # rules that feed each other in a loop
    graph = {r.target: r.sources for r in table.rules}
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> bool:
        if state.get(n) == 1:
            err(table, None, "rules", "rules form a cycle: " + " -> ".join([*path, n]),
                "compute each field from fields that do not depend on it")
            return True
        if state.get(n) == 2 or n not in graph:
            return False
        state[n] = 1
        for s in graph[n]:
            if visit(s, [*path, n]):
                return True
        state[n] = 2
        return False

    for n in graph:
        if visit(n, []):
            break


def _check_per_parent(table: TableSpec, tables: dict[str, TableSpec], err: Any) -> None:
    pp = table.per_parent
    if pp is None:
        return
    if pp.min > pp.max:
        err(table, None, "per_parent", f"per_parent min {pp.min} is greater than max {pp.max}",
            "swap them or fix one")
    if pp.distribution == "poisson" and pp.mean is None:
        err(table, None, "per_parent", "a poisson per_parent needs `mean`", "add mean: 2.5")
    parent = table.parent()
    refs = {t for t, _ in table.references().values()}
    if parent is None:
        err(table, None, "per_parent", "per_parent but no single parent: this table references "
            + (", ".join(sorted(refs)) or "no table"),
            "add a field with `references: parent.key` and/or set per_parent.parent")
    elif parent not in refs:
        err(table, None, "per_parent", f"per_parent.parent '{parent}' is not referenced by any "
            "field", f"add a field with `references: {parent}.<key field>`")
    if table.rows is not None:
        err(table, None, "rows", "a child table (per_parent) cannot also set rows",
            "remove `rows:`; the parents' counts decide it")


def _check_cycles(tables: dict[str, TableSpec], errors: list[PipelineError], file: str) -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> bool:
        if state.get(name) == 1:
            cyc = [*path[path.index(name):], name]
            errors.append(PipelineError(
                "tables reference each other in a cycle: " + " -> ".join(cyc), file=file,
                field=f"{name}.references",
                fix="a parent table must not reference its children; drop one reference"))
            return True
        if state.get(name) == 2:
            return False
        state[name] = 1
        for rt, _ in tables[name].references().values():
            if rt in tables and visit(rt, [*path, name]):
                return True
        state[name] = 2
        return False

    for n in tables:
        if visit(n, []):
            return
