"""`write` sink: save the input frame as CSV, JSON, JSON Lines, Parquet or XLSX, atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, BinaryIO, Literal

import pandas as pd
import pyarrow as pa
from pydantic import Field, model_validator

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.registry import (
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    passthrough_columns,
    register,
)
from datasetgen_resources import files

Format = Literal["csv", "json", "jsonl", "parquet", "xlsx"]
PARTITION = "{partition}"
SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}

WRITERS: dict[str, Callable[[pd.DataFrame, BinaryIO], Any]] = {
    "csv": lambda df, f: df.to_csv(f, index=False, encoding="utf-8"),
    "json": lambda df, f: df.to_json(
        f, orient="records", date_format="iso", double_precision=15, force_ascii=False
    ),
    "jsonl": lambda df, f: df.to_json(
        f, orient="records", lines=True, date_format="iso", double_precision=15, force_ascii=False
    ),
    "parquet": lambda df, f: df.to_parquet(f, index=False, engine="pyarrow"),
    "xlsx": lambda df, f: df.to_excel(f, index=False, engine="openpyxl"),
}


def format_of(path: str) -> Format | None:
    """The format a file name implies, from its extension."""
    return SUFFIXES.get(PurePosixPath(path).suffix.lower())


class WriteConfig(StepConfig):
    """Config of the `write` step."""

    path: str = Field(
        description="Output file: a local path (relative to the pipeline's directory) or an "
        "s3://bucket/key URL. '{partition}' is replaced by the run's partition key."
    )
    format: Format | None = Field(
        None,
        description="csv, json (one array of records), jsonl, parquet or xlsx. "
        "Omitted: taken from the path's extension.",
    )

    @property
    def resolved_format(self) -> str:
        """`format`, or the one the path's extension implies ('' when neither)."""
        return self.format or format_of(self.path) or ""

    @model_validator(mode="after")
    def _format_known(self) -> WriteConfig:
        if not self.resolved_format:
            raise ValueError(
                f"cannot tell the output format from '{self.path}': use an extension "
                f"({', '.join(SUFFIXES)}) or set `format:`"
            )
        return self


def target(config: WriteConfig, ctx: StepContext) -> str:
    """The resolved output path with `{partition}` filled in."""
    path = config.path
    if PARTITION in path:
        key = ctx.partition_key
        if key is None:
            raise StepInputError(
                f"field 'path': '{path}' contains {PARTITION} but this run has no partition key",
                fix="run the asset for a partition, or remove {partition} from `path:`",
            )
        path = path.replace(PARTITION, files.safe_segment(key))
    return ctx.resolve(path)


def run(inputs: list[pd.DataFrame], config: WriteConfig, ctx: StepContext) -> StepResult:
    """Write the input to `config.path` (temp file + rename) and pass it on unchanged."""
    frame = inputs[0]
    url = target(config, ctx)
    fmt = config.resolved_format
    try:
        written = files.write_atomic(url, lambda f: WRITERS[fmt](frame, f))
    except (pa.ArrowException, ValueError) as err:
        raise StepInputError(
            f"{url}: could not write {fmt}: {err} (the previous file, if any, is unchanged)",
            fix="cast mixed-type columns to one type before this step, or choose another format",
        ) from err
    ctx.log.info("wrote %s rows (%s bytes) to %s", len(frame), written, url)
    return StepResult(frame, {"path": url, "format": fmt, "rows": len(frame), "bytes": written})


register(
    StepType(
        name="write",
        kind="sink",
        config_model=WriteConfig,
        run=run,
        description="Write the input as CSV, JSON, JSON Lines, Parquet or XLSX (local or S3); "
        "atomic, so a failed run never leaves a half-written file.",
        min_inputs=1,
        max_inputs=1,
        kinds=("file", "pandas"),
        infer_columns=passthrough_columns,
    )
)
