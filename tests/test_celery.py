"""Scale-out with dagster-celery: the executor switch, and a pipeline job whose steps run in a
real Celery worker on the local RabbitMQ."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from datasetgen_assets.executors import (
    BACKEND_ENV,
    BROKER_ENV,
    EXECUTOR_ENV,
    QUEUE_ENV,
    ExecutorConfigError,
    celery_worker_command,
    executor_for_env,
    main,
)
from tests.fixtures.services import require_service

ROOT = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("DATASETGEN_TEST_RABBITMQ_URL", "pyamqp://guest:guest@127.0.0.1:5672//")


def test_default_executor_is_dagsters_own():
    assert executor_for_env({}) is None
    assert executor_for_env({EXECUTOR_ENV: " Multiprocess "}) is None
    assert executor_for_env({EXECUTOR_ENV: "in-process"}) is dg.in_process_executor


def test_unknown_executor_and_missing_broker_are_clear_errors():
    with pytest.raises(ExecutorConfigError, match=r"DATASETGEN_EXECUTOR='k8s'.*celery"):
        executor_for_env({EXECUTOR_ENV: "k8s"})
    with pytest.raises(ExecutorConfigError, match=BROKER_ENV):
        executor_for_env({EXECUTOR_ENV: "celery"})


def test_celery_executor_keeps_credentials_in_the_environment(monkeypatch):
    secret_url = "pyamqp://svc:s3cret@rabbit:5672//"
    monkeypatch.setenv(BROKER_ENV, secret_url)
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    ex = executor_for_env({EXECUTOR_ENV: "celery", BROKER_ENV: secret_url, QUEUE_ENV: "datasets"})
    assert ex is not None and ex.name == "datasetgen_celery"

    @dg.asset
    def one() -> int:
        return 1

    defs = dg.Definitions(assets=[one], executor=ex, jobs=[dg.define_asset_job("j")])
    job = defs.resolve_job_def("j")
    assert job.executor_def is ex
    assert "s3cret" not in repr(job.get_job_snapshot())
    # the `env` reference resolves when a run starts: broker, rpc:// backend, queue
    cfg = ex.apply_config_mapping({}).value["config"]
    assert cfg["broker"] == secret_url and cfg["backend"] == "rpc://"
    assert cfg["config_source"] == {"task_default_queue": "datasets"}
    monkeypatch.setenv(BROKER_ENV, "pyamqp://other@rabbit2//")
    assert ex.apply_config_mapping({}).value["config"]["broker"] == "pyamqp://other@rabbit2//"


def test_redis_broker_is_its_own_backend_and_worker_urls_stay_off_argv():
    env = {BROKER_ENV: "redis://:pw@cache:6379/0", QUEUE_ENV: "q1", "PATH": "/bin"}
    argv, worker_env = celery_worker_command(["-c", "2"], env)
    assert argv[1:6] == ["-m", "celery", "-A", "dagster_celery.app", "worker"]
    assert argv[6:8] == ["-Q", "q1"] and "-c" in argv and "--loglevel=INFO" in argv
    assert not any("pw" in a for a in argv)
    assert worker_env["CELERY_BROKER_URL"] == worker_env["CELERY_RESULT_BACKEND"] == env[BROKER_ENV]
    assert main(["nope"]) == 2


PIPELINE = """
name: scale
steps:
  - {id: a, type: csv, config: {path: a.csv}}
  - {id: b, type: csv, config: {path: b.csv}}
  - {id: j, type: join, depends_on: [a, b], config: {on: [k]}}
  - {id: where, type: custom_python, depends_on: [j], config: {function: "user_steps.probe:where"}}
"""
PROBE = """import os


def where(df):
    return df.assign(pid=os.getpid(), ppid=os.getppid())
"""
# the code location with the executor switch applied (a no-op once definitions.py applies it)
LOCATION = """import dagster as dg

import datasetgen_assets.definitions as location
from datasetgen_assets.executors import executor_for_env

defs = (location.defs if location.defs.executor is not None else
        dg.Definitions.merge(location.defs, dg.Definitions(executor=executor_for_env())))
"""


def _project(tmp: Path) -> Path:
    (tmp / "pipelines").mkdir()
    (tmp / "pipelines" / "scale.yaml").write_text(PIPELINE)
    (tmp / "a.csv").write_text("k,a\n1,10\n2,20\n3,30\n")
    (tmp / "b.csv").write_text("k,b\n2,x\n3,y\n4,z\n")
    (tmp / "user_steps").mkdir()
    (tmp / "user_steps" / "__init__.py").write_text("")
    (tmp / "user_steps" / "probe.py").write_text(PROBE)
    (tmp / "celery_location.py").write_text(LOCATION)
    (tmp / "workspace.yaml").write_text("load_from: []\n")
    home = tmp / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    return tmp


def _wait_ready(proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if " ready." in text:
            return
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited with {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.3)
    pytest.fail("celery worker not ready after 60 s:\n" + log.read_text(errors="replace")[-3000:])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _delete_queue(name: str) -> None:
    """Best effort: a failed cleanup must not hide the test's own outcome."""
    from kombu import Connection

    with contextlib.suppress(Exception), Connection(BROKER, connect_timeout=5) as conn:
        conn.default_channel.queue_delete(name)


@pytest.mark.service
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_pipeline_steps_run_in_a_celery_worker(tmp_path):
    require_service("RabbitMQ", "127.0.0.1", 5672)
    project = _project(tmp_path)
    queue = f"datasetgen-test-{uuid.uuid4().hex[:8]}"
    worker_name = f"{queue}@%h"
    env = {k: v for k, v in os.environ.items()
           if k not in {"CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", BACKEND_ENV}}
    env.update({
        "DAGSTER_HOME": str(project / "home"), "DATASETGEN_PROJECT_DIR": str(project),
        "DATASETGEN_DATA_URL": str(project / "assets"),
        "DATASETGEN_CUSTOM_PYTHON_MODULES": "user_steps",
        EXECUTOR_ENV: "celery", BROKER_ENV: BROKER, QUEUE_ENV: queue,
        "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)]),
    })
    log = project / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "datasetgen_assets.executors", "worker", "-n", worker_name,
             "--concurrency", "2", "--without-mingle", "--without-gossip",
             "-I", "datasetgen_assets.definitions"],
            cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(worker, log)
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "dagster"), "job", "execute",
             "-m", "celery_location", "-d", str(project), "-j", "scale_job"],
            cwd=project, env=env, capture_output=True, text=True, timeout=180)
        launcher_log = proc.stdout + proc.stderr
        assert proc.returncode == 0 and "RUN_SUCCESS" in launcher_log, (
            launcher_log[-3000:] + log.read_text(errors="replace")[-3000:])
    finally:
        _stop(worker)
        _delete_queue(queue)

    steps = {"scale__a", "scale__b", "scale__j", "scale__where"}
    for step in steps:
        assert f'Submitting celery task for step "{step}" to queue "{queue}"' in launcher_log
    # every step ran in our worker, as the worker itself reported to the instance
    with dg.DagsterInstance.from_config(str(project / "home")) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        ran_in: dict[str, str] = {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event and event.is_engine_event and "in celery worker" in (event.message or ""):
                md = event.engine_event_data.metadata
                ran_in[event.step_key or ""] = md["Celery worker"].value
    assert set(ran_in) == steps
    assert all(name.startswith(queue + "@") for name in ran_in.values()), ran_in
    # the data crossed processes through the IO manager and is right
    out = pd.read_parquet(project / "assets" / "scale" / "where.parquet")
    assert out[["k", "a", "b"]].to_dict("records") == [
        {"k": 2, "a": 20, "b": "x"}, {"k": 3, "a": 30, "b": "y"}]
    # computed in a pool process of the worker, not in the launching process
    assert set(out["ppid"]) == {worker.pid}
    assert worker.pid not in set(out["pid"])
    assert worker.returncode is not None  # stopped
