"""`/api/v1/monitoring/metrics/*`: runs, active runs, LLM costs, step performance and the
dashboard's daily trends, computed from the Dagster instance (permission monitoring.read)."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, Request

from datasetgen_api import analytics
from datasetgen_api.security import Principal, require

router = APIRouter(prefix="/api/v1/monitoring/metrics", tags=["monitoring"])
_lock = threading.Lock()
_instance: Any = None
CACHE_S = 10.0


def dagster_instance(request: Request) -> Any:
    """The Dagster instance the numbers come from: `app.state.dagster_instance` when set
    (tests, embedding), else the one of $DAGSTER_HOME (created once per process)."""
    override = getattr(request.app.state, "dagster_instance", None)
    if override is not None:
        return override
    global _instance
    with _lock:
        if _instance is None:
            import dagster as dg

            from datasetgen_assets.instance import ensure_dagster_home

            ensure_dagster_home()
            _instance = dg.DagsterInstance.get()
        return _instance


def _records(request: Request, progress: bool = False) -> analytics.Records:
    ttl = float(getattr(request.app.state, "metrics_cache_s", CACHE_S))
    return analytics.read_records(dagster_instance(request), ttl=ttl, progress=progress)


@router.get("/pipelines", summary="Runs, success rate, mean duration and rows per pipeline")
def pipelines(request: Request,
              principal: Principal = Depends(require("monitoring.read"))) -> dict[str, Any]:
    return {"pipelines": analytics.pipelines_view(_records(request))}


@router.get("/active", summary="Running runs with step progress, and the queue")
def active(request: Request,
           principal: Principal = Depends(require("monitoring.read"))) -> dict[str, Any]:
    return analytics.active_view(_records(request, progress=True))


@router.get("/costs", summary="LLM cost by provider, model, pipeline and day; cost per row")
def costs(request: Request,
          principal: Principal = Depends(require("monitoring.read"))) -> dict[str, Any]:
    return analytics.costs_view(_records(request))


@router.get("/performance", summary="Step durations and the slowest steps and runs")
def performance(request: Request,
                principal: Principal = Depends(require("monitoring.read"))) -> dict[str, Any]:
    return analytics.performance_view(_records(request))


@router.get("/dashboard", summary="Everything the dashboard shows, with daily trends")
def dashboard(request: Request,
              principal: Principal = Depends(require("monitoring.read"))) -> dict[str, Any]:
    return analytics.dashboard_view(_records(request, progress=True))
