"""`parquet` source: Parquet files; with `columns:` only those column chunks are read."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps._sources import (
    FileSourceConfig,
    check_columns,
    empty_file_error,
    infer_file_columns,
    local_files,
    read_files,
    read_nonempty,
)
from datasetgen_assets.steps.registry import Columns, StepContext, StepResult, StepType, register
from datasetgen_resources import files

_UNNAMED_INDEX = re.compile(r"__index_level_\d+__")


class ParquetConfig(FileSourceConfig):
    """Config of the `parquet` step (path, columns, include_source_file)."""


def _open(url: str) -> tuple[pq.ParquetFile, int]:
    """The file and the bytes fetched to open it (local files are read lazily)."""
    try:
        if files.is_s3(url):
            data = read_nonempty(url)
            return pq.ParquetFile(pa.BufferReader(data)), len(data)
        if files.size(url) == 0:
            raise empty_file_error(url)
        return pq.ParquetFile(url), 0
    except pa.ArrowException as err:
        raise StepInputError(
            f"{url}: not a readable Parquet file ({err})",
            fix="check that the file is Parquet and was written completely",
        ) from None


def columns_of(pf: pq.ParquetFile) -> list[str]:
    """Column names as the frame will have them: named pandas index columns first."""
    schema = pf.schema_arrow
    meta = schema.pandas_metadata or {}
    index_names: list[str] = []
    stored_index: set[str] = set()
    for entry in meta.get("index_columns", []):
        if isinstance(entry, str):
            stored_index.add(entry)
            if not _UNNAMED_INDEX.fullmatch(entry):
                index_names.append(entry)
        elif entry.get("name") is not None:  # a RangeIndex kept only in the metadata
            index_names.append(str(entry["name"]))
    return index_names + [n for n in schema.names if n not in stored_index]


def _chunk_bytes(pf: pq.ParquetFile, physical: list[str]) -> int:
    """Compressed bytes of the chosen columns' chunks plus the footer."""
    meta = pf.metadata
    wanted = set(physical)
    total = meta.serialized_size + 8
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.path_in_schema.split(".")[0] in wanted:
                total += chunk.total_compressed_size
    return total


def _read_one(url: str, config: ParquetConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    pf, fetched = _open(url)
    with pf:
        wanted = columns_of(pf)
        check_columns(url, config.columns, wanted)
        wanted = config.columns or wanted
        physical = [c for c in pf.schema_arrow.names if c in set(wanted)]
        try:
            frame = pf.read(columns=physical).to_pandas()
        except pa.ArrowException as err:
            raise StepInputError(
                f"{url}: cannot read Parquet data ({err})", fix="rewrite the file"
            ) from None
        info = {
            "bytes": fetched or _chunk_bytes(pf, physical),
            "file_bytes": fetched or files.size(url),
            "row_groups": pf.metadata.num_row_groups,
            "columns_read": physical,
        }
    named_index = any(n is not None for n in frame.index.names)
    frame = frame.reset_index(drop=not named_index)
    if config.columns is None:
        frame = frame.loc[:, [c for c in wanted if c in frame.columns]]
    return frame, info


def run(inputs: list[pd.DataFrame], config: ParquetConfig, ctx: StepContext) -> StepResult:
    """Read the Parquet file(s) at `config.path`."""
    return read_files(config, ctx, _read_one)


def _header(path: str, config: ParquetConfig) -> list[str]:
    with pq.ParquetFile(path) as pf:
        return columns_of(pf)


def infer_columns(config: ParquetConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    """Schema of a local file (footer only), or the configured `columns`."""
    return infer_file_columns(config, ctx, _header)


def estimate_rows(config: ParquetConfig, inputs: list[int | None], ctx: StepContext) -> int | None:
    """Sum of the row counts in the footers of the local files."""
    try:
        paths = local_files(config, ctx)
        return sum(pq.read_metadata(p).num_rows for p in paths) if paths else None
    except Exception:  # an estimate is optional: never fail planning
        return None


register(
    StepType(
        name="parquet",
        kind="source",
        config_model=ParquetConfig,
        run=run,
        description="Read Parquet files (local, glob or S3); `columns:` reads only those columns.",
        min_inputs=0,
        max_inputs=0,
        kinds=("parquet", "pandas"),
        infer_columns=infer_columns,
        estimate_rows=estimate_rows,
        projectable=True,
    )
)
