"""`json` source: a JSON array of records (or one under `records_path`), or JSON Lines."""

from __future__ import annotations

import json
import os
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

LINES_SUFFIXES = (".jsonl", ".ndjson")
INFER_MAX_BYTES = 5 * 1024 * 1024


class JsonConfig(FileSourceConfig):
    """Config of the `json` step."""

    lines: bool | None = Field(
        None,
        description="JSON Lines (one object per line). Omitted: true for .jsonl and .ndjson files.",
    )
    records_path: str | None = Field(
        None,
        description="Dotted path to the list of records inside a top-level object, e.g. "
        "'data.items'. Omitted: the top level must be a list of objects.",
    )


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        keys = list(value)
        shown = ", ".join(keys[:15]) + (", ..." if len(keys) > 15 else "")
        return f"an object with keys [{shown}]"
    if isinstance(value, list):
        return "a list"
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), "null"
    )


def _loads(url: str, text: str | bytes, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise StepInputError(
            f"{url}: invalid JSON at line {line or err.lineno}, column {err.colno}: {err.msg}",
            fix="fix the file there (a JSON Lines file needs `lines: true` or a .jsonl name)",
        ) from None
    except UnicodeDecodeError as err:
        raise StepInputError(
            f"{url}: not UTF-8 text (byte offset {err.start})", fix="save the file as UTF-8"
        ) from None


def _records_at(url: str, doc: Any, records_path: str | None) -> list[Any]:
    """The list of records: the document itself or the value at `records_path`."""
    node, walked = doc, []
    for part in records_path.split(".") if records_path else []:
        if not isinstance(node, dict) or part not in node:
            found = _kind(node)
            hint = did_you_mean(part, node) if isinstance(node, dict) else ""
            raise StepInputError(
                f"{url}: field 'records_path': no key '{part}' at "
                f"'{'.'.join(walked) or '(top level)'}', which is {found}.{hint}",
                fix="set `records_path:` to the dotted path of the list of records",
            )
        node = node[part]
        walked.append(part)
    if isinstance(node, list):
        return node
    at = f"at '{records_path}'" if records_path else "at the top level"
    lists = [k for k, v in node.items() if isinstance(v, list)] if isinstance(node, dict) else []
    suggestion = (
        f"set `records_path: {'.'.join([*walked, lists[0]])}`"
        if lists
        else "set `records_path:` to the dotted path of the list of records"
    )
    raise StepInputError(
        f"{url}: expected a list of records {at}, found {_kind(node)}", fix=suggestion
    )


def _check_objects(url: str, records: list[Any], lines: bool) -> None:
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            where = f"line {i + 1}" if lines else f"record {i} (0-based)"
            raise StepInputError(
                f"{url}: {where} is {_kind(rec)}, not an object",
                fix="each record must be a JSON object such as {\"id\": 1}",
            )


def _parse_lines(url: str, data: bytes) -> list[Any]:
    records = []
    for n, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        rec = _loads(url, raw, line=n)
        if not isinstance(rec, dict):
            raise StepInputError(
                f"{url}: line {n} is {_kind(rec)}, not an object",
                fix="each line of a JSON Lines file must be one JSON object",
            )
        records.append(rec)
    return records


def _is_lines(url: str, config: JsonConfig) -> bool:
    return config.lines if config.lines is not None else url.lower().endswith(LINES_SUFFIXES)


def _frame(url: str, data: bytes, config: JsonConfig) -> pd.DataFrame:
    lines = _is_lines(url, config)
    if lines:
        records = _parse_lines(url, data)
    else:
        records = _records_at(url, _loads(url, data), config.records_path)
        _check_objects(url, records, lines=False)
    return pd.json_normalize(records, sep=".") if records else pd.DataFrame()


def _read_one(url: str, config: JsonConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    data = read_nonempty(url)
    frame = _frame(url, data, config)
    if frame.empty and len(frame.columns) == 0 and config.columns:
        frame = pd.DataFrame(columns=config.columns)  # no records: nothing to check names against
    return frame, {"bytes": len(data), "format": "jsonl" if _is_lines(url, config) else "json"}


def run(inputs: list[pd.DataFrame], config: JsonConfig, ctx: StepContext) -> StepResult:
    """Read the JSON / JSON Lines file(s) at `config.path`; nested objects become a.b columns."""
    return read_files(config, ctx, _read_one)


def _header(path: str, config: JsonConfig) -> list[str]:
    if os.path.getsize(path) >= INFER_MAX_BYTES:
        raise ValueError("too large to inspect while planning")
    with open(path, "rb") as f:
        columns = list(_frame(path, f.read(), config).columns)
    if not columns:
        raise ValueError("no records to take column names from")
    return columns


def infer_columns(config: JsonConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    """Columns of a small (< 5 MB) local file, or the configured `columns`."""
    return infer_file_columns(config, ctx, _header)


register(
    StepType(
        name="json",
        kind="source",
        config_model=JsonConfig,
        run=run,
        description="Read JSON arrays of records or JSON Lines (local, glob or S3); nested "
        "objects are flattened to dotted columns.",
        min_inputs=0,
        max_inputs=0,
        kinds=("json", "pandas"),
        infer_columns=infer_columns,
        projectable=True,
    )
)
