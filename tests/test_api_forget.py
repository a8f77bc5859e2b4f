"""Right to be forgotten: deleting a dataset erases its landing files, its partitions'
materializations and stored outputs, and LLM cache entries holding its values; an audit
entry records counts only."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
from fastapi.testclient import TestClient

from tests import test_api_auth
from tests.test_api_auth import auth
from tests.test_api_datasets import make, upload

api_env = test_api_auth.api_env  # shared fixtures
client = test_api_auth.client

ROOT = Path(__file__).resolve().parent.parent
LIST = "/api/v1/datasets"
STEPS = ("upload", "profiled")  # the fast steps (augment fits a synthesizer)


def _materialize(project: Path, key: str) -> dg.ExecuteInProcessResult:
    from datasetgen_assets.pipeline.factory import build_pipeline
    from datasetgen_assets.pipeline.spec import load_pipeline
    from datasetgen_resources import datasetgen_resources

    pipeline = load_pipeline(project / "pipelines" / "order_uploads.yaml")
    built = build_pipeline(pipeline)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("order_uploads_uploads", [key])
        return dg.materialize(built["assets"], instance=instance, partition_key=key,
                              selection=[dg.AssetKey(["order_uploads", s]) for s in STEPS],
                              resources=datasetgen_resources(str(project / "assets")))


def test_delete_forgets_files_materializations_cache_and_is_audited(
        client: TestClient, project: Path, api_env: Path) -> None:
    from datasetgen_resources.llm.cache import SQLiteCache

    data = (ROOT / "examples" / "uploads" / "orders_2024_06.csv").read_bytes()
    ds = make(client, name="orders", pipeline="order_uploads")
    key = upload(client, ds["id"], data, filename="orders.csv").json()["files"][0]["key"]
    other = make(client, name="others", pipeline="order_uploads")
    other_key = upload(client, other["id"], data.replace(b"paid", b"PAID"),
                       filename="o.csv").json()["files"][0]["key"]
    result = _materialize(project, key)
    assert result.success
    akey = dg.AssetKey(["order_uploads", "upload"])
    with dg.DagsterInstance.get() as instance:
        recs = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=akey, asset_partitions=[key]), limit=10).records
        stored = [str(r.asset_materialization.metadata["path"].value) for r in recs]
    assert stored and all(Path(p).exists() for p in stored)

    import pandas as pd

    row_value = str(pd.read_csv(ROOT / "examples" / "uploads" / "orders_2024_06.csv")
                    .select_dtypes("object").iloc[0, 0])
    cache = SQLiteCache(api_env / "llm_cache.sqlite")
    cache.put_many({"k-row": {"answer": {"note": f"about {row_value}"}, "cost_usd": 0.1},
                    "k-asset": {"answer": {"x": 1}, "asset": "order_uploads/paid"},
                    "k-other": {"answer": {"note": "unrelated text"}, "cost_usd": 0.1}})
    cache.close()

    r = client.delete(f"{LIST}/{ds['id']}", headers=auth("admin"))
    assert r.status_code == 200, r.text
    counts = r.json()
    assert counts["files"] == 1 and counts["partitions"] == 1
    assert counts["materializations"] == 2 and counts["output_files"] == 2
    assert counts["runs"] == 1
    assert counts["llm_cache_entries"] == 2

    assert not (api_env / "landing" / key).exists()
    assert (api_env / "landing" / other_key).exists()  # another dataset's upload stays
    assert not any(Path(p).exists() for p in stored)
    with dg.DagsterInstance.get() as instance:
        assert instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=akey, asset_partitions=[key]), limit=10
        ).records == []
        assert key not in instance.get_dynamic_partitions("order_uploads_uploads")
        assert instance.get_run_by_id(result.run_id) is None  # its logs held previews
    cache = SQLiteCache(api_env / "llm_cache.sqlite")
    assert set(cache.get_many(["k-row", "k-asset", "k-other"])) == {"k-other"}
    cache.close()
    assert client.get(f"{LIST}/{ds['id']}", headers=auth("admin")).status_code == 404

    entries = client.get("/api/v1/audit", params={"action": "dataset.forget"},
                         headers=auth("admin")).json()["items"]
    assert len(entries) == 1
    e = entries[0]
    assert e["resource"] == f"dataset/{ds['id']}" and e["user"] == "admin-user"
    assert e["details"]["llm_cache_entries"] == 2 and e["details"]["files"] == 1
    assert row_value not in json.dumps(e)


def test_delete_of_unbound_dataset_removes_its_files(client: TestClient, api_env: Path) -> None:
    ds = make(client)
    f = upload(client, ds["id"], b"a,b\n1,2\n").json()["files"][0]
    assert (api_env / "landing" / f["key"]).exists()
    r = client.delete(f"{LIST}/{ds['id']}", headers=auth("admin"))
    assert r.json() == {"id": ds["id"], "files": 1, "materializations": 0, "output_files": 0,
                        "runs": 0, "partitions": 0, "llm_cache_entries": 0}
    assert not (api_env / "landing" / f["key"]).exists()
    assert client.delete(f"{LIST}/{ds['id']}", headers=auth("admin")).status_code == 404


def test_cache_entries_of_a_datasets_rows_are_found_by_value_digests(llm_emulator,
                                                                     tmp_path: Path) -> None:
    """An answer that does not echo its row (a label) is still erased: the client stores
    digests of the request's values beside it, never the values."""
    from datasetgen_api.forget import forget_cache
    from tests.fixtures.llm import emulator_client, emulator_spec

    client = emulator_client([emulator_spec(llm_emulator)], cache_dir=tmp_path)
    schema = {"type": "object", "properties": {"label": {"enum": ["a", "b"]}},
              "required": ["label"]}
    rows = [{"email": "jane.doe@example.com"}, {"email": "bob.roe@example.com"}]
    client.structured(rows, "Label the row.", schema, step="classify")
    cache = client._s.cache
    stored = [json.loads(v) for (v,) in cache._conn.execute("SELECT value FROM llm_cache")]
    assert len(stored) == 2 and all(len(v["values"]) == 1 for v in stored)
    assert all("jane.doe" not in json.dumps(v) for v in stored)  # digests, not values
    assert forget_cache(cache, {"jane.doe@example.com"}, set()) == 1
    assert forget_cache(cache, {"jane.doe@example.com"}, set()) == 0
    assert forget_cache(cache, {"bob.roe@example.com"}, set()) == 1
