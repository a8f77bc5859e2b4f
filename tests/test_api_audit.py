"""Audit log: append-only in the database (SQLite and PostgreSQL), one record per mutating
call (refused ones too), no PII in records, admin-only querying with filters."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests import test_api_auth
from tests.test_api_auth import auth
from tests.test_api_datasets import PEOPLE, make, upload

api_env = test_api_auth.api_env  # shared fixtures
client = test_api_auth.client
LIST = "/api/v1/datasets"


def _audit(client: TestClient, **params: object) -> list[dict]:
    r = client.get("/api/v1/audit", params=params, headers=auth("admin", "ops"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _refuses_changes(store) -> None:
    from datasetgen_api.audit import record

    before = store.query_audit(action="test.append")[1]
    rid = record("test.append", "thing/1", user="u", details={"n": 1}, store=store)
    for stmt in (f"UPDATE api_audit_log SET action = 'x' WHERE id = {rid}",
                 f"DELETE FROM api_audit_log WHERE id = {rid}",
                 "DELETE FROM api_audit_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as c:
            c.exec_driver_sql(stmt)
    rows, total = store.query_audit(action="test.append")
    assert total == before + 1
    assert rows[0]["id"] == rid and rows[0]["action"] == "test.append"
    assert rows[0]["details"] == {"n": 1}


def test_append_only_on_sqlite(api_env) -> None:
    from datasetgen_api.store import Store

    store = Store(f"sqlite:///{api_env / 'audit_only.db'}")
    _refuses_changes(store)
    store = Store(store.url)  # reopening keeps the triggers (idempotent setup)
    _refuses_changes(store)


def test_append_only_and_store_on_postgres(postgres_db: str) -> None:
    from datasetgen_api.store import Store

    store = Store(postgres_db)
    try:
        _refuses_changes(store)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as c:
            c.exec_driver_sql("TRUNCATE api_audit_log")
        ds = store.create_dataset(name="d", workspace="w", owner="o", asset_keys=["p/s"])
        store.update_dataset(ds["id"], files=[{"key": "k"}], status="ready")
        rows, total = store.list_datasets("w", limit=10, offset=0)
        assert total == 1 and rows[0]["files"] == [{"key": "k"}]
        assert rows[0]["asset_keys"] == ["p/s"]
        assert store.list_datasets("other", limit=10, offset=0)[1] == 0
        assert store.delete_dataset(ds["id"]) and store.get_dataset(ds["id"]) is None
        _refuses_changes(Store(postgres_db))  # a second process's setup is idempotent
    finally:
        store.close()


def test_every_mutating_call_is_recorded_with_its_outcome(client: TestClient) -> None:
    t0 = time.time() - 1
    ds = make(client)
    client.patch(f"{LIST}/{ds['id']}", json={"description": "d"},
                 headers=auth("data_scientist"), )
    client.post(LIST, json={"name": "no"}, headers=auth("viewer"))  # 403
    client.post(LIST, json={"name": "anon"})  # 401
    client.get(LIST, headers=auth("viewer"))  # reads are not audited
    items = _audit(client, action="http.")
    by = [(i["action"], i["details"]["status"], i["user"], i["outcome"]) for i in items]
    assert by == [("http.POST", 401, None, "denied"),
                  ("http.POST", 403, "viewer-user", "denied"),
                  ("http.PATCH", 200, "data_scientist-user", "ok"),
                  ("http.POST", 201, "data_scientist-user", "ok")]
    create = items[-1]
    assert create["details"]["dataset_id"] == ds["id"] and create["resource"] == LIST
    assert create["details"]["route"] == LIST
    assert items[-2]["details"]["fields"] == ["description"]
    assert create["ip"] == "testclient" and create["user_agent"]
    assert time.time() >= time.mktime(time.gmtime(t0))


def test_audit_never_holds_pii(client: TestClient) -> None:
    ds = make(client)
    r = upload(client, ds["id"], PEOPLE, filename="ann.lee@example.com.csv")
    assert r.status_code == 201
    client.patch(f"{LIST}/{ds['id']}", params={"note": "bob.stone@example.org"},
                 json={"description": "+1 (555) 123-4567"}, headers=auth("data_scientist"))
    client.delete(f"{LIST}/cy.ray@example.net", headers=auth("admin"))
    client.delete(f"{LIST}/{ds['id']}", headers=auth("admin"))
    items = _audit(client)
    text = json.dumps(items)
    for secret in ("ann.lee", "bob.stone", "cy.ray", "example.", "123-4567", "Ann Lee"):
        assert secret not in text, secret
    upload_rec = next(i for i in items if i["resource"].endswith("/upload"))
    assert upload_rec["details"]["bytes"] == len(PEOPLE) and upload_rec["details"]["type"] == \
        "csv"
    patch_rec = next(i for i in items if i["action"] == "http.PATCH")
    assert patch_rec["details"]["query_params"] == ["note"]


def test_record_redacts_pii_in_details(api_env) -> None:
    from datasetgen_api.audit import record
    from datasetgen_api.store import get_store

    run_id = "3f2a1b4c-9d8e-1234-5678-123456789012"
    record("pipeline.execute", "pipeline/order_uploads", user="alice",
           details={"run_id": run_id, "note": "mail x.y@corp.io or call 0044 20 7946 0958",
                    "columns": ["email", "phone"], "rows": 12})
    rows, _ = get_store().query_audit(action="pipeline.execute")
    d = rows[0]["details"]
    assert d["run_id"] == run_id and d["rows"] == 12 and d["columns"] == ["email", "phone"]
    assert "corp.io" not in d["note"] and "7946" not in d["note"]


def test_audit_query_is_admin_only_and_filters(client: TestClient) -> None:
    make(client, name="a1")
    client.post(LIST, json={"name": "a2"}, headers=auth("admin", "team-a", sub="root"))
    for role in ("viewer", "analyst", "data_scientist"):
        assert client.get("/api/v1/audit", headers=auth(role)).status_code == 403
    assert [i["user"] for i in _audit(client, user="root")] == ["root"]
    assert len(_audit(client, action="http.POST")) == 2
    assert _audit(client, since="2999-01-01T00:00:00Z") == []
    assert len(_audit(client, limit=1)) == 1
    assert client.get("/api/v1/audit", params={"limit": 0},
                      headers=auth("admin")).status_code == 422
