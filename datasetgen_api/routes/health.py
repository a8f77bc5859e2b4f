"""Health probes (public, no data): /health/live, /health/ready, /health/startup.

- live: the process answers.
- startup: the API's configuration is usable (JWT secret, a writable pipelines folder).
- ready: the Dagster instance storage answers, the code location loaded without errors
  (GraphQL), and S3 answers when $DATASETGEN_S3_ENDPOINT_URL or an s3:// data/landing URL is
  configured. 503 names the checks that failed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from datasetgen_api.dagster_client import Dagster, get_dagster

router = APIRouter(tags=["health"])
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")
_instance: Any = None
_instance_lock = threading.Lock()


def check_timeout() -> float:
    """Seconds each check may take ($DATASETGEN_HEALTH_TIMEOUT, default 10)."""
    return float(os.environ.get("DATASETGEN_HEALTH_TIMEOUT", "10"))


def _instance_storage() -> str:
    """Open the Dagster instance once (the first time imports Dagster: seconds) and read one
    run record."""
    global _instance
    with _instance_lock:
        if _instance is None:
            import dagster as dg

            from datasetgen_assets.instance import ensure_dagster_home

            ensure_dagster_home()
            _instance = dg.DagsterInstance.get()
        instance = _instance
    instance.get_runs(limit=1)
    return f"{type(_instance.run_storage).__name__} answered"


def _s3_buckets() -> list[str]:
    from datasetgen_resources.files import is_s3, split_s3

    urls = [os.environ.get(k, "") for k in ("DATASETGEN_DATA_URL", "DATASETGEN_LANDING_URL")]
    return sorted({split_s3(u)[0] for u in urls if is_s3(u)})


def s3_configured() -> bool:
    return bool(os.environ.get("DATASETGEN_S3_ENDPOINT_URL") or _s3_buckets())


def _s3() -> str:
    import boto3
    from botocore.config import Config

    endpoint = os.environ.get("DATASETGEN_S3_ENDPOINT_URL")
    client = boto3.session.Session().client(
        "s3", endpoint_url=endpoint,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=3,
                      s3={"addressing_style": "path"} if endpoint else None))
    buckets = _s3_buckets()
    for bucket in buckets:
        client.head_bucket(Bucket=bucket)
    if not buckets:
        client.list_buckets()
    return f"buckets {buckets} answered" if buckets else "endpoint answered"


def _code_location(dagster: Dagster) -> str:
    errors = dagster.location_errors()
    if errors:
        raise RuntimeError("; ".join(errors))
    return "loaded"


def _run_checks(checks: dict[str, Callable[[], str]]) -> JSONResponse:
    """Run the checks in parallel, each bounded by `check_timeout()`; 503 if any failed."""
    timeout = check_timeout()
    started = time.monotonic()
    futures = {name: _pool.submit(fn) for name, fn in checks.items()}
    results: dict[str, dict[str, Any]] = {}
    for name, fut in futures.items():
        left = max(0.1, timeout - (time.monotonic() - started))
        try:
            results[name] = {"ok": True, "detail": fut.result(timeout=left)}
        except FutureTimeout:
            results[name] = {"ok": False, "detail": f"no answer within {timeout:g} s"}
        except Exception as exc:  # any failure is the probe's answer, not a 500
            results[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:600]}
    failed = [n for n, r in results.items() if not r["ok"]]
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": results}
    return JSONResponse(body, status_code=503 if failed else 200)


@router.get("/health/live")
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/health/ready", responses={503: {"description": "a dependency failed"}})
def ready(dagster: Dagster = Depends(get_dagster)) -> JSONResponse:
    """Instance storage, code location and (when configured) S3 answer."""
    checks: dict[str, Callable[[], str]] = {
        "instance_storage": _instance_storage,
        "code_location": lambda: _code_location(dagster),
    }
    if s3_configured():
        checks["s3"] = _s3
    return _run_checks(checks)


def _config() -> str:
    from datasetgen_api.pipelines_store import store_dir
    from datasetgen_api.security import _secret

    _secret()
    folder = store_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"pipelines folder {folder} is not writable")
    return "JWT secret set; pipelines folder writable"


@router.get("/health/startup", responses={503: {"description": "configuration unusable"}})
def startup() -> JSONResponse:
    """The API's configuration is usable and the Dagster instance opened (slow the first
    time: readiness probes then answer quickly)."""
    return _run_checks({"config": _config, "instance_storage": _instance_storage})
