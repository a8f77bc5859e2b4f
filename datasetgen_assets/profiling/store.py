"""Where a pipeline's profiles live: `<data dir>/<pipeline>/<step>.schema.json` (beside the
step's Parquet file), written atomically, local or S3. Other steps load them from here."""

from __future__ import annotations

import json

from datasetgen_assets.profiling.schema import DatasetProfile
from datasetgen_resources import files


def profile_url(pipeline: str, step_id: str, partition: str | None = None) -> str:
    """The schema document of a `profile` step."""
    from datasetgen_resources.storage import default_data_url  # imports Dagster: only here

    stem = f"{default_data_url().rstrip('/')}/{pipeline}/{step_id}"
    return f"{stem}/{partition}.schema.json" if partition else f"{stem}.schema.json"


def save_profile(profile: DatasetProfile, url: str) -> str:
    """Write `profile.to_json_schema()` to `url` atomically; returns `url`."""
    doc = json.dumps(profile.to_json_schema(), indent=2, ensure_ascii=False)
    files.write_bytes_atomic(url, doc.encode("utf-8"))
    return url


def load_profile(url: str) -> DatasetProfile:
    """A profile saved by `save_profile` (StepInputError when the file is missing)."""
    return DatasetProfile.from_json_schema(json.loads(files.read_bytes(url)))
