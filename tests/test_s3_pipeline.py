"""A pipeline end to end on a real S3-compatible server: S3 glob source, assets stored by the
Parquet IO manager in S3, an S3 sink."""

from __future__ import annotations

import io

import dagster as dg
import pandas as pd
import pytest

from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import parse_pipeline
from datasetgen_resources import datasetgen_resources
from datasetgen_resources.storage import ParquetIOManager


@pytest.mark.service
def test_pipeline_reads_stores_and_writes_on_s3(s3, tmp_path):
    c = s3.server.client()
    for i in range(3):
        body = "id,amount,region\n" + "".join(f"{i * 10 + j},{j * 5},{'eu' if j % 2 else 'us'}\n"
                                             for j in range(10))
        c.put_object(Bucket=s3.bucket, Key=s3.key(f"in/p{i}.csv"),
                                                  Body=body.encode())
    p = parse_pipeline(f"""
name: s3flow
steps:
  - {{id: raw, type: csv, config: {{path: "{s3.url('in/*.csv')}"}}}}
  - {{id: eu, type: filter, depends_on: [raw], config: {{condition: "region = 'eu'"}}}}
  - {{id: totals, type: aggregate, depends_on: [eu],
     config: {{group_by: [region], metrics: [{{func: sum, column: amount}}, {{func: count}}]}}}}
  - {{id: out, type: write, depends_on: [totals], config: {{path: "{s3.url('out/totals.csv')}"}}}}
""", file="s3flow.yaml", base_dir=tmp_path)
    assets_url = s3.url("assets")
    result = dg.materialize(build_pipeline(p)["assets"],
                            resources=datasetgen_resources(assets_url),
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    written = pd.read_csv(io.BytesIO(c.get_object(Bucket=s3.bucket,
                                                  Key=s3.key("out/totals.csv"))["Body"].read()))
    assert written.to_dict("records") == [{"region": "eu", "sum_amount": 125 * 3, "count": 15}]
    io_manager = ParquetIOManager(base_url=assets_url)
    stored = io_manager.load_input(dg.build_input_context(asset_key=dg.AssetKey(["s3flow",
                                                                                 "raw"])))
    assert len(stored) == 15 and set(stored["region"]) == {"eu"}  # the filter was pushed down
    keys = {o["Key"] for o in c.list_objects_v2(Bucket=s3.bucket,
                                                Prefix=s3.key("assets/"))["Contents"]}
    assert {s3.key(f"assets/s3flow/{s}.parquet") for s in ("raw", "eu", "totals", "out")} <= keys
