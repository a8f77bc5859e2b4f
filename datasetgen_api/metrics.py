"""Prometheus metrics computed from the Dagster instance at scrape time.

`InstanceCollector` reads runs and materialization metadata (see datasetgen_api.analytics)
on every scrape (cached briefly), so values are right after a restart and identical across
API worker processes: no counter lives in process memory, which also makes the collector
multiprocess-safe without prometheus-client's multiprocess mode.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from datasetgen_api import analytics

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)


def histogram(values: list[float], buckets: tuple[float, ...] = DURATION_BUCKETS
              ) -> tuple[list[tuple[str, float]], float]:
    """Cumulative (le, count) buckets (with +Inf) and the sum of `values`."""
    out = [(_le(b), float(sum(1 for v in values if v <= b))) for b in buckets]
    out.append(("+Inf", float(len(values))))
    return out, float(sum(values))


def _le(b: float) -> str:
    return f"{b:g}" if b != int(b) else f"{b:.1f}"


def families(rec: analytics.Records) -> list[Metric]:
    """Every metric family of one snapshot of the instance."""
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    runs: dict[tuple[str, str], int] = defaultdict(int)
    for r in rec.runs:
        runs[(r.pipeline, r.status.lower())] += 1
        if r.duration is not None:
            durations[(r.pipeline, r.status.lower())].append(r.duration)
    out: list[Metric] = []

    h = HistogramMetricFamily("pipeline_execution_duration_seconds",
                              "Run duration (start to end) of finished runs.",
                              labels=["pipeline", "status"])
    for key, values in sorted(durations.items()):
        buckets, total = histogram(values)
        h.add_metric(list(key), buckets, total)
    out.append(h)

    c = CounterMetricFamily("pipeline_runs", "Runs by pipeline and status.",
                            labels=["pipeline", "status"])
    for key, n in sorted(runs.items()):
        c.add_metric(list(key), n)
    out.append(c)

    rows: dict[tuple[str, str], int] = defaultdict(int)
    pii: dict[str, int] = defaultdict(int)
    quality: dict[str, tuple[int, float]] = {}
    for m in rec.materializations:
        if m.rows is not None:
            rows[(m.pipeline, m.step)] += m.rows
        if m.pii_findings:
            pii[m.pipeline] += m.pii_findings
        if m.quality_score is not None:
            prev = quality.get(m.dataset)
            if prev is None or m.storage_id > prev[0]:
                quality[m.dataset] = (m.storage_id, m.quality_score)
    c = CounterMetricFamily("rows_processed", "Rows output by materialized pipeline steps "
                            "(dagster/row_count); sum by pipeline for a pipeline's total.",
                            labels=["pipeline", "step"])
    for key, n in sorted(rows.items()):
        c.add_metric(list(key), n)
    out.append(c)

    tokens: dict[tuple[str, str, str], float] = defaultdict(float)
    cost: dict[tuple[str, str, str], float] = defaultdict(float)
    hits: dict[tuple[str, str], float] = defaultdict(float)
    calls: dict[tuple[str, str], float] = defaultdict(float)
    for line in analytics.llm_lines(rec.materializations):
        pm = (line["provider"], line["model"])
        tokens[(*pm, "input")] += line["input_tokens"]
        tokens[(*pm, "output")] += line["output_tokens"]
        tokens[(*pm, "cached_input")] += line["cached_input_tokens"]
        cost[(*pm, line["pipeline"])] += line["cost_usd"]
        hits[pm] += line["cache_hits"]
        calls[pm] += line["calls"]
    for name, doc, labels, data in (
        ("llm_tokens", "LLM tokens by provider, model and kind (input, output, cached_input).",
         ["provider", "model", "kind"], tokens),
        ("llm_cost_usd", "LLM cost in USD (cache hits cost nothing).",
         ["provider", "model", "pipeline"], cost),
        ("llm_cache_hits", "LLM calls answered from the response cache.",
         ["provider", "model"], hits),
        ("llm_calls", "LLM calls sent to a provider.", ["provider", "model"], calls),
        ("pii_findings", "PII findings (pii step cells, quality pii_exposure issues).",
         ["pipeline"], {(k,): v for k, v in pii.items()}),
    ):
        c = CounterMetricFamily(name, doc, labels=labels)
        for key, v in sorted(data.items()):
            c.add_metric(list(key), v)
        out.append(c)

    g = GaugeMetricFamily("data_quality_score", "Latest quality score (0-100) per dataset "
                          "(pipeline/step of a scored quality_validation).", labels=["dataset"])
    for ds, (_, score) in sorted(quality.items()):
        g.add_metric([ds], score)
    out.append(g)

    active = analytics.active_view(rec)
    out.append(GaugeMetricFamily("pipeline_queue_depth", "Runs queued, not started yet.",
                                 value=active["queue_depth"]))
    out.append(GaugeMetricFamily("pipeline_active_runs", "Runs starting or running.",
                                 value=active["active_count"]))
    return out


class InstanceCollector(Collector):
    """A Prometheus collector over a Dagster instance (`get_instance` is called per scrape)."""

    def __init__(self, get_instance: Callable[[], Any], ttl: float = 10.0) -> None:
        self.get_instance = get_instance
        self.ttl = ttl

    def collect(self) -> Iterator[Metric]:
        rec = analytics.read_records(self.get_instance(), ttl=self.ttl, progress=False)
        yield from families(rec)


def registry_for(get_instance: Callable[[], Any], ttl: float = 10.0) -> CollectorRegistry:
    """A fresh registry holding only the instance collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(InstanceCollector(get_instance, ttl))
    return registry
