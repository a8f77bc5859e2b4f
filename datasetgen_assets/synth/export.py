"""Write generated frames to CSV, JSON, JSON Lines, Parquet or XLSX, atomically (the write
step's writers and temp-file-and-rename)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.write import SUFFIXES, WRITERS, format_of
from datasetgen_resources import files

XLSX_MAX_ROWS = 1_048_575  # one row is the header
TABLE = "{table}"


def write_frame(frame: pd.DataFrame, path: str | Path, fmt: str | None = None) -> int:
    """Write `frame` to `path` (format from `fmt` or the extension); returns bytes written."""
    url = str(path)
    fmt = fmt or format_of(url)
    if fmt is None:
        raise StepInputError(f"cannot tell the output format from '{url}'",
                             fix="end the file name with " + ", ".join(SUFFIXES))
    if fmt == "xlsx" and len(frame) > XLSX_MAX_ROWS:
        raise StepInputError(f"{url}: {len(frame):,} rows do not fit in one Excel sheet "
                             f"(at most {XLSX_MAX_ROWS:,})",
                             fix="write .parquet or .csv, or generate fewer rows")
    if not files.is_s3(url):
        Path(url).parent.mkdir(parents=True, exist_ok=True)
    try:
        return files.write_atomic(url, lambda f: WRITERS[fmt](frame, f))
    except (pa.ArrowException, ValueError) as err:
        raise StepInputError(f"{url}: could not write {fmt}: {err}",
                             fix="choose another format") from err


def table_paths(out: str, tables: list[str]) -> dict[str, str]:
    """Where each table goes: `out` itself for one table; for several, `out` with `{table}`
    filled in, or `out/<table>.csv` when `out` is a folder (no extension)."""
    if len(tables) == 1 and TABLE not in out:
        return {tables[0]: out}
    if TABLE in out:
        return {t: out.replace(TABLE, t) for t in tables}
    if format_of(out) is not None:
        raise StepInputError(
            f"{len(tables)} tables ({', '.join(tables)}) but one output file '{out}'",
            fix="write --out DIR (one CSV per table), --out 'data/{table}.parquet', or pick "
            "one with --table")
    return {t: str(Path(out) / f"{t}.csv") for t in tables}
