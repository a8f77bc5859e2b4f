"""Alerts: a failed run is written to the log and, when $DATASETGEN_ALERT_WEBHOOK_URL is set,
posted to that webhook as JSON."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg
import requests


def failure_payload(job_name: str, run_id: str, message: str) -> dict[str, Any]:
    """The alert body: what failed and where to look."""
    return {"event": "run_failed", "job": job_name, "run_id": run_id,
            "message": message[:2000]}


def deliver(payload: dict[str, Any], log: Any) -> bool:
    """Log the alert; post it to the webhook when configured. True when posted."""
    log.error(f"ALERT {payload['event']}: job {payload['job']} run {payload['run_id']}: "
              f"{payload['message']}")
    url = os.environ.get("DATASETGEN_ALERT_WEBHOOK_URL")
    if not url:
        return False
    try:
        requests.post(url, json=payload, timeout=10).raise_for_status()
    except requests.RequestException as exc:
        log.warning(f"alert webhook failed: {type(exc).__name__}")
        return False
    return True


@dg.run_failure_sensor(name="run_failure_alert", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Logs failed runs and posts them to the alert webhook.")
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    deliver(failure_payload(run.job_name, run.run_id, context.failure_event.message or ""),
            context.log)
