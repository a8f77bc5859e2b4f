"""Providers behind one interface: the official OpenAI SDK (OpenAI and every
OpenAI-compatible endpoint by base_url: Gemini, Ollama, vLLM, llama.cpp) and the official
Anthropic SDK. Retries on 429/5xx/timeouts are the SDKs' own (max_retries, timeout are
configured here, never wrapped in a second loop). Keys come from environment variables."""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

ProviderKind = Literal["openai", "anthropic"]


@dataclass
class ProviderSpec:
    """One provider of the chain. `models` maps tiers (cheap/standard/best) to model names."""

    name: str
    kind: ProviderKind = "openai"
    base_url: str | None = None
    api_key_env: str | None = None  # NAME of the env var holding the key, never the key
    models: dict[str, str] = field(default_factory=dict)
    max_retries: int = 2  # the SDK's own retries (429, 5xx, timeouts, connection errors)
    timeout_s: float = 60.0
    concurrency: int = 8  # requests in flight
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    structured_mode: Literal["native", "prompt"] = "native"  # prompt: JSON asked in text
    max_output_tokens: int = 1024
    thinking_budget_tokens: int | None = None  # Anthropic extended thinking
    quality_note: str = ""
    vision: bool = False  # accepts image parts (llm_process image_column)


# Built-in presets; any field can be overridden by config.
PRESETS: dict[str, dict[str, Any]] = {
    "local": {"kind": "openai", "api_key_env": None,
              "models": {"cheap": "smollm2-135m", "standard": "smollm2-135m",
                         "best": "smollm2-135m"},
              "concurrency": 1, "timeout_s": 120.0, "max_output_tokens": 256,
              "quality_note": "local SmolLM2-135M (llama.cpp): schema-valid but semantically"
                              " weak answers; point the LLM resource at a real model for"
                              " real work"},
    "openai": {"kind": "openai", "api_key_env": "OPENAI_API_KEY",
               "models": {"cheap": "gpt-4.1-mini", "standard": "gpt-4.1", "best": "gpt-5"},
               "vision": True},
    "anthropic": {"kind": "anthropic", "api_key_env": "ANTHROPIC_API_KEY",
                  "models": {"cheap": "claude-haiku-4-5", "standard": "claude-sonnet-4-5",
                             "best": "claude-opus-4-1"}, "vision": True},
    "gemini": {"kind": "openai", "api_key_env": "GEMINI_API_KEY",
               "base_url": "https://generativelanguage.googleapis.com/v1beta/openai/",
               "models": {"cheap": "gemini-2.5-flash-lite", "standard": "gemini-2.5-flash",
                          "best": "gemini-2.5-pro"}, "vision": True},
    "ollama": {"kind": "openai", "api_key_env": None, "base_url": "http://127.0.0.1:11434/v1",
               "models": {"cheap": "llama3.2", "standard": "llama3.1", "best": "llama3.1"}},
}


@dataclass
class Completion:
    text: str  # the JSON text of the answer (tool input for Anthropic tool mode)
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    finish_reason: str | None = None
    model: str = ""


class ProviderError(Exception):
    """A provider call failed after the SDK's own retries; the message carries no secret."""

    def __init__(self, provider: str, message: str, status: int | None = None,
                 retryable: bool = True):
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.status = status
        self.retryable = retryable


def api_key(spec: ProviderSpec) -> str | None:
    if not spec.api_key_env:
        return None
    value = os.environ.get(spec.api_key_env)
    if not value:
        raise ProviderError(spec.name, f"the environment variable {spec.api_key_env} (API key)"
                            " is not set", retryable=False)
    return value


def _redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text


def prompt_for_schema(schema: dict[str, Any]) -> str:
    return ("Answer with one JSON value only (no prose, no code fence) that matches this JSON"
            f" schema:\n{json.dumps(schema, ensure_ascii=False)}")


class Provider(ABC):
    """An open connection to one provider (one per structured() call and event loop)."""

    def __init__(self, spec: ProviderSpec):
        self.spec = spec
        self.name = spec.name
        self._client: Any = None
        self._key: str | None = None
        self._key_error: ProviderError | None = None
        try:
            self._key = api_key(spec)
        except ProviderError as exc:  # reported when the provider is used
            self._key_error = exc

    def model_for(self, tier: str, model: str | None) -> str:
        if model:
            return model
        if tier in self.spec.models:
            return self.spec.models[tier]
        raise ProviderError(self.name, f"no model for tier '{tier}'; routing table has"
                            f" {sorted(self.spec.models)}", retryable=False)

    def _sdk_client(self, sdk: Any, client_class: Any) -> Any:
        """The official SDK's async client, made once, with the SDK's own retries/timeout."""
        if self._key_error is not None:
            raise self._key_error
        if self._client is None:
            self._client = client_class(
                api_key=self._key or "no-key", base_url=self.spec.base_url,
                max_retries=self.spec.max_retries, timeout=self.spec.timeout_s,
                http_client=_plain_http_client(sdk, self.spec.base_url))
        return self._client

    @abstractmethod
    async def complete(self, system: str, user: str | list[dict[str, Any]],
                       schema: dict[str, Any], model: str,
                       max_tokens: int | None = None) -> Completion:
        """One structured request; OpenAIProvider and AnthropicProvider implement it."""

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _error(self, exc: Exception) -> ProviderError:
        status = getattr(exc, "status_code", None)
        msg = f"{type(exc).__name__}"
        if status is not None:
            msg += f" (HTTP {status})"
        detail = str(getattr(exc, "message", "") or exc)
        msg += f": {_redact(detail, self._key)[:300]}"
        return ProviderError(self.name, msg, status=status,
                             retryable=status not in {400, 404, 422})


class OpenAIProvider(Provider):
    def _open(self) -> Any:
        import openai

        return self._sdk_client(openai, openai.AsyncOpenAI)

    async def complete(self, system: str, user: str | list[dict[str, Any]],
                       schema: dict[str, Any], model: str,
                       max_tokens: int | None = None) -> Completion:
        import openai

        client = self._open()
        kwargs: dict[str, Any] = {}
        if self.spec.structured_mode == "native":
            # sent as extra_body: the same JSON on the wire, without the SDK's (slow)
            # recursive transform of a large schema on every request
            kwargs["extra_body"] = {"response_format": {"type": "json_schema", "json_schema": {
                "name": "answer", "schema": schema, "strict": False}}}
        else:
            system = f"{system}\n\n{prompt_for_schema(schema)}"
        if isinstance(user, list):  # vision: content blocks
            user = [_openai_block(b) for b in user]
        try:
            resp = await client.chat.completions.create(
                model=model, temperature=0,
                max_tokens=max_tokens or self.spec.max_output_tokens,
                messages=[{"role": "system", "content": system},
                          {"role": "user", "content": user}], **kwargs)
        except openai.APIError as exc:
            raise self._error(exc) from None
        choice = resp.choices[0] if resp.choices else None
        usage = resp.usage
        cached = 0
        if usage is not None and getattr(usage, "prompt_tokens_details", None) is not None:
            cached = usage.prompt_tokens_details.cached_tokens or 0
        return Completion(
            text=(choice.message.content or "") if choice else "",
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            cached_input_tokens=cached,
            finish_reason=choice.finish_reason if choice else None, model=model)


def _plain_http_client(sdk: Any, base_url: str | None) -> Any:
    """For plain-http endpoints (local servers) the SDK's default client without loading
    the CA bundle (~60 ms per client); None (the SDK's own default) for https."""
    if base_url and base_url.startswith("http://"):
        return sdk.DefaultAsyncHttpxClient(verify=False)
    return None


def _openai_block(block: dict[str, Any]) -> dict[str, Any]:
    if block.get("type") == "image":
        return {"type": "image_url", "image_url": {"url": block["url"]}}
    return block


def _anthropic_block(block: dict[str, Any]) -> dict[str, Any]:
    if block.get("type") != "image":
        return block
    url: str = block["url"]
    if url.startswith("data:"):
        head, data = url.split(",", 1)
        media = head[5:].split(";")[0]
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


class AnthropicProvider(Provider):
    def _open(self) -> Any:
        import anthropic

        return self._sdk_client(anthropic, anthropic.AsyncAnthropic)

    async def complete(self, system: str, user: str | list[dict[str, Any]],
                       schema: dict[str, Any], model: str,
                       max_tokens: int | None = None) -> Completion:
        import anthropic

        client = self._open()
        kwargs: dict[str, Any] = {}
        limit = max_tokens or self.spec.max_output_tokens
        tool_mode = self.spec.structured_mode == "native"
        if tool_mode:
            tool_schema = schema if schema.get("type") == "object" else {
                "type": "object", "properties": {"value": schema}, "required": ["value"]}
            kwargs["tools"] = [{"name": "answer", "description": "Give the answer.",
                                "input_schema": tool_schema}]
            # forced tool use is not allowed with extended thinking
            kwargs["tool_choice"] = ({"type": "auto"} if self.spec.thinking_budget_tokens
                                     else {"type": "tool", "name": "answer"})
        else:
            system = f"{system}\n\n{prompt_for_schema(schema)}"
        if self.spec.thinking_budget_tokens:
            kwargs["thinking"] = {"type": "enabled",
                                  "budget_tokens": self.spec.thinking_budget_tokens}
            limit += self.spec.thinking_budget_tokens
            system += "\nCall the `answer` tool with your answer." if tool_mode else ""
        content: Any = user if isinstance(user, str) else [_anthropic_block(b) for b in user]
        try:
            resp = await client.messages.create(
                model=model, max_tokens=limit, system=system,
                messages=[{"role": "user", "content": content}], **kwargs)
        except anthropic.APIError as exc:
            raise self._error(exc) from None
        text = ""
        for block in resp.content:
            if tool_mode and block.type == "tool_use":
                data = block.input
                if schema.get("type") != "object" and isinstance(data, dict):
                    data = data.get("value")
                text = json.dumps(data, ensure_ascii=False)
                break
            if block.type == "text":
                text += block.text
        u = resp.usage
        cached = getattr(u, "cache_read_input_tokens", None) or 0
        return Completion(text=text, input_tokens=(u.input_tokens or 0) + cached,
                          output_tokens=u.output_tokens or 0, cached_input_tokens=cached,
                          finish_reason=resp.stop_reason, model=model)


def open_provider(spec: ProviderSpec) -> Provider:
    return AnthropicProvider(spec) if spec.kind == "anthropic" else OpenAIProvider(spec)
