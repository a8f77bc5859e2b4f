"""End to end under the daemon: PostgreSQL instance storage, `dagster-daemon` with the code
location, a CSV uploaded to a real S3 server -> one successful run of that upload's partition."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.service
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_upload_to_s3_runs_its_partition_under_the_daemon(s3, postgres_db, tmp_path,
                                                          monkeypatch):
    project = tmp_path / "project"
    (project / "pipelines").mkdir(parents=True)
    text = (ROOT / "pipelines" / "order_uploads.yaml").read_text()
    (project / "pipelines" / "order_uploads.yaml").write_text(
        text.replace("max_size_mb: 50}", "max_size_mb: 50, interval_seconds: 2}"))
    (project / "pyproject.toml").write_text("")  # marks the project folder
    (project / "t.csv").write_text("a\n1\n")
    (project / "pipelines" / "every_minute.yaml").write_text(
        "name: every_minute\nschedule: '* * * * *'\n"
        "steps:\n  - {id: t, type: csv, config: {path: t.csv}}\n")
    home = tmp_path / "home"
    env = {
        "DAGSTER_HOME": str(home), "DATASETGEN_POSTGRES_URL": postgres_db,
        "DATASETGEN_PROJECT_DIR": str(project),
        "DATASETGEN_LANDING_URL": s3.url("landing"),
        "DATASETGEN_DATA_URL": s3.url("assets"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from datasetgen_assets.instance import ensure_dagster_home

    ensure_dagster_home(project)
    def start_daemon() -> subprocess.Popen:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w",
             str(ROOT / "workspace.yaml")],
            cwd=ROOT, env=dict(os.environ), stdout=(tmp_path / "daemon.log").open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for(instance: dg.DagsterInstance, tags: dict, timeout: float = 240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = instance.get_runs(dg.RunsFilter(tags=tags))
            if runs and runs[0].status in (dg.DagsterRunStatus.SUCCESS,
                                           dg.DagsterRunStatus.FAILURE):
                return runs[0]
            time.sleep(1)
        log = (tmp_path / "daemon.log").read_text(errors="replace")[-3000:]
        raise AssertionError(f"no finished run with {tags}; daemon log:\n{log}")

    daemon = start_daemon()
    try:
        key = "uploads/orders/June orders ü.csv"
        body = (ROOT / "examples" / "uploads" / "orders_2024_06.csv").read_bytes()
        time.sleep(3)  # let the daemon start; the upload sensor's first tick sees nothing
        uploaded = time.monotonic()
        s3.server.client().put_object(Bucket=s3.bucket, Key=s3.key(f"landing/{key}"), Body=body)
        with dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            run = wait_for(instance, {"datasetgen/upload_key": key})
            seconds = time.monotonic() - uploaded
            assert run.status == dg.DagsterRunStatus.SUCCESS
            assert run.tags["dagster/partition"] == key
            print(f"upload -> run success: {seconds:.1f}s")
            mat = instance.get_latest_materialization_event(
                dg.AssetKey(["order_uploads", "stored"]))
            assert mat is not None and mat.dagster_event.partition == key
            # the schedule from `schedule:` ran on time under the same daemon
            sched = wait_for(instance, {"dagster/schedule_name": "every_minute_schedule"}, 90)
            assert sched.status == dg.DagsterRunStatus.SUCCESS
            # daemon restarted between ticks: the cursor survives, nothing runs twice
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
            second = "uploads/orders/second.csv"
            s3.server.client().put_object(Bucket=s3.bucket, Key=s3.key(f"landing/{second}"),
                                          Body=body)
            daemon = start_daemon()
            assert wait_for(instance, {"datasetgen/upload_key": second}).status == \
                dg.DagsterRunStatus.SUCCESS
            assert len(instance.get_runs(dg.RunsFilter(
                tags={"datasetgen/upload_key": key}))) == 1
        stored = s3.server.client().get_object(
            Bucket=s3.bucket,
            Key=s3.key("assets/order_uploads/stored/uploads__orders__June orders ü.csv.parquet"))
        import io

        out = pd.read_parquet(io.BytesIO(stored["Body"].read()))
        src = pd.read_csv(ROOT / "examples" / "uploads" / "orders_2024_06.csv")
        paid = int(src.status.isin(["paid", "shipped"]).sum())
        assert int((~out["_synthetic"]).sum()) == paid  # the real rows, then as many synthetic
        assert int(out["_synthetic"].sum()) == paid
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
