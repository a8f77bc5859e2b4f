"""Token and cost accounting: a YAML price table, and usage that separates what a run paid
("physical") from what it would have cost without the cache ("virtual")."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PRICES = Path(__file__).with_name("prices.yaml")


@dataclass(frozen=True)
class Price:
    input: float = 0.0  # USD per million input tokens
    output: float = 0.0  # USD per million output tokens
    cached_input: float | None = None


class PriceTable:
    """Prices per "provider/model" or "model" (USD per million tokens)."""

    def __init__(self, prices: dict[str, Price]):
        self.prices = prices

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceTable:
        p = Path(path) if path else DEFAULT_PRICES
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except FileNotFoundError:
            raise FileNotFoundError(f"LLM price table {p} does not exist; fix"
                                    " price_table_path or $DATASETGEN_LLM_PRICES") from None
        models = data.get("models") or {}
        if not isinstance(models, dict):
            raise ValueError(f"{p}: 'models' must be a mapping of model -> prices")
        out: dict[str, Price] = {}
        for name, spec in models.items():
            if not isinstance(spec, dict) or not set(spec) <= {"input", "output", "cached_input"}:
                raise ValueError(f"{p}: model '{name}' needs {{input, output, cached_input}}"
                                 " in USD per million tokens")
            out[str(name)] = Price(**{k: float(v) for k, v in spec.items()})
        return cls(out)

    def price(self, provider: str, model: str) -> Price | None:
        return self.prices.get(f"{provider}/{model}") or self.prices.get(model)

    def cost(self, provider: str, model: str, input_tokens: int, output_tokens: int,
             cached_input_tokens: int = 0) -> float:
        p = self.price(provider, model)
        if p is None:
            return 0.0
        cached_price = p.input if p.cached_input is None else p.cached_input
        fresh = max(input_tokens - cached_input_tokens, 0)
        return (fresh * p.input + cached_input_tokens * cached_price
                + output_tokens * p.output) / 1e6


@dataclass
class Usage:
    """Counters of one structured() call, one step or one run. Thread-safe adds."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # served from the provider's own prompt cache
    cache_hits: int = 0  # rows answered from our cache (no call)
    semantic_cache_hits: int = 0  # of those, answered by a near-identical row
    cost_usd: float = 0.0  # physical: what was paid
    virtual_cost_usd: float = 0.0  # what it would have cost without our cache
    failed_calls: int = 0
    reasks: int = 0
    single_row_fallbacks: int = 0
    provider_fallbacks: int = 0
    by_model: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_call(self, provider: str, model: str, input_tokens: int, output_tokens: int,
                 cached_input_tokens: int, cost: float) -> None:
        with self._lock:
            self.calls += 1
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
            self.cached_input_tokens += cached_input_tokens
            self.cost_usd += cost
            self.virtual_cost_usd += cost
            m = self._model(provider, model)
            m["calls"] += 1
            m["input_tokens"] += input_tokens
            m["output_tokens"] += output_tokens
            m["cached_input_tokens"] += cached_input_tokens
            m["cost_usd"] += cost
            m["virtual_cost_usd"] += cost

    def add_cache_hit(self, provider: str, model: str, virtual_cost: float) -> None:
        with self._lock:
            self.cache_hits += 1
            self.virtual_cost_usd += virtual_cost
            m = self._model(provider, model)
            m["cache_hits"] += 1
            m["virtual_cost_usd"] += virtual_cost

    def bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def _model(self, provider: str, model: str) -> dict[str, Any]:
        return self.by_model.setdefault(f"{provider}/{model}", {
            "calls": 0, "input_tokens": 0, "output_tokens": 0, "cached_input_tokens": 0,
            "cache_hits": 0, "cost_usd": 0.0, "virtual_cost_usd": 0.0})

    def merge(self, other: Usage) -> None:
        with self._lock:
            for name in ("calls", "input_tokens", "output_tokens", "cached_input_tokens",
                         "cache_hits", "cost_usd", "virtual_cost_usd", "failed_calls",
                         "reasks", "single_row_fallbacks", "provider_fallbacks"):
                setattr(self, name, getattr(self, name) + getattr(other, name))
            for key, m in other.by_model.items():
                mine = self.by_model.setdefault(key, dict.fromkeys(m, 0))
                for k, v in m.items():
                    mine[k] = mine.get(k, 0) + v

    def as_dict(self) -> dict[str, Any]:
        top = max(self.by_model, default="/",
                  key=lambda k: self.by_model[k]["calls"] + self.by_model[k]["cache_hits"])
        provider, _, model = top.partition("/")
        return {
            "provider": provider, "model": model,
            "calls": self.calls, "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens, "cache_hits": self.cache_hits,
            "semantic_cache_hits": self.semantic_cache_hits,
            "cost_usd": round(self.cost_usd, 6),
            "virtual_cost_usd": round(self.virtual_cost_usd, 6),
            "failed_calls": self.failed_calls, "reasks": self.reasks,
            "single_row_fallbacks": self.single_row_fallbacks,
            "provider_fallbacks": self.provider_fallbacks,
            "by_model": {k: {kk: round(vv, 6) if isinstance(vv, float) else vv
                             for kk, vv in v.items()} for k, v in self.by_model.items()},
        }
