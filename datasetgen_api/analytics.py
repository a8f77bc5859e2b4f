"""Run and materialization records read from the Dagster instance, and pure functions that
turn them into the monitoring numbers: per-pipeline runs and success rates, active runs,
LLM costs (by provider, model, pipeline; per row), step performance and daily trends.

`read_records` is the only function here that touches the instance; it reads runs every
time and materialization events incrementally (after the last storage id seen), so a scrape
after a restart or in another worker process sees the same numbers. Everything else works on
the plain `RunInfo` / `Materialization` records and is unit-testable without Dagster.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACTIVE = ("STARTED", "STARTING", "CANCELING")
QUEUED = ("QUEUED",)
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
PIPELINE_TAG = "datasetgen/pipeline"


@dataclass(frozen=True)
class RunInfo:
    """One Dagster run: ids, the pipeline it ran, status and times (epoch seconds)."""

    run_id: str
    job: str
    pipeline: str
    status: str
    created: float
    start: float | None = None
    end: float | None = None

    @property
    def duration(self) -> float | None:
        return None if self.start is None or self.end is None else max(0.0, self.end - self.start)

    @property
    def day(self) -> str:
        return day_of(self.start or self.created)


@dataclass(frozen=True)
class Materialization:
    """One asset materialization: where it came from and the numbers its metadata carries."""

    storage_id: int
    run_id: str
    pipeline: str
    step: str
    timestamp: float
    rows: int | None = None
    seconds: float | None = None
    quality_score: float | None = None
    pii_findings: int = 0
    llm: dict[str, dict[str, float]] = field(default_factory=dict)  # "provider/model" -> usage

    @property
    def day(self) -> str:
        return day_of(self.timestamp)

    @property
    def dataset(self) -> str:
        return f"{self.pipeline}/{self.step}"


@dataclass
class Records:
    """What the metrics and monitoring views are computed from."""

    runs: list[RunInfo]
    materializations: list[Materialization]
    step_progress: dict[str, dict[str, Any]] = field(default_factory=dict)  # active run -> progress
    read_at: float = 0.0


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


# -- reading the instance ------------------------------------------------------------------

def _value(meta: dict[str, Any], key: str) -> Any:
    v = meta.get(key)
    return getattr(v, "value", v)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def llm_usage(meta: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per "provider/model" usage from a step's `llm/usage` metadata (see
    datasetgen_resources.llm.resource.llm_metadata); {} for steps without LLM use."""
    usage = _value(meta, "llm/usage")
    if not isinstance(usage, dict):
        return {}
    keys = ("calls", "input_tokens", "output_tokens", "cached_input_tokens", "cache_hits",
            "cost_usd")
    by_model = usage.get("by_model") or {}
    if not by_model and (usage.get("calls") or usage.get("cache_hits")):
        by_model = {f"{usage.get('provider') or 'unknown'}/{usage.get('model') or 'unknown'}":
                    usage}
    return {str(k): {f: float(m.get(f) or 0) for f in keys}
            for k, m in by_model.items() if isinstance(m, dict)}


def pii_count(report: dict[str, Any]) -> int:
    """PII findings in a step report: the `pii` step's cells per column and entity, or the
    quality step's `pii_exposure` issues."""
    total = 0
    for per in (report.get("entities") or {}).values():
        if isinstance(per, dict):
            total += sum(int(n) for n in per.values() if isinstance(n, int | float))
    exposure = (report.get("issues_by_family") or {}).get("pii_exposure") or {}
    if isinstance(exposure, dict):
        total += sum(int(n) for n in exposure.values() if isinstance(n, int | float))
    return total


def materialization_of(record: Any) -> Materialization | None:
    """A `Materialization` from a Dagster event log record (None when it is not one)."""
    mat = record.asset_materialization
    if mat is None:
        return None
    path = mat.asset_key.path
    meta = dict(mat.metadata or {})
    report = _value(meta, "report")
    report = report if isinstance(report, dict) else {}
    rows = _value(meta, "dagster/row_count")
    score = report.get("score")
    return Materialization(
        storage_id=record.storage_id, run_id=record.run_id or "",
        pipeline=path[0] if len(path) > 1 else "", step=path[-1],
        timestamp=float(record.timestamp),
        rows=int(rows) if _num(rows) is not None else None,
        seconds=_num(report.get("seconds")),
        quality_score=_num(score), pii_findings=pii_count(report), llm=llm_usage(meta))


def run_info(record: Any) -> RunInfo:
    """A `RunInfo` from a Dagster RunRecord; the pipeline is the `datasetgen/pipeline` tag,
    else the first asset's key prefix, else the job name without `_job`."""
    run = record.dagster_run
    pipeline = run.tags.get(PIPELINE_TAG)
    if not pipeline and run.asset_selection:
        first = sorted(run.asset_selection, key=lambda k: k.path)[0].path
        pipeline = first[0] if len(first) > 1 else None
    if not pipeline:
        pipeline = run.job_name.removesuffix("_job")
    return RunInfo(run.run_id, run.job_name, pipeline, run.status.value,
                   record.create_timestamp.timestamp(), record.start_time, record.end_time)


class _Cache:
    """Materializations read so far per instance (incremental by storage id) and the last
    full result, reused for `ttl` seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mats: dict[str, list[Materialization]] = {}
        self.after: dict[str, int] = {}
        self.result: dict[str, Records] = {}


_CACHE = _Cache()
EVENT_BATCH = 5000


def _instance_key(instance: Any) -> str | None:
    """Persistent instances by storage and home (a sensor tick or a request may get a new
    instance object for the same storage); None for ephemeral ones (never cached)."""
    if getattr(instance, "is_ephemeral", False):
        return None
    return f"{type(instance.event_log_storage).__name__}:{instance.root_directory}"


def _new_materializations(instance: Any, after: int | None) -> tuple[list[Materialization],
                                                                        int | None]:
    """Materializations stored after storage id `after`, and the last storage id read."""
    import dagster as dg

    out: list[Materialization] = []
    while True:
        flt = dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
                                    after_cursor=after)
        # the storage's own call: instance.get_event_records warns for materializations,
        # and fetch_materializations needs one asset key
        batch = instance.event_log_storage.get_event_records(flt, EVENT_BATCH, True)
        out.extend(m for m in map(materialization_of, batch) if m is not None)
        if batch:
            after = batch[-1].storage_id
        if len(batch) < EVENT_BATCH:
            return out, after


def _snapshot(instance: Any, mats: list[Materialization], progress: bool) -> Records:
    runs = [run_info(r) for r in instance.get_run_records()]
    steps = ({r.run_id: step_progress(instance, r.run_id) for r in runs if r.status in ACTIVE}
             if progress else {})
    return Records(runs, list(mats), steps, time.time())


def read_records(instance: Any, ttl: float = 10.0, progress: bool = True) -> Records:
    """Runs, materializations and (with `progress`) the step progress of active runs. For a
    persistent instance the result is reused for `ttl` seconds and materialization events are
    read incrementally after the last storage id seen; an ephemeral one is read in full."""
    key = _instance_key(instance)
    if key is None:
        return _snapshot(instance, _new_materializations(instance, None)[0], progress)
    with _CACHE.lock:
        cached = _CACHE.result.get(key)
        if cached is not None and ttl > 0 and time.time() - cached.read_at < ttl:
            if progress:
                for r in cached.runs:
                    if r.status in ACTIVE and r.run_id not in cached.step_progress:
                        cached.step_progress[r.run_id] = step_progress(instance, r.run_id)
            return cached
        mats = _CACHE.mats.setdefault(key, [])
        new, after = _new_materializations(instance, _CACHE.after.get(key))
        mats.extend(new)
        if after is not None:
            _CACHE.after[key] = after
        result = _snapshot(instance, mats, progress)
        _CACHE.result[key] = result
        return result


def forget(instance: Any) -> None:
    """Drop the cache of one instance (tests; a wiped instance)."""
    key = _instance_key(instance)
    with _CACHE.lock:
        for d in (_CACHE.mats, _CACHE.after, _CACHE.result):
            d.pop(key, None)


def step_progress(instance: Any, run_id: str) -> dict[str, Any]:
    """Steps done, running, failed and planned of one run (from its step stats and plan)."""
    stats = instance.get_run_step_stats(run_id)
    done = sorted(s.step_key for s in stats if s.status and s.status.value == "SUCCESS")
    failed = sorted(s.step_key for s in stats if s.status and s.status.value == "FAILURE")
    running = sorted(s.step_key for s in stats if s.end_time is None
                     and (s.status is None or s.status.value == "IN_PROGRESS"))
    total = len(stats)
    run = instance.get_run_by_id(run_id)
    if run is not None and run.execution_plan_snapshot_id:
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        total = max(total, len(plan.step_keys_to_execute or plan.steps))
    return {"done": done, "failed": failed, "running": running, "total": total}


# -- pure views ----------------------------------------------------------------------------

def _rate(ok: int, n: int) -> float | None:
    return round(ok / n, 4) if n else None


def pipelines_view(rec: Records) -> list[dict[str, Any]]:
    """Per pipeline: runs by status, success rate (of finished runs), mean and max duration,
    rows output (the final step of each successful run), last run."""
    rows_by_run = final_rows(rec.materializations)
    out: dict[str, dict[str, Any]] = {}
    for r in rec.runs:
        p = out.setdefault(r.pipeline, {"pipeline": r.pipeline, "runs": 0, "by_status": {},
                                        "durations": [], "rows": 0, "last_run": None})
        p["runs"] += 1
        p["by_status"][r.status] = p["by_status"].get(r.status, 0) + 1
        if r.duration is not None and r.status == "SUCCESS":
            p["durations"].append(r.duration)
        p["rows"] += rows_by_run.get(r.run_id, 0)
        if p["last_run"] is None or r.created > p["last_run"]["created"]:
            p["last_run"] = {"run_id": r.run_id, "status": r.status, "created": r.created}
    result = []
    for p in sorted(out.values(), key=lambda p: p["pipeline"]):
        ok = p["by_status"].get("SUCCESS", 0)
        finished = sum(p["by_status"].get(s, 0) for s in FINISHED)
        d = p.pop("durations")
        p["success_rate"] = _rate(ok, finished)
        p["avg_duration_s"] = round(statistics.fmean(d), 3) if d else None
        p["max_duration_s"] = round(max(d), 3) if d else None
        result.append(p)
    return result


def final_rows(mats: Iterable[Materialization]) -> dict[str, int]:
    """Rows output per run: the row count of the last materialization of each run (the final
    step: a step materializes after its inputs)."""
    last: dict[str, Materialization] = {}
    for m in mats:
        if m.rows is None:
            continue
        prev = last.get(m.run_id)
        if prev is None or m.storage_id > prev.storage_id:
            last[m.run_id] = m
    return {rid: m.rows or 0 for rid, m in last.items()}


def active_view(rec: Records, now: float | None = None) -> dict[str, Any]:
    """Queued and running runs; running ones with their step progress."""
    now = time.time() if now is None else now
    active = []
    for r in sorted((r for r in rec.runs if r.status in ACTIVE), key=lambda r: r.created):
        prog = rec.step_progress.get(r.run_id, {})
        total = prog.get("total") or 0
        done = len(prog.get("done") or [])
        active.append({"run_id": r.run_id, "pipeline": r.pipeline, "job": r.job,
                       "status": r.status,
                       "elapsed_s": round(now - (r.start or r.created), 1),
                       "steps_done": done, "steps_total": total,
                       "progress": round(done / total, 4) if total else None,
                       "running_steps": prog.get("running") or [],
                       "failed_steps": prog.get("failed") or []})
    queued = [{"run_id": r.run_id, "pipeline": r.pipeline, "status": r.status,
               "waiting_s": round(now - r.created, 1)}
              for r in sorted((r for r in rec.runs if r.status in QUEUED), key=lambda r: r.created)]
    return {"active": active, "queued": queued, "active_count": len(active),
            "queue_depth": len(queued)}


def llm_lines(mats: Iterable[Materialization]) -> list[dict[str, Any]]:
    """One line per materialization and model: provider, model, pipeline, day, usage."""
    out = []
    for m in mats:
        for key, u in m.llm.items():
            provider, _, model = key.partition("/")
            out.append({"provider": provider, "model": model, "pipeline": m.pipeline,
                        "day": m.day, "run_id": m.run_id, **u})
    return out


def _sum_by(lines: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    acc: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for line in lines:
        a = acc[tuple(line[k] for k in keys)]
        for f in ("cost_usd", "calls", "input_tokens", "output_tokens", "cache_hits"):
            a[f] += float(line.get(f) or 0)
    return [{**dict(zip(keys, k, strict=True)), "cost_usd": round(v["cost_usd"], 6),
             "calls": int(v["calls"]), "input_tokens": int(v["input_tokens"]),
             "output_tokens": int(v["output_tokens"]), "cache_hits": int(v["cache_hits"])}
            for k, v in sorted(acc.items())]


def costs_view(rec: Records) -> dict[str, Any]:
    """LLM cost by provider, model and pipeline; cost per output row per pipeline."""
    lines = llm_lines(rec.materializations)
    by_pipeline = _sum_by(lines, ("pipeline",))
    rows_by_run = final_rows(rec.materializations)
    ok_runs = {r.run_id: r.pipeline for r in rec.runs}
    rows: dict[str, int] = defaultdict(int)
    for rid, n in rows_by_run.items():
        if rid in ok_runs:
            rows[ok_runs[rid]] += n
    for p in by_pipeline:
        n = rows.get(p["pipeline"], 0)
        p["rows"] = n
        p["cost_per_row_usd"] = round(p["cost_usd"] / n, 8) if n else None
    return {"total_usd": round(sum(float(x.get("cost_usd") or 0) for x in lines), 6),
            "by_provider": _sum_by(lines, ("provider",)),
            "by_model": _sum_by(lines, ("provider", "model")),
            "by_pipeline": by_pipeline,
            "by_day": _sum_by(lines, ("day",))}


def performance_view(rec: Records, slowest: int = 10) -> dict[str, Any]:
    """Step durations (from each step's report `seconds`): count, mean, p50, max per step, and
    the slowest steps."""
    per: dict[str, list[float]] = defaultdict(list)
    for m in rec.materializations:
        if m.seconds is not None:
            per[m.dataset].append(m.seconds)
    steps = [{"step": k, "count": len(v), "mean_s": round(statistics.fmean(v), 4),
              "p50_s": round(statistics.median(v), 4), "max_s": round(max(v), 4)}
             for k, v in sorted(per.items())]
    runs = [r for r in rec.runs if r.duration is not None]
    return {"steps": steps,
            "slowest_steps": sorted(steps, key=lambda s: -s["mean_s"])[:slowest],
            "slowest_runs": [{"run_id": r.run_id, "pipeline": r.pipeline, "status": r.status,
                              "duration_s": round(r.duration or 0, 3)}
                             for r in sorted(runs, key=lambda r: -(r.duration or 0))[:slowest]]}


def quality_view(rec: Records) -> list[dict[str, Any]]:
    """Every quality score, oldest first: dataset, day, timestamp, score."""
    return [{"dataset": m.dataset, "day": m.day, "timestamp": m.timestamp,
             "score": m.quality_score, "run_id": m.run_id}
            for m in sorted(rec.materializations, key=lambda m: m.storage_id)
            if m.quality_score is not None]


def daily_view(rec: Records) -> list[dict[str, Any]]:
    """Per day: runs by outcome, success rate, LLM cost, rows output."""
    days: dict[str, dict[str, Any]] = {}
    for r in rec.runs:
        d = days.setdefault(r.day, {"day": r.day, "success": 0, "failure": 0, "other": 0})
        kind = {"SUCCESS": "success", "FAILURE": "failure"}.get(r.status, "other")
        d[kind] += 1
    rows = final_rows(rec.materializations)
    run_day = {r.run_id: r.day for r in rec.runs}
    for m in rec.materializations:
        d = days.setdefault(m.day, {"day": m.day, "success": 0, "failure": 0, "other": 0})
        d["cost_usd"] = d.get("cost_usd", 0.0) + sum(u.get("cost_usd", 0) for u in m.llm.values())
    for rid, n in rows.items():
        if rid in run_day:
            d = days[run_day[rid]]
            d["rows"] = d.get("rows", 0) + n
    out = []
    for d in sorted(days.values(), key=lambda d: d["day"]):
        d["cost_usd"] = round(d.get("cost_usd", 0.0), 6)
        d["rows"] = d.get("rows", 0)
        d["success_rate"] = _rate(d["success"], d["success"] + d["failure"])
        out.append(d)
    return out


def dashboard_view(rec: Records, now: float | None = None) -> dict[str, Any]:
    """Everything the dashboard draws, per day where it is a trend."""
    return {"generated_at": rec.read_at or time.time(), "daily": daily_view(rec),
            "pipelines": pipelines_view(rec), "active": active_view(rec, now),
            "costs": costs_view(rec), "quality": quality_view(rec),
            "performance": performance_view(rec)}
