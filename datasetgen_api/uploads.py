"""Uploads: streamed from the multipart body to a staging file in chunks (never whole in
memory), size-limited, typed by content (not by the client's name or Content-Type), checked
for zip bombs, then written atomically into the landing zone under a server-generated name.

Limits (env): DATASETGEN_API_MAX_UPLOAD_MB (default 100) -> 413; for XLSX (a zip)
DATASETGEN_API_MAX_EXPANDED_MB (default 500) of uncompressed content -> 413 and
DATASETGEN_API_MAX_ZIP_RATIO (default 100) per member -> 422.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import json
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from datasetgen_resources import files

MB = 1024 * 1024
CHUNK = MB
TYPES = ("csv", "json", "jsonl", "xlsx", "parquet")
EXTENSIONS = {"csv": "csv", "json": "json", "jsonl": "jsonl", "xlsx": "xlsx",
              "parquet": "parquet"}
FILE_FIELD = "file"


class UploadError(Exception):
    """An upload refused with an HTTP status and a message that says what to do."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise UploadError(500, f"{name}={raw!r} is not a number: set it to e.g. {default:g}"
                          ) from None


def max_upload_bytes() -> int:
    return int(_env_number("DATASETGEN_API_MAX_UPLOAD_MB", 100) * MB)


def max_expanded_bytes() -> int:
    return int(_env_number("DATASETGEN_API_MAX_EXPANDED_MB", 500) * MB)


def max_zip_ratio() -> float:
    return _env_number("DATASETGEN_API_MAX_ZIP_RATIO", 100)


def safe_filename(name: str | None) -> str:
    """The client's file name as harmless metadata: last path component only (either slash),
    safe characters only, no leading dots, at most 100 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")[:100]
    return base or "upload"


@dataclass
class StagedUpload:
    """A received upload in a local staging file."""

    path: Path
    size: int
    client_filename: str
    kind: str = ""


async def receive(content_type: str, stream: AsyncIterator[bytes],
                  content_length: str | None = None,
                  staging_dir: str | Path | None = None) -> StagedUpload:
    """Stream the `file` part of a multipart body into a staging file, refusing (413) as soon
    as it passes the size limit."""
    limit = max_upload_bytes()
    kind, opts = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not opts.get(b"boundary"):
        raise UploadError(415, "send the file as multipart/form-data with a part named "
                               f"'{FILE_FIELD}' (e.g. curl -F {FILE_FIELD}=@data.csv)")
    if content_length and content_length.isdigit() and int(content_length) > limit + MB:
        raise UploadError(413, f"upload of {int(content_length):,} bytes exceeds the limit of "
                               f"{limit:,} bytes (DATASETGEN_API_MAX_UPLOAD_MB)")
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=staging_dir)
    state: dict[str, Any] = {"headers": {}, "field": b"", "value": b"", "in_file": False,
                             "found": False, "name": None, "size": 0, "over": False}
    sink: BinaryIO = os.fdopen(fd, "wb")

    def on_part_begin() -> None:
        state["headers"] = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        if disp.get(b"name") == FILE_FIELD.encode() and not state["found"]:
            state["in_file"] = True
            state["name"] = disp.get(b"filename", b"").decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["in_file"] and not state["over"]:
            state["size"] += end - start
            if state["size"] > limit:
                state["over"] = True
            else:
                sink.write(data[start:end])

    def on_part_end() -> None:
        if state["in_file"]:
            state["in_file"], state["found"] = False, True

    parser = MultipartParser(opts[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end})
    try:
        try:
            async for chunk in stream:
                parser.write(chunk)
                if state["over"]:
                    raise UploadError(413, f"upload exceeds the limit of {limit:,} bytes "
                                           "(DATASETGEN_API_MAX_UPLOAD_MB)")
            parser.finalize()
        except MultipartParseError as exc:
            raise UploadError(400, f"malformed multipart body ({exc}): send "
                                   f"multipart/form-data with a '{FILE_FIELD}' part") from None
        finally:
            sink.close()
        if not state["found"]:
            raise UploadError(422, f"no part named '{FILE_FIELD}' in the form: send the file "
                                   f"as -F {FILE_FIELD}=@data.csv")
        if state["size"] == 0:
            raise UploadError(422, "the uploaded file is empty")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return StagedUpload(Path(tmp), state["size"], safe_filename(state["name"]))


# ------------------------------------------------------------------ type sniffing
def _check_xlsx(path: Path) -> None:
    """A zip that is an Excel workbook and expands within the limits."""
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise UploadError(415, "the file starts like a zip/XLSX but is not a readable zip "
                               "archive: upload CSV, JSON, XLSX or Parquet") from None
    with zf:
        names = set(zf.namelist())
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise UploadError(415, "zip archives are accepted only as Excel workbooks (.xlsx):"
                                   " upload CSV, JSON, XLSX or Parquet")
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > max_expanded_bytes():
            raise UploadError(413, f"the workbook expands to {total:,} bytes, above the limit "
                                   f"of {max_expanded_bytes():,} (DATASETGEN_API_MAX_EXPANDED_MB)")
        for i in infos:
            ratio = i.file_size / max(1, i.compress_size)
            if i.file_size > MB and ratio > max_zip_ratio():
                raise UploadError(422, f"workbook member '{safe_filename(i.filename)}' "
                                       f"expands {ratio:,.0f}x (limit {max_zip_ratio():g}x, "
                                       "DATASETGEN_API_MAX_ZIP_RATIO): likely a zip bomb")
    try:
        pd.read_excel(path, nrows=5, engine="openpyxl")
    except Exception as exc:
        raise UploadError(415, f"not a readable Excel workbook ({type(exc).__name__}): "
                               "save it again as .xlsx") from None


def _check_parquet(path: Path) -> None:
    import pyarrow.parquet as pq

    with open(path, "rb") as f:
        f.seek(-4, os.SEEK_END)
        if f.read(4) != b"PAR1":
            raise UploadError(415, "the file starts like Parquet but is truncated: upload it "
                                   "again")
    try:
        pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
    except Exception as exc:
        raise UploadError(415, f"not a readable Parquet file ({type(exc).__name__})") from None


def _text_kind(path: Path, head: bytes) -> str:
    if b"\x00" in head:
        raise UploadError(415, "binary content that is not XLSX or Parquet: upload CSV, JSON,"
                               " XLSX or Parquet")
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            raise UploadError(415, "text that is not UTF-8: save the file as UTF-8 CSV or "
                                   "JSON") from None
    first = head.decode("utf-8-sig", "ignore").lstrip()[:1]
    if first in ("[", "{"):
        try:
            with open(path, encoding="utf-8-sig") as f:
                json.load(f)
            return "json"
        except ValueError:
            pass
        with open(path, encoding="utf-8-sig") as f:
            lines = [ln for ln in (f.readline() for _ in range(20)) if ln.strip()]
        try:
            if lines and all(isinstance(json.loads(ln), dict) for ln in lines):
                return "jsonl"
        except ValueError:
            pass
        raise UploadError(415, "the file looks like JSON but does not parse: fix the JSON "
                               "(an array of records, or one object per line)")
    try:
        frame = pd.read_csv(path, nrows=50, sep=None, engine="python", encoding="utf-8-sig")
    except Exception as exc:
        raise UploadError(415, f"not a parseable CSV ({type(exc).__name__}): upload CSV, "
                               "JSON, XLSX or Parquet") from None
    if frame.shape[1] == 0:
        raise UploadError(415, "a CSV without columns: the first line must be the header")
    return "csv"


def sniff(path: Path) -> str:
    """The file's type from its content: csv, json, jsonl, xlsx or parquet (415 otherwise)."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if head.startswith(b"PAR1"):
        _check_parquet(path)
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        _check_xlsx(path)
        return "xlsx"
    return _text_kind(path, head)


def store_staged(staged: StagedUpload, url: str) -> int:
    """Copy the staging file to `url` atomically, in chunks; removes the staging file."""
    try:
        with open(staged.path, "rb") as src:
            return files.write_atomic(url, lambda dst: shutil.copyfileobj(src, dst, CHUNK))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged.path)


def server_name(dataset_id: str, kind: str) -> str:
    """A fresh server-side file name (the client's name is never used in paths)."""
    return f"{dataset_id}-{uuid.uuid4().hex[:12]}.{EXTENSIONS[kind]}"


def read_frame(url: str, kind: str, nrows: int | None = None) -> pd.DataFrame:
    """A stored upload as a DataFrame (`nrows`: only the first rows where the format allows)."""
    src: Any = url if not files.is_s3(url) else io.BytesIO(files.read_bytes(url))
    if kind == "csv":
        return pd.read_csv(src, nrows=nrows, sep=None, engine="python", encoding="utf-8-sig")
    if kind == "jsonl":
        return pd.read_json(src, lines=True, nrows=nrows)
    if kind == "json":
        frame = pd.read_json(src)
    elif kind == "xlsx":
        frame = pd.read_excel(src, nrows=nrows, engine="openpyxl")
    else:
        frame = pd.read_parquet(src)
    return frame.head(nrows) if nrows is not None else frame


# (file, project dir) -> (mtime_ns, Pipeline or None)
_PIPELINES: dict[tuple[Path, str | None], tuple[int, Any]] = {}


def pipeline_named(name: str) -> Any:
    """The valid pipeline called `name` in the project's pipeline folders, or None (files are
    parsed again only when they change)."""
    from datasetgen_assets.pipeline.spec import load_pipeline, pipeline_dirs

    for d in pipeline_dirs():
        for f in sorted([*Path(d).glob("*.yaml"), *Path(d).glob("*.yml")]):
            mtime = f.stat().st_mtime_ns
            key = (f.resolve(), os.environ.get("DATASETGEN_PROJECT_DIR"))
            cached = _PIPELINES.get(key)
            if cached is None or cached[0] != mtime:
                try:
                    loaded = load_pipeline(f, check_columns=False)
                except Exception:  # invalid files are `datasetgen validate`'s to report
                    loaded = None
                cached = _PIPELINES[key] = (mtime, loaded)
            if cached[1] is not None and cached[1].name == name:
                return cached[1]
    return None


def landing_target(row: dict[str, Any], kind: str) -> tuple[str, str]:
    """(key, url) for a new upload of dataset `row`: under its upload pipeline's prefix (the
    sensor picks it up there) or under datasets/<workspace>/<id>/."""
    from datasetgen_resources.landing import landing_zone_from_env

    name = server_name(row["id"], kind)
    prefix = f"datasets/{files.safe_segment(row['workspace'])}/{row['id']}/"
    pipeline = pipeline_named(row["pipeline"]) if row.get("pipeline") else None
    if pipeline is not None and pipeline.spec.upload is not None:
        trigger = pipeline.spec.upload
        if not fnmatch.fnmatchcase(name, trigger.pattern):
            raise UploadError(415, f"pipeline '{pipeline.name}' takes uploads matching "
                                   f"'{trigger.pattern}'; this file is {kind}: upload that "
                                   "format instead")
        prefix = trigger.prefix
    key = prefix + name
    return key, landing_zone_from_env(pipeline.base_dir if pipeline else None).url_for(key)
