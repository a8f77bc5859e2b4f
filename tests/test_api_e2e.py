"""End to end through the API, on the session's stack (tests/fixtures/stack.py: `datasetgen
api`, dagster-webserver and dagster-daemon). A pipeline created over REST is executed, the
WebSocket follows it to pipeline.completed, and the run is in the instance (so in the UI) and
in the audit log."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from tests.fixtures.stack import Stack

pytest_plugins = ["tests.fixtures.stack"]
TINY = """name: api_tiny
description: Rows of t.csv with a > 1.
steps:
  - {id: raw, type: csv, config: {path: t.csv}}
  - {id: kept, type: filter, depends_on: raw, config: {condition: "a > 1"}}
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_execute_through_api_streams_events_until_success(stack: Stack, monkeypatch):
    import dagster as dg

    stack.activate(monkeypatch)
    api, db_url = stack.api, stack.db_url
    admin = stack.headers("admin", "ops")
    user = stack.token("data_scientist", "ann")
    hdr = {"Authorization": f"Bearer {user}"}
    started = time.monotonic()
    r = httpx.post(f"{api}/api/v1/pipelines", json={"yaml": TINY}, headers=hdr, timeout=200)
    assert r.status_code == 201, r.text
    assert r.json()["dagster_error"] is None  # the code location reloaded with it
    created = time.monotonic()
    ready = httpx.get(f"{api}/health/ready", timeout=90)
    assert ready.status_code == 200, ready.text

    launched = time.monotonic()
    run_id, events = stack.execute("api_tiny", user)
    now = time.monotonic()
    print(f"create + code location reload: {created - started:.1f}s; "
          f"execute -> pipeline.completed: {now - launched:.1f}s")
    types = [e["type"] for e in events]
    assert types[0] == "pipeline.started" and types.count("pipeline.completed") == 1
    assert {e["run_id"] for e in events} == {run_id}
    done = [e for e in events if e["type"] == "pipeline.progress"
            and e["step_status"] == "SUCCESS"]
    assert len(done) == len({e["step"] for e in done}) >= 2  # each step once, no repeats
    assert events[-1]["status"] == "SUCCESS" and events[-1]["done"] == events[-1]["total"]

    status = httpx.get(f"{api}/api/v1/pipelines/api_tiny/runs/{run_id}", headers=hdr,
                       timeout=30).json()
    assert status["status"] == "SUCCESS" and status["done"] == status["total"] >= 2
    got = httpx.get(f"{api}/api/v1/pipelines/api_tiny", headers=hdr, timeout=30).json()
    assert got["last_runs"][0]["run_id"] == run_id and got["dagster_error"] is None
    # a second run stopped right away: terminated through the webserver
    second = httpx.post(f"{api}/api/v1/pipelines/api_tiny/execute", headers=hdr,
                        timeout=60).json()["run_id"]
    stop = httpx.post(f"{api}/api/v1/pipelines/api_tiny/runs/{second}/stop", headers=hdr,
                      timeout=60)
    # 409 when the daemon had already handed it to a worker that is still starting
    stopped = stop.status_code == 200 and stop.json()["status"] in ("CANCELED", "CANCELING")
    refused = stop.status_code == 409 and "could not terminate" in stop.text
    assert stopped or refused, stop.text
    logs_page = httpx.get(f"{api}/api/v1/pipelines/api_tiny/runs/{run_id}/logs",
                          params={"limit": 5}, headers=hdr, timeout=30).json()
    assert len(logs_page["items"]) == 5 and logs_page["has_more"]
    # the run is in the instance the UI reads, launched by the queue (not in the API)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.job_name == "api_tiny_job" and run.tags["datasetgen/requested_by"] == "ann"
        mat = instance.get_latest_materialization_event(dg.AssetKey(["api_tiny", "kept"]))
        assert mat is not None and mat.run_id == run_id
    audit = httpx.get(f"{api}/api/v1/audit", params={"action": "pipeline.execute"},
                      headers=admin, timeout=30)
    if audit.status_code == 404:  # the audit route is not there: read the store itself
        from datasetgen_api.store import Store

        rows = Store(db_url).query_audit(action="pipeline.execute")[0]
    else:
        body = audit.json()
        rows = body["items"] if isinstance(body, dict) else body
    assert any(a["user"] == "ann" and a["resource"] == "pipeline/api_tiny"
               and a["details"].get("run_id") == run_id for a in rows), rows
