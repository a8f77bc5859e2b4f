"""The landing zone where users drop files: one interface, a local folder (embedded default)
or an S3 bucket + prefix (any S3-compatible store through its endpoint URL)."""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from datasetgen_resources import files


@dataclass(frozen=True)
class ObjectInfo:
    """One uploaded object. `etag` changes whenever the content is replaced."""

    key: str  # relative to the landing zone root, '/'-separated
    size: int
    last_modified: float  # seconds since the epoch
    etag: str


class LandingZone(ConfigurableResource):
    """Where uploads land. Subclasses list objects and give each a URL the sources can read."""

    @abstractmethod
    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix` (all pages)."""

    @abstractmethod
    def url_for(self, key: str) -> str:
        """A path or s3:// URL the sources can read the object from."""


class LocalLandingZone(LandingZone):
    """A folder on this machine (the embedded default, `./landing`)."""

    root: str = Field(description="The folder uploads are dropped into.")

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        root = Path(self.root)
        base = root / prefix if prefix and not prefix.endswith("/") else root / prefix.rstrip("/")
        start = base if base.is_dir() else base.parent
        if not start.exists():
            return
        for dirpath, _, names in os.walk(start):
            for name in names:
                path = Path(dirpath) / name
                key = path.relative_to(root).as_posix()
                if not key.startswith(prefix) or name.startswith(".") or name.endswith(".tmp"):
                    continue
                st = path.stat()
                yield ObjectInfo(key, st.st_size, st.st_mtime, f"{st.st_size:x}-{st.st_mtime_ns:x}")

    def url_for(self, key: str) -> str:
        return str(Path(self.root) / key)


class S3LandingZone(LandingZone):
    """An S3 bucket and prefix; the endpoint comes from DATASETGEN_S3_ENDPOINT_URL or
    AWS_ENDPOINT_URL, credentials from the environment."""

    bucket: str = Field(description="Bucket name.")
    prefix: str = Field("", description="Key prefix under which the landing zone starts.")

    def _base(self) -> str:
        return self.prefix.strip("/") + "/" if self.prefix.strip("/") else ""

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self._base()
        pages = files.s3_client().get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base + prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                yield ObjectInfo(obj["Key"][len(base):], int(obj["Size"]),
                                 obj["LastModified"].timestamp(), obj["ETag"].strip('"'))

    def url_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._base()}{key}"


def landing_zone_from_env(project_dir: Path | None = None) -> LandingZone:
    """$DATASETGEN_LANDING_URL (`s3://bucket/prefix` or a folder), else ./landing."""
    url = os.environ.get("DATASETGEN_LANDING_URL")
    if url and files.is_s3(url):
        bucket, prefix = files.split_s3(url)
        return S3LandingZone(bucket=bucket, prefix=prefix)
    project = project_dir or Path(os.environ.get("DATASETGEN_PROJECT_DIR", Path.cwd()))
    return LocalLandingZone(root=str(Path(url) if url else project / "landing"))
