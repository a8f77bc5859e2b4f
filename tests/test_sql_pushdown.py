"""Filter and projection pushdown into SQL sources, on the real PostgreSQL and MariaDB."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from datasetgen_assets.pipeline.execute import run_node, run_plan
from datasetgen_assets.pipeline.optimizer import explain, initial_plan, optimize
from datasetgen_assets.pipeline.spec import parse_pipeline
from tests.fixtures.services import MARIADB_URL, POSTGRES_URL, require_service

SERVERS = {"postgresql": (POSTGRES_URL, 5432), "mariadb": (MARIADB_URL, 3306)}


@pytest.fixture(params=sorted(SERVERS))
def table(request, monkeypatch):
    url, port = SERVERS[request.param]
    require_service(request.param, "127.0.0.1", port)
    name = f"pushdown_{uuid.uuid4().hex[:8]}"
    rng = np.random.default_rng(3)
    n = 2000
    frame = pd.DataFrame({"id": np.arange(n), "amount": rng.integers(0, 100, n),
                          "region": rng.choice(["eu", "us", "apac"], n),
                          "note": [f"n{i}" for i in range(n)],
                          "day": pd.date_range("2024-01-01", periods=n, freq="h")})
    engine = sa.create_engine(url)
    frame.to_sql(name, engine, index=False)
    monkeypatch.setenv("PUSHDOWN_DB_URL", url)
    yield name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {name}"))
    engine.dispose()


@pytest.mark.service
def test_filter_becomes_a_where_clause_and_columns_a_select_list(table, tmp_path):
    p = parse_pipeline(f"""
name: p
steps:
  - {{id: src, type: sql, config: {{url_env: PUSHDOWN_DB_URL, table: {table}}}}}
  - {{id: f, type: filter, depends_on: [src],
     config: {{condition: "amount > 90 and region in ('eu', 'us') and day >= '2024-02-01'"}}}}
  - {{id: g, type: aggregate, depends_on: [f],
     config: {{group_by: [region], metrics: [{{func: sum, column: amount}}]}}}}
""", file="p.yaml", base_dir=tmp_path)
    plan = optimize(p)
    src = plan.nodes["src"]
    assert len(src.config.where) == 1 and set(src.config.columns) == {"amount", "region", "day"}
    assert "read with WHERE" in explain(p)
    read = run_node(src, [], p.context("src"))
    assert read.report["rows"] < 2000 // 10  # the database returned only matching rows
    assert set(read.frame["region"]) <= {"eu", "us"} and (read.frame["amount"] > 90).all()
    plain, fast = run_plan(initial_plan(p)), run_plan(plan)
    pd.testing.assert_frame_equal(plain["g"], fast["g"], check_dtype=False)
