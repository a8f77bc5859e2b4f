"""Shared test setup: an isolated project folder, Dagster home and data folder per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.fixtures.s3"]


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
