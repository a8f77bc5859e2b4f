"""Uploads: the sensor's cursor logic, the sensor against a real S3 server, and the run of one
upload partition."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from datasetgen_assets.cli import land_upload
from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import UploadTrigger, load_pipeline
from datasetgen_resources import datasetgen_resources
from datasetgen_resources.landing import LocalLandingZone, ObjectInfo, S3LandingZone
from sensors.cursor import Cursor, plan_tick
from sensors.uploads import build_upload_sensor
from tests.fixtures.services import free_port

ROOT = Path(__file__).resolve().parent.parent


def obj(key: str, t: float, etag: str = "e1", size: int = 10) -> ObjectInfo:
    return ObjectInfo(key, size, t, etag)


def drain(listing, cursor=None, **kw):
    plan = plan_tick(listing, cursor or Cursor(), **kw)
    return [o.key for o in plan.to_run], plan


def test_new_keys_run_once_and_overwrites_run_again():
    listing = [obj("up/a.csv", 100), obj("up/b.csv", 101)]
    keys, plan = drain(listing)
    assert keys == ["up/a.csv", "up/b.csv"]
    again, plan2 = drain(listing, Cursor.load(plan.cursor.dump()))  # daemon restart: JSON
    assert again == []
    listing[0] = obj("up/a.csv", 130, etag="e2")  # same key, new content
    keys, _ = drain(listing, plan2.cursor)
    assert keys == ["up/a.csv"]


def test_same_second_and_late_finishing_uploads_are_not_missed():
    keys, plan = drain([obj("a.csv", 100), obj("b.csv", 100)])
    assert keys == ["a.csv", "b.csv"]
    # c.csv shares the mark's second but was listed only now; d.csv started earlier and
    # finished late (LastModified below the mark, inside the look-back window)
    keys, plan = drain([obj("a.csv", 100), obj("b.csv", 100), obj("c.csv", 100),
                        obj("d.csv", 95)], plan.cursor)
    assert keys == ["d.csv", "c.csv"]


def test_cap_per_tick_drains_1500_objects_in_order_without_loss_or_repeat():
    listing = [obj(f"k{i:04d}.csv", 1000 + i // 7) for i in range(1500)]
    cursor, seen, ticks = Cursor(), [], 0
    while True:
        plan = plan_tick(listing, cursor, max_runs=100)
        if not plan.to_run:
            break
        ticks += 1
        seen += [o.key for o in plan.to_run]
        assert plan.waiting == 1500 - len(seen)
        cursor = Cursor.load(plan.cursor.dump())
    assert ticks == 15 and seen == sorted(o.key for o in listing)


def test_bad_uploads_are_skipped_once_with_a_reason():
    listing = [obj("e.csv", 1, size=0), obj("x.exe", 1), obj("big.csv", 1, size=10**9),
               obj("bad...name.csv", 1), obj("ok ünï.csv", 1), obj("note.txt", 2)]
    plan = plan_tick(listing, Cursor(), pattern="*", max_bytes=10**6)
    assert [o.key for o in plan.to_run] == ["ok ünï.csv"]
    reasons = {o.key: r for o, r in plan.skipped}
    assert reasons["e.csv"] == "empty file (0 bytes)"
    assert "unsupported file type '.exe'" in reasons["x.exe"]
    assert reasons["big.csv"].startswith("too large: 1,000,000,000 bytes")
    assert "'...'" in reasons["bad...name.csv"]
    assert plan_tick(listing, plan.cursor, max_bytes=10**6).skipped == []  # reported once


def test_prefix_and_pattern_select_objects():
    listing = [obj("uploads/orders/a.csv", 1), obj("uploads/orders/a.json", 1),
               obj("uploads/other/b.csv", 1)]
    keys, _ = drain(listing, prefix="uploads/orders/", pattern="*.csv")
    assert keys == ["uploads/orders/a.csv"]


def _sensor(zone):
    trigger = UploadTrigger(prefix="up/", pattern="*.csv", max_runs_per_tick=1000)
    parts = dg.DynamicPartitionsDefinition(name="t_uploads")

    @dg.asset(partitions_def=parts)
    def t_asset() -> None:
        return None

    job = dg.define_asset_job("t_job", selection=[t_asset])
    dg.Definitions(assets=[t_asset], jobs=[job])
    return build_upload_sensor("t", trigger, job, parts), parts


def _tick(sensor, zone, cursor, instance):
    ctx = dg.build_sensor_context(cursor=cursor, resources={"landing": zone}, instance=instance)
    return sensor(ctx)


@pytest.mark.service
def test_sensor_on_real_s3(s3, monkeypatch):
    client = s3.server.client()
    zone = S3LandingZone(bucket=s3.bucket, prefix=s3.key("landing"))
    sensor, _ = _sensor(zone)

    def put(key: str, body: bytes) -> None:
        client.put_object(Bucket=s3.bucket, Key=s3.key(f"landing/{key}"), Body=body)

    with ThreadPoolExecutor(16) as pool:  # 1,500 objects: more than one listing page
        list(pool.map(lambda i: put(f"up/f{i:04d}.csv", b"a\n1\n"), range(1500)))
    put("up/with space ü.csv", b"a\n1\n")
    put("up/zero.csv", b"")
    with dg.DagsterInstance.ephemeral() as instance:
        res = _tick(sensor, zone, None, instance)
        keys = [r.partition_key for r in res.run_requests]
        assert len(keys) == 1000 == len({r.run_key for r in res.run_requests})  # the cap
        res = _tick(sensor, zone, res.cursor, instance)
        more = [r.partition_key for r in res.run_requests]
        assert len(more) == 501 and "up/with space ü.csv" in more and not set(more) & set(keys)
        assert "up/zero.csv" not in more  # empty: skipped and reported
        assert sorted(keys + more) == sorted([f"up/f{i:04d}.csv" for i in range(1500)]
                                             + ["up/with space ü.csv"])
        cursor = res.cursor
        # the same key uploaded again with other content runs again; nothing else does
        put("up/f0001.csv", b"a\n2\n")
        res = _tick(sensor, zone, cursor, instance)
        assert [r.partition_key for r in res.run_requests] == ["up/f0001.csv"]
        cursor = res.cursor
        # S3 down during a tick: the tick fails, the cursor stays, the next tick catches up
        put("up/late.csv", b"a\n3\n")
        monkeypatch.setenv("DATASETGEN_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        with pytest.raises(Exception):  # noqa: B017 - any connection error fails the tick
            _tick(sensor, zone, cursor, instance)
        monkeypatch.setenv("DATASETGEN_S3_ENDPOINT_URL", s3.server.endpoint_url)
        res = _tick(sensor, zone, cursor, instance)
        assert [r.partition_key for r in res.run_requests] == ["up/late.csv"]
        assert _tick(sensor, zone, res.cursor, instance).run_requests == []


def test_upload_partition_materializes_end_to_end(project):
    pipeline = load_pipeline(project / "pipelines" / "order_uploads.yaml")
    key = land_upload(pipeline, str(ROOT / "examples" / "uploads" / "orders_2024_06.csv"))
    assert (project / "landing" / key).exists()
    built = build_pipeline(pipeline)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("order_uploads_uploads", [key])
        result = dg.materialize(built["assets"], instance=instance, partition_key=key,
                                resources=datasetgen_resources(str(project / "assets")))
    assert result.success
    out = pd.read_parquet(project / "out" / "uploads" /
                          "uploads__orders__orders_2024_06.csv.parquet")
    src = pd.read_csv(ROOT / "examples" / "uploads" / "orders_2024_06.csv")
    paid = src[src.status.isin(["paid", "shipped"])]
    real, synthetic = out[~out["_synthetic"]], out[out["_synthetic"]]
    assert real.order_id.tolist() == paid.order_id.tolist()  # the real rows, untouched
    assert len(synthetic) == len(paid)  # ratio 1.0
    assert synthetic.status.isin(["paid", "shipped"]).all()
    assert not set(synthetic.order_id) & set(src.order_id)  # fresh ids
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["fidelity"] and checks["unique"]
    assert (project / "assets" / "order_uploads" / "upload").is_dir()  # one file per partition


def test_local_landing_zone_lists_nested_keys(tmp_path):
    (tmp_path / "up" / "2024").mkdir(parents=True)
    (tmp_path / "up" / "2024" / "a.csv").write_text("x\n1\n")
    (tmp_path / "up" / ".hidden.csv").write_text("x\n")
    zone = LocalLandingZone(root=str(tmp_path))
    objs = list(zone.list_objects("up/"))
    assert [o.key for o in objs] == ["up/2024/a.csv"] and objs[0].size == 4
    assert zone.url_for("up/2024/a.csv") == str(tmp_path / "up" / "2024" / "a.csv")
    before = objs[0].etag
    (tmp_path / "up" / "2024" / "a.csv").write_text("x\n22\n")
    assert next(iter(zone.list_objects("up/"))).etag != before
    shutil.rmtree(tmp_path / "up")
    assert list(zone.list_objects("up/")) == []


def test_upload_placeholder_errors_name_the_fix(project, tmp_path):
    from click.testing import CliRunner

    from datasetgen_assets.cli import main
    from datasetgen_assets.errors import PipelineValidationError, StepInputError
    from datasetgen_assets.pipeline.spec import parse_pipeline
    from datasetgen_assets.steps.registry import StepContext

    with pytest.raises(PipelineValidationError) as info:
        parse_pipeline("name: p\nsteps:\n  - {id: u, type: csv, config: {path: '{upload}'}}\n",
                       file="p.yaml", base_dir=tmp_path)
    [msg] = [str(e) for e in info.value.errors]
    assert "step 'u'" in msg and "has no upload trigger" in msg and "trigger: {upload:" in msg
    with pytest.raises(StepInputError, match="this run has no upload partition"):
        StepContext(base_dir=tmp_path).resolve("{upload}")
    res = CliRunner().invoke(main, ["run", "pipelines/order_uploads.yaml", "--quiet"])
    assert res.exit_code == 2 and "runs once per upload; give --upload FILE" in res.output
    assert not (project / "out").exists() and not (project / "landing").exists()
