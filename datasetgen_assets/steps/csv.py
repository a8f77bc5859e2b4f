"""`csv` source: delimited text files, with encoding detection and accounted bad lines.

`columns:` is applied after parsing, not through pandas' `usecols`: with `usecols` the C parser
stops noticing lines with too many fields, so a broken line would shift values silently.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from typing import Any, Literal

import charset_normalizer
import pandas as pd
from pydantic import Field, field_validator

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps._sources import (
    FileSourceConfig,
    infer_file_columns,
    line_of,
    local_files,
    read_files,
    read_nonempty,
)
from datasetgen_assets.steps.registry import Columns, StepContext, StepResult, StepType, register
from datasetgen_resources import files

SAMPLE_BYTES = 64 * 1024
ENCODING_FIX = "set `encoding:` to the file's encoding, e.g. `encoding: cp1252` or `latin-1`"
# Encodings detection chooses from: Unicode, the Windows/ISO code pages and common East Asian
# ones. Old DOS code pages (cp775, cp852, ...) are left out: on short samples they outscore
# cp1252 with garbage such as "Z\u00b3rich".
DETECTABLE = [
    "utf_8", "utf_16", "utf_32", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255",
    "cp1256", "cp1257", "cp1258", "latin_1", "iso8859_2", "iso8859_5", "iso8859_7", "iso8859_9",
    "iso8859_15", "koi8_r", "mac_roman", "shift_jis", "cp932", "euc_jp", "gb18030", "big5",
    "euc_kr", "cp949", "tis_620",
]  # fmt: skip
_TOO_LONG = re.compile(r"Skipping line \d+: expected|does not match length of data")


class CsvConfig(FileSourceConfig):
    """Config of the `csv` step."""

    delimiter: str = Field(
        ",",
        min_length=1,
        max_length=1,
        description="Field separator, one character (e.g. ';' or '\\t').",
    )
    encoding: str | None = Field(
        None,
        description="Text encoding (e.g. utf-8, cp1252, latin-1). Omitted: UTF-8, and when the "
        "bytes are not UTF-8 the encoding is detected and named in the step report.",
    )
    on_bad_lines: Literal["error", "skip"] = Field(
        "error",
        description="A line with more fields than the header: 'error' stops with its line "
        "number; 'skip' drops it and lists its line number in the report.",
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding '{value}'") from None
        return value


def _detect(data: bytes) -> str | None:
    """The detected encoding, or None when charset-normalizer is not confident.

    Candidates can tie while decoding the same bytes differently. If cp1252 is among them it
    wins (WHATWG reads legacy Western text that way too); other ties must agree on the text.
    """
    results = charset_normalizer.from_bytes(data, cp_isolation=DETECTABLE)
    best = results.best()
    if best is None:
        return None
    tied = [r for r in results if (r.chaos, r.coherence) == (best.chaos, best.coherence)]
    if any("cp1252" in r.could_be_from_charset for r in tied):
        return "cp1252"
    return best.encoding if len({str(r) for r in tied}) == 1 else None


def decode(url: str, data: bytes, encoding: str | None) -> tuple[str, str, bool]:
    """(text, encoding used, whether it was detected)."""
    if encoding is not None:
        codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
        try:
            return data.decode(codec), encoding, False
        except UnicodeDecodeError as err:
            raise StepInputError(
                f"{url}: line {line_of(data, err.start)}: byte 0x{data[err.start]:02x} at offset "
                f"{err.start} is not valid {encoding}",
                fix=ENCODING_FIX + " (or remove `encoding:` to detect it)",
            ) from None
    try:
        return data.decode("utf-8-sig"), "utf-8", False
    except UnicodeDecodeError as err:
        first_bad = err.start
    guess = _detect(data)
    if guess is not None:
        try:
            return data.decode(guess), guess, True
        except UnicodeDecodeError:
            pass
    raise StepInputError(
        f"{url}: line {line_of(data, first_bad)}: byte 0x{data[first_bad]:02x} at offset "
        f"{first_bad} is not UTF-8 and the file's encoding could not be detected with confidence",
        fix=ENCODING_FIX,
    )


def _bad_records(text: str, delimiter: str) -> tuple[int, list[tuple[int, int, int]]]:
    """(header field count, [(record index, physical line, fields seen)]) of too-long records.

    Record indexes count blank lines and treat quoted line breaks as pandas does, so they can
    be given to `skiprows`; physical lines are what an editor shows.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    expected = 0
    bad: list[tuple[int, int, int]] = []
    line = 1
    for index, row in enumerate(reader):
        if not expected:
            expected = len(row)
        elif len(row) > expected:
            bad.append((index, line, len(row)))
        line = reader.line_num + 1
    return expected, bad


def _read_csv(text: str, config: CsvConfig, **kwargs: Any) -> tuple[pd.DataFrame, bool]:
    """pandas.read_csv; (frame, whether pandas met lines longer than the header).

    `index_col=False`: otherwise pandas turns the extra field of a too-long first data line
    into an index without a word; with it, pandas says so in a ParserWarning.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = pd.read_csv(io.StringIO(text), sep=config.delimiter, index_col=False, **kwargs)
    flagged = False
    for w in caught:
        if issubclass(w.category, pd.errors.ParserWarning) and _TOO_LONG.search(str(w.message)):
            flagged = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return frame, flagged


def _parse(url: str, text: str, config: CsvConfig) -> tuple[pd.DataFrame, list[int]]:
    """The frame and the physical line numbers of skipped lines."""
    said = "pandas met a line longer than the header"
    try:
        frame, flagged = _read_csv(
            text, config, on_bad_lines="warn" if config.on_bad_lines == "skip" else "error"
        )
        if not flagged:
            return frame, []
    except pd.errors.EmptyDataError:
        raise StepInputError(
            f"{url}: no header line (the file holds only blank lines)",
            fix="put the column names on the first line",
        ) from None
    except pd.errors.ParserError as err:
        said = str(err).strip()
        if not re.search(r"Expected \d+ fields", said):
            raise StepInputError(
                f"{url}: cannot parse as CSV: {said}",
                fix="check quoting (an unclosed '\"') and `delimiter:`",
            ) from None
    try:
        expected, bad = _bad_records(text, config.delimiter)
    except csv.Error as err:
        raise StepInputError(f"{url}: malformed CSV: {err}", fix="check quoting") from None
    if not bad:  # pandas and the csv module disagree: pass pandas' words on
        raise StepInputError(f"{url}: malformed CSV ({said})", fix="check `delimiter:` and quoting")
    if config.on_bad_lines == "error":
        _, line, seen = bad[0]
        raise StepInputError(
            f"{url}: line {line}: expected {expected} fields (as in the header), saw {seen}"
            + (f"; {len(bad) - 1} more such line(s) follow" if len(bad) > 1 else ""),
            fix="quote fields that contain the delimiter, check `delimiter:`, or set "
            "`on_bad_lines: skip` to drop such lines (they are listed in the report)",
        )
    frame, _ = _read_csv(text, config, skiprows=[b[0] for b in bad], on_bad_lines="error")
    return frame, [b[1] for b in bad]


def _read_one(url: str, config: CsvConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    data = read_nonempty(url)
    text, encoding, detected = decode(url, data, config.encoding)
    frame, skipped = _parse(url, text, config)
    info: dict[str, Any] = {"bytes": len(data), "encoding": encoding}
    if detected:
        info["encoding_detected"] = True
        info["note"] = f"not UTF-8; read as {encoding}. Set `encoding:` if that is wrong."
    if config.on_bad_lines == "skip":
        info["skipped_lines"] = len(skipped)
        info["skipped_line_numbers"] = skipped
    return frame, info


def run(inputs: list[pd.DataFrame], config: CsvConfig, ctx: StepContext) -> StepResult:
    """Read the CSV file(s) at `config.path`."""

    def summary(per_file: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"encodings": sorted({f["encoding"] for f in per_file})}
        for f in per_file:
            if f.get("encoding_detected"):
                ctx.log.warning("%s is not UTF-8; read as %s", f["file"], f["encoding"])
        if config.on_bad_lines == "skip":
            out["skipped_lines"] = sum(f["skipped_lines"] for f in per_file)
            out["skipped_line_numbers"] = {
                f["file"]: f["skipped_line_numbers"] for f in per_file if f["skipped_lines"]
            }
        return out

    return read_files(config, ctx, _read_one, summary)


def _sample(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(SAMPLE_BYTES)


def _header(path: str, config: CsvConfig) -> list[str]:
    sample = _sample(path)
    if len(sample) == SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    text, _, _ = decode(path, sample, config.encoding)
    head = pd.read_csv(io.StringIO(text), sep=config.delimiter, nrows=0, index_col=False)
    return list(head.columns)


def infer_columns(config: CsvConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    """Header of a local file (cheap), or the configured `columns`."""
    return infer_file_columns(config, ctx, _header)


def estimate_rows(config: CsvConfig, inputs: list[int | None], ctx: StepContext) -> int | None:
    """File size / average line length of the first 64 KB, summed over local files."""
    try:
        paths = local_files(config, ctx)
        if not paths:
            return None
        total = 0
        for path in paths:
            sample = _sample(path)
            lines = sample.count(b"\n") + (0 if sample.endswith(b"\n") else 1)
            if not sample or not lines:
                continue
            size = len(sample) if len(sample) < SAMPLE_BYTES else files.size(path)
            total += max(0, round(size / (len(sample) / lines)) - 1)
        return total
    except Exception:  # an estimate is optional: never fail planning
        return None


register(
    StepType(
        name="csv",
        kind="source",
        config_model=CsvConfig,
        run=run,
        description="Read delimited text files (local, glob or S3); encoding detection, "
        "bad lines reported by line number.",
        min_inputs=0,
        max_inputs=0,
        kinds=("csv", "pandas"),
        infer_columns=infer_columns,
        estimate_rows=estimate_rows,
        projectable=True,
    )
)
