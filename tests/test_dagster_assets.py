"""The pipelines as Dagster assets: graph snapshot, metadata, quality gates, schedules, the IO
manager and instance storage (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from datasetgen_assets.pipeline.factory import build_definitions, build_pipeline
from datasetgen_assets.pipeline.spec import discover_pipelines, load_pipeline
from datasetgen_resources import datasetgen_resources
from datasetgen_resources.storage import ParquetIOManager
from sensors import all_sensors

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    out = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        out[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "kinds": sorted(node.kinds),
            "checks": sorted(
                [c.name, graph.get_check_spec(c).blocking] for c in node.check_keys),
        }
    return out


def test_asset_graph_snapshot():
    defs = build_definitions(discover_pipelines([ROOT / "pipelines"]), datasetgen_resources(),
                             all_sensors())
    snap = graph_snapshot(defs)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(snap, indent=2, sort_keys=True) + "\n")
    assert snap == json.loads(SNAPSHOT.read_text()), "asset graph changed: UPDATE_SNAPSHOTS=1"
    # the graph is the pipeline as written
    assert snap["customer_orders/order_lines"]["deps"] == [
        "customer_orders/orders_with_customers", "customer_orders/products"]
    assert ["unique", True] in snap["customer_orders/checked"]["checks"]
    job = defs.resolve_job_def("customer_orders_job")
    assert job is not None
    sched = defs.resolve_schedule_def("customer_orders_schedule")
    assert sched.cron_schedule == "0 6 * * *"


def test_materialize_example_with_metadata(project):
    pipeline = load_pipeline(project / "pipelines" / "customer_orders.yaml")
    built = build_pipeline(pipeline)
    data = project / "assets"
    result = dg.materialize(built["assets"], resources=datasetgen_resources(str(data)),
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    # an independent pandas computation of the same summary
    orders = pd.json_normalize(json.loads((project / "examples/data/orders.json").read_text()))
    customers = pd.read_csv(project / "examples/data/customers.csv")
    keep = orders[(orders.order_date >= "2024-01-01") & orders.status.isin(["paid", "shipped"])]
    joined = keep.merge(customers, on="customer_id")
    mats = {m.asset_key.path[-1]: m for m in (
        e.event_specific_data.materialization for e in result.get_asset_materialization_events())}
    md = mats["recent_paid"].metadata
    assert md["dagster/row_count"].value == len(joined)
    assert [c.name for c in md["dagster/column_schema"].schema.columns][:3] == [
        "order_id", "customer_id", "product_id"]
    assert "| order_id |" in md["preview"].value.replace("  ", " ") or "order_id" in md[
        "preview"].value
    assert Path(md["path"].value).exists()
    assert "pass-through" in md["plan"].value
    export = pd.read_csv(project / "out" / "customer_orders_summary.csv")
    assert export["orders"].sum() == len(joined)
    assert mats["export"].metadata["report"].value["rows"] == len(export)
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"required_columns": True, "not_null": True, "unique": True,
                      "min_rows": True}


def test_blocking_check_stops_downstream(tmp_path):
    (tmp_path / "d.csv").write_text("id,v\n1,a\n1,b\n2,c\n")
    (tmp_path / "p.yaml").write_text(f"""
name: gate
steps:
  - {{id: src, type: csv, config: {{path: {tmp_path}/d.csv}}}}
  - {{id: gate, type: quality_validation, depends_on: [src], config: {{unique: [id]}}}}
  - {{id: out, type: write, depends_on: [gate], config: {{path: {tmp_path}/out.csv}}}}
""")
    (tmp_path / "out.csv").write_text("previous good output\n")
    built = build_pipeline(load_pipeline(tmp_path / "p.yaml"))
    result = dg.materialize(built["assets"], resources=datasetgen_resources(str(tmp_path / "a")),
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "unique" and not check.passed
    assert check.metadata["duplicate_rows"].value == 1
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert "out" not in materialized
    assert (tmp_path / "out.csv").read_text() == "previous good output\n"


def test_bad_input_fails_the_step_with_a_clear_error_and_keeps_outputs(tmp_path):
    (tmp_path / "d.csv").write_text("id,v\n1,a\n2,b,EXTRA\n")
    (tmp_path / "p.yaml").write_text(f"""
name: bad
steps:
  - {{id: src, type: csv, config: {{path: {tmp_path}/d.csv}}}}
  - {{id: out, type: write, depends_on: [src], config: {{path: {tmp_path}/out.csv}}}}
""")
    (tmp_path / "out.csv").write_text("previous good output\n")
    built = build_pipeline(load_pipeline(tmp_path / "p.yaml"))
    result = dg.materialize(built["assets"], resources=datasetgen_resources(str(tmp_path / "a")),
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = failure.event_specific_data.user_failure_data.description
    assert "step 'src'" in text and "d.csv" in text and "line 3" in text
    assert (tmp_path / "out.csv").read_text() == "previous good output\n"
    # bad input is not retried: one attempt only
    assert sum(e.event_type_value == "STEP_START" for e in result.all_events
               if (e.step_key or "").endswith("src")) == 1


def test_io_manager_is_atomic_and_partitioned(tmp_path):
    io = ParquetIOManager(base_url=str(tmp_path))
    key = dg.AssetKey(["p", "s"])
    good = pd.DataFrame({"a": [1, 2, 3]})
    io.handle_output(dg.build_output_context(asset_key=key), good)
    target = tmp_path / "p" / "s.parquet"
    bad = pd.DataFrame({"a": [1, "x", 3.5]}, dtype=object)  # pyarrow cannot write mixed types
    with pytest.raises(Exception, match=r"(?i)conversion|convert|type"):
        io.handle_output(dg.build_output_context(asset_key=key), bad)
    pd.testing.assert_frame_equal(pd.read_parquet(target), good)
    assert sorted(p.name for p in target.parent.iterdir()) == ["s.parquet"]  # no temp left
    for part in ("2024-01-01", "2024-01-02"):
        io.handle_output(dg.build_output_context(asset_key=key, partition_key=part),
                         good.assign(day=part))
    assert (tmp_path / "p" / "s" / "2024-01-02.parquet").exists()
    loaded = io.load_input(dg.build_input_context(asset_key=key, partition_key="2024-01-02"))
    assert list(loaded["day"]) == ["2024-01-02"] * 3


def test_dagster_definitions_validate_passes():
    env = {**os.environ, "DATASETGEN_PROJECT_DIR": str(ROOT)}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate",
         "-w", "workspace.yaml"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr


@pytest.mark.service
def test_postgres_instance_storage(project, monkeypatch, postgres_db):
    import sqlalchemy as sa

    from datasetgen_assets.instance import ensure_dagster_home

    # a plain postgresql:// URL: ensure_dagster_home makes it postgresql+psycopg2
    monkeypatch.setenv("DATASETGEN_POSTGRES_URL",
                       postgres_db.replace("postgresql+psycopg2", "postgresql"))
    monkeypatch.setenv("DAGSTER_HOME", str(project / "home"))
    home = ensure_dagster_home(project)
    assert "postgres" in (home / "dagster.yaml").read_text()
    built = build_pipeline(load_pipeline(project / "pipelines" / "product_catalog.yaml"))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize(built["assets"], instance=instance,
                                resources=datasetgen_resources(str(project / "a")))
        assert result.success
    eng = sa.create_engine(postgres_db)
    with eng.connect() as conn:
        runs = conn.execute(sa.text("select count(*) from runs")).scalar()
        mats = conn.execute(sa.text(
            "select count(*) from event_logs where dagster_event_type = "
            "'ASSET_MATERIALIZATION'")).scalar()
    eng.dispose()
    assert runs == 1 and mats == len(built["assets"])


@pytest.mark.slow
def test_pipeline_runs_unchanged_under_the_multiprocess_executor(tmp_path):
    """The code location's job uses Dagster's multiprocess executor: independent sources run
    in their own processes and the IO manager hands data across them."""
    (tmp_path / "pipelines").mkdir()
    pd.DataFrame({"k": [1, 2, 3], "a": [10, 20, 30]}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"k": [2, 3, 4], "b": ["x", "y", "z"]}).to_csv(tmp_path / "b.csv", index=False)
    (tmp_path / "pipelines" / "mp.yaml").write_text("""
name: mp
steps:
  - {id: a, type: parquet, config: {path: a.parquet}}
  - {id: b, type: csv, config: {path: b.csv}}
  - {id: j, type: join, depends_on: [a, b], config: {on: [k]}}
""")
    (tmp_path / "workspace.yaml").write_text("load_from: []\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home), "DATASETGEN_PROJECT_DIR": str(tmp_path),
           "DATASETGEN_DATA_URL": str(tmp_path / "assets")}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m",
         "datasetgen_assets.definitions", "-j", "mp_job"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "RUN_SUCCESS" in log, log[-3000:]
    assert "Executing steps using multiprocess executor" in log
    assert log.count("STEP_WORKER_STARTING") == 3
    joined = pd.read_parquet(tmp_path / "assets" / "mp" / "j.parquet")
    assert joined.to_dict("records") == [{"k": 2, "a": 20, "b": "x"}, {"k": 3, "a": 30, "b": "y"}]


def test_quality_step_compares_with_its_previous_materialization(tmp_path):
    (tmp_path / "p.yaml").write_text(f"""
name: shift
steps:
  - {{id: src, type: csv, config: {{path: {tmp_path}/d.csv}}}}
  - {{id: q, type: quality_validation, depends_on: [src],
     config: {{min_quality_score: 0, data_docs: false}}}}
""")
    assets = build_pipeline(load_pipeline(tmp_path / "p.yaml"))["assets"]
    res = datasetgen_resources(str(tmp_path / "a"))
    with dg.DagsterInstance.ephemeral() as instance:
        reports = []
        for values in (range(100), range(1000, 1100)):  # the second run moved far away
            (tmp_path / "d.csv").write_text("x\n" + "\n".join(map(str, values)) + "\n")
            result = dg.materialize(assets, instance=instance, resources=res)
            [mat] = [m.event_specific_data.materialization
                     for m in result.get_asset_materialization_events()
                     if m.asset_key.path[-1] == "q"]
            reports.append(mat.metadata["report"].value)
            shift_check = [c for c in result.get_asset_check_evaluations()
                           if c.check_name == "statistical_anomalies"]
    first, second = (r["distribution_shift"] for r in reports)
    assert first["compared"] is False and second["compared"] is True
    assert second["previous_rows"] == 100
    assert reports[1]["issues_by_family"]["statistical_anomalies"]
    assert shift_check and not shift_check[0].passed
