"""/metrics after real runs: a tiny LLM + quality pipeline materialized twice (second run from
the LLM cache) and a failing one, in a persistent SQLite instance; the scrape's run counts,
durations, rows, tokens, cost, cache hits, PII findings and quality score match the runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from datasetgen_api import analytics
from datasetgen_api.metrics import histogram
from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import parse_pipeline
from datasetgen_resources import datasetgen_resources

PIPELINE = """
name: mon
steps:
  - {id: items, type: csv, config: {path: %(dir)s/items.csv}}
  - id: enriched
    type: llm_process
    depends_on: [items]
    config: {mode: enrich, prompt: "{title} for {price}", fields: {category: string}}
  - {id: q, type: quality_validation, depends_on: [enriched], config: {min_quality_score: 1}}
"""
BROKEN = """
name: mon_broken
steps:
  - {id: gone, type: csv, config: {path: %(dir)s/gone.csv}}
"""


@dataclass
class Runs:
    instance: dg.DagsterInstance
    meta: list[dict[str, dict[str, Any]]] = field(default_factory=list)  # per run: step -> md


def _materialize(instance: dg.DagsterInstance, text: str, tmp: Path, pipeline: str) -> Any:
    p = parse_pipeline(text % {"dir": tmp}, file=f"{pipeline}.yaml", base_dir=tmp)
    return dg.materialize(build_pipeline(p)["assets"], instance=instance, raise_on_error=False,
                          resources=datasetgen_resources(str(tmp / "assets")),
                          tags={"datasetgen/pipeline": pipeline})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, llm_emulator_server: Any) -> Iterator[Runs]:
    tmp = tmp_path_factory.mktemp("monitored")
    llm_emulator_server.reset()
    (tmp / "items.csv").write_text("sku,title,price,email\nA1,Red hammer,9.5,ann@example.com\n"
                                   "B2,Blue kite,20,bob@example.com\n"
                                   "C3,Green apple,1.25,cy@example.com\n")
    (tmp / "gone.csv").write_text("a\n1\n")
    (tmp / "home").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATASETGEN_LLM_PROVIDERS", "emulator")
        mp.setenv("DATASETGEN_LLM_EMULATOR_BASE_URL", llm_emulator_server.openai_base_url())
        mp.setenv("DATASETGEN_LLM_EMULATOR_MODEL", "emu-cheap")
        mp.setenv("DATASETGEN_LLM_CACHE_PATH", str(tmp / "llm.sqlite"))
        mp.setenv("DATASETGEN_PROJECT_DIR", str(tmp))
        with dg.instance_for_test(temp_dir=str(tmp / "home")) as instance:
            out = Runs(instance)
            for _ in range(2):
                res = _materialize(instance, PIPELINE, tmp, "mon")
                assert res.success
                out.meta.append({
                    step: {k: v.value for k, v in
                           res.asset_materializations_for_node(f"mon__{step}")[0].metadata
                           .items()}
                    for step in ("items", "enriched", "q")})
            (tmp / "gone.csv").unlink()
            assert not _materialize(instance, BROKEN, tmp, "mon_broken").success
            yield out
            analytics.forget(instance)


def scrape(instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
           ) -> dict[tuple[str, tuple], float]:
    from datasetgen_api.app import create_app

    monkeypatch.setenv("DATASETGEN_JWT_SECRET", "m" * 48)
    app = create_app()
    app.state.dagster_instance = instance
    app.state.metrics_cache_s = 0
    resp = TestClient(app).get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(resp.text) for s in fam.samples}


def test_scrape_matches_the_runs(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    m = scrape(runs.instance, monkeypatch)
    assert m[("pipeline_runs_total", (("pipeline", "mon"), ("status", "success")))] == 2
    assert m[("pipeline_runs_total", (("pipeline", "mon_broken"), ("status", "failure")))] == 1
    assert not any(k[0] == "pipeline_runs_total" and ("status", "failure") in k[1]
                   and ("pipeline", "mon") in k[1] for k in m)
    records = [r for r in runs.instance.get_run_records()
               if r.dagster_run.tags.get("datasetgen/pipeline") == "mon"]
    took = sum(r.end_time - r.start_time for r in records)
    ok = (("pipeline", "mon"), ("status", "success"))
    assert m[("pipeline_execution_duration_seconds_count", ok)] == 2
    assert m[("pipeline_execution_duration_seconds_sum", ok)] == pytest.approx(took)
    assert m[("pipeline_execution_duration_seconds_bucket", (("le", "+Inf"), *ok))] == 2
    for step in ("items", "enriched", "q"):
        assert m[("rows_processed_total", (("pipeline", "mon"), ("step", step)))] == 6
    assert m[("data_quality_score", (("dataset", "mon/q"),))] == pytest.approx(
        runs.meta[-1]["q"]["report"]["score"])
    assert ("data_quality_score", (("dataset", "mon/items"),)) not in m


def test_llm_usage_and_pii(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    m = scrape(runs.instance, monkeypatch)
    first, second = (r["enriched"] for r in runs.meta)
    assert first["llm/calls"] >= 1 and first["llm/cost_usd"] > 0
    assert second["llm/calls"] == 0 and second["llm/cache_hits"] == 3  # all from the cache
    pm = (("model", "emu-cheap"), ("provider", "emulator"))
    assert m[("llm_cost_usd_total", (*pm[:1], ("pipeline", "mon"), pm[1]))] == pytest.approx(
        first["llm/cost_usd"] + second["llm/cost_usd"])
    assert m[("llm_tokens_total", (("kind", "input"), *pm))] == first["llm/input_tokens"]
    assert m[("llm_tokens_total", (("kind", "output"), *pm))] == first["llm/output_tokens"]
    assert m[("llm_cache_hits_total", pm)] == 3
    assert m[("llm_calls_total", pm)] == first["llm/calls"]
    # the email column: the quality step's pii_exposure issue, 3 cells per run
    assert sum(runs.meta[0]["q"]["report"]["issues_by_family"]["pii_exposure"].values()) == 3
    assert m[("pii_findings_total", (("pipeline", "mon"),))] == 6
    assert m[("pipeline_queue_depth", ())] == 0 and m[("pipeline_active_runs", ())] == 0


def test_values_survive_a_restart_and_count_queued_runs(runs: Runs,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A new instance object on the same storage (a restarted API worker) scrapes the same,
    reading events incrementally; a queued and a started run show as queue depth and active."""
    before = scrape(runs.instance, monkeypatch)
    analytics.forget(runs.instance)
    with dg.DagsterInstance.from_ref(runs.instance.get_ref()) as again:
        after = scrape(again, monkeypatch)
        assert after == before
        for run_id, event in (("q" * 8, dg.DagsterEventType.RUN_ENQUEUED),
                              ("s" * 8, dg.DagsterEventType.RUN_START)):
            again.add_run(dg.DagsterRun(job_name="mon_job", run_id=run_id,
                                        tags={"datasetgen/pipeline": "mon"},
                                        remote_job_origin=_origin()))
            again.report_dagster_event(dg.DagsterEvent(event_type_value=event.value,
                                                       job_name="mon_job"), run_id=run_id)
        try:
            now = scrape(again, monkeypatch)
            assert now[("pipeline_queue_depth", ())] == 1
            assert now[("pipeline_active_runs", ())] == 1
            assert now[("pipeline_runs_total", (("pipeline", "mon"), ("status", "queued")))] == 1
        finally:
            for run_id in ("q" * 8, "s" * 8):
                again.delete_run(run_id)
            analytics.forget(again)


def _origin() -> Any:
    from dagster._core.remote_origin import (
        RegisteredCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )

    repo = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("datasetgen"), "__repository__")
    return RemoteJobOrigin(repo, "mon_job")


def test_histogram_buckets_are_cumulative() -> None:
    buckets, total = histogram([0.5, 3.0, 3.0, 90.0], (1.0, 5.0, 60.0))
    assert buckets == [("1.0", 1.0), ("5.0", 3.0), ("60.0", 3.0), ("+Inf", 4.0)]
    assert total == 96.5


def test_metrics_is_public_and_cached(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    from datasetgen_api.app import PUBLIC_PATHS

    assert "/metrics" in PUBLIC_PATHS
    rec = analytics.read_records(runs.instance, ttl=60)
    assert analytics.read_records(runs.instance, ttl=60) is rec  # within the ttl: no re-read
    assert analytics.read_records(runs.instance, ttl=0) is not rec


def test_grafana_and_prometheus_files_use_the_scraped_metrics(
        runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import re

    import yaml

    deploy = Path(__file__).resolve().parent.parent / "deploy"
    prom = yaml.safe_load((deploy / "prometheus.yml").read_text())
    [job] = prom["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    board = json.loads((deploy / "grafana/dashboards/datasetgen.json").read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(
        r"\b((?:pipeline|llm|rows|data_quality|pii)_[a-z_]+)\b", e)}
    scraped = {name for name, _ in scrape(runs.instance, monkeypatch)}
    assert used and used <= scraped, used - scraped
    titles = " ".join(p["title"] for p in board["panels"])
    for needed in ("success vs failure", "by provider", "by model", "by pipeline", "per output row",
                   "Quality score", "Active runs"):
        assert needed in titles
    uid = board["panels"][0]["datasource"]["uid"]
    source = yaml.safe_load((deploy / "grafana/provisioning/datasources/prometheus.yml")
                            .read_text())["datasources"][0]
    assert source["uid"] == uid and source["type"] == "prometheus"
