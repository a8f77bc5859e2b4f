"""The Dagster UI shows each pipeline as written: lineage, groups and checks over GraphQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from datasetgen_assets.pipeline.spec import load_pipeline
from tests.fixtures.services import free_port

ROOT = Path(__file__).resolve().parent.parent
QUERY = """{ assetNodes { assetKey { path } groupName dependencyKeys { path }
  assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""


@pytest.mark.slow
def test_ui_lineage_matches_the_pipeline_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "DATASETGEN_PROJECT_DIR": str(ROOT),
           "DATASETGEN_DATA_URL": str(tmp_path / "assets")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        nodes = None
        while time.monotonic() < deadline:
            try:
                r = requests.post(f"{url}/graphql", json={"query": QUERY}, timeout=5)
                nodes = r.json()["data"]["assetNodes"]
                if nodes:
                    break
            except (requests.RequestException, KeyError, TypeError, ValueError):
                pass
            time.sleep(1)
        assert nodes, "webserver did not answer"
        ui = {"/".join(n["assetKey"]["path"]): n for n in nodes}
        p = load_pipeline(ROOT / "pipelines" / "customer_orders.yaml")
        for step in p.spec.steps:
            node = ui[f"customer_orders/{step.id}"]
            assert node["groupName"] == "customer_orders"
            deps = sorted("/".join(d["path"]) for d in node["dependencyKeys"])
            assert deps == sorted(f"customer_orders/{d}" for d in step.depends_on)
        checks = ui["customer_orders/checked"]["assetChecksOrError"]["checks"]
        assert {(c["name"], c["blocking"]) for c in checks} >= {("unique", True),
                                                                  ("not_null", True)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
