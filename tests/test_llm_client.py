"""The LLM client against our fault-injecting emulator, through the official SDKs over HTTP:
no row lost under every fault, re-ask, single-row fallback, cache, budget, provider
fallback and the circuit breaker, accounting."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasetgen_resources.llm.client import LLMBudgetExceeded
from datasetgen_resources.llm.emulator import Emulator, emulated_answer
from tests.fixtures.llm import (
    emulator_client,
    emulator_spec,
)

SCHEMA = {"type": "object",
          "properties": {"summary": {"type": "string"}, "length": {"type": "integer"},
                         "label": {"type": "string", "enum": ["a", "b", "c"]}},
          "required": ["summary", "length", "label"], "additionalProperties": False}
ROWS = [{"name": f"item {i}", "price": i * 1.5} for i in range(30)]


def expected(rows=ROWS, schema=SCHEMA):
    return [emulated_answer(r, schema) for r in rows]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("fault", [None, "429", "500", "timeout", "truncated", "malformed",
                                   "schema", "misaligned", "missing"])
def test_no_row_lost_under_every_fault(llm_emulator: Emulator, kind: str, fault: str | None):
    llm_emulator.configure(fault=fault, timeout_sleep_s=1.2)
    client = emulator_client([emulator_spec(llm_emulator, kind=kind, timeout_s=0.8)],
                             max_batch_size=10)
    res = client.structured(ROWS, "Summarize the item.", SCHEMA)
    assert res.results == expected()  # every row, right content, same order
    if fault:
        assert llm_emulator.stats.faults.get(fault, 0) >= 1
    u = res.usage
    if fault in {"truncated", "malformed"}:
        assert u["reasks"] == 3 and u["single_row_fallbacks"] == 0
    if fault == "misaligned":  # unknown ids: every row of every batch asked alone
        assert u["single_row_fallbacks"] == 30 and llm_emulator.stats.single == 30
    if fault == "missing":  # one row missing per batch: only that row asked alone
        assert u["single_row_fallbacks"] == 3
    if fault in {None, "429", "500", "timeout"}:  # SDK retries are invisible to us
        assert u["calls"] == 3 and llm_emulator.stats.batched == 3 + (3 if fault else 0)


def test_row_that_never_validates_is_kept_with_error(llm_emulator: Emulator):
    llm_emulator.configure(fault="schema", times=99)
    client = emulator_client([emulator_spec(llm_emulator)], max_batch_size=5)
    res = client.structured(ROWS[:7], "x", SCHEMA)
    assert len(res.results) == 7
    assert all("_error" in r and "schema" in r["_error"] for r in res.results)
    assert res.usage["row_errors"] == 7


def test_failed_provider_rows_have_errors_and_are_not_cached(llm_emulator: Emulator,
                                                              tmp_path: Path):
    llm_emulator.configure(fault="500", times=99)
    client = emulator_client([emulator_spec(llm_emulator, max_retries=1)], tmp_path)
    res = client.structured(ROWS[:4], "x", SCHEMA)
    assert all("all providers failed" in r["_error"] for r in res.results)
    assert "HTTP 500" in res.results[0]["_error"]
    llm_emulator.configure(fault=None)
    again = emulator_client([emulator_spec(llm_emulator)], tmp_path)
    res2 = again.structured(ROWS[:4], "x", SCHEMA)
    assert res2.results == expected(ROWS[:4]) and res2.usage["cache_hits"] == 0


def test_cache_hit_on_rerun_makes_zero_calls(llm_emulator: Emulator, tmp_path: Path):
    first = emulator_client([emulator_spec(llm_emulator)], tmp_path, max_batch_size=10)
    r1 = first.structured(ROWS, "Summarize.", SCHEMA)
    calls = llm_emulator.stats.requests
    assert calls == 3 and r1.usage["cost_usd"] > 0
    second = emulator_client([emulator_spec(llm_emulator)], tmp_path, max_batch_size=10)
    r2 = second.structured(ROWS, "Summarize.", SCHEMA)
    assert llm_emulator.stats.requests == calls  # zero new requests
    assert r2.results == r1.results
    assert r2.usage["calls"] == 0 and r2.usage["cache_hits"] == 30
    assert r2.usage["cost_usd"] == 0 and r2.usage["virtual_cost_usd"] == pytest.approx(
        r1.usage["cost_usd"], rel=1e-6)
    # a changed instruction is a different key
    second.structured(ROWS[:2], "Summarize differently.", SCHEMA)
    assert llm_emulator.stats.requests == calls + 1


def test_rows_answered_one_by_one_are_cached_too(llm_emulator: Emulator, tmp_path: Path):
    llm_emulator.configure(fault="misaligned", times=99)
    c = emulator_client([emulator_spec(llm_emulator)], tmp_path, max_batch_size=10)
    assert c.structured(ROWS[:10], "x", SCHEMA).results == expected(ROWS[:10])
    n = llm_emulator.stats.requests
    r = emulator_client([emulator_spec(llm_emulator)], tmp_path).structured(ROWS[:10], "x",
                                                                           SCHEMA)
    assert llm_emulator.stats.requests == n and r.usage["cache_hits"] == 10


def test_budget_stop_keeps_completed_batches_cached(llm_emulator: Emulator, tmp_path: Path):
    spec = emulator_spec(llm_emulator, concurrency=1)
    rows = [{"text": "word " * 200, "i": i} for i in range(40)]
    schema = {"type": "object", "properties": {"length": {"type": "integer"}},
              "required": ["length"]}
    probe = emulator_client([spec], max_batch_size=10).estimate(rows, "x", schema, tier="best")
    assert probe["priced"] and probe["requests"] >= 4
    budget = probe["cost_usd"] / 3
    client = emulator_client([spec], tmp_path, max_batch_size=10)
    with pytest.raises(LLMBudgetExceeded) as err:
        client.structured(rows, "x", schema, tier="best", max_cost_usd=budget)
    assert "budget" in str(err.value)
    assert err.value.usage["cost_usd"] <= budget
    made = llm_emulator.stats.requests
    assert 0 < made < probe["requests"]
    # the rerun with enough budget continues from the cache
    again = emulator_client([spec], tmp_path, max_batch_size=10)
    res = again.structured(rows, "x", schema, tier="best", max_cost_usd=budget * 10)
    assert res.usage["cache_hits"] == made * 10
    assert res.results == expected(rows, schema)


def test_run_budget_across_calls(llm_emulator: Emulator):
    client = emulator_client([emulator_spec(llm_emulator)], max_run_cost_usd=1e-9)
    with pytest.raises(LLMBudgetExceeded):
        client.structured(ROWS[:3], "x", SCHEMA)
    assert llm_emulator.stats.requests == 0


def test_fallback_to_second_provider_and_circuit_breaker(llm_emulator: Emulator):
    llm_emulator.configure("bad", fault="500", times=999)
    bad = emulator_spec(llm_emulator, "bad", name="primary", max_retries=1, concurrency=1)
    good = emulator_spec(llm_emulator, "good", name="secondary", kind="anthropic")
    client = emulator_client([bad, good], max_batch_size=5, breaker_threshold=2,
                             breaker_cooldown_s=60)
    res = client.structured(ROWS, "x", SCHEMA)
    assert res.results == expected()
    assert res.usage["answered_by"] == {"secondary/emu-cheap": 30}
    assert res.usage["provider_fallbacks"] >= 2
    assert client.breaker("primary").is_open
    # 2 failed batches x (1 try + 1 SDK retry); the other 4 batches skipped the open breaker
    assert llm_emulator.stats.by_profile["bad"] == 4
    assert llm_emulator.stats.by_profile["good"] == 6


def test_auth_error_falls_back_without_leaking_the_key(llm_emulator: Emulator,
                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EMU_KEY", "sk-secret-value-123")
    llm_emulator.configure("auth", api_key="another-key")
    spec = emulator_spec(llm_emulator, "auth", name="keyed", api_key_env="EMU_KEY")
    res = emulator_client([spec]).structured(ROWS[:2], "x", SCHEMA)
    assert "HTTP 401" in res.results[0]["_error"]
    assert "sk-secret-value-123" not in repr(res)
    monkeypatch.delenv("EMU_KEY")
    res = emulator_client([spec]).structured(ROWS[:2], "x", SCHEMA)
    assert "EMU_KEY" in res.results[0]["_error"] and "not set" in res.results[0]["_error"]


def test_batches_respect_token_budget_and_concurrency(llm_emulator: Emulator):
    llm_emulator.configure(latency_s=0.2)
    rows = [{"text": "x" * 400, "i": i} for i in range(24)]  # ~100 tokens each
    client = emulator_client([emulator_spec(llm_emulator, concurrency=3)],
                             max_batch_size=50, batch_token_budget=600)
    res = client.structured(rows, "x", SCHEMA)
    assert res.results == expected(rows)
    # ~110 tokens per row + ~200 tokens of prompt and schema: 3 rows per 600-token request
    assert res.usage["calls"] == llm_emulator.stats.batched == 8
    assert llm_emulator.stats.max_in_flight == 3


def test_prompt_mode_and_usage_accounting(llm_emulator: Emulator):
    spec = emulator_spec(llm_emulator, structured_mode="prompt")
    client = emulator_client([spec], max_batch_size=100)
    res = client.structured(ROWS, "x", SCHEMA, tier="standard")
    assert res.results == expected()
    u = res.usage
    assert u["calls"] == 1 and u["input_tokens"] > 0 and u["output_tokens"] > 0
    want = (u["input_tokens"] * 1.0 + u["output_tokens"] * 4.0) / 1e6  # prices.yaml
    assert u["cost_usd"] == pytest.approx(want, rel=1e-3)
    assert u["provider"] == "emulator" and u["model"] == "emu-standard"
    assert client.run_usage.calls == 1


def test_explicit_model_and_bad_tier(llm_emulator: Emulator):
    client = emulator_client([emulator_spec(llm_emulator)])
    res = client.structured(ROWS[:2], "x", SCHEMA, model="emu-custom")
    assert res.usage["model"] == "emu-custom"
    res = client.structured(ROWS[:2], "x", SCHEMA, tier="huge")
    assert "no model for tier 'huge'" in res.results[0]["_error"]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_vision_rows_go_alone_with_image_blocks(llm_emulator: Emulator, kind: str):
    client = emulator_client([emulator_spec(llm_emulator, kind=kind)])
    img = "data:image/png;base64,iVBORw0KGgo="
    res = client.structured(ROWS[:3], "Describe.", SCHEMA, images=[[img], [], []])
    assert res.results == expected(ROWS[:3])
    assert llm_emulator.stats.single == 1 and llm_emulator.stats.batched == 1
    (vision,) = [r for r in llm_emulator.last_requests
                 if isinstance(r["messages"][-1]["content"], list)]
    blocks = vision["messages"][-1]["content"]
    if kind == "openai":
        assert {"type": "image_url", "image_url": {"url": img}} in blocks
    else:
        assert {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                            "data": "iVBORw0KGgo="}} in blocks


def test_anthropic_extended_thinking_is_requested(llm_emulator: Emulator):
    spec = emulator_spec(llm_emulator, kind="anthropic", thinking_budget_tokens=1024)
    res = emulator_client([spec]).structured(ROWS[:2], "x", SCHEMA)
    assert res.results == expected(ROWS[:2])
    req = llm_emulator.last_requests[-1]
    assert req["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert req["tool_choice"] == {"type": "auto"}  # forced tool use is not allowed with it
    assert req["max_tokens"] > 1024


@pytest.mark.service
@pytest.mark.parametrize("backend", ["postgres", "redis"])
def test_shared_cache_backends(backend: str, llm_emulator: Emulator,
                               monkeypatch: pytest.MonkeyPatch):
    import uuid

    from datasetgen_resources.llm.accounting import PriceTable
    from datasetgen_resources.llm.cache import open_cache
    from datasetgen_resources.llm.client import ClientSettings, LLMClient
    from tests.fixtures.services import POSTGRES_URL, require_service

    if backend == "postgres":
        require_service("PostgreSQL", "127.0.0.1", 5432)
        monkeypatch.setenv("TEST_LLM_CACHE_URL", POSTGRES_URL)
    else:
        require_service("Redis", "127.0.0.1", 6379)
        monkeypatch.setenv("TEST_LLM_CACHE_URL", "redis://127.0.0.1:6379/0")
    llm_emulator.stats.requests = 0
    instruction = f"Summarize ({uuid.uuid4().hex})"  # fresh keys in a shared database
    spec = emulator_spec(llm_emulator)
    for expected_calls in (1, 0):
        cache = open_cache(backend, url_env="TEST_LLM_CACHE_URL")
        client = LLMClient([spec], cache, PriceTable.load(), ClientSettings())
        res = client.structured(ROWS[:5], instruction, SCHEMA)
        cache.close()
        assert res.results == expected(ROWS[:5])
        assert res.usage["calls"] == expected_calls
    assert llm_emulator.stats.requests == 1


def test_semantic_cache_reuses_near_identical_rows_only(llm_emulator: Emulator, tmp_path):
    from datasetgen_resources.llm.accounting import PriceTable
    from datasetgen_resources.llm.cache import SQLiteCache
    from datasetgen_resources.llm.client import ClientSettings, LLMClient

    first = [{"review": "The delivery was fast and the parcel arrived intact."},
             {"review": "Terrible support, nobody answered my emails for weeks."}]
    near = [{"review": "The delivery was fast and the parcel arrived intact!"}]
    other = [{"review": "I would like to change the colour of my order to blue."}]
    spec = emulator_spec(llm_emulator)

    def client(semantic: bool) -> LLMClient:
        settings = ClientSettings(
            semantic_cache_path=str(tmp_path / "sem.sqlite") if semantic else None)
        return LLMClient([spec], SQLiteCache(tmp_path / "c.sqlite"), PriceTable.load(),
                         settings)

    on = client(True)
    assert on.structured(first, "Summarize", SCHEMA).usage["calls"] == 1
    res = on.structured(near, "Summarize", SCHEMA)
    assert res.usage["calls"] == 0 and res.usage["semantic_cache_hits"] == 1
    assert res.results == expected(first[:1])  # the near-identical row's answer
    assert on.structured(other, "Summarize", SCHEMA).usage["calls"] == 1  # not similar enough
    # another instruction is another namespace: no reuse across tasks
    assert on.structured(near, "Translate to French", SCHEMA).usage["calls"] == 1
    off = client(False)  # off by default: the exact cache alone misses
    assert off.structured(near, "Summarize", SCHEMA).usage["calls"] == 1
