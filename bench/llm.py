"""LLM benchmark: enrich N rows through the fault-free emulator at a fixed latency per
request. Naive (one row per call, sequential) vs ours (batched, concurrent), the ideal bound
ceil(N/batch)/concurrency x latency, and a rerun from the cache (must make 0 calls).

`python -m bench.llm [--rows 1000] [--latency 0.3] [--batch 40] [--concurrency 5]`"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from datasetgen_resources.llm.accounting import PriceTable
from datasetgen_resources.llm.cache import NullCache, SQLiteCache
from datasetgen_resources.llm.client import ClientSettings, LLMClient
from datasetgen_resources.llm.emulator import EmulatorProcess, emulated_answer
from datasetgen_resources.llm.providers import ProviderSpec

SCHEMA = {"type": "object",
          "properties": {"category": {"type": "string", "enum": ["tools", "food", "toys"]},
                         "short_name": {"type": "string"}},
          "required": ["category", "short_name"]}


def _spec(emu: EmulatorProcess, concurrency: int) -> ProviderSpec:
    return ProviderSpec(name="emulator", kind="openai", base_url=emu.openai_base_url(),
                        models={"cheap": "emu-cheap"}, concurrency=concurrency,
                        max_retries=2, timeout_s=30)


def run_llm_bench(rows: int = 1000, latency: float = 0.3, batch: int = 40,
                  concurrency: int = 5, naive_rows: int | None = None) -> dict[str, Any]:
    data = [{"sku": f"SKU-{i:05d}", "title": f"Product number {i} with a plain name"}
            for i in range(rows)]
    want = [emulated_answer(r, SCHEMA) for r in data]
    emu = EmulatorProcess()  # its own process: the server's CPU is not ours
    emu.configure(latency_s=latency)
    prices = PriceTable.load()
    instruction = "Add a category and a short name for the product."
    try:
        naive = LLMClient([_spec(emu, 1)], NullCache(), prices,
                          ClientSettings(max_batch_size=1))
        t = time.perf_counter()
        n_naive = min(naive_rows or rows, rows)
        r_naive = naive.structured(data[:n_naive], instruction, SCHEMA)
        naive_s = (time.perf_counter() - t) * rows / n_naive  # extrapolated when n_naive < rows
        naive_calls = emu.stats.requests
        assert r_naive.results == want[:n_naive], "naive run gave wrong answers"

        with tempfile.TemporaryDirectory() as tmp:
            settings = ClientSettings(max_batch_size=batch, batch_token_budget=100_000)
            emu.reset()
            emu.configure(latency_s=latency)
            ours = LLMClient([_spec(emu, concurrency)], SQLiteCache(Path(tmp) / "c.sqlite"),
                             prices, settings)
            t = time.perf_counter()
            r_ours = ours.structured(data, instruction, SCHEMA)
            ours_s = time.perf_counter() - t
            ours_calls = emu.stats.requests
            in_flight = emu.stats.max_in_flight
            assert r_ours.results == want, "batched run gave wrong answers"

            emu.reset()
            again = LLMClient([_spec(emu, concurrency)], SQLiteCache(Path(tmp) / "c.sqlite"),
                              prices, settings)
            t = time.perf_counter()
            r_cached = again.structured(data, instruction, SCHEMA)
            cached_s = time.perf_counter() - t
            cached_calls = emu.stats.requests
            assert r_cached.results == want
    finally:
        emu.stop()
    ideal = math.ceil(rows / batch) / concurrency * latency
    return {
        "rows": rows, "latency_s": latency, "batch": batch, "concurrency": concurrency,
        "naive_s": round(naive_s, 3), "naive_calls": naive_calls, "naive_rows_run": n_naive,
        "ours_s": round(ours_s, 3), "ours_calls": ours_calls, "max_in_flight": in_flight,
        "ideal_s": round(ideal, 3),
        "speedup_vs_naive": round(naive_s / ours_s, 1),
        "ratio_to_ideal": round(ours_s / ideal, 3),
        "cached_s": round(cached_s, 3), "cached_calls": cached_calls,
        "cached_usage": {k: r_cached.usage[k] for k in ("calls", "cache_hits", "cost_usd",
                                                        "virtual_cost_usd")},
        "ours_usage": {k: r_ours.usage[k] for k in ("calls", "input_tokens", "output_tokens",
                                                    "cost_usd")},
    }


def report(res: dict[str, Any]) -> str:
    return "\n".join([
        f"LLM enrich, {res['rows']:,} rows through the emulator at {res['latency_s'] * 1000:.0f}"
        f" ms per request:",
        f"  naive (1 row per call, sequential): {res['naive_s']:.2f}s, {res['naive_calls']:,}"
        " calls" + ("" if res["naive_rows_run"] == res["rows"] else
                    f" (EXTRAPOLATED from {res['naive_rows_run']} rows)"),
        f"  ours (batch {res['batch']}, concurrency {res['concurrency']}): {res['ours_s']:.2f}s,"
        f" {res['ours_calls']} calls (max {res['max_in_flight']} in flight)"
        f" -> {res['speedup_vs_naive']}x faster than naive",
        f"  ideal bound ceil(N/batch)/concurrency x latency: {res['ideal_s']:.2f}s -> ours is"
        f" {res['ratio_to_ideal']}x the ideal",
        f"  rerun from cache: {res['cached_s']:.2f}s, {res['cached_calls']} calls"
        f" ({res['cached_usage']['cache_hits']:,} cache hits, physical"
        f" ${res['cached_usage']['cost_usd']:.4f}, virtual"
        f" ${res['cached_usage']['virtual_cost_usd']:.4f})",
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--batch", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=5)
    ap.add_argument("--naive-rows", type=int, default=None,
                    help="run naive on fewer rows and extrapolate (quick checks only)")
    a = ap.parse_args()
    res = run_llm_bench(a.rows, a.latency, a.batch, a.concurrency, a.naive_rows)
    print(report(res))
    from bench.common import save_results

    save_results("llm", res)


if __name__ == "__main__":
    main()
