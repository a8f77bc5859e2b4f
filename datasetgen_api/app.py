"""`create_app()`: the FastAPI application, with every router in datasetgen_api/routes/.

Run it with `datasetgen api` or `uvicorn --factory datasetgen_api.app:create_app`.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from datasetgen_api import log_redaction, routes
from datasetgen_api.audit import AuditMiddleware
from datasetgen_api.security import _secret

API_PREFIX = "/api/v1"
# routes without a permission: probes and scrapes that carry no data, and the API's own docs
PUBLIC_PATHS = frozenset({
    "/health/live", "/health/ready", "/health/startup", "/metrics",
    f"{API_PREFIX}/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc",
    # the dashboard page and its fixed list of scripts hold no data: the page fetches the
    # numbers from /api/v1/monitoring/metrics/dashboard with the caller's token
    "/dashboard", "/dashboard/static/{name:path}",
    # the pipeline builder page and its Vite bundle, public for the same reason
    "/builder", "/builder/assets/{name:path}",
})


def router_modules() -> list[str]:
    """The router modules, in name order (`_`-prefixed modules are helpers, not routers)."""
    return sorted(f"{routes.__name__}.{m.name}" for m in pkgutil.iter_modules(routes.__path__)
                  if not m.name.startswith("_"))


def warm_up() -> None:
    """Import the step registry and the validator once, then keep the start-up objects out of
    the garbage collector's full passes (`gc.freeze`): scanning them took ~200 ms on every
    ninth or so validate call of the builder."""
    from datasetgen_assets.pipeline import spec  # noqa: F401
    from datasetgen_assets.steps.registry import load_all

    load_all()
    if gc.get_freeze_count() == 0:  # once per process
        gc.collect()
        gc.freeze()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    warm_up()
    yield


def create_app() -> FastAPI:
    """The API; refuses to start without a usable $DATASETGEN_JWT_SECRET."""
    _secret()
    log_redaction.install()  # uvicorn logs WebSocket paths with their ?token=
    app = FastAPI(title="DatasetGen API", version="1.0.0", lifespan=_lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json",
                  description="Datasets, pipelines (run through Dagster) and monitoring. "
                              "Bearer JWT auth; every route names the permission it needs.")
    for name in router_modules():
        app.include_router(importlib.import_module(name).router)
    app.add_middleware(GZipMiddleware, minimum_size=2048)  # the builder's bundle, big lists
    app.add_middleware(AuditMiddleware)  # every mutating call is audited, whatever the route
    return app
