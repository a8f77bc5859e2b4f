"""Threshold alerts as Dagster sensors: daily LLM cost above a limit, a pipeline's success rate
below a limit, a run slower than `factor` x its baseline, a quality score drop.

The rules are pure functions over `datasetgen_api.analytics.Records` (runs and
materializations read from the instance) returning `Alert`s with a key per condition and
window. The sensors keep the keys already delivered in their cursor, so each condition alerts
once per window; the first tick only records what is already true (no alerts for history).
Delivery: sensors.alerts.deliver (log, webhook, email).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg

from datasetgen_api import analytics
from sensors.alerts import deliver
from sensors.thresholds import AlertThresholds, load_thresholds

HORIZON_S = 2 * 86400.0  # runs and scores older than this are not judged; keys kept as long
DAY_S = 86400.0


@dataclass(frozen=True)
class Alert:
    """One alert: `key` identifies the condition and its window (once per key)."""

    key: str
    payload: dict[str, Any]


def _payload(event: str, job: str, run_id: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"event": event, "job": job, "run_id": run_id, "message": message[:2000], **extra}


def llm_cost_alerts(rec: analytics.Records, t: AlertThresholds, now: float) -> list[Alert]:
    """A UTC day (today or yesterday) whose LLM cost is above the daily limit."""
    if not t.llm_cost.enabled:
        return []
    limit = t.llm_cost.daily_limit_usd
    days = {analytics.day_of(now), analytics.day_of(now - DAY_S)}
    per_day: dict[str, float] = defaultdict(float)
    per_pipeline: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for line in analytics.llm_lines(rec.materializations):
        if line["day"] in days:
            per_day[line["day"]] += line["cost_usd"]
            per_pipeline[line["day"]][line["pipeline"]] += line["cost_usd"]
    out = []
    for day, cost in sorted(per_day.items()):
        if cost > limit:
            top = sorted(per_pipeline[day].items(), key=lambda kv: -kv[1])[:3]
            out.append(Alert(f"llm_cost:{day}", _payload(
                "llm_cost_above_limit", "*", "",
                f"LLM cost on {day} is ${cost:.4f}, above the daily limit ${limit:g} "
                f"(top: {', '.join(f'{p} ${c:.4f}' for p, c in top)})",
                day=day, cost_usd=round(cost, 6), limit_usd=limit)))
    return out


def success_rate_alerts(rec: analytics.Records, t: AlertThresholds, now: float) -> list[Alert]:
    """A pipeline whose finished runs created within the window succeed less than `min`."""
    cfg = t.success_rate
    if not cfg.enabled:
        return []
    window = cfg.window_hours * 3600
    runs: dict[str, list[analytics.RunInfo]] = defaultdict(list)
    for r in rec.runs:
        if r.status in analytics.FINISHED and r.created >= now - window:
            runs[r.pipeline].append(r)
    out = []
    for pipeline, rs in sorted(runs.items()):
        ok = sum(r.status == "SUCCESS" for r in rs)
        rate = ok / len(rs)
        if len(rs) >= cfg.min_runs and rate < cfg.min:
            failed = [r.run_id for r in rs if r.status != "SUCCESS"][-3:]
            out.append(Alert(f"success_rate:{pipeline}:{int(now // window)}", _payload(
                "success_rate_below_limit", pipeline, failed[-1] if failed else "",
                f"pipeline {pipeline}: {ok}/{len(rs)} runs succeeded in the last "
                f"{cfg.window_hours:g} h ({rate:.0%}, limit {cfg.min:.0%}); "
                f"recent failures: {', '.join(failed)}",
                success_rate=round(rate, 4), runs=len(rs), limit=cfg.min)))
    return out


def baseline(runs: list[analytics.RunInfo], before: float, n: int, min_n: int) -> float | None:
    """Median duration of the last `n` successful runs that ended before `before`."""
    done = sorted((r for r in runs if r.status == "SUCCESS" and r.duration is not None
                   and r.end is not None and r.end <= before), key=lambda r: r.end or 0)[-n:]
    if len(done) < min_n:
        return None
    return statistics.median(r.duration or 0.0 for r in done)


def run_time_alerts(rec: analytics.Records, t: AlertThresholds, now: float) -> list[Alert]:
    """A run (running, or finished within the horizon) longer than factor x its pipeline's
    baseline (median of the last N successful runs before it started)."""
    cfg = t.run_time
    if not cfg.enabled:
        return []
    by_pipeline: dict[str, list[analytics.RunInfo]] = defaultdict(list)
    for r in rec.runs:
        by_pipeline[r.pipeline].append(r)
    out = []
    for pipeline, rs in sorted(by_pipeline.items()):
        for r in rs:
            if r.start is None or (r.end is not None and r.end < now - HORIZON_S):
                continue
            if r.end is None and r.status not in analytics.ACTIVE:
                continue
            took = (r.end if r.end is not None else now) - r.start
            base = baseline(rs, r.start, cfg.baseline_runs, cfg.min_baseline_runs)
            if base is None or base <= 0 or took <= cfg.factor * base:
                continue
            state = "still running" if r.end is None else r.status.lower()
            out.append(Alert(f"run_time:{r.run_id}", _payload(
                "run_time_above_baseline", pipeline, r.run_id,
                f"pipeline {pipeline}: run {r.run_id} took {took:.1f} s ({state}), "
                f"{took / base:.1f}x its baseline {base:.1f} s (limit {cfg.factor:g}x)",
                seconds=round(took, 3), baseline_s=round(base, 3), factor=cfg.factor)))
    return out


def quality_drop_alerts(rec: analytics.Records, t: AlertThresholds, now: float) -> list[Alert]:
    """A dataset whose quality score fell at least `min_drop` points below the previous one."""
    cfg = t.quality_drop
    if not cfg.enabled:
        return []
    last: dict[str, analytics.Materialization] = {}
    out = []
    for m in sorted(rec.materializations, key=lambda m: m.storage_id):
        if m.quality_score is None:
            continue
        prev = last.get(m.dataset)
        last[m.dataset] = m
        if prev is None or m.timestamp < now - HORIZON_S:
            continue
        drop = (prev.quality_score or 0.0) - m.quality_score
        if drop >= cfg.min_drop:
            out.append(Alert(f"quality_drop:{m.dataset}:{m.storage_id}", _payload(
                "quality_score_drop", m.dataset, m.run_id,
                f"quality score of {m.dataset} fell {drop:.2f} points: "
                f"{prev.quality_score:.2f} -> {m.quality_score:.2f} (limit {cfg.min_drop:g})",
                dataset=m.dataset, score=m.quality_score, previous=prev.quality_score)))
    return out


Rule = Callable[[analytics.Records, AlertThresholds, float], list[Alert]]


def tick(rule: Rule, rec: analytics.Records, t: AlertThresholds, cursor: str | None,
         now: float) -> tuple[list[Alert], str]:
    """The alerts to deliver now and the next cursor ({"fired": {key: first seen}}). With no
    cursor (first tick) current conditions are recorded, not delivered."""
    found = rule(rec, t, now)
    fired: dict[str, float] = json.loads(cursor)["fired"] if cursor else {}
    new = [a for a in found if a.key not in fired] if cursor is not None else []
    for a in found:
        fired.setdefault(a.key, now)
    keep = {k: v for k, v in fired.items() if v >= now - 2 * HORIZON_S}
    return new, json.dumps({"fired": keep}, sort_keys=True)


def _sensor(name: str, rule: Rule, description: str) -> dg.SensorDefinition:
    @dg.sensor(name=name, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING, description=description)
    def _evaluate(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        thresholds = load_thresholds()
        rec = analytics.read_records(context.instance, ttl=0, progress=False)
        now = time.time()
        new, cursor = tick(rule, rec, thresholds, context.cursor, now)
        first = context.cursor is None
        for alert in new:
            deliver(alert.payload, context.log)
        context.update_cursor(cursor)
        if first:
            return dg.SkipReason("started watching; current conditions are not alerted")
        return dg.SkipReason(f"{len(new)} alert(s) sent")

    return _evaluate


llm_cost_alert = _sensor("llm_cost_alert", llm_cost_alerts,
                         "Alerts when a day's LLM cost exceeds llm_cost.daily_limit_usd.")
success_rate_alert = _sensor("success_rate_alert", success_rate_alerts,
                             "Alerts when a pipeline's success rate falls below success_rate.min.")
run_time_alert = _sensor("run_time_alert", run_time_alerts,
                         "Alerts when a run takes longer than run_time.factor x its baseline.")
quality_drop_alert = _sensor("quality_drop_alert", quality_drop_alerts,
                             "Alerts when a quality score drops by quality_drop.min_drop.")
THRESHOLD_SENSORS = [llm_cost_alert, success_rate_alert, run_time_alert, quality_drop_alert]
