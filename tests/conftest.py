"""Shared test setup: an isolated project folder, Dagster home and data folder per session."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.fixtures.s3", "tests.fixtures.llm"]


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory):
    """Dagster home and asset data in temp folders; the repo is the project folder."""
    home = tmp_path_factory.mktemp("dagster_home")
    data = tmp_path_factory.mktemp("assets")
    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "DATASETGEN_DATA_URL",
                                            "DATASETGEN_PROJECT_DIR")}
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["DATASETGEN_DATA_URL"] = str(data)
    os.environ["DATASETGEN_PROJECT_DIR"] = str(ROOT)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped pipelines and sample data as the project folder (the current
    folder too), so outputs land in tmp."""
    shutil.copytree(ROOT / "pipelines", tmp_path / "pipelines")
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "workspace.yaml").write_text("load_from: []\n")
    monkeypatch.setenv("DATASETGEN_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("DATASETGEN_DATA_URL", str(tmp_path / "assets"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def postgres_db():
    """A fresh database on the real PostgreSQL (URL with psycopg2), dropped afterwards."""
    import sqlalchemy as sa

    from tests.fixtures.services import POSTGRES_URL, require_service

    require_service("PostgreSQL", "127.0.0.1", 5432)
    db = f"dg_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + db
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def webhook(monkeypatch):
    """A local webhook receiver set as $DATASETGEN_ALERT_WEBHOOK_URL; yields the JSON bodies
    it received."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("DATASETGEN_ALERT_WEBHOOK_URL",
                       f"http://127.0.0.1:{server.server_address[1]}/hook")
    yield received
    server.shutdown()
