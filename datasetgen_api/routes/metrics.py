"""`/metrics`: Prometheus text format, computed from the Dagster instance at scrape time
(public: counts and names only, no data values)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from datasetgen_api.metrics import registry_for
from datasetgen_api.routes.monitoring import CACHE_S, dagster_instance

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    ttl = float(getattr(request.app.state, "metrics_cache_s", CACHE_S))
    registry = registry_for(lambda: dagster_instance(request), ttl=ttl)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
