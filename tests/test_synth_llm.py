"""The LLM generator (datasetgen_assets/synth/llm_generator.py) through the real SDKs over
HTTP against our fault-injecting emulator, and one tiny run on the real local llama.cpp
model. The emulator answers `{"rows": [...]}` with an empty list; `rows_emulator` teaches it
to fill a `rows` array with minItems deterministic items (a pure function of the batch and
item index, kept within enum/minimum/maximum, emails valid), so content can be asserted."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest

import datasetgen_resources.llm.emulator as emulator_module
from datasetgen_assets.synth.llm_generator import (
    LLMGenerationError,
    batch_output_schema,
    choose_batch_size,
    estimate_llm_generation,
    generate_with_llm,
    row_tokens,
)
from datasetgen_resources.llm.client import ClientSettings, LLMClient
from datasetgen_resources.llm.emulator import Emulator
from datasetgen_resources.llm.providers import ProviderSpec
from tests.fixtures.llm import LOCAL_API_KEY, LOCAL_KEY_ENV, emulator_client, emulator_spec

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 18, "maximum": 90},
        "plan": {"type": "string", "enum": ["free", "pro", "team"]},
        "email": {"type": "string", "format": "email"},
        "signup": {"type": "string", "format": "date"},
    },
    "required": ["name", "age", "plan", "email", "signup"],
    "additionalProperties": False,
}


def no_violations(df: pd.DataFrame) -> list[list[str]]:
    return [[] for _ in range(len(df))]


def _h(*parts: Any) -> int:
    return int(hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12], 16)


def fake_item(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """One generated row: a deterministic function of the batch text and item index."""
    out: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        v = _h(text, name)
        if "enum" in prop:
            out[name] = prop["enum"][v % len(prop["enum"])]
        elif prop.get("type") == "integer":
            lo, hi = prop.get("minimum", 0), prop.get("maximum", 10**6)
            out[name] = lo + v % (hi - lo + 1)
        elif prop.get("type") == "number":
            lo, hi = prop.get("minimum", 0.0), prop.get("maximum", 1000.0)
            out[name] = round(lo + (v % 10000) / 10000 * (hi - lo), 2)
        elif prop.get("type") == "boolean":
            out[name] = v % 2 == 0
        elif prop.get("format") == "email":
            out[name] = f"user{v % 10**6}@example.com"
        elif prop.get("format") == "date":
            out[name] = (date(2020, 1, 1) + timedelta(days=v % 1500)).isoformat()
        else:
            out[name] = f"{name} {v % 10**6}"
    return out


@pytest.fixture
def rows_emulator(llm_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    original = emulator_module.emulated_answer

    def answer(row: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
        out = original(row, schema)
        text = emulator_module.row_text(row)
        for name, prop in (schema.get("properties") or {}).items():
            items = prop.get("items") if prop.get("type") == "array" else None
            if isinstance(items, dict) and items.get("type") == "object":
                out[name] = [fake_item(f"{text}#{j}", items)
                             for j in range(prop.get("minItems", 1))]
        return out

    monkeypatch.setattr(emulator_module, "emulated_answer", answer)
    return llm_emulator


def _client(emu: Emulator, cache_dir: Path | None = None, spec_kw: dict[str, Any] | None = None,
            **settings: Any) -> LLMClient:
    return emulator_client([emulator_spec(emu, **(spec_kw or {}))], cache_dir, **settings)


def _assert_schema_valid(df: pd.DataFrame, schema: dict[str, Any] = SCHEMA) -> None:
    v = jsonschema.Draft202012Validator(schema,
                                        format_checker=jsonschema.Draft202012Validator
                                        .FORMAT_CHECKER)
    for rec in json.loads(df.to_json(orient="records")):
        assert not list(v.iter_errors(rec)), rec


# ---- happy path, cache, seeds ----------------------------------------------------------------
def test_rows_come_back_validated_typed_and_cached(rows_emulator: Emulator, tmp_path: Path):
    client = _client(rows_emulator, tmp_path, max_batch_size=4)
    df, rep = generate_with_llm(client, row_schema=SCHEMA, instruction="SaaS customers.",
                                rows=30, validate=no_violations, unique=["email"], seed=7)
    assert list(df.columns) == list(SCHEMA["properties"]) and len(df) == 30
    assert str(df["age"].dtype) == "Int64" and df["email"].is_unique
    _assert_schema_valid(df)
    k = rep["batch_size"]
    assert k == choose_batch_size(client, SCHEMA) and k > 1
    assert rep["accepted"] == rep["requested"] == 30 and rep["shortfall"] == 0
    assert rep["rounds"] == 1 and rep["batches"] == math.ceil(30 / k)
    assert rep["calls"] == math.ceil(rep["batches"] / 4) == rows_emulator.stats.requests
    assert rep["cost_usd"] > 0 and rep["provider"] == "emulator"
    # the answer the model was asked for: exactly k rows per batch, with the batch index
    req = rows_emulator.last_requests[0]
    schema = req["response_format"]["json_schema"]["schema"]
    item = schema["properties"]["results"]["items"]["properties"]["rows"]
    assert item["minItems"] == item["maxItems"] == k and item["items"] == SCHEMA
    sent = " ".join(r["messages"][1]["content"] for r in rows_emulator.last_requests)
    assert '"batch": 0, "count": ' + str(k) + ', "seed": 7' in sent
    # rerun with the same seed: all from the cache, same rows, zero requests
    n = rows_emulator.stats.requests
    again, rep2 = generate_with_llm(_client(rows_emulator, tmp_path, max_batch_size=4),
                                    row_schema=SCHEMA, instruction="SaaS customers.",
                                    rows=30, validate=no_violations, unique=["email"], seed=7)
    assert rows_emulator.stats.requests == n and rep2["calls"] == 0
    assert rep2["cache_hits"] == rep["batches"] and rep2["cost_usd"] == 0
    assert rep2["virtual_cost_usd"] == pytest.approx(rep["cost_usd"], rel=1e-6)
    pd.testing.assert_frame_equal(again, df)
    # another seed: new batches, new rows
    other, _ = generate_with_llm(_client(rows_emulator, tmp_path, max_batch_size=4),
                                 row_schema=SCHEMA, instruction="SaaS customers.", rows=30,
                                 validate=no_violations, seed=8)
    assert rows_emulator.stats.requests > n
    assert set(other["email"]).isdisjoint(set(df["email"])) or \
        len(set(other["email"]) & set(df["email"])) < 3


def test_anthropic_tool_mode_generates_the_same_way(rows_emulator: Emulator):
    client = _client(rows_emulator, spec_kw={"kind": "anthropic"}, max_batch_size=3)
    df, rep = generate_with_llm(client, row_schema=SCHEMA, instruction="x", rows=10,
                                validate=no_violations, unique=["email"])
    assert len(df) == 10 and rep["calls"] == math.ceil(rep["batches"] / 3)
    _assert_schema_valid(df)
    tool = rows_emulator.last_requests[0]["tools"][0]["input_schema"]
    assert tool["properties"]["results"]["items"]["properties"]["rows"]["items"] == SCHEMA


# ---- invalid rows, malformed answers, failed batches ------------------------------------------
def test_invalid_rows_are_regenerated(rows_emulator: Emulator):
    def adults_over_40(df: pd.DataFrame) -> list[list[str]]:
        return [[f"age: {a} is below 40"] if a < 40 else [] for a in df["age"]]

    df, rep = generate_with_llm(_client(rows_emulator), row_schema=SCHEMA,
                                instruction="Customers over 40.", rows=40,
                                validate=adults_over_40, seed=1)
    assert len(df) == 40 and (df["age"] >= 40).all()
    assert rep["invalid"] > 5 and rep["rounds"] >= 2
    assert any("is below 40" in v for v in rep["sample_violations"])
    assert rep["returned"] >= 40 + rep["invalid"]


def test_format_violations_are_caught_by_jsonschema(rows_emulator: Emulator):
    schema = json.loads(json.dumps(SCHEMA))
    schema["properties"]["signup"]["format"] = "date-time"  # the fake writes dates only
    with pytest.raises(LLMGenerationError) as err:
        generate_with_llm(_client(rows_emulator), row_schema=schema, instruction="x", rows=3,
                          validate=no_violations, max_rounds=2)
    rep = err.value.report
    assert rep["invalid"] == rep["returned"] > 0 and rep["accepted"] == 0
    assert "is not a 'date-time'" in rep["sample_violations"][0]
    assert "only 0 of 3" in str(err.value) and "Fix:" in str(err.value)


@pytest.mark.parametrize("fault", ["malformed", "truncated"])
def test_malformed_answers_are_reasked_by_the_client(rows_emulator: Emulator, fault: str):
    rows_emulator.configure(fault=fault)
    df, rep = generate_with_llm(_client(rows_emulator, max_batch_size=3), row_schema=SCHEMA,
                                instruction="x", rows=20, validate=no_violations)
    assert len(df) == 20
    _assert_schema_valid(df)
    assert rep["reasks"] >= 1 and rows_emulator.stats.faults[fault] >= 1


def test_batches_that_never_validate_are_regenerated_in_later_rounds(rows_emulator: Emulator):
    rows_emulator.configure(fault="schema", times=99, rate=0.5)  # half the row sets, always
    df, rep = generate_with_llm(_client(rows_emulator, max_batch_size=2), row_schema=SCHEMA,
                                instruction="x", rows=24, validate=no_violations, seed=3,
                                max_rounds=6, batch_size=3)
    assert len(df) == 24
    _assert_schema_valid(df)
    assert rep["failed_batches"] >= 1 and rep["rounds"] >= 2
    assert "schema violation" in " ".join(rep["sample_violations"])
    assert rep["batch_sizes"][:2] == [3, 3]  # a given batch size is kept


def test_failed_batches_halve_the_chosen_batch_size(rows_emulator: Emulator):
    rows_emulator.configure(fault="truncated", times=99, rate=0.6)  # cut off, every time
    client = _client(rows_emulator, output_tokens_per_row=1000, max_batch_size=1)
    df, rep = generate_with_llm(client, row_schema=SCHEMA, instruction="x", rows=40,
                                validate=no_violations, max_rounds=8)
    assert len(df) == 40 and rep["failed_batches"] >= 1
    first = choose_batch_size(client, SCHEMA)
    assert rep["batch_sizes"][0] == first > 4
    assert rep["batch_sizes"][1] <= first // 2


@pytest.mark.parametrize("fault", ["429", "500"])
def test_rate_limits_and_server_errors_are_retried_by_the_sdk(rows_emulator: Emulator,
                                                              fault: str):
    rows_emulator.configure(fault=fault)
    df, rep = generate_with_llm(_client(rows_emulator, max_batch_size=3), row_schema=SCHEMA,
                                instruction="x", rows=18, validate=no_violations)
    assert len(df) == 18
    calls = math.ceil(rep["batches"] / 3)
    assert rep["calls"] == calls and rep["failed_calls"] == 0 and rep["reasks"] == 0
    # every request failed once and was retried by the SDK: twice the HTTP requests
    assert rows_emulator.stats.requests == 2 * calls
    assert rows_emulator.stats.faults[fault] == calls


def test_the_semantic_cache_never_answers_one_batch_with_another(rows_emulator: Emulator,
                                                                   tmp_path: Path):
    client = _client(rows_emulator, tmp_path, spec_kw={"concurrency": 1}, max_batch_size=2,
                     semantic_cache_path=str(tmp_path / "sem.sqlite"))
    df, rep = generate_with_llm(client, row_schema=SCHEMA, instruction="x", rows=12,
                                batch_size=2, validate=no_violations)
    assert len(df) == 12 and rep["duplicates"] == 0 and rep["rounds"] == 1
    assert rep["calls"] == 3 == rows_emulator.stats.requests
    assert client.usage.semantic_cache_hits == 0


# ---- duplicates -----------------------------------------------------------------------------
def test_duplicates_on_unique_columns_and_whole_rows_are_dropped(rows_emulator: Emulator):
    schema = {"type": "object", "properties": {
        "code": {"type": "integer", "minimum": 1, "maximum": 40},
        "tier": {"type": "string", "enum": ["a", "b"]}}, "required": ["code", "tier"]}
    df, rep = generate_with_llm(_client(rows_emulator), row_schema=schema, instruction="x",
                                rows=20, validate=no_violations, unique=["code"], seed=2)
    assert len(df) == 20 and df["code"].is_unique and rep["duplicates"] > 0
    # no unique column: only identical rows are duplicates (2 x 3 possible rows)
    small = {"type": "object", "properties": {
        "tier": {"type": "string", "enum": ["a", "b"]},
        "size": {"type": "string", "enum": ["s", "m", "l"]}}, "required": ["tier", "size"]}
    df2, rep2 = generate_with_llm(_client(rows_emulator), row_schema=small, instruction="x",
                                  rows=6, validate=no_violations, batch_size=4, max_rounds=8)
    assert len(df2) == 6 and not df2.duplicated().any() and rep2["duplicates"] > 0


def test_too_few_distinct_values_is_a_clear_error_with_the_partial_rows(rows_emulator: Emulator):
    schema = {"type": "object", "properties": {
        "plan": {"type": "string", "enum": ["free", "pro", "team"]},
        "n": {"type": "integer", "minimum": 0, "maximum": 1000}}, "required": ["plan", "n"]}
    with pytest.raises(LLMGenerationError) as err:
        generate_with_llm(_client(rows_emulator), row_schema=schema, instruction="x", rows=5,
                          validate=no_violations, unique=["plan"], max_rounds=3)
    e = err.value
    assert "only 3 of 5 valid, distinct rows after 3 rounds" in str(e)
    assert "unique" in (e.fix or "")
    assert e.frame is not None and sorted(e.frame["plan"]) == ["free", "pro", "team"]
    assert e.report["shortfall"] == 2 and e.report["duplicates"] > 0


def test_copies_of_examples_are_duplicates(rows_emulator: Emulator):
    schema = {"type": "object", "properties": {
        "size": {"type": "string", "enum": ["s", "m", "l"]}}, "required": ["size"]}
    examples = [{"size": "s"}, {"size": "m"}]
    df, _ = generate_with_llm(_client(rows_emulator), row_schema=schema, instruction="x",
                              rows=1, validate=no_violations, examples=examples,
                              batch_size=3)
    assert df["size"].tolist() == ["l"]
    system = rows_emulator.last_requests[0]["messages"][0]["content"]
    assert '[{"size": "s"}, {"size": "m"}]' in system and "do not copy" in system


# ---- budget, estimate, progress -------------------------------------------------------------
def test_budget_stops_the_run_and_the_rerun_continues_from_the_cache(rows_emulator: Emulator,
                                                                      tmp_path: Path):
    kw: dict[str, Any] = {"spec_kw": {"concurrency": 1}, "max_batch_size": 2}
    est = estimate_llm_generation(_client(rows_emulator, **kw), row_schema=SCHEMA,
                                  instruction="x", rows=60, tier="best")
    assert est["calls"] >= 6 and est["cost_usd"] > 0
    with pytest.raises(LLMGenerationError) as err:
        generate_with_llm(_client(rows_emulator, tmp_path, **kw), row_schema=SCHEMA,
                          instruction="x", rows=60, validate=no_violations, tier="best",
                          max_cost_usd=est["cost_usd"] / 3)
    e = err.value
    assert "budget" in str(e) and "max_cost_usd" in (e.fix or "")
    assert e.report["cost_usd"] <= est["cost_usd"] / 3
    made = rows_emulator.stats.requests
    assert 0 < made < est["calls"]
    df, rep = generate_with_llm(_client(rows_emulator, tmp_path, **kw), row_schema=SCHEMA,
                                instruction="x", rows=60, validate=no_violations, tier="best",
                                max_cost_usd=est["cost_usd"] * 5)
    assert len(df) == 60 and rep["cache_hits"] >= made  # what was paid is not paid again
    assert rows_emulator.stats.requests == made + rep["calls"] and rep["calls"] < est["calls"]


def test_run_wide_budget_of_the_resource_stops_generation(rows_emulator: Emulator):
    client = _client(rows_emulator, max_run_cost_usd=1e-9)
    with pytest.raises(LLMGenerationError, match="budget") as err:
        generate_with_llm(client, row_schema=SCHEMA, instruction="x", rows=5,
                          validate=no_violations)
    assert rows_emulator.stats.requests == 0 and err.value.report["accepted"] == 0


def test_estimate_matches_what_the_run_costs(rows_emulator: Emulator):
    client = _client(rows_emulator, max_batch_size=5)
    before = rows_emulator.stats.requests
    est = estimate_llm_generation(client, row_schema=SCHEMA, instruction="Customers.",
                                  rows=100, tier="standard")
    assert rows_emulator.stats.requests == before  # nothing generated
    assert est["batches"] == math.ceil(100 / est["batch_size"]) and est["priced"]
    _, rep = generate_with_llm(client, row_schema=SCHEMA, instruction="Customers.", rows=100,
                               validate=no_violations, tier="standard")
    assert rep["rounds"] == 1 and rep["calls"] == est["calls"]
    assert rep["input_tokens"] == pytest.approx(est["input_tokens"], rel=0.25)
    assert rep["output_tokens"] == pytest.approx(est["output_tokens"], rel=0.25)
    assert rep["cost_usd"] == pytest.approx(est["cost_usd"], rel=0.25)


def test_progress_is_reported_after_every_wave(rows_emulator: Emulator):
    seen: list[tuple[int, int]] = []
    client = _client(rows_emulator, spec_kw={"concurrency": 1}, max_batch_size=2)
    df, rep = generate_with_llm(client, row_schema=SCHEMA, instruction="x", rows=24,
                                validate=no_violations, batch_size=3,
                                progress=lambda done, total: seen.append((done, total)))
    # 8 batches, 2 per request, one request in flight: a report per finished request
    assert len(df) == 24 and rep["calls"] == 4 == len(seen)
    assert seen == [(6, 24), (12, 24), (18, 24), (24, 24)]


# ---- sizing and bad arguments ---------------------------------------------------------------
def test_batch_size_follows_the_schema_and_the_output_limit(llm_emulator: Emulator):
    small = {"type": "object", "properties": {"a": {"type": "integer"}}}
    wide = {"type": "object", "properties": {f"field_{i}": {"type": "string"}
                                             for i in range(12)}}
    c200 = _client(llm_emulator)
    c2000 = _client(llm_emulator, output_tokens_per_row=2000)
    assert row_tokens(wide) > 5 * row_tokens(small)
    assert choose_batch_size(c200, wide) < choose_batch_size(c200, small)
    assert choose_batch_size(c2000, wide) > choose_batch_size(c200, wide) >= 1
    assert choose_batch_size(c2000, small) == 25  # capped
    assert batch_output_schema(small, 4)["properties"]["rows"]["minItems"] == 4
    # free text described in words (row_json_schema's "5 to 15 words") counts as longer
    text = {"type": "object", "properties": {"a": {"type": "string",
                                                   "description": "20 to 40 words"}}}
    assert row_tokens(text) > row_tokens({"type": "object",
                                          "properties": {"a": {"type": "string"}}}) + 30


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"row_schema": {"type": "array"}}, "row_schema must be a JSON schema of one row"),
    ({"row_schema": {"type": "object", "properties": {"a": {"type": "strng"}}}},
     "row_schema is not a valid JSON schema at properties/a/type"),
    ({"rows": -1}, "rows must be a whole number >= 0"),
    ({"unique": "email"}, "unique must be a list of column names"),
    ({"unique": ["emial"]}, "unique column 'emial' is not a property of row_schema. Did you"
                            " mean 'email'?"),
    ({"batch_size": 40}, "batch_size 40 needs about"),
    ({"batch_size": 0}, "batch_size must be at least 1"),
    ({"max_rounds": 0}, "max_rounds must be at least 1"),
    ({"max_cost_usd": 0}, "max_cost_usd must be positive"),
    ({"examples": [["a"]]}, "examples must be a list of row objects"),
])
def test_bad_arguments_are_clear_errors(llm_emulator: Emulator, kwargs: dict[str, Any],
                                        message: str):
    args: dict[str, Any] = {"row_schema": SCHEMA, "instruction": "x", "rows": 5,
                            "validate": no_violations, **kwargs}
    with pytest.raises(LLMGenerationError) as err:
        generate_with_llm(_client(llm_emulator), **args)
    assert message in str(err.value) and "Fix:" in str(err.value)
    assert llm_emulator.stats.requests == 0


def test_zero_rows_is_an_empty_frame_without_calls(llm_emulator: Emulator):
    client = _client(llm_emulator)
    df, rep = generate_with_llm(client, row_schema=SCHEMA, instruction="x", rows=0,
                                validate=no_violations)
    assert df.empty and list(df.columns) == list(SCHEMA["properties"])
    assert rep["accepted"] == rep["calls"] == rep["rounds"] == 0
    est = estimate_llm_generation(client, row_schema=SCHEMA, instruction="x", rows=0)
    assert est["calls"] == est["batches"] == 0 and est["cost_usd"] == 0
    assert llm_emulator.stats.requests == 0


def test_batch_size_error_names_the_size_that_fits(llm_emulator: Emulator):
    client = _client(llm_emulator)
    with pytest.raises(LLMGenerationError) as err:
        estimate_llm_generation(client, row_schema=SCHEMA, instruction="x", rows=10,
                                batch_size=40)
    assert f"use batch_size <= {choose_batch_size(client, SCHEMA)}" in str(err.value)


# ---- the real local model ---------------------------------------------------------------------
def test_real_local_model_returns_schema_valid_rows(local_llm_server: Any,
                                                    monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(LOCAL_KEY_ENV, LOCAL_API_KEY)
    spec = ProviderSpec(name="local", kind="openai", base_url=local_llm_server.openai_base_url,
                        api_key_env=LOCAL_KEY_ENV, concurrency=1, timeout_s=60,
                        models={"cheap": "smollm2-135m"})
    client = LLMClient([spec], settings=ClientSettings(output_tokens_per_row=120))
    schema = {"type": "object", "properties": {
        "fruit": {"type": "string", "maxLength": 12},
        "price": {"type": "integer", "minimum": 1, "maximum": 9}},
        "required": ["fruit", "price"], "additionalProperties": False}
    df, rep = generate_with_llm(client, row_schema=schema, instruction="Fruit prices.",
                                rows=2, batch_size=2, validate=no_violations, max_rounds=3)
    assert len(df) == 2 and list(df.columns) == ["fruit", "price"]
    _assert_schema_valid(df, schema)
    assert rep["calls"] >= 1 and rep["output_tokens"] > 0 and rep["cost_usd"] == 0


# ---- with the schema's constraints (row_json_schema / violations), the step and the CLI -------
CUSTOMERS: dict[str, Any] = {"name": "customers", "fields": {
    "id": {"type": "integer", "unique": True, "min": 1, "max": 100000},
    "email": {"type": "email", "unique": True},
    "plan": {"type": "category", "enum": ["free", "pro"]},
    "age": {"type": "integer", "min": 18, "max": 90},
    "signup": {"type": "date", "min": "2021-06-01", "max": "2024-12-31"}}}


def _customers() -> Any:
    from datasetgen_assets.synth.schema import load_schema

    return load_schema(CUSTOMERS, file="customers.yaml").table(None)


def test_schema_constraints_reject_rows_and_the_result_adheres(rows_emulator: Emulator):
    from datasetgen_assets.synth.constraints import row_json_schema, violations

    table = _customers()
    df, rep = generate_with_llm(_client(rows_emulator), row_schema=row_json_schema(table),
                                instruction="Customers.", rows=25,
                                validate=lambda d: violations(d, table), unique=["id", "email"])
    assert len(df) == 25 and not any(violations(df, table))
    assert df["id"].is_unique and df["email"].is_unique
    # the fake writes dates from 2020-01-01 on: those before the schema's min were redone
    assert rep["invalid"] > 0 and rep["rounds"] >= 2
    assert any("signup" in v and "outside" in v for v in rep["sample_violations"])
    assert (pd.to_datetime(df["signup"]) >= "2021-06-01").all()


def test_synthetic_step_with_the_llm_generator(rows_emulator: Emulator):
    from datasetgen_assets.steps import synthetic
    from datasetgen_assets.steps.registry import StepContext

    cfg = synthetic.SyntheticConfig(schema=CUSTOMERS, generator="llm", rows=12, seed=4)
    ctx = StepContext(pipeline="p", step_id="customers", llm=_client(rows_emulator))
    res = synthetic.run([], cfg, ctx)
    # (an inline schema's fields come back sorted by name: the step freezes it with sort_keys)
    assert len(res.frame) == 12 and sorted(res.frame.columns) == sorted(CUSTOMERS["fields"])
    llm = res.report["llm"]
    assert llm["accepted"] == 12 and llm["calls"] >= 1 and llm["cost_usd"] > 0
    check = res.checks[0]
    assert check.passed and res.report["adherence"]["overall"] == 100.0


def _emulator_env(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    monkeypatch.setenv("DATASETGEN_LLM_PROVIDERS", "emulator")
    monkeypatch.setenv("DATASETGEN_LLM_EMULATOR_BASE_URL", emu.openai_base_url())
    monkeypatch.setenv("DATASETGEN_LLM_EMULATOR_MODEL", "emu-cheap")
    monkeypatch.setenv("DATASETGEN_LLM_CACHE", "none")


def test_generate_command_dry_run_prints_the_estimate_and_a_run_writes_rows(
        rows_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import yaml
    from click.testing import CliRunner

    from datasetgen_assets.cli import main
    from datasetgen_assets.synth.constraints import row_json_schema
    from datasetgen_resources.llm.resource import LLMResource

    _emulator_env(monkeypatch, rows_emulator)
    schema_file = tmp_path / "customers.yaml"
    schema_file.write_text(yaml.safe_dump(CUSTOMERS))
    res = CliRunner().invoke(main, ["generate", str(schema_file), "--generator", "llm",
                                    "--rows", "40", "--instruction", "Customers.",
                                    "--dry-run"])
    assert res.exit_code == 0, res.output
    est = json.loads(res.stdout[res.stdout.index("{"):])
    assert rows_emulator.stats.requests == 0  # nothing generated
    want = estimate_llm_generation(LLMResource().get_client(),
                                   row_schema=row_json_schema(_customers()),
                                   instruction="Customers.", rows=40)
    assert est == want and est["provider"] == "emulator" and est["cost_usd"] > 0
    out = tmp_path / "customers.csv"
    res = CliRunner().invoke(main, ["generate", str(schema_file), "--generator", "llm",
                                    "--rows", "15", "--out", str(out)])
    assert res.exit_code == 0, res.output
    written = pd.read_csv(out)
    assert len(written) == 15 and written["email"].is_unique
    assert rows_emulator.stats.requests >= 1
