"""Schemathesis against the published OpenAPI spec, in process (ASGI), with a valid admin
token: no 5xx, and every response conforms to the spec (status codes, content types, bodies).
Datasets and audit run against the real store; pipelines, monitoring and health against the
in-memory Dagster stand-in of test_api_pipelines (the real webserver is covered by the
end-to-end test). Bounded: a few examples per operation."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests import test_api_auth, test_api_pipelines
from tests.test_api_auth import auth

api_env = test_api_auth.api_env  # shared fixtures
env, fake = test_api_pipelines.env, test_api_pipelines.fake
MAX_EXAMPLES = 3


def _fuzz(schema, headers: dict[str, str], prepare=lambda case, n: None) -> list[str]:
    """Run every operation of `schema` for a few examples; fail listing every operation whose
    responses break the spec or are 5xx. Returns the operations' labels."""
    seen = {"n": 0}
    failures: dict[str, str] = {}
    labels = []
    for result in schema.get_all_operations():
        op = result.ok()
        labels.append(op.label)

        @given(case=op.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def check(case) -> None:
            seen["n"] += 1
            prepare(case, seen["n"])
            # positive_data_acceptance is off: schema-valid input may still be refused by
            # content checks the schema cannot express (unknown pipeline name, invalid
            # pipeline YAML: 422; upload bytes that are not CSV/JSON/XLSX/Parquet: 415),
            # which is the intended behaviour
            case.call_and_validate(headers=headers,
                                   excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures[op.label] = f"{type(exc).__name__}: {exc}"[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    return labels


def test_api_conforms_to_its_openapi_spec(api_env: Path) -> None:
    from fastapi.testclient import TestClient

    from datasetgen_api.app import create_app

    app = create_app()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app).include(
        path_regex=r"^/api/v1/(datasets|audit)")
    headers = auth("admin", "team-a")
    # one real dataset with a file, so that every other generated case reaches the logic
    # behind the 404 (upload parsing and sniffing, preview, profiling, scoring)
    with TestClient(app) as c:
        real = c.post("/api/v1/datasets", json={"name": "fuzz"}, headers=headers).json()["id"]
        c.post(f"/api/v1/datasets/{real}/upload", headers=headers,
               files={"file": ("a.csv", b"id,email\n1,a@b.io\n2,c@d.io\n")})

    def prepare(case, n: int) -> None:
        if case.path_parameters and "dataset_id" in case.path_parameters \
                and case.method != "DELETE" and n % 2:
            case.path_parameters["dataset_id"] = real

    labels = _fuzz(schema, headers, prepare)
    assert len(labels) >= 9, labels


def test_pipeline_monitoring_and_health_routes_conform(env, fake) -> None:
    from datasetgen_api.app import create_app
    from datasetgen_api.dagster_client import get_dagster

    app = create_app()
    app.dependency_overrides[get_dagster] = lambda: fake
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app).include(
        path_regex=r"^/(api/v1/(pipelines|monitoring|step-types)|health)")
    fake.reload()

    def prepare(case, n: int) -> None:  # half the cases name the shipped pipeline
        if case.path_parameters and "name" in case.path_parameters and n % 2 \
                and case.method == "GET":
            case.path_parameters["name"] = "shipped"
        # half the checks are of a real pipeline (its columns come from t.csv)
        if case.path.endswith("/validate") and n % 2 and isinstance(case.body, dict):
            case.body["yaml"] = test_api_pipelines.TINY

    labels = _fuzz(schema, test_api_pipelines.auth("admin"), prepare)
    assert {"GET /api/v1/step-types", "POST /api/v1/pipelines/validate"} <= set(labels)
    assert len(labels) >= 14, labels
