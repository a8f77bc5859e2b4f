"""The LLM client: rows in, validated rows out. Batching, concurrency and rate limits,
the cache, structured-output validation with one re-ask, single-row fallback, the provider
fallback chain with circuit breakers, token and cost accounting and the budget stop all
happen here, once, for every step."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from datasetgen_resources.llm import batcher as B
from datasetgen_resources.llm.accounting import PriceTable, Usage
from datasetgen_resources.llm.cache import LLMCache, NullCache, cache_key, value_hashes
from datasetgen_resources.llm.providers import (
    Completion,
    Provider,
    ProviderError,
    ProviderSpec,
    open_provider,
)
from datasetgen_resources.llm.router import CircuitBreaker, RateLimiter


class LLMBudgetExceeded(RuntimeError):
    """The next request would exceed max_cost_usd; completed answers are cached."""

    def __init__(self, message: str, usage: dict[str, Any]):
        super().__init__(message)
        self.usage = usage


@dataclass
class LLMBatchResult:
    results: list[dict[str, Any]]  # one per input row, same order; {"_error": ...} on failure
    usage: dict[str, Any]

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if "_error" in r)


@dataclass
class ClientSettings:
    max_batch_size: int = 20
    batch_token_budget: int = 6000  # estimated input tokens per request
    output_tokens_per_row: int = 200  # max_tokens for a single row (x rows for a batch)
    max_output_tokens: int = 8192
    estimated_output_tokens_per_row: int | None = None  # budget estimate; default from schema
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 30.0
    max_run_cost_usd: float | None = None
    semantic_cache_path: str | None = None  # a SQLite file turns the semantic cache on
    semantic_threshold: float = 0.95  # cosine similarity of the row texts' embeddings


@dataclass
class _Shared:
    """State shared by a client and its per-step children."""

    specs: list[ProviderSpec]
    cache: LLMCache
    prices: PriceTable
    settings: ClientSettings
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    run_usage: Usage = field(default_factory=Usage)
    lock: threading.Lock = field(default_factory=threading.Lock)
    semantic: Any = None  # SemanticIndex when settings.semantic_cache_path is set


class LLMClient:
    """Use `structured()`; `child()` gives a client with its own usage (one per step)."""

    def __init__(self, providers: list[ProviderSpec], cache: LLMCache | None = None,
                 prices: PriceTable | None = None, settings: ClientSettings | None = None,
                 _shared: _Shared | None = None):
        if _shared is None:
            if not providers:
                raise ValueError("the LLM provider chain is empty")
            s = settings or ClientSettings()
            _shared = _Shared(list(providers), cache or NullCache(), prices or PriceTable.load(),
                              s)
            for p in providers:
                _shared.breakers[p.name] = CircuitBreaker(s.breaker_threshold,
                                                          s.breaker_cooldown_s)
                _shared.limiters[p.name] = RateLimiter(p.requests_per_minute,
                                                       p.tokens_per_minute)
        self._s = _shared
        self.usage = Usage()

    # ---- public API -------------------------------------------------------------------
    @property
    def providers(self) -> list[ProviderSpec]:
        return self._s.specs

    @property
    def run_usage(self) -> Usage:
        """Totals of every call made through this client and its children."""
        return self._s.run_usage

    def breaker(self, provider: str) -> CircuitBreaker:
        return self._s.breakers[provider]

    def child(self) -> LLMClient:
        return LLMClient([], _shared=self._s)

    def quality_note(self) -> str:
        return "; ".join(p.quality_note for p in self._s.specs if p.quality_note)

    def structured(self, rows: list[dict[str, Any]], instruction: str,
                   output_schema: dict[str, Any], *, tier: str = "cheap",
                   model: str | None = None, step: str = "adhoc",
                   max_cost_usd: float | None = None,
                   images: list[list[str]] | None = None) -> LLMBatchResult:
        """One validated answer per row, same order. A row that fails after re-ask and
        fallback is {"_error": "..."}. `images`: per row, image URLs or data: URIs (vision;
        such rows are sent one per request). Raises LLMBudgetExceeded."""
        coro = self.astructured(rows, instruction, output_schema, tier=tier, model=model,
                                step=step, max_cost_usd=max_cost_usd, images=images)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        with concurrent.futures.ThreadPoolExecutor(1) as ex:  # called inside a loop
            return ex.submit(asyncio.run, coro).result()

    def estimate(self, rows: list[dict[str, Any]], instruction: str,
                 output_schema: dict[str, Any], *, tier: str = "cheap",
                 model: str | None = None) -> dict[str, Any]:
        """Requests, tokens and cost before any call (for `explain`), cache not consulted."""
        spec = self._s.specs[0]
        mdl = model or spec.models.get(tier, "")
        ids = list(range(len(rows)))
        toks = {i: B.estimate_tokens(B.row_json(r)) for i, r in enumerate(rows)}
        overhead = B.estimate_tokens(B.system_prompt(instruction)
                                     + json.dumps(B.batch_schema(output_schema))) + 40
        batches = B.plan_batches(ids, toks, self._s.settings.max_batch_size,
                                 self._s.settings.batch_token_budget, overhead)
        tin = sum(toks.values()) + overhead * len(batches)
        tout = self._out_per_row(output_schema) * len(rows)
        cost = self._s.prices.cost(spec.name, mdl, tin, tout)
        return {"provider": spec.name, "model": mdl, "rows": len(rows),
                "requests": len(batches), "input_tokens": tin, "output_tokens": tout,
                "cost_usd": round(cost, 6),
                "priced": self._s.prices.price(spec.name, mdl) is not None}

    # ---- the engine ---------------------------------------------------------------------
    def _out_per_row(self, schema: dict[str, Any]) -> int:
        est = self._s.settings.estimated_output_tokens_per_row
        return est or max(16, B.estimate_tokens(json.dumps(schema)) // 2)

    async def astructured(self, rows: list[dict[str, Any]], instruction: str,
                          output_schema: dict[str, Any], *, tier: str = "cheap",
                          model: str | None = None, step: str = "adhoc",
                          max_cost_usd: float | None = None,
                          images: list[list[str]] | None = None) -> LLMBatchResult:
        if output_schema.get("type") != "object":
            raise ValueError('output_schema must be a JSON schema with "type": "object"')
        if images is not None and len(images) != len(rows):
            raise ValueError("images needs one list per row")
        run = _Run(self, rows, instruction, output_schema, tier, model, step, max_cost_usd,
                   images)
        try:
            return await run.go()
        finally:
            self.usage.merge(run.usage)
            self._s.run_usage.merge(run.usage)


IMAGE_TOKENS = 1600  # most an image part is estimated at (a 1092 px square on Anthropic,
# more than OpenAI's high-detail maximum); the provider's usage gives the real count afterwards


def _text_of(user: Any) -> str:
    """The text of a user message: image parts (base64 data) are not text to count."""
    if isinstance(user, str):
        return user
    if isinstance(user, list):
        return " ".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in user
                        if not (isinstance(b, dict) and b.get("type") == "image"))
    return json.dumps(user)


def _image_tokens(user: Any) -> int:
    """Estimated tokens of a message's image parts: a small image (few bytes of base64) costs
    little, any image at most IMAGE_TOKENS (providers scale large ones down)."""
    if not isinstance(user, list):
        return 0
    return sum(min(IMAGE_TOKENS, len(str(b.get("url", ""))) // 4) for b in user
               if isinstance(b, dict) and b.get("type") == "image")


def _local_base_url() -> str:
    from datasetgen_resources.llm.local_server import ensure_started

    return ensure_started().openai_base_url


class _Run:
    """One structured() call."""

    def __init__(self, client: LLMClient, rows: list[dict[str, Any]], instruction: str,
                 schema: dict[str, Any], tier: str, model: str | None, step: str,
                 max_cost_usd: float | None, images: list[list[str]] | None):
        self.c = client
        self.s = client._s
        self.rows = rows
        self.instruction = instruction
        self.schema = schema
        self.tier = tier
        self.model = model
        self.step = step
        self.images = images
        self.max_cost = max_cost_usd
        self.usage = Usage()
        self.results: list[dict[str, Any] | None] = [None] * len(rows)
        self.system = B.system_prompt(instruction)
        self.item_validator = B.validator(schema)
        self.batch_validator = B.validator(B.batch_schema(schema))
        self.providers: list[Provider] = []
        self.sems: dict[str, asyncio.Semaphore] = {}
        self.reserved = 0.0
        self.out_rows = 0  # rows covered by completed calls (for the output estimate)
        self.stopped: str | None = None
        self.answered_by: dict[str, int] = {}

    # -- helpers
    def _params(self) -> dict[str, Any]:
        return {"temperature": 0, "instruction": self.instruction, "v": 1}

    def _row_messages(self, i: int) -> list[Any]:
        msg: list[Any] = [self.system, B.row_json(self.rows[i])]
        if self.images and self.images[i]:
            msg.append(self.images[i])
        return msg

    def _key(self, p: Provider, mdl: str, i: int) -> str:
        return cache_key(p.name, mdl, self._row_messages(i), self.schema, self._params())

    def _namespace(self, p: Provider, mdl: str) -> str:
        """Everything of a cache key but the row: rows are compared within it."""
        return cache_key(p.name, mdl, [self.system], self.schema, self._params())

    def _semantic(self) -> Any:
        st = self.s.settings
        if st.semantic_cache_path is None or self.images:
            return None
        with self.s.lock:
            if self.s.semantic is None:
                from datasetgen_resources.llm.semantic_cache import SemanticIndex

                self.s.semantic = SemanticIndex(st.semantic_cache_path, st.semantic_threshold)
            return self.s.semantic

    def _embed(self, ids: list[int]) -> Any:
        from datasetgen_resources.embeddings import default_encoder

        return default_encoder().encode([B.row_json(self.rows[i]) for i in ids])

    def _from_semantic(self, pending: list[int]) -> list[int]:
        """Answers of near-identical rows already answered (semantic cache hits)."""
        index = self._semantic()
        if index is None or not pending:
            return pending
        vectors = self._embed(pending)
        for p in self.providers:
            try:
                mdl = self._model(p)
            except ProviderError:
                continue
            near = index.nearest(self._namespace(p, mdl), vectors)
            found = self.s.cache.get_many([n[0] for n in near if n is not None])
            for i, hit in zip(pending, near, strict=True):
                if self.results[i] is None and hit is not None and hit[0] in found:
                    entry = found[hit[0]]
                    self.results[i] = entry["answer"]
                    self.usage.add_cache_hit(p.name, mdl, float(entry.get("cost_usd", 0.0)))
                    self.usage.bump("semantic_cache_hits")
                    self._credit(p.name, mdl)
        return [i for i in pending if self.results[i] is None]

    def _open(self) -> None:
        for spec in self.s.specs:  # the local server's URL is resolved on first use
            self.providers.append(open_provider(spec))
            self.sems[spec.name] = asyncio.Semaphore(max(1, spec.concurrency))

    async def _close(self) -> None:
        for p in self.providers:
            with contextlib.suppress(Exception):
                await p.aclose()

    def _model(self, p: Provider) -> str:
        return p.model_for(self.tier, self.model)

    # -- main
    async def go(self) -> LLMBatchResult:
        self._open()
        try:
            pending = self._from_semantic(self._from_cache())
            if pending:
                await self._solve_all(pending)
        finally:
            await self._close()
        if self.stopped:
            raise LLMBudgetExceeded(self.stopped, self._usage_dict())
        out = [r if r is not None else {"_error": "no answer"} for r in self.results]
        return LLMBatchResult(out, self._usage_dict())

    def _usage_dict(self) -> dict[str, Any]:
        d = self.usage.as_dict()
        names = sorted(self.answered_by, key=lambda k: -self.answered_by[k])
        first = self.providers[0] if self.providers else None
        d["provider"] = names[0].split("/", 1)[0] if names else (first.name if first else "")
        d["model"] = names[0].split("/", 1)[1] if names else ""
        d["answered_by"] = dict(self.answered_by)
        d["rows"] = len(self.rows)
        d["row_errors"] = sum(1 for r in self.results if r is not None and "_error" in r)
        d["step"] = self.step
        notes = [p.spec.quality_note for p in self.providers
                 if p.spec.quality_note and any(k.startswith(p.name + "/")
                                                for k in self.answered_by)]
        d["quality_note"] = "; ".join(notes)
        return d

    def _from_cache(self) -> list[int]:
        keys: dict[str, tuple[int, Provider, str]] = {}
        for p in self.providers:
            try:
                mdl = self._model(p)
            except ProviderError:
                continue
            for i in range(len(self.rows)):
                keys.setdefault(self._key(p, mdl, i), (i, p, mdl))
        found = self.s.cache.get_many(list(keys)) if keys else {}
        for k, (i, p, mdl) in keys.items():
            if self.results[i] is None and k in found:
                entry = found[k]
                self.results[i] = entry["answer"]
                self.usage.add_cache_hit(p.name, mdl, float(entry.get("cost_usd", 0.0)))
                self._credit(p.name, mdl)
        return [i for i, r in enumerate(self.results) if r is None]

    def _credit(self, provider: str, mdl: str, n: int = 1) -> None:
        key = f"{provider}/{mdl}"
        self.answered_by[key] = self.answered_by.get(key, 0) + n

    async def _solve_all(self, pending: list[int]) -> None:
        st = self.s.settings
        singles = [i for i in pending if self.images and self.images[i]]
        batchable = [i for i in pending if i not in set(singles)]
        toks = {i: B.estimate_tokens(B.row_json(self.rows[i])) for i in batchable}
        overhead = B.estimate_tokens(self.system + json.dumps(B.batch_schema(self.schema))) + 40
        groups = B.plan_batches(batchable, toks, st.max_batch_size, st.batch_token_budget,
                                overhead)
        groups += [[i] for i in singles]
        tasks = [self._solve(g, 0) for g in groups]
        done = await asyncio.gather(*tasks, return_exceptions=True)
        for g, res in zip(groups, done, strict=True):
            if isinstance(res, BaseException) and not isinstance(res, asyncio.CancelledError):
                for i in g:
                    if self.results[i] is None:
                        self.results[i] = {"_error": f"internal error: {type(res).__name__}:"
                                                     f" {str(res)[:200]}"}

    # -- budget
    def _budget_left(self) -> float | None:
        lims = []
        if self.max_cost is not None:
            lims.append(self.max_cost - self.usage.cost_usd)
        run_max = self.s.settings.max_run_cost_usd
        if run_max is not None:
            lims.append(run_max - self.s.run_usage.cost_usd - self.usage.cost_usd)
        return min(lims) if lims else None

    def _reserve(self, p: Provider, mdl: str, in_tokens: int, out_tokens: int) -> float:
        est = self.s.prices.cost(p.name, mdl, in_tokens, out_tokens)
        left = self._budget_left()
        if self.stopped or (left is not None and self.reserved + est > left + 1e-12):
            if not self.stopped:
                spent = self.usage.cost_usd
                self.stopped = (f"LLM budget reached in step '{self.step}': spent"
                                f" ${spent:.4f}, next request estimated ${est:.4f}, budget"
                                f" left ${max(left or 0.0, 0.0) - self.reserved:.4f}; answers"
                                " so far are cached, a rerun continues from there")
            raise _Stop()
        self.reserved += est
        return est

    # -- calls
    async def _call(self, p: Provider, mdl: str, user: Any, schema: dict[str, Any],
                    max_tokens: int, n_rows: int) -> Completion:
        in_est = B.estimate_tokens(self.system + _text_of(user) + json.dumps(schema)) + \
            _image_tokens(user)
        per_row = self.c._out_per_row(self.schema)
        if self.out_rows:  # learn from this run's answers
            per_row = max(per_row, -(-self.usage.output_tokens // self.out_rows))
        out_est = min(per_row * n_rows, max_tokens)
        est = self._reserve(p, mdl, in_est, out_est)
        try:
            await self.s.limiters[p.name].acquire(in_est + out_est)
            async with self.sems[p.name]:
                if not self.s.breakers[p.name].allow():  # checked when our turn comes
                    raise _CircuitOpen(p.name, "circuit open after repeated failures",
                                       retryable=False)
                if p.spec.name == "local" and not p.spec.base_url:
                    url = await asyncio.to_thread(_local_base_url)
                    p.spec = replace(p.spec, base_url=url)
                comp = await p.complete(self.system, user, schema, mdl, max_tokens)
        finally:
            self.reserved -= est
        self.out_rows += n_rows
        cost = self.s.prices.cost(p.name, mdl, comp.input_tokens, comp.output_tokens,
                                  comp.cached_input_tokens)
        self.usage.add_call(p.name, mdl, comp.input_tokens, comp.output_tokens,
                            comp.cached_input_tokens, cost)
        comp.cost = cost  # type: ignore[attr-defined]
        return comp

    def _providers_from(self, start: int) -> list[tuple[int, Provider]]:
        return list(enumerate(self.providers))[start:]

    async def _solve(self, ids: list[int], start: int) -> None:
        """Answer these rows with the first usable provider from `start` on."""
        last_err = "no provider available (all circuit breakers open)"
        for idx, p in self._providers_from(start):
            br = self.s.breakers[p.name]
            try:
                mdl = self._model(p)
                if len(ids) == 1:
                    await self._single(p, mdl, ids[0])
                else:
                    await self._batch(p, mdl, ids, idx)
                br.success()
                return
            except _Stop:
                return
            except ProviderError as exc:
                if exc.retryable:
                    br.failure()
                    self.usage.bump("failed_calls")
                last_err = str(exc)
                if idx + 1 < len(self.providers):
                    self.usage.bump("provider_fallbacks")
        for i in ids:
            if self.results[i] is None:
                self.results[i] = {"_error": f"all providers failed: {last_err}"}

    def _store(self, p: Provider, mdl: str, answers: dict[int, dict[str, Any]],
               cost_each: float) -> None:
        items = {}
        for i, ans in answers.items():
            self.results[i] = ans
            items[self._key(p, mdl, i)] = {"answer": ans, "cost_usd": cost_each,
                                           "values": value_hashes(self.rows[i])}
        self._credit(p.name, mdl, len(answers))
        self.s.cache.put_many(items)
        index = self._semantic()
        if index is not None and answers:
            ids = list(answers)
            index.add(self._namespace(p, mdl), [self._key(p, mdl, i) for i in ids],
                      self._embed(ids))

    async def _batch(self, p: Provider, mdl: str, ids: list[int], idx: int) -> None:
        schema = B.batch_schema(self.schema)
        user = B.user_prompt(ids, [self.rows[i] for i in ids], batched=True)
        max_tokens = min(self.s.settings.output_tokens_per_row * len(ids),
                         self.s.settings.max_output_tokens)
        aligned: B.Aligned | None = None
        for attempt in range(2):  # the answer plus one re-ask with the error
            comp = await self._call(p, mdl, user, schema, max_tokens, len(ids))
            try:
                data = B.parse_json(comp.text)
                if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                    B.validate(data, self.batch_validator)
                    raise B.AnswerError('expected {"results": [...]}')
            except B.AnswerError as exc:
                if attempt == 0:
                    self.usage.bump("reasks")
                    user = _reask(user, comp.text, str(exc), comp.finish_reason)
                    continue
                aligned = B.Aligned({}, list(ids), str(exc))
                break
            aligned = B.align(data, ids, self.item_validator)
            break
        assert aligned is not None
        if aligned.ok:
            self._store(p, mdl, aligned.ok, getattr(comp, "cost", 0.0) / len(ids))
        if aligned.retry:
            self.usage.bump("single_row_fallbacks", len(aligned.retry))
            await asyncio.gather(*[self._solve([i], idx) for i in aligned.retry])

    async def _single(self, p: Provider, mdl: str, i: int) -> None:
        user: Any = B.user_prompt([i], [self.rows[i]], batched=False)
        if self.images and self.images[i]:
            user = [{"type": "text", "text": user},
                    *[{"type": "image", "url": u} for u in self.images[i]]]
        err = ""
        for attempt in range(2):
            comp = await self._call(p, mdl, user, self.schema,
                                    self.s.settings.output_tokens_per_row, 1)
            try:
                data = B.parse_json(comp.text)
                if isinstance(data, dict) and set(data) == {"results"} and \
                        isinstance(data["results"], list) and len(data["results"]) == 1:
                    data = {k: v for k, v in data["results"][0].items() if k != "id"}
                B.validate(data, self.item_validator)
            except B.AnswerError as exc:
                err = str(exc)
                if attempt == 0:
                    self.usage.bump("reasks")
                    user = _reask(user, comp.text, err, comp.finish_reason)
                    continue
                break
            self._store(p, mdl, {i: data}, getattr(comp, "cost", 0.0))
            return
        self.results[i] = {"_error": f"invalid answer after re-ask: {err}"}


class _CircuitOpen(ProviderError):
    """The provider's circuit breaker is open: skip to the next provider."""


class _Stop(Exception):
    """Budget reached: no more requests."""


def _reask(user: Any, previous: str, error: str, finish_reason: str | None) -> Any:
    note = " (it was cut off: keep it shorter)" if finish_reason in {"length",
                                                                     "max_tokens"} else ""
    text = (f"\n\nYour previous answer was rejected{note}: {error}.\nPrevious answer"
            f" (truncated): {previous[:500]}\nAnswer again with JSON that matches the schema"
            " exactly.")
    if isinstance(user, list):
        return [*user, {"type": "text", "text": text}]
    return user + text
