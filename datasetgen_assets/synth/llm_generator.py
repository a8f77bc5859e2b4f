"""The LLM generator: synthetic rows asked from the LLM resource in batches, every row checked
against the row's JSON schema and the caller's constraints, invalid rows and duplicates
dropped and regenerated in further rounds, cost estimated before anything is generated.

How a run goes:

- A *batch* is one input row of `LLMClient.structured` ({"batch": i, "seed": s, "count": k})
  whose answer is `{"rows": [k rows]}` (each item is `row_schema`). The client groups
  batches into requests (up to its `max_batch_size` per request), runs requests in parallel
  (the provider's `concurrency`), caches each batch's answer, re-asks a malformed answer
  once and accounts tokens and cost; the SDKs retry 429/5xx. Nothing here retries a call.
- Batch size `k` (when not given): as many rows as fit in the output tokens the client
  allows one batch (`output_tokens_per_row`, default 200), a row's tokens estimated from
  the schema cautiously (indented JSON, 2 characters per token), between 1 and 25 and at
  most the rows still needed (`choose_batch_size`). A round in which batches failed (e.g.
  answers cut off) halves it for the next round. A given `batch_size` is kept; it is refused
  only when even compact JSON (4 characters per token) cannot fit.
- Each batch's prompt carries its index and the seed, so batches differ (the cache does not
  hand every batch the same rows) while a rerun with the same seed is served from the cache.
- Every returned row goes through: the JSON schema (jsonschema, formats such as email, date,
  date-time and uuid checked), then duplicates (same value in a `unique` column, the same
  whole row, or a copy of one of the `examples`; nulls never clash), then `validate` on a
  frame of the survivors (integer columns Int64, numbers float64, booleans boolean, dates
  as the ISO text the model wrote). Rows failing any of them are dropped and counted.
- Round 1 asks ceil(rows / k) batches; later rounds ask for what is missing, divided by the
  acceptance rate so far, plus 25% (rows beyond `rows` are dropped). A run stops when
  `rows` rows are accepted or after `max_rounds`.
- A shortfall after `max_rounds` raises `LLMGenerationError` (a dataset never silently has
  fewer rows than asked); the error carries the accepted rows (`.frame`) and the report.
  `max_cost_usd` covers the whole run: before each wave the batches whose estimated cost
  (x1.25) no longer fits are not sent, and the client's own budget check guards every
  request with what is left; reaching it raises the same error. Answers received so far are
  cached, so a rerun with the same seed and a larger budget continues from there.
- `progress(accepted, requested)` is called after every structured() call; one call is one
  wave of at most `concurrency x max_batch_size` batches (= one finished request when the
  provider's concurrency is 1, like the local model).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pandas as pd

from datasetgen_assets.errors import DatasetGenError, did_you_mean

MAX_BATCH_SIZE = 25  # rows per batch (one batch = one item of the client's request)
BATCH_ENVELOPE_TOKENS = 12  # {"id": n, "rows": [...]} around a batch's rows
BUDGET_MARGIN = 1.25  # estimated cost x this must fit the budget left before a wave
REGEN_SPARE = 1.25  # regeneration rounds ask this many times the rows the rate suggests
MAX_EXAMPLES = 5
SAMPLE_VIOLATIONS = 10
Validate = Callable[[pd.DataFrame], list[list[str]]]


class LLMGenerationError(DatasetGenError):
    """The LLM generator could not deliver: bad arguments, budget reached, or too few valid
    rows after max_rounds. `frame` and `report` hold what was accepted (may be empty)."""

    def __init__(self, message: str, *, fix: str | None = None,
                 frame: pd.DataFrame | None = None, report: dict[str, Any] | None = None):
        self.message = message
        self.fix = fix
        self.frame = frame
        self.report = report or {}
        super().__init__(message + (f" Fix: {fix}" if fix else ""))


# ---- the client's settings and prices ------------------------------------------------------
def _settings(client: Any) -> Any:
    """ClientSettings of an LLMClient (public attribute if it has one)."""
    return getattr(client, "settings", None) or client._s.settings


def _prices(client: Any) -> Any:
    return getattr(client, "prices", None) or client._s.prices


# ---- schema-derived sizes ------------------------------------------------------------------
_WORDS = re.compile(r"(\d+) to (\d+) words")
_FORMAT_CHARS = {"email": 24, "date": 10, "date-time": 25, "time": 8, "uuid": 36, "uri": 32,
                 "hostname": 16, "ipv4": 13}


def _typical(prop: dict[str, Any]) -> Any:
    """A value about as long as a generated one (for token estimates only)."""
    if prop.get("enum"):
        return max(prop["enum"], key=lambda v: len(json.dumps(v)))
    if "const" in prop:
        return prop["const"]
    types = prop.get("type", "string")
    t = next((x for x in types if x != "null"), "string") if isinstance(types, list) else types
    if t == "integer":
        hi = max(abs(prop.get("minimum", 0)), abs(prop.get("maximum", 99999)))
        return int("9" * max(1, min(len(str(int(hi))), 12)))
    if t == "number":
        return 12345.67
    if t == "boolean":
        return False
    if t in {"array", "object"}:
        return "x" * 40
    n = _FORMAT_CHARS.get(prop.get("format", ""), 20)
    words = _WORDS.search(str(prop.get("description", "")))
    if words:  # "5 to 15 words" (free text): ~6 characters a word
        n = 3 * (int(words.group(1)) + int(words.group(2)))
    elif "address" in str(prop.get("description", "")).lower():
        n = 45
    if "maxLength" in prop:
        n = max(1, min(n, int(prop["maxLength"])))
    if "minLength" in prop:
        n = max(n, min(int(prop["minLength"]), 200))
    return "x" * n


def _typical_row(row_schema: dict[str, Any]) -> dict[str, Any]:
    return {name: _typical(p if isinstance(p, dict) else {})
            for name, p in (row_schema.get("properties") or {}).items()}


def row_tokens(row_schema: dict[str, Any]) -> int:
    """Estimated output tokens of one generated row as providers bill compact JSON (~4
    characters per token, the client's own rule): for cost estimates."""
    return len(json.dumps(_typical_row(row_schema), ensure_ascii=False)) // 4 + 2


def sizing_tokens(row_schema: dict[str, Any]) -> int:
    """A cautious output-token count of one row, for batch sizing: grammar-constrained
    servers (llama.cpp) write indented JSON, measured at ~2 characters per token."""
    row = _typical_row(row_schema)
    chars = len(json.dumps(row, ensure_ascii=False)) + 8 * len(row) + 12
    return -(-chars // 2)


def choose_batch_size(client: Any, row_schema: dict[str, Any]) -> int:
    """Rows per batch: as many cautious rows (`sizing_tokens`) as fit in the output tokens
    the client gives one batch (`output_tokens_per_row`), 1 to MAX_BATCH_SIZE."""
    budget = _settings(client).output_tokens_per_row - BATCH_ENVELOPE_TOKENS
    return max(1, min(MAX_BATCH_SIZE, int(budget // sizing_tokens(row_schema))))


def batch_output_schema(row_schema: dict[str, Any], k: int) -> dict[str, Any]:
    """The answer to one batch: exactly k rows."""
    return {"type": "object",
            "properties": {"rows": {"type": "array", "items": row_schema,
                                    "minItems": k, "maxItems": k}},
            "required": ["rows"], "additionalProperties": False}


def generation_instruction(instruction: str, k: int,
                           examples: list[dict[str, Any]] | None = None) -> str:
    """The task the client sends with every batch."""
    text = (f"Invent {k} new synthetic data records and return them as `rows`. {instruction}"
            " Every record must match the JSON schema of the items of `rows` exactly."
            " Make the records realistic and varied: no two alike, and different from the"
            " records of other batches (each input row's `batch` number and `seed` name a"
            " distinct batch).")
    if examples:
        shown = json.dumps(examples[:MAX_EXAMPLES], ensure_ascii=False, sort_keys=True,
                           default=str)
        text += f" Records in this style (do not copy them): {shown}"
    return text


def _descriptors(start: int, count: int, seed: int, k: int) -> list[dict[str, Any]]:
    return [{"batch": start + i, "seed": seed, "count": k} for i in range(count)]


# ---- argument checks -----------------------------------------------------------------------
def _check_args(row_schema: Any, rows: int, unique: Sequence[str], batch_size: int | None,
                max_rounds: int, examples: Any, max_cost_usd: float | None,
                client: Any) -> jsonschema.protocols.Validator:
    def bad(msg: str, fix: str) -> LLMGenerationError:
        return LLMGenerationError(msg, fix=fix)

    if not isinstance(row_schema, dict) or row_schema.get("type") != "object" or \
            not isinstance(row_schema.get("properties"), dict) or not row_schema["properties"]:
        raise bad("row_schema must be a JSON schema of one row: {\"type\": \"object\","
                  " \"properties\": {...}} with at least one property.",
                  "pass row_json_schema(table) or a hand-written object schema")
    cls = jsonschema.validators.validator_for(row_schema)
    try:
        cls.check_schema(row_schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise bad(f"row_schema is not a valid JSON schema at {where}: {exc.message}.",
                  "correct that keyword of the schema") from None
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise bad(f"rows must be a whole number >= 0, got {rows!r}.", "ask for 0 or more rows")
    props = row_schema["properties"]
    if isinstance(unique, str):
        raise bad(f"unique must be a list of column names, got the string {unique!r}.",
                  f"write unique=[{unique!r}]")
    for col in unique:
        if col not in props:
            raise bad(f"unique column '{col}' is not a property of row_schema."
                      f"{did_you_mean(col, props)} Properties: {', '.join(props)}.",
                      "name a property of the row schema in `unique`")
    if max_rounds < 1:
        raise bad(f"max_rounds must be at least 1, got {max_rounds}.",
                  "use max_rounds: 4 (the default)")
    if max_cost_usd is not None and max_cost_usd <= 0:
        raise bad(f"max_cost_usd must be positive, got {max_cost_usd}.",
                  "give a budget in USD, or none for no limit")
    if examples is not None and (not isinstance(examples, list)
                                 or not all(isinstance(e, dict) for e in examples)):
        raise bad("examples must be a list of row objects (dicts).",
                  "pass e.g. df.head(5).to_dict('records')")
    if batch_size is not None:
        per_batch = _settings(client).output_tokens_per_row
        need = batch_size * row_tokens(row_schema) + BATCH_ENVELOPE_TOKENS
        if batch_size < 1:
            raise bad(f"batch_size must be at least 1, got {batch_size}.",
                      "leave batch_size unset to size batches from the schema")
        if need > per_batch:
            fit = choose_batch_size(client, row_schema)
            raise bad(f"batch_size {batch_size} needs about {need} output tokens per batch,"
                      f" but the LLM resource allows output_tokens_per_row={per_batch} per"
                      " batch (answers would be cut off).",
                      f"use batch_size <= {fit}, leave it unset, or raise the LLM resource's"
                      " output_tokens_per_row")
    return cls(row_schema, format_checker=cls.FORMAT_CHECKER)


# ---- estimate ------------------------------------------------------------------------------
def table_instruction(schema: Any, table: Any, instruction: str = "") -> str:
    """What the LLM is asked for: the user's instruction, else the table's and schema's
    descriptions."""
    return instruction or (
        f"Realistic rows of the table '{table.name}'"
        + (f": {table.description}" if getattr(table, "description", None) else "")
        + (f" ({schema.description})" if getattr(schema, "description", None) else ""))


def estimate_llm_generation(client: Any, *, row_schema: dict[str, Any], instruction: str,
                            rows: int, batch_size: int | None = None, tier: str = "cheap",
                            model: str | None = None) -> dict[str, Any]:
    """Calls, input/output tokens and USD of generating `rows` rows with the client's first
    provider and its price table, assuming every row is valid the first time (each further
    round adds about the rejected share again). Nothing is generated."""
    _check_args(row_schema, rows, (), batch_size, 1, None, None, client)
    k = batch_size or max(1, min(rows, choose_batch_size(client, row_schema)))
    n = math.ceil(rows / k)
    if n:
        est = _estimate_batches(client, _descriptors(0, n, 0, k),
                                generation_instruction(instruction, k), row_schema, k, tier,
                                model)
    else:  # nothing to generate: nothing to pay
        spec = client.providers[0]
        est = {"provider": spec.name, "model": model or spec.models.get(tier, ""),
               "requests": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0,
               "priced": True}
    return {"provider": est["provider"], "model": est["model"], "rows": rows,
            "batch_size": k, "batches": n, "calls": est["requests"],
            "input_tokens": est["input_tokens"], "output_tokens": est["output_tokens"],
            "cost_usd": round(est["cost_usd"], 6), "priced": est["priced"],
            "note": "assumes every row is valid the first time; each regeneration round adds"
                    " about the rejected share again"}


def _estimate_batches(client: Any, descriptors: list[dict[str, Any]], task: str,
                      row_schema: dict[str, Any], k: int, tier: str,
                      model: str | None) -> dict[str, Any]:
    """The client's request plan and input tokens; output tokens from the row estimate."""
    est = client.estimate(descriptors, task, batch_output_schema(row_schema, k), tier=tier,
                          model=model)
    out = len(descriptors) * (k * row_tokens(row_schema) + BATCH_ENVELOPE_TOKENS) \
        + est["requests"] * 6
    cost = _prices(client).cost(est["provider"], est["model"], est["input_tokens"], out)
    return {**est, "output_tokens": out, "cost_usd": cost}


# ---- the run -------------------------------------------------------------------------------
@dataclass
class _State:
    requested: int
    accepted: list[dict[str, Any]] = field(default_factory=list)
    seen_rows: set[str] = field(default_factory=set)
    seen_unique: dict[str, set[str]] = field(default_factory=dict)
    returned: int = 0
    invalid: int = 0
    duplicates: int = 0
    failed_batches: int = 0
    batches: int = 0
    rounds: int = 0
    batch_sizes: list[int] = field(default_factory=list)  # k of each round
    usage: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.violations) < SAMPLE_VIOLATIONS:
            self.violations.append(text[:300])

    @property
    def missing(self) -> int:
        return max(0, self.requested - len(self.accepted))


_SUMMED = ("calls", "cache_hits", "semantic_cache_hits", "input_tokens", "output_tokens",
           "cost_usd", "virtual_cost_usd", "reasks", "failed_calls", "single_row_fallbacks",
           "provider_fallbacks")


def _add_usage(total: dict[str, Any], usage: dict[str, Any]) -> None:
    for k in _SUMMED:
        total[k] = total.get(k, 0) + (usage.get(k) or 0)
    for k in ("provider", "model", "quality_note"):
        if usage.get(k):
            total[k] = usage[k]


def _key(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def frame_from_rows(records: list[dict[str, Any]], row_schema: dict[str, Any]) -> pd.DataFrame:
    """Rows as a DataFrame with the schema's columns in order (JSON types: integer columns
    Int64, numbers float64, booleans boolean, the rest as returned, dates as ISO text)."""
    cols = list(row_schema["properties"])
    df = pd.DataFrame.from_records([{c: r.get(c) for c in cols} for r in records],
                                   columns=cols)
    for c in cols:
        prop = row_schema["properties"][c]
        t = prop.get("type") if isinstance(prop, dict) else None
        t = next((x for x in t if x != "null"), None) if isinstance(t, list) else t
        try:
            if t == "integer":
                df[c] = df[c].astype("Int64")
            elif t == "number":
                df[c] = pd.to_numeric(df[c]).astype("float64")
            elif t == "boolean":
                df[c] = df[c].astype("boolean")
        except (TypeError, ValueError):  # mixed values: left as returned
            pass
    return df


def _collect(part: list[dict[str, Any]], results: list[dict[str, Any]], st: _State,
             schema_v: Any, validate: Validate, row_schema: dict[str, Any],
             unique: Sequence[str], example_keys: set[str]) -> None:
    """One structured() call's answers: failed batches noted, rows screened."""
    candidates: list[tuple[int, dict[str, Any]]] = []
    for desc, answer in zip(part, results, strict=True):
        if "_error" in answer:
            st.failed_batches += 1
            st.note(f"batch {desc['batch']}: {answer['_error']}")
            continue
        got = [r for r in answer.get("rows") or [] if isinstance(r, dict)]
        st.returned += len(got)
        candidates += [(desc["batch"], r) for r in got]
    _screen(candidates, st, schema_v, validate, row_schema, unique, example_keys)


def _screen(candidates: list[tuple[int, dict[str, Any]]], st: _State, schema_v: Any,
            validate: Validate, row_schema: dict[str, Any], unique: Sequence[str],
            example_keys: set[str]) -> None:
    """One wave's rows: JSON schema, then duplicates (of accepted rows, of examples, of an
    earlier row of the wave), then `validate` on the rest; survivors kept in order."""
    cols = list(row_schema["properties"])
    wave_rows: set[str] = set()
    wave_unique: dict[str, set[str]] = {c: set() for c in unique}
    fresh: list[tuple[int, dict[str, Any], str, dict[str, str]]] = []
    for batch, raw in candidates:
        errors = sorted(schema_v.iter_errors(raw), key=lambda e: list(e.absolute_path))
        if errors:
            st.invalid += 1
            e = errors[0]
            where = "/".join(str(p) for p in e.absolute_path) or "(row)"
            st.note(f"batch {batch}: {where}: {e.message}")
            continue
        row = {c: raw.get(c) for c in cols}
        full = _key(row)
        ukeys = {c: _key(row[c]) for c in unique if not _is_null(row.get(c))}
        if full in st.seen_rows or full in wave_rows or full in example_keys or any(
                v in st.seen_unique.get(c, ()) or v in wave_unique[c]
                for c, v in ukeys.items()):
            st.duplicates += 1
            continue
        wave_rows.add(full)
        for c, v in ukeys.items():
            wave_unique[c].add(v)
        fresh.append((batch, row, full, ukeys))
    if not fresh:
        return
    found = validate(frame_from_rows([r for _, r, _, _ in fresh], row_schema))
    if len(found) != len(fresh):
        raise ValueError(f"validate returned {len(found)} violation lists for {len(fresh)}"
                         " rows; it must return one list per row")
    for (batch, row, full, ukeys), problems in zip(fresh, found, strict=True):
        if problems:
            st.invalid += 1
            st.note(f"batch {batch}: {'; '.join(problems)}")
            continue
        st.seen_rows.add(full)
        for c, v in ukeys.items():
            st.seen_unique.setdefault(c, set()).add(v)
        if len(st.accepted) < st.requested:
            st.accepted.append(row)


def _report(st: _State, seconds: float) -> dict[str, Any]:
    u = st.usage
    return {
        "generator": "llm", "requested": st.requested,
        "accepted": min(len(st.accepted), st.requested), "shortfall": st.missing,
        "returned": st.returned, "invalid": st.invalid, "duplicates": st.duplicates,
        "failed_batches": st.failed_batches, "rounds": st.rounds, "batches": st.batches,
        "batch_size": st.batch_sizes[0] if st.batch_sizes else 0,
        "batch_sizes": list(st.batch_sizes), "calls": u.get("calls", 0),
        "cache_hits": u.get("cache_hits", 0),
        "input_tokens": u.get("input_tokens", 0), "output_tokens": u.get("output_tokens", 0),
        "cost_usd": round(u.get("cost_usd", 0.0), 6),
        "virtual_cost_usd": round(u.get("virtual_cost_usd", 0.0), 6),
        "reasks": u.get("reasks", 0), "failed_calls": u.get("failed_calls", 0),
        "provider": u.get("provider", ""), "model": u.get("model", ""),
        "quality_note": u.get("quality_note", ""), "seconds": round(seconds, 3),
        "sample_violations": list(st.violations),
    }


def _affordable(client: Any, part: list[dict[str, Any]], task: str,
                row_schema: dict[str, Any], k: int, tier: str, model: str | None,
                left: float, step: str, spent: float) -> list[dict[str, Any]]:
    """The leading batches of a wave whose estimated cost (x BUDGET_MARGIN) fits the budget
    left; raises LLMBudgetExceeded when not even one does. The client checks each request
    again, but its output estimate does not know a batch holds k rows."""
    from datasetgen_resources.llm.client import LLMBudgetExceeded

    est = _estimate_batches(client, part, task, row_schema, k, tier, model)
    each = est["cost_usd"] * BUDGET_MARGIN / len(part)
    fit = len(part) if each <= 0 else min(len(part), int(left // each))
    if fit < 1:
        raise LLMBudgetExceeded(f"LLM budget reached in step '{step}': spent ${spent:.4f},"
                                f" next batch estimated ${each:.4f}, budget left"
                                f" ${left:.4f}", {})
    return part[:fit]


def _wave_size(client: Any) -> int:
    """Batches per structured() call: every request of the first provider in flight once."""
    conc = max(1, int(getattr(client.providers[0], "concurrency", 1) or 1))
    return conc * max(1, int(_settings(client).max_batch_size))


def generate_with_llm(client: Any, *, row_schema: dict[str, Any], instruction: str, rows: int,
                      validate: Validate, unique: Sequence[str] = (), seed: int = 0,
                      batch_size: int | None = None, max_rounds: int = 4,
                      examples: list[dict[str, Any]] | None = None,
                      progress: Callable[[int, int], None] | None = None,
                      step: str = "synthetic", max_cost_usd: float | None = None,
                      tier: str = "cheap", model: str | None = None
                      ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """`rows` rows from the LLM, each valid for `row_schema` (jsonschema, formats checked) and
    `validate` (one list of problems per row, empty = valid), unique on `unique` columns and
    as whole rows (copies of `examples` count as duplicates). Returns the frame (schema
    columns in order) and the report. Raises LLMGenerationError on bad arguments, when the
    budget is reached, or when fewer than `rows` valid rows exist after `max_rounds`."""
    from datasetgen_resources.llm.client import LLMBudgetExceeded

    schema_v = _check_args(row_schema, rows, unique, batch_size, max_rounds, examples,
                           max_cost_usd, client)
    started = time.monotonic()
    k_max = batch_size or choose_batch_size(client, row_schema)
    example_keys = {_key({c: e.get(c) for c in row_schema["properties"]})
                    for e in examples or []}
    st = _State(rows)
    wave = _wave_size(client)

    def fail(message: str, fix: str) -> LLMGenerationError:
        report = _report(st, time.monotonic() - started)
        return LLMGenerationError(message, fix=fix, report=report,
                                  frame=frame_from_rows(st.accepted, row_schema))

    while st.missing and st.rounds < max_rounds:
        st.rounds += 1
        rate = len(st.accepted) / st.returned if st.returned else 1.0
        # later rounds ask a little more than the acceptance rate says, so one round usually
        # closes the gap (the surplus is dropped, at the cost of a few rows)
        spare = 1.0 if st.rounds == 1 else REGEN_SPARE
        want = math.ceil(st.missing * spare / max(rate, 0.25))
        k = min(k_max, want)
        n = math.ceil(want / k)
        st.batch_sizes.append(k)
        out_schema = batch_output_schema(row_schema, k)
        task = generation_instruction(instruction, k, examples)
        todo = _descriptors(st.batches, n, seed, k)
        st.batches += n
        failed_before = st.failed_batches
        for lo in range(0, n, wave):
            if not st.missing:
                break
            part = todo[lo:lo + wave]
            left = None if max_cost_usd is None else \
                max(0.0, max_cost_usd - st.usage.get("cost_usd", 0.0))
            try:
                if left is not None:
                    part = _affordable(client, part, task, row_schema, k, tier, model, left,
                                       step, st.usage.get("cost_usd", 0.0))
                # images=[[]...]: no image, and no semantic cache: batch descriptors differ
                # only in their numbers, so their embeddings are ~0.997 alike and a semantic
                # hit would hand one batch another's rows
                res = client.structured(part, task, out_schema, tier=tier, model=model,
                                        step=step, max_cost_usd=left,
                                        images=[[] for _ in part])
            except LLMBudgetExceeded as exc:
                _add_usage(st.usage, exc.usage)
                raise fail(f"{exc}. {min(len(st.accepted), rows)} of {rows} rows were"
                           " accepted before the stop.",
                           "raise max_cost_usd (answers so far are cached, so the rerun with"
                           " the same seed continues from there) or ask for fewer rows"
                           ) from exc
            _add_usage(st.usage, res.usage)
            _collect(part, res.results, st, schema_v, validate, row_schema, unique,
                     example_keys)
            if progress is not None:
                progress(min(len(st.accepted), rows), rows)
        if batch_size is None and st.failed_batches > failed_before:
            k_max = max(1, k // 2)  # answers cut off or malformed: ask for fewer rows each
    if st.missing:
        raise fail(f"only {len(st.accepted)} of {rows} valid, distinct rows after"
                   f" {st.rounds} rounds ({st.invalid} invalid, {st.duplicates} duplicates,"
                   f" {st.failed_batches} failed batches). Examples: "
                   + "; ".join(st.violations[:3]),
                   "raise max_rounds, loosen the constraints the examples show, drop"
                   " `unique` on columns with few possible values, or use a stronger model")
    df = frame_from_rows(st.accepted[:rows], row_schema)
    return df, _report(st, time.monotonic() - started)
