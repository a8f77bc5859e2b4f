"""/api/v1/pipelines, the WebSocket event stream and the health probes against a fake Dagster
(the real webserver and daemon are in tests/test_api_e2e.py)."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from datasetgen_api.dagster_client import (
    DagsterClient,
    DagsterUnavailable,
    RunInfo,
    RunNotFound,
    StepState,
    TerminateRefused,
    get_dagster,
    mask_pii,
)
from datasetgen_api.routes.events import EventTracker
from datasetgen_assets.pipeline.spec import discover_pipelines
from tests.fixtures.services import free_port

SECRET = "s" * 48
TINY = """name: tiny
description: One CSV, filtered.
steps:
  - {id: raw, type: csv, config: {path: t.csv}}
  - {id: kept, type: filter, depends_on: raw, config: {condition: "a > 1"}}
"""


class FakeDagster:
    """In-memory stand-in of the webserver: jobs come from the pipeline files at reload()."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: set[str] = set()
        self.store: dict[str, RunInfo] = {}
        self.launched: list[tuple[str, dict[str, str]]] = []
        self.reloads = 0
        self.down = False
        self.location_error: str | None = None
        self.refuse_terminate = False
        self.log_lines: dict[str, list[dict[str, Any]]] = {}
        self.errors: dict[str, dict[str, str]] = {}  # run id -> {step key: failure message}
        self.clock = itertools.count(1)

    def _check(self) -> None:
        if self.down:
            raise DagsterUnavailable("Dagster webserver at http://fake did not answer")

    def reload(self) -> None:
        self._check()
        self.reloads += 1
        self.jobs = {f"{p.name}_job" for p in discover_pipelines()}

    def location_errors(self) -> list[str]:
        self._check()
        return [self.location_error] if self.location_error else []

    def step_errors(self, run_id: str) -> dict[str, str]:
        self._check()
        return dict(self.errors.get(run_id, {}))

    def launch(self, job_name: str, tags: dict[str, str]) -> str:
        self._check()
        if job_name not in self.jobs:
            raise RunNotFound(f"job '{job_name}' is not in any loaded code location")
        with self.lock:
            run_id = f"run{len(self.store) + 1}"
            self.store[run_id] = RunInfo(run_id, job_name, "QUEUED", dict(tags),
                                         update_time=time.time(),
                                         steps=[StepState("tiny__raw", "NOT_STARTED"),
                                                StepState("tiny__kept", "NOT_STARTED")])
            self.launched.append((job_name, dict(tags)))
        return run_id

    def set(self, run_id: str, status: str | None = None, **steps: str) -> None:
        with self.lock:
            run = self.store[run_id]
            if status:
                run.status = status
                run.update_time = time.time()
            for s in run.steps:
                s.status = steps.get(s.key.split("__")[1], s.status)

    def _copy(self, run: RunInfo) -> RunInfo:
        return RunInfo(run.run_id, run.job_name, run.status, dict(run.tags), run.start_time,
                       run.end_time, run.update_time, [StepState(s.key, s.status)
                                                       for s in run.steps])

    def run(self, run_id: str) -> RunInfo:
        self._check()
        with self.lock:
            if run_id not in self.store:
                raise RunNotFound(run_id)
            return self._copy(self.store[run_id])

    def runs(self, *, pipeline: str | None = None, updated_after: float | None = None,
             limit: int = 50) -> list[RunInfo]:
        self._check()
        with self.lock:
            out = [self._copy(r) for r in reversed(self.store.values())
                   if (pipeline is None or r.pipeline == pipeline)
                   and (updated_after is None or (r.update_time or 0) > updated_after)]
        return out[:limit]

    def terminate(self, run_id: str) -> str:
        if self.refuse_terminate:
            raise TerminateRefused(f"Dagster could not terminate run '{run_id}': starting")
        self.set(run_id, "CANCELED")
        return "CANCELED"

    def logs(self, run_id: str, cursor: str | None, limit: int):
        self._check()
        lines = self.log_lines.get(run_id, [])
        start = int(cursor or 0)
        page = lines[start:start + limit]
        return page, str(start + len(page)), start + len(page) < len(lines)


@pytest.fixture
def env(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "pipelines").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (project / "t.csv").write_text("a\n1\n2\n")
    (project / "pipelines" / "shipped.yaml").write_text(
        "name: shipped\ntags: {workspace: team_a}\n"
        "steps:\n  - {id: raw, type: csv, config: {path: t.csv}}\n")
    store = tmp_path / "api_pipelines"
    store.mkdir()
    for k, v in {"DATASETGEN_JWT_SECRET": SECRET, "DATASETGEN_PROJECT_DIR": str(project),
                 "DATASETGEN_PIPELINES_DIR": str(store),
                 "DATASETGEN_API_DB_URL": f"sqlite:///{tmp_path / 'api.db'}",
                 "DATASETGEN_EVENTS_POLL_SECONDS": "0.05"}.items():
        monkeypatch.setenv(k, v)
    for k in ("DATASETGEN_S3_ENDPOINT_URL", "DATASETGEN_LANDING_URL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("DATASETGEN_DATA_URL", str(tmp_path / "assets"))
    return {"project": project, "store": store}


@pytest.fixture
def fake():
    return FakeDagster()


@pytest.fixture
def client(env, fake):
    from datasetgen_api.app import create_app

    app = create_app()
    app.dependency_overrides[get_dagster] = lambda: fake
    with TestClient(app) as c:
        yield c


def auth(role: str, workspace: str = "team_a", sub: str = "alice") -> dict[str, str]:
    from datasetgen_api.security import issue_token

    return {"Authorization": f"Bearer {issue_token(sub, [role], workspace)}"}


def token(role: str, workspace: str = "team_a") -> str:
    return auth(role, workspace)["Authorization"].split()[1]


def create(client, text: str = TINY, role: str = "data_scientist", ws: str = "team_a"):
    return client.post("/api/v1/pipelines", json={"yaml": text}, headers=auth(role, ws))


# ---------------------------------------------------------------- create / read / change

def test_create_validates_saves_tags_workspace_and_reloads(client, env, fake):
    r = create(client)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "tiny" and body["workspace"] == "team_a"
    assert [s["id"] for s in body["step_list"]] == ["raw", "kept"]
    saved = (env["store"] / "tiny.yaml").read_text()
    assert yaml.safe_load(saved)["tags"] == {"workspace": "team_a"}
    assert saved.startswith(TINY)  # appended: the user's lines and comments stay as written
    assert fake.reloads == 1 and "tiny_job" in fake.jobs
    # the saved file is one the code location loads, like every other
    assert "tiny" in {p.name for p in discover_pipelines([env["store"]])}
    got = client.get("/api/v1/pipelines/tiny", headers=auth("viewer")).json()
    assert got["spec"]["tags"] == {"workspace": "team_a"} and got["last_runs"] == []
    names = [p["name"] for p in client.get("/api/v1/pipelines",
                                           headers=auth("viewer")).json()["items"]]
    assert names == ["shipped", "tiny"]


def test_invalid_yaml_is_422_with_located_errors_and_nothing_written(client, env, fake):
    bad = TINY.replace("type: filter", "type: filtr")
    r = create(client, bad)
    assert r.status_code == 422
    errors = r.json()["detail"]["errors"]
    assert errors[0]["file"] == "tiny.yaml" and errors[0]["line"] == 5
    assert "filter" in (errors[0]["fix"] or errors[0]["message"])
    r = create(client, "name: x\nsteps: []\n")
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "steps"
    r = create(client, "name: [unclosed\n")
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["line"] in (1, 2)
    assert list(env["store"].iterdir()) == [] and fake.reloads == 0


def test_a_name_in_use_is_422(client):
    assert create(client).status_code == 201
    r = create(client)
    assert r.status_code == 422 and "already used" in r.json()["detail"]["errors"][0]["message"]
    r = create(client, TINY.replace("name: tiny", "name: shipped"))
    assert r.status_code == 422 and "shipped.yaml" in r.text


def test_permissions_per_role(client):
    assert create(client, role="viewer").status_code == 403
    assert create(client, role="analyst").status_code == 403
    assert create(client, role="data_scientist").status_code == 201
    assert client.delete("/api/v1/pipelines/tiny", headers=auth("viewer")).status_code == 403
    assert client.post("/api/v1/pipelines/tiny/execute",
                       headers=auth("viewer")).status_code == 403
    assert client.patch("/api/v1/pipelines/tiny", json={"description": "x"},
                        headers=auth("analyst")).status_code == 403
    assert client.post("/api/v1/pipelines/tiny/execute",
                       headers=auth("analyst")).status_code == 202
    assert client.get("/api/v1/pipelines").status_code == 401


def test_workspace_isolation(client, fake):
    assert create(client).status_code == 201
    other = auth("data_scientist", "team_b", "bob")
    assert client.get("/api/v1/pipelines", headers=other).json()["items"] == []
    for method, path in [("get", "/api/v1/pipelines/tiny"),
                         ("post", "/api/v1/pipelines/tiny/execute"),
                         ("delete", "/api/v1/pipelines/tiny"),
                         ("get", "/api/v1/pipelines/tiny/status")]:
        assert getattr(client, method)(path, headers=other).status_code == 404, path
    assert fake.launched == []
    # a non-admin cannot write a pipeline into another workspace
    r = create(client, TINY.replace("name: tiny", "name: t2\ntags: {workspace: team_a}"),
               ws="team_b")
    assert r.status_code == 403 and "team_a" in r.json()["detail"]
    admin = auth("admin", "ops")
    assert len(client.get("/api/v1/pipelines", headers=admin).json()["items"]) == 2
    assert client.get("/api/v1/pipelines/tiny", headers=admin).status_code == 200


def test_patch_description_and_yaml_delete_and_read_only_files(client, env, fake):
    assert create(client).status_code == 201
    r = client.patch("/api/v1/pipelines/tiny", json={"description": "Only a > 1."},
                     headers=auth("data_scientist"))
    assert r.status_code == 200 and r.json()["description"] == "Only a > 1."
    r = client.patch("/api/v1/pipelines/tiny", json={"yaml": TINY.replace("a > 1", "a > 5")},
                     headers=auth("data_scientist"))
    assert r.status_code == 200 and "a > 5" in (env["store"] / "tiny.yaml").read_text()
    assert yaml.safe_load((env["store"] / "tiny.yaml").read_text())["tags"] == {
        "workspace": "team_a"}
    r = client.patch("/api/v1/pipelines/tiny", json={"yaml": TINY.replace("tiny", "renamed")},
                     headers=auth("data_scientist"))
    assert r.status_code == 422 and "renamed" in r.json()["detail"]["errors"][0]["message"]
    r = client.patch("/api/v1/pipelines/tiny", json={"yaml": TINY + "bogus: 1\n"},
                     headers=auth("data_scientist"))
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "bogus"
    assert "a > 5" in (env["store"] / "tiny.yaml").read_text()  # unchanged on error
    r = client.patch("/api/v1/pipelines/tiny", json={"yaml": TINY.replace(
        "name: tiny", "name: tiny\ntags: {workspace: team_b}")}, headers=auth("data_scientist"))
    assert r.status_code == 403
    # files checked into the repository are read-only through the API
    r = client.patch("/api/v1/pipelines/shipped", json={"description": "x"},
                     headers=auth("admin", "ops"))
    assert r.status_code == 409 and "shipped.yaml" in r.json()["detail"]
    assert client.delete("/api/v1/pipelines/shipped",
                         headers=auth("admin", "ops")).status_code == 409
    reloads = fake.reloads
    assert client.delete("/api/v1/pipelines/tiny",
                         headers=auth("data_scientist")).status_code == 204
    assert not (env["store"] / "tiny.yaml").exists() and fake.reloads == reloads + 1
    assert client.get("/api/v1/pipelines/tiny", headers=auth("viewer")).status_code == 404


def test_create_when_dagster_is_down_saves_and_says_so(client, env, fake):
    fake.down = True
    r = create(client)
    assert r.status_code == 201 and "did not answer" in r.json()["dagster_error"]
    assert (env["store"] / "tiny.yaml").exists()


# ---------------------------------------------------------------- runs

def _audit(action: str) -> list[dict[str, Any]]:
    from datasetgen_api.store import get_store

    return get_store().query_audit(action=action)[0]


def test_execute_launches_through_dagster_and_is_audited(client, fake):
    assert create(client).status_code == 201
    r = client.post("/api/v1/pipelines/tiny/execute", headers=auth("analyst", sub="ann"),)
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    job, tags = fake.launched[0]
    assert job == "tiny_job" and tags["datasetgen/pipeline"] == "tiny"
    assert tags["datasetgen/workspace"] == "team_a" and tags["datasetgen/requested_by"] == "ann"
    records = [a for a in _audit("pipeline.execute") if a["outcome"] == "ok"]
    assert records and records[0]["user"] == "ann"
    assert records[0]["resource"] == "pipeline/tiny"
    assert records[0]["details"]["run_id"] == run_id

    fake.set(run_id, "STARTED", raw="SUCCESS", kept="IN_PROGRESS")
    st = client.get(f"/api/v1/pipelines/tiny/runs/{run_id}", headers=auth("viewer")).json()
    assert st["status"] == "STARTED" and (st["done"], st["total"]) == (1, 2)
    assert st["steps"] == [{"key": "tiny__raw", "status": "SUCCESS"},
                           {"key": "tiny__kept", "status": "IN_PROGRESS"}]
    assert client.get("/api/v1/pipelines/tiny/status",
                      headers=auth("viewer")).json()["run_id"] == run_id
    r = client.post(f"/api/v1/pipelines/tiny/runs/{run_id}/stop", headers=auth("analyst"))
    assert r.status_code == 200 and r.json()["status"] == "CANCELED"
    assert _audit("pipeline.stop")[0]["resource"] == f"run/{run_id}"
    r = client.post(f"/api/v1/pipelines/tiny/runs/{run_id}/stop", headers=auth("analyst"))
    assert r.status_code == 409
    # a run of another pipeline is not reachable through this one
    assert client.get(f"/api/v1/pipelines/shipped/runs/{run_id}",
                      headers=auth("viewer")).status_code == 404
    assert client.get("/api/v1/pipelines/tiny/runs/nope", headers=auth("viewer")
                      ).status_code == 404


def test_stop_refused_by_dagster_is_409(client, fake):
    assert create(client).status_code == 201
    run_id = client.post("/api/v1/pipelines/tiny/execute", headers=auth("analyst")).json()["run_id"]
    fake.refuse_terminate = True
    r = client.post(f"/api/v1/pipelines/tiny/runs/{run_id}/stop", headers=auth("analyst"))
    assert r.status_code == 409 and "could not terminate" in r.json()["detail"]
    assert client.post(f"/api/v1/pipelines/tiny/runs/{run_id}/stop",
                       headers=auth("viewer")).status_code == 403


def test_execute_refused_by_dagster_is_503_and_audited(client, fake):
    assert create(client).status_code == 201
    fake.down = True
    r = client.post("/api/v1/pipelines/tiny/execute", headers=auth("analyst"))
    assert r.status_code == 503 and "did not answer" in r.json()["detail"]
    assert _audit("pipeline.execute")[0]["outcome"] == "error"
    fake.down = False
    fake.jobs = set()  # saved but not loaded by the code location yet
    r = client.post("/api/v1/pipelines/tiny/execute", headers=auth("analyst"))
    assert r.status_code == 503 and "tiny_job" in r.json()["detail"]


def test_logs_are_paginated_messages_with_pii_masked(client, fake):
    assert create(client).status_code == 201
    run_id = client.post("/api/v1/pipelines/tiny/execute",
                         headers=auth("analyst")).json()["run_id"]
    fake.log_lines[run_id] = [{"timestamp": i, "level": "INFO", "step": None,
                               "event": "ENGINE_EVENT",
                               "message": mask_pii(f"line {i} for bob@example.com")}
                              for i in range(5)]
    page = client.get(f"/api/v1/pipelines/tiny/runs/{run_id}/logs?limit=2",
                      headers=auth("viewer")).json()
    assert [e["message"] for e in page["items"]] == ["line 0 for [masked]", "line 1 for [masked]"]
    assert page["has_more"]
    nxt = client.get(f"/api/v1/pipelines/tiny/runs/{run_id}/logs",
                     params={"limit": 10, "cursor": page["next_cursor"]},
                     headers=auth("viewer")).json()
    assert [e["timestamp"] for e in nxt["items"]] == [2, 3, 4] and not nxt["has_more"]


def test_mask_pii_keeps_dates_and_counts():
    text = ("12 rows; alice@example.com +1 (555) 123-4567 ssn 123-45-6789 at 2024-06-01 12:00 "
            "card 4111 1111 1111 1111 took 1234.5 ms")
    assert mask_pii(text) == ("12 rows; [masked] [masked] ssn [masked] at 2024-06-01 12:00 "
                              "card [masked] took 1234.5 ms")


# ---------------------------------------------------------------- events

def _run(status: str, t: float, **steps: str) -> RunInfo:
    return RunInfo("r1", "tiny_job", status, {"datasetgen/pipeline": "tiny",
                                              "datasetgen/workspace": "team_a"},
                   update_time=t, steps=[StepState(k, v) for k, v in steps.items()])


def test_tracker_sends_each_event_once_across_overlapping_polls():
    tr = EventTracker(cursor=0)
    assert tr.events(_run("QUEUED", 1, a="NOT_STARTED")) == []
    first = tr.events(_run("STARTED", 2, a="IN_PROGRESS", b="NOT_STARTED"))
    assert [e["type"] for e in first] == ["pipeline.started", "pipeline.progress"]
    assert tr.events(_run("STARTED", 2, a="IN_PROGRESS", b="NOT_STARTED")) == []
    last = tr.events(_run("SUCCESS", 3, a="SUCCESS", b="SUCCESS"))
    assert [(e["type"], e.get("step"), e.get("done")) for e in last] == [
        ("pipeline.progress", "a", 2), ("pipeline.progress", "b", 2),
        ("pipeline.completed", None, 2)]
    assert tr.events(_run("SUCCESS", 3, a="SUCCESS", b="SUCCESS")) == [] and tr.cursor == 3
    hidden = EventTracker(cursor=0, visible=lambda r: False)
    assert hidden.events(_run("STARTED", 1, a="SUCCESS")) == []


def _follow(ws, until: str = "pipeline.completed", limit: int = 50) -> list[dict[str, Any]]:
    events = []
    for _ in range(limit):
        events.append(ws.receive_json())
        if events[-1]["type"] == until:
            return events
    raise AssertionError(events)


def test_websocket_streams_a_runs_events_once_and_only_the_callers(client, fake):
    assert create(client).status_code == 201
    with client.websocket_connect(f"/api/v1/events?token={token('viewer')}") as ws:
        run_id = client.post("/api/v1/pipelines/tiny/execute",
                             headers=auth("analyst")).json()["run_id"]
        # another workspace's run is never shown
        fake.launch("tiny_job", {"datasetgen/pipeline": "tiny", "datasetgen/workspace": "b"})
        fake.set("run2", "STARTED")
        fake.set(run_id, "STARTED", raw="IN_PROGRESS")
        assert ws.receive_json()["type"] == "pipeline.started"
        fake.set(run_id, raw="SUCCESS", kept="IN_PROGRESS")
        time.sleep(0.2)  # several polls see the same state: nothing is repeated
        fake.set(run_id, "SUCCESS", kept="SUCCESS")
        events = _follow(ws)
    assert all(e["run_id"] == run_id for e in events)
    progress = [(e["step"], e["step_status"]) for e in events if e["type"] == "pipeline.progress"]
    assert progress == [("tiny__raw", "IN_PROGRESS"), ("tiny__raw", "SUCCESS"),
                        ("tiny__kept", "IN_PROGRESS"), ("tiny__kept", "SUCCESS")]
    assert events[-1] == {"type": "pipeline.completed", "run_id": run_id, "pipeline": "tiny",
                          "status": "SUCCESS", "done": 2, "total": 2, "ts": None}


def test_websocket_auth_by_first_message_and_refusals(client, fake):
    assert create(client).status_code == 201
    run_id = client.post("/api/v1/pipelines/tiny/execute", headers=auth("analyst")).json()["run_id"]
    fake.set(run_id, "STARTED")
    with client.websocket_connect("/api/v1/events?pipeline=tiny") as ws:
        ws.send_json({"token": token("viewer")})
        assert ws.receive_json()["type"] == "pipeline.started"  # active at connect
    # `since` replays runs updated since then, finished ones included
    fake.set(run_id, "SUCCESS", raw="SUCCESS", kept="SUCCESS")
    with client.websocket_connect(f"/api/v1/events?since=0&token={token('viewer')}") as ws:
        replay = _follow(ws)
    assert [e["type"] for e in replay] == ["pipeline.started", *["pipeline.progress"] * 2,
                                           "pipeline.completed"]
    # a run deleted from the instance while active ends the tracking quietly
    tr = EventTracker(cursor=time.time() + 10)
    tr.started.add("gone")
    assert tr.poll(fake) == [] and tr.active == []
    for url in ("/api/v1/events?token=forged", "/api/v1/events"):
        with client.websocket_connect(url) as ws:
            if url.endswith("events"):
                ws.send_json({"hello": 1})
            with pytest.raises(WebSocketDisconnect) as exc:
                ws.receive_json()
        assert exc.value.code == 1008


# ---------------------------------------------------------------- health

def test_health_probes(client, fake, monkeypatch):
    assert client.get("/health/live").json() == {"status": "ok"}
    r = client.get("/health/startup")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = client.get("/health/ready")
    assert r.status_code == 200, r.text
    assert set(r.json()["checks"]) == {"instance_storage", "code_location"}
    fake.location_error = "datasetgen_assets.definitions: PipelineValidationError: bad.yaml:3"
    r = client.get("/health/ready")
    assert r.status_code == 503 and r.json()["failed"] == ["code_location"]
    assert "bad.yaml:3" in r.json()["checks"]["code_location"]["detail"]
    fake.location_error = None
    # S3 is checked once it is configured; nothing listens on this endpoint
    monkeypatch.setenv("DATASETGEN_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("DATASETGEN_DATA_URL", "s3://assets/data")
    r = client.get("/health/ready")
    assert r.status_code == 503 and r.json()["failed"] == ["s3"]


def test_ready_fails_when_instance_storage_is_unusable(client, tmp_path, monkeypatch):
    from datasetgen_api.routes import health

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setattr(health, "_instance", None)
    monkeypatch.setenv("DAGSTER_HOME", str(blocker / "home"))  # cannot be created
    r = client.get("/health/ready")
    assert r.status_code == 503 and r.json()["failed"] == ["instance_storage"]
    assert "not_a_folder" in r.json()["checks"]["instance_storage"]["detail"]
    assert client.get("/health/startup").status_code == 503


def test_client_names_the_url_when_the_webserver_is_down():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DagsterUnavailable, match=url.replace(".", r"\.")):
        DagsterClient(url, timeout=2).runs()


def test_api_command_refuses_to_start_without_a_secret(monkeypatch):
    from click.testing import CliRunner

    from datasetgen_assets.cli import main

    monkeypatch.setenv("DATASETGEN_JWT_SECRET", "short")
    result = CliRunner().invoke(main, ["api", "--port", "1"])
    assert result.exit_code == 2 and "DATASETGEN_JWT_SECRET" in result.output
