"""`excel` source: one sheet of .xlsx workbooks (openpyxl), guarded against zip bombs."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pandas as pd
from pydantic import Field

from datasetgen_assets.errors import StepInputError, did_you_mean
from datasetgen_assets.steps._sources import (
    FileSourceConfig,
    infer_file_columns,
    read_files,
    read_nonempty,
)
from datasetgen_assets.steps.registry import Columns, StepContext, StepResult, StepType, register

MB = 1024 * 1024
RATIO_MIN_ENTRY_BYTES = MB  # smaller archive members may compress as well as they like


class ExcelConfig(FileSourceConfig):
    """Config of the `excel` step."""

    sheet: str | int = Field(0, description="Sheet name, or 0-based sheet index (default: first).")
    max_uncompressed_mb: float = Field(
        200,
        gt=0,
        description="Refuse workbooks whose contents expand past this many MB (zip-bomb guard).",
    )
    max_compression_ratio: float = Field(
        100,
        gt=1,
        description="Refuse workbooks with a member over 1 MB that expands more than this "
        "many times its compressed size (zip-bomb guard).",
    )


def check_archive(url: str, data: bytes, config: ExcelConfig) -> int:
    """Raise unless `data` is a zip archive within the limits; return its uncompressed size.

    Python's zipfile never inflates a member past its declared size, so checking the declared
    sizes before parsing bounds what the parser can be made to read.
    """
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise StepInputError(
            f"{url}: not an .xlsx file (not a zip archive)",
            fix="save it from Excel as .xlsx (old .xls files and CSV renamed to .xlsx are not "
            "supported; CSV goes to the `csv` step)",
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    total = sum(m.file_size for m in members)
    limit = config.max_uncompressed_mb * MB
    if total > limit:
        raise StepInputError(
            f"{url}: possible zip bomb: the {len(data):,}-byte workbook expands to {total:,} "
            f"bytes, over max_uncompressed_mb={config.max_uncompressed_mb:g} ({limit:,.0f} bytes)",
            fix="raise `max_uncompressed_mb:` if the workbook is trusted, or export it as CSV",
        )
    for m in members:
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > RATIO_MIN_ENTRY_BYTES and ratio > config.max_compression_ratio:
            raise StepInputError(
                f"{url}: possible zip bomb: member '{m.filename}' expands from "
                f"{m.compress_size:,} to {m.file_size:,} bytes ({ratio:,.0f}x, over "
                f"max_compression_ratio={config.max_compression_ratio:g})",
                fix="raise `max_compression_ratio:` if the workbook is trusted",
            )
    return total


def _sheet(url: str, book: pd.ExcelFile, sheet: str | int) -> str | int:
    names = [str(n) for n in book.sheet_names]
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise StepInputError(
            f"{url}: field 'sheet': there is no sheet index {sheet}; the workbook has "
            f"{len(names)} sheet(s): {', '.join(names)}",
            fix="use a 0-based index or a sheet name",
        )
    if isinstance(sheet, str) and sheet not in names:
        raise StepInputError(
            f"{url}: field 'sheet': no sheet named '{sheet}'.{did_you_mean(sheet, names)} "
            f"Sheets: {', '.join(names)}",
            fix="set `sheet:` to one of those names",
        )
    return sheet


def _read(url: str, data: bytes, config: ExcelConfig, nrows: int | None = None) -> pd.DataFrame:
    check_archive(url, data, config)
    try:
        with pd.ExcelFile(io.BytesIO(data), engine="openpyxl") as book:
            sheet = _sheet(url, book, config.sheet)
            frame = pd.read_excel(book, sheet_name=sheet, nrows=nrows)
    except StepInputError:
        raise
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as err:
        raise StepInputError(
            f"{url}: not a readable .xlsx workbook ({type(err).__name__}: {err})",
            fix="open and re-save it in Excel or LibreOffice as .xlsx",
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _read_one(url: str, config: ExcelConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    data = read_nonempty(url)
    frame = _read(url, data, config)
    return frame, {"bytes": len(data), "sheet": config.sheet}


def run(inputs: list[pd.DataFrame], config: ExcelConfig, ctx: StepContext) -> StepResult:
    """Read one sheet of the .xlsx file(s) at `config.path`; the first row holds the names."""
    return read_files(config, ctx, _read_one)


def _header(path: str, config: ExcelConfig) -> list[str]:
    with open(path, "rb") as f:
        return list(_read(path, f.read(), config, nrows=0).columns)


def infer_columns(config: ExcelConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    """Header row of a local workbook (openpyxl read-only), or the configured `columns`."""
    return infer_file_columns(config, ctx, _header)


register(
    StepType(
        name="excel",
        kind="source",
        config_model=ExcelConfig,
        run=run,
        description="Read one sheet of .xlsx workbooks (local, glob or S3), with zip-bomb limits.",
        min_inputs=0,
        max_inputs=0,
        kinds=("excel", "pandas"),
        infer_columns=infer_columns,
        projectable=True,
    )
)
