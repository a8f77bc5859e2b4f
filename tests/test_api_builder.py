"""The visual builder's backend: the palette (/api/v1/step-types), the validate endpoint, the
/builder page and its bundle, and the step ids and failure messages of progress events (against
the fake Dagster of test_api_pipelines; the real webserver in the slow test at the end)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import Field

from datasetgen_api.dagster_client import (
    MAX_ERROR_CHARS,
    DagsterClient,
    DagsterUnavailable,
    RunInfo,
    StepState,
    failure_message,
    step_id_of,
)
from datasetgen_api.routes.events import EventTracker
from datasetgen_assets.steps.registry import REGISTRY, StepConfig, StepResult, StepType, load_all
from tests.test_api_pipelines import TINY, FakeDagster, auth, client, create, env, token

__all__ = ["client", "env"]  # fixtures used by the tests below
pytest_plugins = ["tests.fixtures.stack"]

VALIDATE = "/api/v1/pipelines/validate"
CSV_FILTER = """name: {name}
steps:
  - {{id: raw, type: csv, config: {{path: t.csv}}}}
  - {{id: kept, type: filter, depends_on: raw, config: {{condition: "{cond}"}}}}
"""


class FailingFake(FakeDagster):
    """The fake webserver, with failure messages of failed steps."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: dict[str, dict[str, str]] = {}
        self.error_fetches = 0

    def step_errors(self, run_id: str) -> dict[str, str]:
        self._check()
        self.error_fetches += 1
        return dict(self.failures.get(run_id, {}))


@pytest.fixture
def fake() -> FailingFake:
    return FailingFake()


def check(client, text: str, role: str = "data_scientist", **params: str) -> dict[str, Any]:
    r = client.post(VALIDATE, json={"yaml": text}, headers=auth(role), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def located(body: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    return [(e["step"], e["field"]) for e in body["errors"]]


# ---------------------------------------------------------------- palette


def test_step_types_list_every_registered_type_with_valid_json_schemas(client, monkeypatch):
    monkeypatch.setenv("DATASETGEN_DAGSTER_URL", "http://dagster.internal:3000/")
    monkeypatch.delenv("DATASETGEN_DAGSTER_UI_URL", raising=False)
    r = client.get("/api/v1/step-types", headers=auth("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(g["kind"], g["label"], g["color"]) for g in body["groups"]] == [
        ("source", "Sources", "#2e7d32"), ("transform", "Transforms", "#1565c0"),
        ("validation", "Validation", "#ef6c00"), ("sink", "Outputs", "#6a1b9a")]
    assert body["dagster_ui_url"] == "http://dagster.internal:3000"
    items = {i["name"]: i for i in body["items"]}
    assert set(items) == set(load_all()) and len(items) == len(body["items"])
    order = {"source": 0, "transform": 1, "validation": 2, "sink": 3}
    keys = [(order[i["kind"]], i["name"]) for i in body["items"]]
    assert keys == sorted(keys)
    for it in body["items"]:
        Draft202012Validator.check_schema(it["config_schema"])
        st = REGISTRY[it["name"]]
        assert (it["kind"], it["min_inputs"], it["max_inputs"], it["description"]) == (
            st.kind, st.min_inputs, st.max_inputs, st.description)
    csv = items["csv"]
    assert (csv["label"], csv["min_inputs"], csv["max_inputs"], csv["uses_llm"]) == (
        "CSV", 0, 0, False)
    props = csv["config_schema"]["properties"]
    assert "path" in csv["config_schema"]["required"] and props["path"]["description"]
    assert props["on_bad_lines"]["enum"] == ["error", "skip"]
    assert props["on_bad_lines"]["default"] == "error"
    assert items["join"]["min_inputs"] == 2 and items["join"]["max_inputs"] is None
    assert items["llm_process"]["uses_llm"] is True
    assert items["synthetic"]["uses_llm"] == "config"  # only with generator: llm
    assert items["sql_table"]["label"] == "SQL table" and items["write"]["kind"] == "sink"
    assert {i["kind"] for i in body["items"]} == set(order)


def test_a_newly_registered_step_type_appears_without_other_changes(client, monkeypatch):
    monkeypatch.setenv("DATASETGEN_WIDGET_TOKEN", "s3cr3t-from-the-environment")

    class WidgetConfig(StepConfig):
        column: str = Field(description="Column the widget looks at.")
        mode: str = Field("strict", description="How strict.",
                          json_schema_extra={"enum": ["strict", "loose"]})
        token: str = Field("s3cr3t-from-the-environment", description="Read from the env.")

    widget = StepType(name="zz_widget", kind="validation", config_model=WidgetConfig,
                      run=lambda frames, config, ctx: StepResult(frames[0]),
                      description="Checks widgets.", uses_llm=lambda c: False)
    monkeypatch.setitem(REGISTRY, "zz_widget", widget)
    body = client.get("/api/v1/step-types", headers=auth("viewer")).json()
    item = next(i for i in body["items"] if i["name"] == "zz_widget")
    assert (item["kind"], item["label"], item["description"], item["uses_llm"]) == (
        "validation", "Zz widget", "Checks widgets.", "config")
    schema = item["config_schema"]
    Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["column"]
    assert schema["properties"]["mode"] == {"default": "strict", "description": "How strict.",
                                             "enum": ["strict", "loose"], "title": "Mode",
                                             "type": "string"}
    assert "default" not in schema["properties"]["token"]  # an environment value stays out
    assert "s3cr3t" not in str(body)
    validations = [i["name"] for i in body["items"] if i["kind"] == "validation"]
    assert validations[-1] == "zz_widget"  # after the other validation types, before sinks
    # and the validator knows it too (same registry)
    text = "name: w\nsteps:\n  - {id: raw, type: csv, config: {path: t.csv}}\n" \
           "  - {id: wid, type: zz_widget, depends_on: raw, config: {}}\n"
    assert located(check(client, text)) == [("wid", "config.column")]


def test_labels_and_the_dagster_ui_url_setting(client, monkeypatch):
    from datasetgen_api.step_catalog import dagster_ui_url, label_of

    labelled = StepType(name="rest_api_x", kind="source", config_model=StepConfig,
                        run=lambda f, c, x: StepResult(f[0]), description="", label="Web API")
    assert label_of(labelled) == "Web API"
    assert label_of(REGISTRY["llm_validate"]) == "LLM validate"
    monkeypatch.setenv("DATASETGEN_DAGSTER_UI_URL", "https://dagster.example.org/")
    monkeypatch.setenv("DATASETGEN_DAGSTER_URL", "http://127.0.0.1:9")
    assert dagster_ui_url() == "https://dagster.example.org"
    monkeypatch.delenv("DATASETGEN_DAGSTER_UI_URL")
    assert dagster_ui_url() == "http://127.0.0.1:9"
    # the API's own URL may carry a proxy's credentials: never handed to the page
    monkeypatch.setenv("DATASETGEN_DAGSTER_URL", "https://bot:s3cret@dagster.internal:8443/")
    assert dagster_ui_url() == "https://dagster.internal:8443"
    monkeypatch.setenv("DATASETGEN_DAGSTER_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("DATASETGEN_DAGSTER_URL")
    assert dagster_ui_url() == "http://127.0.0.1:3000"


def test_builder_api_needs_a_token(client):
    from datasetgen_api.security import issue_token

    assert client.get("/api/v1/step-types").status_code == 401
    assert client.post(VALIDATE, json={"yaml": TINY}).status_code == 401
    nobody = {"Authorization": f"Bearer {issue_token('x', [], 'team_a')}"}
    assert client.get("/api/v1/step-types", headers=nobody).status_code == 403
    assert client.post(VALIDATE, json={"yaml": TINY}, headers=nobody).status_code == 403


# ---------------------------------------------------------------- validate


def test_validate_a_valid_pipeline_gives_columns_and_order_and_writes_nothing(client, env,
                                                                             fake):
    before = sorted(p.name for p in env["store"].iterdir())
    body = check(client, CSV_FILTER.format(name="fresh", cond="a > 1"), role="viewer")
    assert body == {"valid": True, "errors": [], "columns": {"raw": None, "kept": None},
                    "order": ["raw", "kept"]}  # a viewer's check reads no file
    body = check(client, CSV_FILTER.format(name="fresh", cond="a > 1"))
    assert body == {"valid": True, "errors": [], "columns": {"raw": ["a"], "kept": ["a"]},
                    "order": ["raw", "kept"]}
    assert sorted(p.name for p in env["store"].iterdir()) == before
    assert fake.reloads == 0 and fake.launched == []


def test_validate_reports_cycles_missing_config_and_wrong_inputs_on_their_steps(client):
    cycle = """name: loop
steps:
  - {id: raw, type: csv, config: {path: t.csv}}
  - {id: a, type: filter, depends_on: b, config: {condition: "a > 1"}}
  - {id: b, type: filter, depends_on: a, config: {condition: "a > 2"}}
"""
    body = check(client, cycle)
    assert body["valid"] is False and body["order"] == []
    (err,) = body["errors"]
    assert err["step"] in ("a", "b") and err["field"] == "depends_on"
    assert "cycle" in err["message"] and err["line"] in (4, 5) and err["fix"]

    missing = CSV_FILTER.format(name="m", cond="x").replace(', config: {condition: "x"}', "")
    body = check(client, missing)
    assert located(body) == [("kept", "config.condition")]
    assert body["errors"][0]["message"] == "is required" and body["errors"][0]["line"] == 4
    # the graph is sound: order given, and the columns the half-configured step will get
    assert body["order"] == ["raw", "kept"] and body["columns"] == {"raw": ["a"], "kept": None}

    one_input = """name: j
steps:
  - {id: left, type: csv, config: {path: t.csv}}
  - {id: both, type: join, depends_on: [left], config: {on: a}}
"""
    body = check(client, one_input)
    assert located(body) == [("both", "depends_on")]
    assert "at least 2 input(s)" in body["errors"][0]["message"]


def test_validate_finds_unknown_columns_when_the_upstream_schema_is_known(client):
    body = check(client, CSV_FILTER.format(name="cols", cond="zz > 1"))
    assert body["valid"] is False
    (err,) = body["errors"]
    assert (err["step"], err["field"], err["line"]) == ("kept", "config.condition", 4)
    assert "'zz'" in err["message"] and "Known columns: a" in err["message"]
    # known columns are still given, the wrong step's are unknown
    assert body["columns"] == {"raw": ["a"], "kept": None} and body["order"] == ["raw", "kept"]
    # a viewer's check reads no file header, so it cannot know
    assert check(client, CSV_FILTER.format(name="cols", cond="zz > 1"), role="viewer")["valid"]


def test_validate_reads_headers_only_for_savers_inside_the_project(client, env, tmp_path):
    """Column checks show a file's first line: viewers and analysts get none; savers only of
    files inside the project and outside its hidden folders (not `.datasetgen/`, `.env`,
    `../`, absolute paths elsewhere)."""
    project = env["project"]
    (project / "data").mkdir()
    (project / "data" / "open.csv").write_text("TOPSECRET_VALUE,other\n1,2\n")
    (project / ".datasetgen").mkdir()
    (project / ".datasetgen" / "jwt_secret").write_text("HIDDENSECRET\n")
    (tmp_path / "outside.csv").write_text("OUTSIDESECRET,x\n1,2\n")

    def peek(path: str) -> str:
        return (f"name: peek\nsteps:\n  - {{id: raw, type: csv, config: {{path: '{path}'}}}}\n"
                "  - {id: f, type: filter, depends_on: raw, config: {condition: 'nope > 1'}}\n")

    for role in ("viewer", "analyst"):
        r = client.post(VALIDATE, json={"yaml": peek("data/open.csv")}, headers=auth(role))
        assert r.status_code == 200 and "TOPSECRET" not in r.text
    seen = client.post(VALIDATE, json={"yaml": peek("data/open.csv")},
                       headers=auth("data_scientist")).json()
    assert seen["columns"]["raw"] == ["TOPSECRET_VALUE", "other"]
    for path, secret in ((".datasetgen/jwt_secret", "HIDDENSECRET"),
                         (str(tmp_path / "outside.csv"), "OUTSIDESECRET"),
                         ("../outside.csv", "OUTSIDESECRET")):
        for name in ("validate", "create"):
            r = (client.post(VALIDATE, json={"yaml": peek(path)}, headers=auth("data_scientist"))
                 if name == "validate" else create(client, peek(path)))
            assert secret not in r.text, (path, name)
            # refused like the code location would, by place, without the header
            assert r.status_code == (200 if name == "validate" else 422), r.text
            assert "outside the project folder" in r.text and "config.condition" in r.text
        assert client.post(VALIDATE, json={"yaml": peek(path)},
                           headers=auth("data_scientist")).json()["columns"]["raw"] is None
    assert not (env["store"] / "peek.yaml").exists()  # refused creates wrote nothing


def test_validate_checks_the_name_like_create_unless_editing_that_pipeline(client):
    assert create(client).status_code == 201  # "tiny", saved through the API
    body = check(client, TINY)
    assert located(body) == [(None, "name")] and "already used" in body["errors"][0]["message"]
    assert check(client, TINY, existing="tiny") == {
        "valid": True, "errors": [], "columns": {"raw": ["a"], "kept": ["a"]},
        "order": ["raw", "kept"]}
    # the shipped pipeline's name, and a rename of an existing pipeline
    shipped = "name: shipped\nsteps:\n  - {id: raw, type: csv, config: {path: t.csv}}\n"
    assert located(check(client, shipped)) == [(None, "name")]
    renamed = check(client, TINY.replace("name: tiny", "name: tiny2"), existing="tiny")
    assert located(renamed) == [(None, "name")] and "renamed" in renamed["errors"][0]["message"]


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("name: p\nsteps: [\n  {id: a,\n", 4, "invalid YAML"),
    ("name: p\nsteps:\n  - id: a\n   type: csv\n", 4, "invalid YAML"),
    ("- just\n- a list\n", 1, "must be a mapping"),
    ("", 1, "must be a mapping"),
    ("name: p\nname: q\nsteps: []\n", 2, "duplicate key 'name'"),
])
def test_yaml_problems_are_200_with_located_errors(client, text, line, needle):
    body = check(client, text)
    assert body["valid"] is False and body["columns"] == {} and body["order"] == []
    (err,) = body["errors"]
    assert needle in err["message"] and err["line"] == line and err["text"]


def test_validate_refuses_malformed_requests(client):
    h = auth("viewer")
    assert client.post(VALIDATE, json={}, headers=h).status_code == 422
    assert client.post(VALIDATE, json={"yaml": 3}, headers=h).status_code == 422
    big = "name: p\n" + "#" * 1_000_001
    assert client.post(VALIDATE, json={"yaml": big}, headers=h).status_code == 422
    ok = "name: p\nsteps:\n  - {id: raw, type: csv, config: {path: t.csv}}\n" + "#" * 900_000
    assert client.post(VALIDATE, json={"yaml": ok}, headers=h).json()["valid"] is True


# ---------------------------------------------------------------- the page


@pytest.fixture
def bundle(tmp_path, monkeypatch) -> Path:
    from datasetgen_api.routes import builder

    root = tmp_path / "builder"
    monkeypatch.setattr(builder, "BUNDLE", root)
    return root


def test_builder_page_is_503_until_built_then_served_with_its_assets(client, bundle):
    r = client.get("/builder")
    assert r.status_code == 503 and "make setup" in r.text and "Node.js 20" in r.text
    assert r.headers["content-type"].startswith("text/html")
    (bundle / "assets" / "img").mkdir(parents=True)
    (bundle / "index.html").write_text("<!doctype html><div id=root></div>"
                                       "<script src=/builder/assets/index-ab12.js></script>")
    (bundle / "assets" / "index-ab12.js").write_text("console.log(1)")
    (bundle / "assets" / "index-cd34.css").write_text("body{}")
    (bundle / "assets" / "img" / "logo.svg").write_text("<svg/>")
    (bundle / "assets" / "notes.py").write_text("SECRET = 1")
    (bundle / "secret.txt").write_text("not an asset")
    page = client.get("/builder")  # public: no token
    assert page.status_code == 200 and "index-ab12.js" in page.text
    assert page.headers["content-type"].startswith("text/html")
    js = client.get("/builder/assets/index-ab12.js")
    assert js.status_code == 200 and js.text == "console.log(1)"
    assert js.headers["content-type"].startswith("text/javascript")
    assert "immutable" in js.headers["cache-control"]
    assert client.get("/builder/assets/index-cd34.css").headers["content-type"].startswith(
        "text/css")
    assert client.get("/builder/assets/img/logo.svg").status_code == 200
    for bad in ("notes.py", "../secret.txt", "..%2Fsecret.txt", "../index.html",
                "img/../../secret.txt", "%2Fetc%2Fpasswd", "/etc/passwd", "missing.js",
                "../../../app.py"):
        r = client.get(f"/builder/assets/{bad}")
        assert r.status_code == 404, (bad, r.status_code)
        assert "SECRET" not in r.text and "not an asset" not in r.text


def test_dashboard_files_leave_the_builder_bundle_out(tmp_path, monkeypatch):
    from datasetgen_api.routes import dashboard

    (tmp_path / "builder" / "assets").mkdir(parents=True)
    (tmp_path / "builder" / "index.html").write_text("x")
    (tmp_path / "builder" / "assets" / "a.js").write_text("x")
    (tmp_path / "dashboard.js").write_text("x")
    monkeypatch.setattr(dashboard, "STATIC", tmp_path)
    assert list(dashboard.static_files()) == ["dashboard.js"]


# ---------------------------------------------------------------- events


def test_step_ids_of_dagster_step_keys():
    assert step_id_of("tiny__raw", "tiny") == "raw"
    assert step_id_of("tiny__a__b", "tiny") == "a__b"  # step ids may hold "__"
    assert step_id_of("tiny__raw[0]", "tiny") is None  # a mapped step: not a step id
    assert step_id_of("other__raw", "tiny") is None
    assert step_id_of("raw", "tiny") is None and step_id_of("tiny__raw", None) is None


def test_failure_messages_are_the_failures_description_masked_and_capped():
    assert failure_message(None, "dagster._core.definitions.events.Failure: boom\n") == "boom"
    assert failure_message("p.yaml: step 'raw' (csv): file not found", "ignored") == \
        "p.yaml: step 'raw' (csv): file not found"
    assert failure_message(None, "KeyError: 'x'\n") == "KeyError: 'x'"
    assert failure_message(None, None) == "the step failed"
    wrapped = ("dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while "
               "executing op \"p__kept\":\n")
    assert failure_message(None, wrapped, "pandas.errors.UndefinedVariableError: name 'b' is "
                           "not defined\n") == "UndefinedVariableError: name 'b' is not defined"
    assert failure_message(None, "KeyError: 'x'", "ValueError: other") == "KeyError: 'x'"
    masked = failure_message("row of ann@example.com, 555-12-3456 failed", None)
    assert "ann@" not in masked and "555-12" not in masked and masked.count("[masked]") == 2
    assert len(failure_message("x" * 5000, None)) == MAX_ERROR_CHARS


def _run(status: str, **steps: str) -> RunInfo:
    return RunInfo("r1", "tiny_job", status, {"datasetgen/pipeline": "tiny"}, update_time=1,
                   steps=[StepState(f"tiny__{k}", v) for k, v in steps.items()])


def test_tracker_adds_step_ids_and_fetches_each_failure_once():
    calls: list[str] = []
    failures = {"tiny__raw": "file not found"}

    def errors(run_id: str) -> dict[str, str]:
        calls.append(run_id)
        return dict(failures)

    tr = EventTracker(cursor=0, step_errors=errors)
    first = tr.events(_run("STARTED", raw="IN_PROGRESS", kept="NOT_STARTED"))
    assert [(e.get("step"), e.get("step_id")) for e in first] == [
        (None, None), ("tiny__raw", "raw")]
    assert "error" not in first[1] and calls == []
    failed = tr.events(_run("STARTED", raw="FAILURE", kept="NOT_STARTED"))
    assert failed[0]["error"] == "file not found" and failed[0]["step_id"] == "raw"
    failures["tiny__kept"] = "skipped upstream"
    last = tr.events(_run("FAILURE", raw="FAILURE", kept="FAILURE"))
    assert [(e.get("step_id"), e.get("error")) for e in last] == [
        ("kept", "skipped upstream"), (None, None)]
    assert calls == ["r1", "r1"]  # once per failed step

    def down(run_id: str) -> dict[str, str]:
        calls.append(run_id)
        raise DagsterUnavailable("down")

    tr = EventTracker(cursor=0, step_errors=down)
    (_, event) = tr.events(_run("STARTED", raw="FAILURE"))
    assert event["error"] is None and event["step_status"] == "FAILURE"
    without = EventTracker(cursor=0)  # no source of messages: null, never an exception
    assert without.events(_run("STARTED", raw="FAILURE"))[1]["error"] is None


def test_websocket_progress_carries_step_ids_and_the_failure(client, fake):
    assert create(client).status_code == 201
    with client.websocket_connect(f"/api/v1/events?pipeline=tiny&token={token('viewer')}") \
            as ws:
        run_id = client.post("/api/v1/pipelines/tiny/execute",
                             headers=auth("analyst")).json()["run_id"]
        fake.failures[run_id] = {"tiny__kept": "unknown column 'b' (row of x@y.org)"}
        fake.set(run_id, "STARTED", raw="SUCCESS", kept="IN_PROGRESS")
        fake.set(run_id, "FAILURE", kept="FAILURE")
        events = []
        while not events or events[-1]["type"] != "pipeline.completed":
            events.append(ws.receive_json())
    progress = [e for e in events if e["type"] == "pipeline.progress"]
    assert {(e["step_id"], e["step_status"]) for e in progress} >= {
        ("raw", "SUCCESS"), ("kept", "FAILURE")}
    (failed,) = [e for e in progress if e["step_status"] == "FAILURE"]
    assert failed["error"] == "unknown column 'b' (row of x@y.org)"  # as the fake gives it
    assert all("error" not in e for e in progress if e is not failed)
    assert fake.error_fetches == 1 and events[-1]["status"] == "FAILURE"


def test_client_reads_step_failures_from_the_event_log(monkeypatch):
    pages = [
        {"logsForRun": {"__typename": "EventConnection", "cursor": "1", "hasMore": True,
                        "events": [{"__typename": "MessageEvent"},
                                   {"__typename": "ExecutionStepFailureEvent",
                                    "stepKey": "p__raw", "error": {"message": "first try"},
                                    "failureMetadata": None}]}},
        {"logsForRun": {"__typename": "EventConnection", "cursor": "2", "hasMore": False,
                        "events": [{"__typename": "ExecutionStepFailureEvent",
                                    "stepKey": "p__raw",
                                    "error": {"message": "dagster._core.definitions.events."
                                                         "Failure: bad row a@b.io\n"},
                                    "failureMetadata": {"description": "bad row a@b.io"}},
                                   {"__typename": "ExecutionStepFailureEvent",
                                    "stepKey": "p__kept",
                                    "error": {"message": "ValueError: nope\n"},
                                    "failureMetadata": None}]}},
    ]
    seen: list[Any] = []

    def query(self, text: str, variables: dict[str, Any] | None = None,
              timeout: float | None = None) -> dict[str, Any]:
        seen.append((variables or {}).get("c"))
        return pages[len(seen) - 1]

    monkeypatch.setattr(DagsterClient, "query", query)
    assert DagsterClient("http://x").step_errors("r1") == {
        "p__raw": "bad row [masked]", "p__kept": "ValueError: nope"}
    assert seen == [None, "1"]


# ---------------------------------------------------------------- the real webserver

FAILING = """name: api_broken
steps:
  - {id: raw, type: csv, config: {path: t.csv}}
  - {id: gone, type: csv, config: {path: not_there.csv}}
  - {id: both, type: join, depends_on: [raw, gone], config: {on: a}}
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_real_run_failure_reaches_the_websocket_with_step_ids(stack, monkeypatch):
    """The step keys of a real run are `<pipeline>__<step id>` and the failure message is the
    step's own."""
    import httpx

    stack.activate(monkeypatch)
    user = stack.token("data_scientist", "ann")
    r = httpx.post(f"{stack.api}/api/v1/pipelines", json={"yaml": FAILING},
                   headers={"Authorization": f"Bearer {user}"}, timeout=200)
    assert r.status_code == 201, r.text
    _, events = stack.execute("api_broken", user)
    progress = [e for e in events if e["type"] == "pipeline.progress"]
    assert {e["step"]: e["step_id"] for e in progress} == {
        f"api_broken__{e['step_id']}": e["step_id"] for e in progress}
    failed = [e for e in progress if e["step_status"] == "FAILURE"]
    assert [e["step_id"] for e in failed] == ["gone"], progress
    assert "not_there.csv" in failed[0]["error"] and "file not found" in failed[0]["error"]
    assert "Failure:" not in failed[0]["error"]
    assert events[-1]["status"] == "FAILURE"
    assert any(e["step_id"] == "raw" and e["step_status"] == "SUCCESS" for e in progress)




def test_validating_is_not_audited_but_saving_is(client):
    """The builder validates after every edit: those calls change nothing and stay out of the
    audit log, while the save is recorded."""
    for _ in range(3):
        assert check(client, TINY)["valid"]
    assert create(client).status_code == 201
    r = client.get("/api/v1/audit", headers=auth("admin", "ops"))
    routes = [i["details"].get("route") for i in r.json()["items"]]
    assert "/api/v1/pipelines/validate" not in routes
    assert routes.count("/api/v1/pipelines") == 1


def test_api_start_loads_the_registry_and_freezes_start_up_objects(env):
    """Start-up objects are kept out of full GC passes (they made every ~9th validate slow)."""
    import gc

    from fastapi.testclient import TestClient

    from datasetgen_api.app import create_app

    with TestClient(create_app()):
        assert gc.get_freeze_count() > 0
        assert {"csv", "filter", "join", "write"} <= set(REGISTRY)


def test_tokens_in_query_strings_never_reach_the_server_log(env, caplog):
    """uvicorn logs WebSocket paths with their query (`/api/v1/events?token=...`)."""
    import logging

    from datasetgen_api.app import create_app
    from datasetgen_api.log_redaction import redact

    create_app()
    secret = token("analyst")
    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]', ("127.0.0.1", 5),
            f"/api/v1/events?token={secret}&pipeline=shop")
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
            f"/builder?pipeline=x&access_token={secret}", "1.1", 200)
    assert secret not in caplog.text
    assert "token=***&pipeline=shop" in caplog.text and "access_token=***" in caplog.text
    assert redact("/x?tokens=1&mytoken=2") == "/x?tokens=1&mytoken=2"  # other names kept


def test_a_pipeline_without_a_name_yet_still_gets_its_column_hints(client):
    """The builder's first state: no name; the steps' problems and columns still come."""
    body = check(client, CSV_FILTER.format(name="''", cond="zz > 1"))
    assert body["valid"] is False and body["columns"]["raw"] == ["a"]
    fields = {(e["step"], e["field"]) for e in body["errors"]}
    assert (None, "name") in fields and ("kept", "config.condition") in fields
