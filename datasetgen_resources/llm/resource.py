"""`LLMResource`: the Dagster resource steps get their LLM client from.

Configuration comes from resource fields, then environment variables (which win, so one
deployment can switch providers without code):

- DATASETGEN_LLM_PROVIDERS       fallback chain, e.g. "anthropic,openai" (default "local")
- DATASETGEN_LLM_<NAME>_BASE_URL  endpoint of provider NAME (any OpenAI-compatible server)
- DATASETGEN_LLM_<NAME>_KIND      openai | anthropic (wire protocol; default from preset)
- DATASETGEN_LLM_<NAME>_MODEL     one model for every tier of that provider
- DATASETGEN_LLM_<NAME>_API_KEY_ENV  NAME of the env var holding its key
- DATASETGEN_LLM_CACHE (sqlite|redis|postgres|none), DATASETGEN_LLM_CACHE_PATH,
  DATASETGEN_LLM_CACHE_URL_ENV, DATASETGEN_LLM_PRICES (price table YAML),
  DATASETGEN_LLM_MAX_RUN_COST_USD
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from datasetgen_resources.llm.accounting import PriceTable
from datasetgen_resources.llm.cache import open_cache
from datasetgen_resources.llm.client import ClientSettings, LLMClient
from datasetgen_resources.llm.providers import PRESETS, ProviderSpec


class ProviderConfig(dg.Config):
    """Settings of one provider; unset fields come from the preset of the same name."""

    name: str
    kind: str | None = Field(None, description="openai (any compatible endpoint) | anthropic")
    base_url: str | None = None
    api_key_env: str | None = Field(None, description="NAME of the env var with the key")
    models: dict[str, str] | None = Field(None, description="tier -> model")
    max_retries: int | None = Field(None, description="the SDK's own retries")
    timeout_s: float | None = None
    concurrency: int | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    structured_mode: str | None = Field(None, description="native | prompt")
    max_output_tokens: int | None = None
    thinking_budget_tokens: int | None = None
    quality_note: str | None = None


def _default_cache_path() -> str:
    base = os.environ.get("DATASETGEN_PROJECT_DIR") or os.getcwd()
    return str(Path(base) / ".datasetgen" / "llm_cache.sqlite")


def build_specs(chain: list[str], overrides: list[ProviderConfig]) -> list[ProviderSpec]:
    by_name = {o.name: o for o in overrides}
    specs = []
    for name in chain:
        base: dict[str, Any] = dict(PRESETS.get(name, {}))
        o = by_name.get(name)
        if o is not None:
            base.update({k: v for k, v in o.model_dump().items()
                         if v is not None and k != "name"})
        env = f"DATASETGEN_LLM_{name.upper()}_"
        for field, key in (("base_url", "BASE_URL"), ("kind", "KIND"),
                           ("api_key_env", "API_KEY_ENV")):
            if os.environ.get(env + key):
                base[field] = os.environ[env + key]
        if os.environ.get(env + "MODEL"):
            base["models"] = {t: os.environ[env + "MODEL"] for t in ("cheap", "standard", "best")}
        if name not in PRESETS and not base.get("base_url"):
            raise ValueError(f"LLM provider '{name}' is not a preset ({', '.join(PRESETS)});"
                             f" give it a base_url (config or ${env}BASE_URL)")
        if base.get("kind", "openai") not in {"openai", "anthropic"}:
            raise ValueError(f"LLM provider '{name}': kind must be openai or anthropic")
        specs.append(ProviderSpec(name=name, **base))
    return specs


_clients: dict[str, LLMClient] = {}
_lock = threading.Lock()


class LLMResource(dg.ConfigurableResource):
    """Rows in, validated rows out, through a chain of LLM providers. The default is a local
    llama.cpp server with SmolLM2-135M (weak answers: for plumbing and demos)."""

    providers: list[str] = Field(default_factory=lambda: ["local"],
                                 description="fallback chain of provider names")
    provider_settings: list[ProviderConfig] = Field(default_factory=list)
    max_batch_size: int = 20
    batch_token_budget: int = Field(6000, description="estimated input tokens per request")
    output_tokens_per_row: int = 200
    cache_backend: str = Field("sqlite", description="sqlite | redis | postgres | none")
    cache_path: str | None = Field(None, description="SQLite file (default"
                                   " $DATASETGEN_PROJECT_DIR/.datasetgen/llm_cache.sqlite)")
    cache_url_env: str | None = Field(None, description="env var with the Redis/Postgres URL")
    price_table_path: str | None = Field(None, description="YAML price table")
    semantic_cache: bool = Field(False, description="Reuse answers of near-identical rows"
                                 " (embedding similarity); off by default")
    semantic_threshold: float = Field(0.95, gt=0, le=1,
                                      description="cosine similarity for a semantic hit")
    max_run_cost_usd: float | None = None
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 30.0

    def _resolved(self) -> dict[str, Any]:
        e = os.environ.get
        chain = [p.strip() for p in (e("DATASETGEN_LLM_PROVIDERS") or "").split(",")
                 if p.strip()] or list(self.providers)
        run_max = e("DATASETGEN_LLM_MAX_RUN_COST_USD")
        return {
            "chain": chain,
            "cache_backend": e("DATASETGEN_LLM_CACHE") or self.cache_backend,
            "cache_path": e("DATASETGEN_LLM_CACHE_PATH") or self.cache_path
            or _default_cache_path(),
            "cache_url_env": e("DATASETGEN_LLM_CACHE_URL_ENV") or self.cache_url_env,
            "prices": e("DATASETGEN_LLM_PRICES") or self.price_table_path,
            "max_run_cost_usd": float(run_max) if run_max else self.max_run_cost_usd,
            "semantic": (e("DATASETGEN_LLM_SEMANTIC_CACHE") or str(self.semantic_cache)).lower()
            in {"1", "true", "yes"},
        }

    def get_client(self) -> LLMClient:
        """The client for this configuration (one per process, so usage adds up per run)."""
        r = self._resolved()
        env_keys = sorted(k for k in os.environ if k.startswith("DATASETGEN_LLM_"))
        ident = hashlib.sha256((self.model_dump_json() + repr(r) + repr(
            [(k, os.environ[k]) for k in env_keys])).encode()).hexdigest()
        with _lock:
            client = _clients.get(ident)
            if client is None:
                specs = build_specs(r["chain"], list(self.provider_settings))
                settings = ClientSettings(
                    max_batch_size=self.max_batch_size,
                    batch_token_budget=self.batch_token_budget,
                    output_tokens_per_row=self.output_tokens_per_row,
                    breaker_threshold=self.breaker_threshold,
                    breaker_cooldown_s=self.breaker_cooldown_s,
                    max_run_cost_usd=r["max_run_cost_usd"],
                    semantic_cache_path=str(Path(r["cache_path"]).with_suffix(".semantic.sqlite"))
                    if r["semantic"] else None,
                    semantic_threshold=self.semantic_threshold)
                cache = open_cache(r["cache_backend"], r["cache_path"], r["cache_url_env"])
                client = LLMClient(specs, cache, PriceTable.load(r["prices"]), settings)
                _clients[ident] = client
            return client


def llm_metadata(client: LLMClient | None) -> dict[str, Any]:
    """Asset metadata of one step's LLM use: usage and cost of the step, run totals so far
    (this process) and the quality note of the models that answered."""
    if client is None:
        return {}
    step = client.usage.as_dict()
    run = client.run_usage.as_dict()
    out: dict[str, Any] = {
        "llm/calls": step["calls"],
        "llm/cache_hits": step["cache_hits"],
        "llm/input_tokens": step["input_tokens"],
        "llm/output_tokens": step["output_tokens"],
        "llm/cost_usd": float(step["cost_usd"]),
        "llm/virtual_cost_usd": float(step["virtual_cost_usd"]),
        "llm/usage": dg.MetadataValue.json(step),
        "llm/run_usage": dg.MetadataValue.json(run),
    }
    note = client.quality_note()
    if note:
        out["llm/quality_note"] = note
    return out
