"""Against the real local llama.cpp server (SmolLM2-135M): OpenAI chat completions with
json_schema, streaming, usage fields, Anthropic messages, 400/401 errors, and the resource's
lazily started embedded server. The model is weak: these tests check shape and plumbing,
not content. Prompts are tiny and max_tokens small (the model runs ~100 tokens/s)."""

from __future__ import annotations

import os
from typing import Any

import anthropic
import openai
import pytest

from datasetgen_resources.llm import LLMResource, local_server
from datasetgen_resources.llm.client import ClientSettings, LLMClient
from datasetgen_resources.llm.providers import ProviderSpec
from tests.fixtures.llm import (
    LOCAL_API_KEY,
    LOCAL_KEY_ENV,
)

SCHEMA = {"type": "object", "properties": {"kind": {"type": "string",
                                                    "enum": ["fruit", "vegetable"]}},
          "required": ["kind"]}


@pytest.fixture
def local_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(LOCAL_KEY_ENV, LOCAL_API_KEY)
    return LOCAL_API_KEY


def _spec(server: Any, **kw: Any) -> ProviderSpec:
    d: dict[str, Any] = {"name": "local", "kind": "openai", "base_url": server.openai_base_url,
                         "api_key_env": LOCAL_KEY_ENV, "concurrency": 1, "timeout_s": 60,
                         "models": {"cheap": "smollm2-135m"}, "max_output_tokens": 128,
                         "quality_note": "weak local model"}
    d.update(kw)
    return ProviderSpec(**d)


def test_structured_rows_through_openai_json_schema(local_llm_server: Any, local_key: str):
    client = LLMClient([_spec(local_llm_server)],
                       settings=ClientSettings(output_tokens_per_row=40))
    rows = [{"name": "apple"}, {"name": "carrot"}]
    res = client.structured(rows, "Is it a fruit or a vegetable?", SCHEMA)
    assert len(res.results) == 2
    for r in res.results:  # grammar-constrained: schema-valid, or an explicit error
        assert r.get("kind") in {"fruit", "vegetable"} or "_error" in r
    assert sum("kind" in r for r in res.results) >= 1
    u = res.usage
    assert u["calls"] >= 1 and u["input_tokens"] > 20 and u["output_tokens"] > 0
    assert u["quality_note"] == "weak local model" and u["cost_usd"] == 0


def test_openai_sdk_usage_and_streaming(local_llm_server: Any):
    c = openai.OpenAI(base_url=local_llm_server.openai_base_url, api_key=LOCAL_API_KEY,
                      max_retries=0, timeout=60)
    resp = c.chat.completions.create(
        model="smollm2-135m", max_tokens=20, temperature=0,
        messages=[{"role": "user", "content": "Name a color as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": {
            "type": "object", "properties": {"color": {"type": "string"}},
            "required": ["color"]}}})
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.choices[0].message.content.lstrip().startswith("{")
    chunks = list(c.chat.completions.create(
        model="smollm2-135m", max_tokens=6, stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Say hello."}]))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert len(chunks) >= 3 and text.strip()
    assert any(ch.usage is not None and ch.usage.completion_tokens > 0 for ch in chunks)


def test_anthropic_messages_and_usage(local_llm_server: Any):
    c = anthropic.Anthropic(base_url=local_llm_server.base_url, api_key=LOCAL_API_KEY,
                            max_retries=0, timeout=60)
    msg = c.messages.create(model="smollm2-135m", max_tokens=8,
                            messages=[{"role": "user", "content": "Say hi."}])
    assert msg.content[0].type == "text" and msg.content[0].text.strip()
    assert msg.usage.output_tokens > 0
    assert msg.stop_reason in {"end_turn", "max_tokens"}
    with c.messages.stream(model="smollm2-135m", max_tokens=6,
                           messages=[{"role": "user", "content": "Say hi."}]) as stream:
        streamed = "".join(stream.text_stream)
    assert streamed.strip()


def test_anthropic_provider_prompt_mode_keeps_every_row(local_llm_server: Any,
                                                        local_key: str):
    spec = _spec(local_llm_server, kind="anthropic", base_url=local_llm_server.base_url,
                 structured_mode="prompt")
    res = LLMClient([spec], settings=ClientSettings(output_tokens_per_row=16)).structured(
        [{"name": "leek"}], "fruit or vegetable?", SCHEMA)
    assert len(res.results) == 1 and 1 <= res.usage["calls"] <= 2
    assert all(("kind" in r) != ("_error" in r) for r in res.results)


def test_401_and_400_errors(local_llm_server: Any, monkeypatch: pytest.MonkeyPatch):
    bad = openai.OpenAI(base_url=local_llm_server.openai_base_url, api_key="wrong",
                        max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="m", max_tokens=2,
                                    messages=[{"role": "user", "content": "x"}])
    good = openai.OpenAI(base_url=local_llm_server.openai_base_url, api_key=LOCAL_API_KEY,
                         max_retries=0)
    with pytest.raises(openai.BadRequestError):
        good.chat.completions.create(model="m", max_tokens=2, n=3,
                                     messages=[{"role": "user", "content": "x"}])
    # through our client: the row keeps a clear error and the key never shows
    monkeypatch.setenv(LOCAL_KEY_ENV, "sk-wrong-secret-999")
    res = LLMClient([_spec(local_llm_server)]).structured([{"a": 1}], "x", SCHEMA)
    assert "HTTP 401" in res.results[0]["_error"]
    assert "sk-wrong-secret-999" not in repr(res.results)


def test_resource_starts_embedded_server_lazily_and_stops_it(tmp_path: Any):
    local_server.shutdown()
    resource = LLMResource(cache_path=str(tmp_path / "c.sqlite"), output_tokens_per_row=30)
    client = resource.get_client()
    assert local_server._shared is None  # nothing started yet
    res = client.structured([{"name": "plum"}], "fruit or vegetable?", SCHEMA)
    server = local_server._shared
    assert server is not None and server.process.poll() is None
    assert len(res.results) == 1
    assert "weak" in res.usage["quality_note"]
    again = resource.get_client().structured([{"name": "plum"}], "fruit or vegetable?", SCHEMA)
    assert again.usage["calls"] == 0 or "_error" in res.results[0]
    local_server.shutdown()
    assert server.process.poll() is not None
    assert os.environ.get("DATASETGEN_LLM_PROVIDERS") is None
