"""Foundation benchmarks: demo wall time, filter pushdown, projection pushdown."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from bench.common import materialize_file, timed
from datasetgen_assets.pipeline.spec import discover_pipelines

ROOT = Path(__file__).resolve().parent.parent


def bench_demo(work: Path) -> dict:
    """Materialize every shipped pipeline (as `make demo` does), on a copy of the project."""
    project = work / "demo"
    shutil.copytree(ROOT / "pipelines", project / "pipelines")
    shutil.copytree(ROOT / "examples", project / "examples")
    os.environ["DATASETGEN_PROJECT_DIR"] = str(project)

    def run() -> int:
        upload = project / "examples" / "uploads" / "orders_2024_06.csv"
        for p in discover_pipelines([project / "pipelines"]):
            materialize_file(Path(p.file), work / "demo_assets", optimized=True, upload=upload)
        return 0

    secs, _ = timed(run)
    return {"demo_seconds": round(secs, 2)}


def _join_tables(work: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    keys = rng.permutation(n)
    pd.DataFrame({"key": np.arange(n), "a": rng.random(n), "b": rng.integers(0, 100, n),
                  "c": rng.choice(["x", "y", "z"], n)}).to_parquet(work / "left.parquet",
                                                                 index=False)
    pd.DataFrame({"key": keys, "d": rng.random(n), "e": rng.integers(0, 1000, n)}).to_parquet(
        work / "right.parquet", index=False)


def bench_filter_pushdown(work: Path, n: int = 1_000_000) -> dict:
    """Join two n-row tables, then keep 1%: with and without the optimizer."""
    _join_tables(work, n)
    spec = work / "pushdown.yaml"
    spec.write_text(f"""
name: pushdown
steps:
  - {{id: left, type: parquet, config: {{path: {work}/left.parquet}}}}
  - {{id: right, type: parquet, config: {{path: {work}/right.parquet}}}}
  - {{id: joined, type: join, depends_on: [left, right], config: {{how: inner, on: [key]}}}}
  - {{id: one_percent, type: filter, depends_on: [joined], config: {{condition: "a < 0.01"}}}}
""")
    base, res_b = timed(lambda: materialize_file(spec, work / "a_plain", optimized=False))
    ours, res_o = timed(lambda: materialize_file(spec, work / "a_opt", optimized=True))
    rows = [_rows(r, "one_percent") for r in (res_b, res_o)]
    assert rows[0] == rows[1], rows
    return {"rows_in": n, "rows_out": rows[1], "plain_s": round(base, 2),
            "optimized_s": round(ours, 2), "ratio": round(base / ours, 1)}


def _rows(result, step: str) -> int:
    for e in result.get_asset_materialization_events():
        m = e.event_specific_data.materialization
        if m.asset_key.path[-1] == step:
            return m.metadata["dagster/row_count"].value
    raise KeyError(step)


def bench_projection(work: Path, n: int = 200_000) -> dict:
    """A 50-column parquet source of which 3 columns are used."""
    rng = np.random.default_rng(1)
    wide = pd.DataFrame({f"c{i:02d}": rng.random(n) for i in range(50)})
    wide.to_parquet(work / "wide.parquet", index=False)
    spec = work / "projection.yaml"
    spec.write_text(f"""
name: projection
steps:
  - {{id: wide, type: parquet, config: {{path: {work}/wide.parquet}}}}
  - {{id: totals, type: aggregate, depends_on: [wide],
     config: {{group_by: [], metrics: [{{func: sum, column: c01}}, {{func: mean, column: c02}},
                                       {{func: max, column: c03}}]}}}}
""")
    base, _ = timed(lambda: materialize_file(spec, work / "p_plain", optimized=False))
    ours, _ = timed(lambda: materialize_file(spec, work / "p_opt", optimized=True))
    meta = pq.ParquetFile(work / "wide.parquet").metadata
    sizes: dict[str, int] = {}
    for rg in range(meta.num_row_groups):
        for ci in range(meta.num_columns):
            col = meta.row_group(rg).column(ci)
            sizes[col.path_in_schema] = sizes.get(col.path_in_schema, 0) + \
                col.total_compressed_size
    all_bytes = sum(sizes.values())
    used = sum(sizes[c] for c in ("c01", "c02", "c03"))
    return {"rows": n, "columns": 50, "used": 3, "bytes_plain": all_bytes,
            "bytes_optimized": used, "bytes_ratio": round(all_bytes / used, 1),
            "plain_s": round(base, 2), "optimized_s": round(ours, 2),
            "ratio": round(base / ours, 1)}


def run_all(rows: int = 1_000_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        saved = os.environ.get("DATASETGEN_PROJECT_DIR")
        try:
            return {"demo": bench_demo(work),
                    "filter_pushdown": bench_filter_pushdown(work, rows),
                    "projection_pushdown": bench_projection(work)}
        finally:
            if saved is None:
                os.environ.pop("DATASETGEN_PROJECT_DIR", None)
            else:
                os.environ["DATASETGEN_PROJECT_DIR"] = saved
