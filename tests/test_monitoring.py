"""/api/v1/monitoring/metrics/* over records injected into a real (ephemeral) Dagster instance:
runs per pipeline, active runs with step progress, LLM costs per provider/model/pipeline and per
row, step performance, the daily dashboard; permission checks; the dashboard page and its
vendored Vega-Lite files are served."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from datasetgen_api import analytics
from datasetgen_api.security import issue_token

SECRET = "s" * 48


@dg.op
def first() -> int:
    return 1


@dg.op
def second(x: int) -> int:
    return x + 1


@dg.job
def shop_job() -> None:
    second(first())


def _usage(provider: str, model: str, cost: float, calls: int = 2, hits: int = 0) -> dict:
    return {"provider": provider, "model": model, "calls": calls, "cost_usd": cost,
            "by_model": {f"{provider}/{model}": {
                "calls": calls, "input_tokens": 100 * calls, "output_tokens": 10 * calls,
                "cached_input_tokens": 0, "cache_hits": hits, "cost_usd": cost}}}


def _materialize(instance: dg.DagsterInstance, run_id: str, key: list[str], **meta: Any) -> None:
    """A materialization event of run `run_id`, as a step writes it."""
    mat = dg.AssetMaterialization(asset_key=key, metadata={
        k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in meta.items()})
    instance.report_dagster_event(
        dg.DagsterEvent(event_type_value=dg.DagsterEventType.ASSET_MATERIALIZATION.value,
                        job_name="shop_job", event_specific_data=_step_mat(mat)),
        run_id=run_id)


def _step_mat(mat: dg.AssetMaterialization) -> Any:
    from dagster._core.events import StepMaterializationData

    return StepMaterializationData(mat)


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    """Two successful runs of `shop` (each: 3 output rows, LLM use on two models, a quality
    score, step seconds) and one failed run."""
    with dg.DagsterInstance.ephemeral() as inst:
        runs = [shop_job.execute_in_process(instance=inst, tags={"datasetgen/pipeline": "shop"})
                .run_id for _ in range(2)]
        failed = inst.create_run_for_job(shop_job, tags={"datasetgen/pipeline": "shop"})
        for event in (dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_FAILURE):
            inst.report_dagster_event(dg.DagsterEvent(event_type_value=event.value,
                                                      job_name="shop_job"),
                                      run_id=failed.run_id)
        for i, run_id in enumerate(runs):
            _materialize(inst, run_id, ["shop", "enriched"], **{
                "dagster/row_count": 3, "report": {"seconds": 2.0 + i},
                "llm/usage": _usage("openai", "gpt-4.1", 0.30, hits=i)})
            _materialize(inst, run_id, ["shop", "checked"], **{
                "dagster/row_count": 3, "report": {"seconds": 0.5, "score": 90.0 - 10 * i},
                "llm/usage": _usage("anthropic", "claude-haiku-4-5", 0.06)})
        yield inst


@pytest.fixture
def client(instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    from datasetgen_api.app import create_app

    monkeypatch.setenv("DATASETGEN_JWT_SECRET", SECRET)
    app = create_app()
    app.state.dagster_instance = instance
    app.state.metrics_cache_s = 0
    return TestClient(app)


def _get(client: TestClient, path: str, role: str = "viewer") -> Any:
    token = issue_token("ann", [role], "ws1")
    resp = client.get(f"/api/v1/monitoring/metrics/{path}",
                      headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_monitoring_needs_a_token(client: TestClient) -> None:
    for path in ("pipelines", "active", "costs", "performance", "dashboard"):
        resp = client.get(f"/api/v1/monitoring/metrics/{path}")
        assert resp.status_code == 401 and "bearer" in resp.json()["detail"]
    from fastapi.routing import iter_route_contexts

    ctxs = [c for c in iter_route_contexts(client.app.routes)
            if c.path.startswith("/api/v1/monitoring")]
    assert len(ctxs) == 5
    for ctx in ctxs:  # every monitoring route declares monitoring.read
        dependant = getattr(ctx.route, "dependant", None) or ctx.original_route.dependant
        perms = [getattr(d.call, "permission", None) for d in dependant.dependencies]
        assert "monitoring.read" in perms


def test_pipelines_costs_and_performance(client: TestClient) -> None:
    [shop] = _get(client, "pipelines")["pipelines"]
    assert shop["runs"] == 3 and shop["by_status"] == {"SUCCESS": 2, "FAILURE": 1}
    assert shop["success_rate"] == 0.6667 and shop["rows"] == 6
    assert shop["avg_duration_s"] is not None and shop["avg_duration_s"] > 0

    costs = _get(client, "costs")
    assert costs["total_usd"] == pytest.approx(0.72)
    assert {p["provider"]: p["cost_usd"] for p in costs["by_provider"]} == {
        "anthropic": 0.12, "openai": 0.6}
    assert {(m["provider"], m["model"]): m["calls"] for m in costs["by_model"]} == {
        ("anthropic", "claude-haiku-4-5"): 4, ("openai", "gpt-4.1"): 4}
    [pipe] = costs["by_pipeline"]
    assert pipe["pipeline"] == "shop" and pipe["rows"] == 6
    assert pipe["cost_per_row_usd"] == pytest.approx(0.72 / 6)
    assert sum(m["cache_hits"] for m in costs["by_model"]) == 1

    perf = _get(client, "performance", role="analyst")
    steps = {s["step"]: s for s in perf["steps"]}
    assert steps["shop/enriched"]["count"] == 2 and steps["shop/enriched"]["mean_s"] == 2.5
    assert steps["shop/enriched"]["max_s"] == 3.0
    assert perf["slowest_steps"][0]["step"] == "shop/enriched"
    assert [r["status"] for r in perf["slowest_runs"]].count("SUCCESS") == 2


def test_active_runs_show_step_progress(client: TestClient, instance: dg.DagsterInstance
                                        ) -> None:
    assert _get(client, "active") == {"active": [], "queued": [], "active_count": 0,
                                      "queue_depth": 0}
    run = instance.create_run_for_job(shop_job, tags={"datasetgen/pipeline": "shop"})
    try:
        from dagster._core.events import StepSuccessData

        for event, step, data in ((dg.DagsterEventType.RUN_START, None, None),
                                  (dg.DagsterEventType.STEP_START, "first", None),
                                  (dg.DagsterEventType.STEP_SUCCESS, "first",
                                   StepSuccessData(duration_ms=5.0)),
                                  (dg.DagsterEventType.STEP_START, "second", None)):
            instance.report_dagster_event(
                dg.DagsterEvent(event_type_value=event.value, job_name="shop_job",
                                step_key=step, event_specific_data=data), run_id=run.run_id)
        [active] = _get(client, "active")["active"]
        assert active["run_id"] == run.run_id and active["pipeline"] == "shop"
        assert active["steps_done"] == 1 and active["steps_total"] == 2
        assert active["progress"] == 0.5 and active["running_steps"] == ["second"]
        board = _get(client, "dashboard")
        assert board["active"]["active_count"] == 1
    finally:
        instance.delete_run(run.run_id)


def test_dashboard_is_per_day(client: TestClient) -> None:
    board = _get(client, "dashboard", role="admin")
    [day] = board["daily"]
    assert day["success"] == 2 and day["failure"] == 1 and day["rows"] == 6
    assert day["cost_usd"] == pytest.approx(0.72) and day["success_rate"] == 0.6667
    assert [q["score"] for q in board["quality"]] == [90.0, 80.0]
    assert {q["dataset"] for q in board["quality"]} == {"shop/checked"}
    assert set(board) >= {"pipelines", "active", "costs", "performance", "daily", "quality"}


def test_dashboard_page_and_vendored_scripts_are_served(client: TestClient) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for src in ("vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js",
                "dashboard.js", "dashboard.css"):
        assert f"/dashboard/static/{src}" in page.text
        resp = client.get(f"/dashboard/static/{src}")
        assert resp.status_code == 200 and len(resp.content) > 1000
    assert b'var n="6.5.0"' in client.get("/dashboard/static/vendor/vega-lite.min.js").content
    assert "sessionStorage" in client.get("/dashboard/static/dashboard.js").text
    assert client.get("/dashboard/static/../routes/dashboard.py").status_code == 404
    assert client.get("/dashboard/static/vendor/LICENSE.vega").status_code == 404


def test_views_on_no_records() -> None:
    empty = analytics.Records([], [])
    assert analytics.pipelines_view(empty) == []
    assert analytics.costs_view(empty)["total_usd"] == 0
    assert analytics.daily_view(empty) == [] and analytics.quality_view(empty) == []
    assert analytics.performance_view(empty)["steps"] == []
