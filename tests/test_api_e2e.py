"""End to end through the API: `datasetgen api`, dagster-webserver and dagster-daemon on free
ports with an isolated SQLite DAGSTER_HOME. A pipeline created over REST is executed, the
WebSocket follows it to pipeline.completed, and the run is in the instance (so in the UI) and
in the audit log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.services import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "e2e-" + "k" * 44
TINY = """name: api_tiny
description: Rows of t.csv with a > 1.
steps:
  - {id: raw, type: csv, config: {path: t.csv}}
  - {id: kept, type: filter, depends_on: raw, config: {condition: "a > 1"}}
"""


def _wait(url: str, timeout: float, procs: dict[str, subprocess.Popen], logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, p in procs.items():
            if p.poll() is not None:
                raise AssertionError(f"{name} exited: {_tail(logs)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer: {_tail(logs)}")


def _tail(logs: Path) -> str:
    return "\n".join(f"--- {f.name}\n{f.read_text(errors='replace')[-2000:]}"
                     for f in sorted(logs.glob("*.log")))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_execute_through_api_streams_events_until_success(tmp_path, monkeypatch):
    from websockets.sync.client import connect

    project, store, home, logs = (tmp_path / n for n in ("project", "store", "home", "logs"))
    for d in (project / "pipelines", store, home, logs):
        d.mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (project / "t.csv").write_text("a\n1\n2\n3\n")
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    dagster_port, api_port = free_port(), free_port()
    db_url = f"sqlite:///{tmp_path / 'api.db'}"
    env = {**os.environ, "DAGSTER_HOME": str(home), "DATASETGEN_PROJECT_DIR": str(project),
           "DATASETGEN_PIPELINES_DIR": str(store), "DATASETGEN_DATA_URL": str(tmp_path / "data"),
           "DATASETGEN_EXECUTOR": "in_process", "DATASETGEN_JWT_SECRET": SECRET,
           "DATASETGEN_API_DB_URL": db_url,
           "DATASETGEN_DAGSTER_URL": f"http://127.0.0.1:{dagster_port}",
           "DATASETGEN_EVENTS_POLL_SECONDS": "0.5", "DATASETGEN_HEALTH_TIMEOUT": "60"}
    for k in ("DATASETGEN_POSTGRES_URL", "DATASETGEN_POSTGRES_HOST", "DATASETGEN_S3_ENDPOINT_URL",
              "DATASETGEN_LANDING_URL"):
        env.pop(k, None)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    workspace = ["-w", str(ROOT / "workspace.yaml")]
    import dagster as dg

    # create the SQLite storages once: three processes migrating a fresh home at the same
    # time can leave two alembic heads
    with dg.DagsterInstance.get() as instance:
        instance.get_runs(limit=1)

    def start(name: str, *cmd: str) -> subprocess.Popen:
        return subprocess.Popen([str(BIN / cmd[0]), *cmd[1:]], cwd=ROOT, env=env,
                                stdout=(logs / f"{name}.log").open("wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)

    procs = {
        "webserver": start("webserver", "dagster-webserver", *workspace, "-h", "127.0.0.1",
                           "-p", str(dagster_port)),
        "daemon": start("daemon", "dagster-daemon", "run", *workspace),
        "api": start("api", "datasetgen", "api", "--port", str(api_port),
                     "--log-level", "warning"),
    }
    api = f"http://127.0.0.1:{api_port}"
    try:
        from datasetgen_api.security import issue_token

        admin = {"Authorization": f"Bearer {issue_token('ops', ['admin'], 'team_a')}"}
        user = issue_token("ann", ["data_scientist"], "team_a")
        hdr = {"Authorization": f"Bearer {user}"}
        _wait(f"{api}/health/live", 60, procs, logs)
        _wait(f"http://127.0.0.1:{dagster_port}/server_info", 120, procs, logs)
        started = time.monotonic()
        r = httpx.post(f"{api}/api/v1/pipelines", json={"yaml": TINY}, headers=hdr, timeout=200)
        assert r.status_code == 201, r.text
        assert r.json()["dagster_error"] is None  # the code location reloaded with it
        created = time.monotonic()
        ready = httpx.get(f"{api}/health/ready", timeout=90)
        assert ready.status_code == 200, ready.text

        with connect(f"ws://127.0.0.1:{api_port}/api/v1/events?pipeline=api_tiny",
                     open_timeout=10) as ws:
            ws.send(json.dumps({"token": user}))
            r = httpx.post(f"{api}/api/v1/pipelines/api_tiny/execute", headers=hdr,
                           timeout=60)
            assert r.status_code == 202, r.text
            run_id = r.json()["run_id"]
            launched = time.monotonic()
            events = []
            while not events or events[-1]["type"] != "pipeline.completed":
                events.append(json.loads(ws.recv(timeout=150)))
                assert events[-1]["type"] != "error", events[-1]
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
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
