"""Dataset routes: CRUD, validation errors, preview with PII masked, profiler schema, quality
score, and uploads landing where the upload sensor finds them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import test_api_auth
from tests.test_api_auth import auth

api_env = test_api_auth.api_env  # shared fixtures
client = test_api_auth.client

LIST = "/api/v1/datasets"
PEOPLE = (b"id,name,email,amount\n"
          b"1,Ann Lee,ann.lee@example.com,10.5\n"
          b"2,Bob Stone,bob.stone@example.org,20\n"
          b"3,Cy Ray,cy.ray@example.net,7.25\n"
          b"4,Di Fox,di.fox@example.com,\n")


def make(client: TestClient, name: str = "people", **body: object) -> dict:
    r = client.post(LIST, json={"name": name, **body}, headers=auth("data_scientist"))
    assert r.status_code == 201, r.text
    return r.json()


def upload(client: TestClient, dsid: str, data: bytes, filename: str = "people.csv",
           role: str = "data_scientist", content_type: str = "text/csv"):
    return client.post(f"{LIST}/{dsid}/upload", files={"file": (filename, data, content_type)},
                       headers=auth(role))


def test_create_get_patch_list(client: TestClient) -> None:
    ds = make(client, description="customers")
    assert ds["workspace"] == "team-a" and ds["owner"] == "data_scientist-user"
    assert ds["status"] == "empty" and ds["files"] == []
    got = client.get(f"{LIST}/{ds['id']}", headers=auth("viewer")).json()
    assert got == ds
    r = client.patch(f"{LIST}/{ds['id']}", json={"description": "renamed", "name": "people2"},
                     headers=auth("data_scientist"))
    assert r.status_code == 200 and r.json()["name"] == "people2"
    assert r.json()["updated"] >= ds["updated"]
    assert client.get(LIST, headers=auth("viewer")).json()["total"] == 1


@pytest.mark.parametrize("body,field", [
    ({"name": "../etc"}, "name"),
    ({"name": "ok", "bogus": 1}, "bogus"),
    ({"name": "ok", "pipeline": "no_such_pipeline"}, "pipeline"),
])
def test_create_rejects_bad_input_naming_the_field(client: TestClient, body: dict,
                                                   field: str) -> None:
    r = client.post(LIST, json=body, headers=auth("data_scientist"))
    assert r.status_code == 422
    assert field in r.text


def test_preview_before_upload_says_how_to_fix(client: TestClient) -> None:
    ds = make(client)
    r = client.get(f"{LIST}/{ds['id']}/preview", headers=auth("viewer"))
    assert r.status_code == 409 and "/upload" in r.json()["detail"]


def test_upload_preview_schema_validate(client: TestClient, api_env: Path) -> None:
    ds = make(client)
    r = upload(client, ds["id"], PEOPLE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "ready" and len(body["files"]) == 1
    f = body["files"][0]
    assert f["type"] == "csv" and f["size"] == len(PEOPLE) and f["filename"] == "people.csv"
    assert f["key"].startswith(f"datasets/team-a/{ds['id']}/") and f["key"].endswith(".csv")
    assert (api_env / "landing" / f["key"]).read_bytes() == PEOPLE
    assert "url" not in f  # server paths are not exposed

    pv = client.get(f"{LIST}/{ds['id']}/preview", params={"rows": 2}, headers=auth("viewer"))
    assert pv.status_code == 200, pv.text
    pv = pv.json()
    assert pv["columns"] == ["id", "name", "email", "amount"] and len(pv["rows"]) == 2
    assert "email" in pv["masked_columns"]
    assert "example.com" not in str(pv["rows"]) and pv["rows"][0]["id"] == 1

    sc = client.get(f"{LIST}/{ds['id']}/schema", headers=auth("viewer")).json()
    assert sc["row_count"] == 4
    cols = {c["name"]: c for c in sc["columns"]}
    assert cols["email"]["pii"] == "EMAIL_ADDRESS" and cols["id"]["unique"] is True
    assert cols["amount"]["nullable"] is True

    va = client.get(f"{LIST}/{ds['id']}/validate", headers=auth("viewer")).json()
    assert 0 <= va["score"] <= 100 and va["rows"] == 4
    assert "email" in va["pii_columns"] and va["issues_by_family"]


def test_json_upload_named_as_csv_is_read_as_json(client: TestClient) -> None:
    ds = make(client)
    data = b'[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]'
    r = upload(client, ds["id"], data, filename="looks.csv", content_type="text/csv")
    assert r.status_code == 201 and r.json()["files"][0]["type"] == "json"
    assert r.json()["files"][0]["key"].endswith(".json")
    pv = client.get(f"{LIST}/{ds['id']}/preview", headers=auth("viewer")).json()
    assert pv["rows"] == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]


def test_upload_to_upload_pipeline_is_found_by_the_sensor(client: TestClient, project: Path,
                                                          api_env: Path) -> None:
    from datasetgen_assets.pipeline.spec import load_pipeline
    from datasetgen_resources.landing import landing_zone_from_env
    from sensors.cursor import Cursor, plan_tick

    ds = make(client, name="orders", pipeline="order_uploads")
    assert "order_uploads/upload" in ds["asset_keys"] and ds["pipeline"] == "order_uploads"
    data = (b"order_id,customer_id,quantity,unit_price,status,order_date\n"
            b"1,7,2,9.5,paid,2024-01-02\n")
    r = upload(client, ds["id"], data, filename="my orders.csv")
    assert r.status_code == 201, r.text
    key = r.json()["files"][0]["key"]
    assert key.startswith("uploads/orders/") and r.json()["files"][0]["filename"] == \
        "my_orders.csv"
    trigger = load_pipeline(project / "pipelines" / "order_uploads.yaml").spec.upload
    landing = landing_zone_from_env(project)
    plan = plan_tick(landing.list_objects(trigger.prefix), Cursor.load(None),
                     prefix=trigger.prefix, pattern=trigger.pattern)
    assert [o.key for o in plan.to_run] == [key] and not plan.skipped
    # a Parquet upload does not match the pipeline's *.csv pattern: refused, saying why
    import io

    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"a": [1]}).to_parquet(buf)
    r = upload(client, ds["id"], buf.getvalue(), filename="x.csv")
    assert r.status_code == 415 and "*.csv" in r.json()["detail"]
