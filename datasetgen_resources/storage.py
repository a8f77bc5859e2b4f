"""The Parquet IO manager: every asset is one Parquet file (one per partition), written
atomically to a local folder (default) or to S3 (`s3://bucket/prefix`)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
from dagster import ConfigurableIOManager, InputContext, MetadataValue, OutputContext
from pydantic import Field

from datasetgen_resources import files


def default_data_url() -> str:
    """$DATASETGEN_DATA_URL, else ./data/assets under the project folder."""
    env = os.environ.get("DATASETGEN_DATA_URL")
    if env:
        return env
    project = Path(os.environ.get("DATASETGEN_PROJECT_DIR", Path.cwd()))
    return str((project / "data" / "assets").resolve())


def read_parquet(url: str) -> pd.DataFrame:
    """A Parquet file from a local path or an s3:// URL."""
    if files.is_s3(url):
        return pd.read_parquet(io.BytesIO(files.read_bytes(url)))
    return pd.read_parquet(url)


class ParquetIOManager(ConfigurableIOManager):
    """Stores DataFrames as Parquet under `base_url`/<pipeline>/<step>[/<partition>].parquet."""

    base_url: str = Field(description="Local folder or s3://bucket/prefix.")

    def url_for(self, key_path: list[str], partition: str | None = None) -> str:
        base = self.base_url.rstrip("/")
        stem = "/".join(key_path)
        if partition is None:
            return f"{base}/{stem}.parquet"
        return f"{base}/{stem}/{files.safe_segment(partition)}.parquet"

    def handle_output(self, context: OutputContext, obj: pd.DataFrame) -> None:
        if obj is None:
            return
        partition = context.asset_partition_key if context.has_asset_partitions else None
        url = self.url_for(list(context.asset_key.path), partition)
        written = files.write_atomic(url, lambda f: obj.to_parquet(f, index=False))
        context.add_output_metadata({
            "path": MetadataValue.path(url),
            "bytes": MetadataValue.int(written),
        })

    def load_input(self, context: InputContext) -> pd.DataFrame:
        key = list(context.asset_key.path)
        if context.has_asset_partitions:
            frames = [read_parquet(self.url_for(key, p)) for p in context.asset_partition_keys]
            return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return read_parquet(self.url_for(key))

