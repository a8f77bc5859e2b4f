"""One interface for local paths and `s3://bucket/key` URLs: list, read, size, atomic write.

S3 settings come from the environment only: `DATASETGEN_S3_ENDPOINT_URL` (else boto3's own
`AWS_ENDPOINT_URL`), credentials and region as boto3 finds them. Nothing here logs them.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from datasetgen_assets.errors import StepInputError

ENDPOINT_ENV = "DATASETGEN_S3_ENDPOINT_URL"
SPOOL_MAX_BYTES = 64 * 1024 * 1024  # S3 uploads are buffered in memory up to this, then on disk
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_DENIED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}

_CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def is_s3(url: str) -> bool:
    """True for `s3://bucket/key` URLs."""
    return url.startswith("s3://")


def safe_segment(key: str) -> str:
    """A partition key as one file-name segment: folder separators become '__' and a key of
    only dots cannot climb out of the folder (upload keys such as 'orders/2024/a.csv')."""
    seg = key.replace("/", "__").replace("\\", "__")
    return "_" + seg if seg.strip(".") == "" else seg


def split_s3(url: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://bucket/key` URL."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise StepInputError(f"'{url}' names no bucket", fix="write it as s3://bucket/key")
    return bucket, key


def s3_client() -> Any:
    """A boto3 S3 client for the configured endpoint, cached per process, endpoint and keys."""
    endpoint = os.environ.get(ENDPOINT_ENV)  # else boto3 reads AWS_ENDPOINT_URL(_S3) itself
    custom = endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    # pid: no client is shared with a forked child; credentials in the environment may change
    # (only a digest of them is kept as a key).
    creds = "\0".join(os.environ.get(k, "") for k in _CREDENTIAL_ENV)
    cache_key = (os.getpid(), custom, hashlib.sha256(creds.encode()).hexdigest())
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            config = Config(
                # total_max_attempts counts the first try; botocore's max_attempts does not.
                retries={"mode": "standard", "total_max_attempts": 5},
                connect_timeout=10,
                read_timeout=60,
                max_pool_connections=32,
                # S3-compatible servers (SeaweedFS, MinIO, moto) want path-style URLs and
                # checksums only where the API requires them.
                s3={"addressing_style": "path"} if custom else None,
                request_checksum_calculation="when_required" if custom else None,
                response_checksum_validation="when_required" if custom else None,
            )
            client = boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)
            _clients[cache_key] = client
        return client


def _is_not_found(err: ClientError) -> bool:
    return str(err.response.get("Error", {}).get("Code")) in _NOT_FOUND


def _missing(url: str) -> StepInputError:
    return StepInputError(
        f"file not found: {url}",
        fix="check the path (relative paths are resolved against the pipeline's base directory)",
    )


def expand(pattern: str) -> list[str]:
    """Sorted concrete paths or URLs for a path, a glob (`*`, `?`, `[..]`, `**`) or an S3 URL.

    In S3 patterns `*` also matches `/` (fnmatch over whole keys).
    """
    found = _expand_s3(pattern) if is_s3(pattern) else _expand_local(pattern)
    if not found:
        if not glob.has_magic(pattern):
            raise _missing(pattern)
        raise StepInputError(
            f"no file matches '{pattern}'",
            fix="check the directory and the pattern, e.g. data/*.csv or s3://bucket/prefix/*.json",
        )
    return found


def _expand_local(pattern: str) -> list[str]:
    if os.path.isfile(pattern):  # also a file whose name has glob characters, e.g. "a[1].csv"
        return [pattern]
    if not glob.has_magic(pattern):
        return []
    return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))


def _expand_s3(pattern: str) -> list[str]:
    bucket, key = split_s3(pattern)
    if not glob.has_magic(key):
        return [pattern] if exists(pattern) else []
    prefix = key[: min(key.find(c) for c in "*?[" if c in key)]
    pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    with _s3_errors(pattern):
        keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    return sorted(f"s3://{bucket}/{k}" for k in keys if fnmatch.fnmatchcase(k, key))


@contextlib.contextmanager
def _s3_errors(url: str) -> Iterator[None]:
    """Turn S3 client errors a user can fix into StepInputErrors naming `url`."""
    try:
        yield
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code"))
        if code in _NOT_FOUND:
            raise _missing(url) from err
        if code == "NoSuchBucket":
            raise StepInputError(
                f"bucket of '{url}' does not exist", fix="check the bucket name"
            ) from err
        if code in _DENIED:
            raise StepInputError(
                f"access to '{url}' denied ({code})",
                fix="check the S3 credentials in the environment (AWS_ACCESS_KEY_ID, "
                f"AWS_SECRET_ACCESS_KEY), {ENDPOINT_ENV} and the bucket's policy",
            ) from err
        raise


def read_bytes(url: str) -> bytes:
    """The whole content of a local file or S3 object."""
    if is_s3(url):
        bucket, key = split_s3(url)
        with _s3_errors(url):
            return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        return Path(url).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise _missing(url) from None


def size(url: str) -> int:
    """Size in bytes of a local file or S3 object."""
    if is_s3(url):
        bucket, key = split_s3(url)
        with _s3_errors(url):
            return int(s3_client().head_object(Bucket=bucket, Key=key)["ContentLength"])
    try:
        return os.path.getsize(url)
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(url) from None


def exists(url: str) -> bool:
    """True when the local file or S3 object exists."""
    if not is_s3(url):
        return os.path.isfile(url)
    bucket, key = split_s3(url)
    try:
        s3_client().head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if _is_not_found(err):
            return False
        with _s3_errors(url):
            raise
    return True


def write_atomic(url: str, write: Callable[[BinaryIO], object]) -> int:
    """Write through `write(fileobj)` so readers see the old content or the new, never a part.

    Local: a temp file beside the target, fsync, `os.replace`. S3: a spooled temp file, then one
    upload (an object appears only when its upload completes). When `write` raises, nothing
    changes at `url`. Returns the number of bytes written.
    """
    if is_s3(url):
        bucket, key = split_s3(url)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES) as tmp:
            write(tmp)  # type: ignore[arg-type]
            n = tmp.seek(0, os.SEEK_END)  # writers such as zipfile may seek back and forth
            tmp.seek(0)
            s3_client().upload_fileobj(tmp, bucket, key)
        return n
    target = Path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
            n = os.fstat(tmp.fileno()).st_size
        os.chmod(tmp_name, target.stat().st_mode & 0o7777 if target.exists() else 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(target.parent)
    return n


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(url: str, data: bytes) -> int:
    """`write_atomic` for bytes already in memory."""
    return write_atomic(url, lambda f: f.write(data))
