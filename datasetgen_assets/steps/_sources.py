"""What the file source steps (csv, json, excel, parquet) share: config, reading, hooks."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
from pydantic import Field

from datasetgen_assets.errors import StepInputError, did_you_mean
from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    check_known,
)
from datasetgen_resources import files

SOURCE_FILE_COLUMN = "_source_file"
MAX_FILES_IN_REPORT = 50


class FileSourceConfig(StepConfig):
    """Fields every file source has."""

    path: str = Field(
        description="A file path (relative to the pipeline's directory), a glob such as "
        "data/*.csv or data/**/*.csv, or an S3 URL such as s3://bucket/prefix/*.csv. "
        "Several matching files are read in name order and concatenated."
    )
    columns: list[str] | None = Field(
        None,
        min_length=1,
        description="Read only these columns (kept in file order); all columns when omitted.",
    )
    include_source_file: bool = Field(
        False, description=f"Add a '{SOURCE_FILE_COLUMN}' column with the path each row came from."
    )


C = TypeVar("C", bound=FileSourceConfig)
# read_one(url, config) -> (frame of that file, report entries incl. "bytes")
ReadOne = Callable[[str, C], tuple[pd.DataFrame, dict[str, Any]]]
# header(local_path, config) -> column names of that file in file order
Header = Callable[[str, C], list[str]]


def empty_file_error(url: str) -> StepInputError:
    """The one error for a 0-byte input file."""
    return StepInputError(
        f"{url}: file is empty (0 bytes)",
        fix="check that the export or upload finished, or remove the file from the input",
    )


def read_nonempty(url: str) -> bytes:
    """All bytes of `url`; StepInputError when it is missing or empty."""
    data = files.read_bytes(url)
    if not data:
        raise empty_file_error(url)
    return data


def line_of(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def check_columns(url: str, columns: list[str] | None, have: list[str]) -> None:
    """Raise a StepInputError naming the file and the first of `columns` it lacks."""
    for col in columns or []:
        if col not in have:
            shown = ", ".join(have[:30]) + (" ..." if len(have) > 30 else "")
            raise StepInputError(
                f"{url}: field 'columns': the file has no column '{col}'."
                f"{did_you_mean(col, have)} Columns in the file: {shown}",
                fix="correct the name in `columns:` or remove it",
            )


def project(frame: pd.DataFrame, columns: list[str] | None, url: str) -> pd.DataFrame:
    """Keep only `columns`, in file order; a clear error names a column the file lacks."""
    if columns is None:
        return frame
    check_columns(url, columns, [str(c) for c in frame.columns])
    wanted = set(columns)
    return frame.loc[:, [c for c in frame.columns if c in wanted]]


def read_files(
    config: C,
    ctx: StepContext,
    read_one: ReadOne[C],
    summary: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
) -> StepResult:
    """Expand `config.path`, read each file with `read_one`, project, tag and concatenate.

    The report lists the first files; `summary(all per-file entries)` adds totals to it.
    """
    urls = files.expand(ctx.resolve(config.path))
    frames: list[pd.DataFrame] = []
    per_file: list[dict[str, Any]] = []
    for url in urls:
        frame, info = read_one(url, config)
        frame = project(frame, config.columns, url)
        if config.include_source_file:
            frame = frame.assign(**{SOURCE_FILE_COLUMN: url})
        frames.append(frame)
        per_file.append({"file": url, "rows": len(frame), **info})
        ctx.log.info("read %s rows from %s", len(frame), url)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out = out.reset_index(drop=True)
    report: dict[str, Any] = {
        "files_read": len(urls),
        "rows": len(out),
        "columns": [str(c) for c in out.columns],
        "bytes_read": sum(int(f.get("bytes", 0)) for f in per_file),
        "files": per_file[:MAX_FILES_IN_REPORT],
    }
    if len(per_file) > MAX_FILES_IN_REPORT:
        report["files_not_listed"] = len(per_file) - MAX_FILES_IN_REPORT
    if summary is not None:
        report.update(summary(per_file))
    return StepResult(out, report)


def local_file(config: FileSourceConfig, ctx: StepContext) -> str | None:
    """The resolved path when `config.path` is one existing, non-empty local file."""
    if "{upload}" in config.path and ctx.upload_url is None:
        return None
    path = ctx.resolve(config.path)
    if "://" in path or glob.has_magic(path) or not ctx.may_read(path):
        return None
    return path if os.path.isfile(path) and os.path.getsize(path) > 0 else None


def local_files(config: FileSourceConfig, ctx: StepContext) -> list[str] | None:
    """All matching local files, or None for remote paths, the per-run `{upload}` or when
    nothing matches."""
    if "{upload}" in config.path and ctx.upload_url is None:
        return None
    path = ctx.resolve(config.path)
    if "://" in path:
        return None
    try:
        return files.expand(path)
    except StepInputError:
        return None


def infer_file_columns(config: C, ctx: StepContext, header: Header[C]) -> Columns:
    """infer_columns for file sources: cheap header read of one local file, else None."""
    known: Columns = None
    path = local_file(config, ctx)
    if path is not None:
        try:
            known = [str(c) for c in header(path, config)]
        except Exception:  # a planning hook fails closed: the run reports the real error
            known = None
    if config.columns is not None:
        check_known(config.columns, known, field="columns")
        cols = [c for c in known if c in set(config.columns)] if known else list(config.columns)
    else:
        cols = known
    if cols is None:
        return None
    if config.include_source_file and SOURCE_FILE_COLUMN not in cols:
        cols = [*cols, SOURCE_FILE_COLUMN]
    return cols
