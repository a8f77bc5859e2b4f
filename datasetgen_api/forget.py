"""Right to be forgotten: erase a dataset's files, the materializations (and their stored
outputs) of the assets it fed, and the cached LLM answers that hold its values.

Scope: a dataset bound to an upload-triggered pipeline erases only its own partitions (one per
uploaded file) of that pipeline's assets; a dataset whose `asset_keys` name unpartitioned assets
erases those assets' whole history. Counts are returned (and audited), never values.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from datasetgen_resources import files
from datasetgen_resources.llm.cache import value_hashes

MIN_VALUE_CHARS = 4  # shorter cell values ("1", "yes") would match unrelated cache entries
MAX_VALUES = 200_000


def delete_url(url: str) -> bool:
    """Delete one local file or S3 object; False when it was already gone."""
    if files.is_s3(url):
        if not files.exists(url):
            return False
        bucket, key = files.split_s3(url)
        files.s3_client().delete_object(Bucket=bucket, Key=key)
        return True
    try:
        os.unlink(url)
        return True
    except FileNotFoundError:
        return False


def _parse_key(text: str) -> Any:
    import dagster as dg

    return dg.AssetKey(text.split("/"))


def output_urls(metadata: dict[str, Any]) -> list[str]:
    """Files a materialization recorded: the IO manager's `path` and a sink's report `path`."""
    urls = []
    if metadata.get("path") is not None:
        urls.append(str(metadata["path"].value))
    report = metadata.get("report")
    value = getattr(report, "value", None)
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        urls.append(value["path"])
    return urls


def wipe_materializations(instance: Any, asset_keys: Iterable[str],
                          partitions: list[str] | None, partitions_def: str | None = None
                          ) -> dict[str, int]:
    """Delete the stored outputs recorded by the assets' materializations, then the
    materializations themselves. With `partitions` (upload pipelines): the runs of those
    partitions are deleted with their whole event log (Dagster cannot wipe single partitions,
    and run logs hold previews), and the partitions leave `partitions_def`. Without: the
    assets are wiped. Returns counts."""
    import dagster as dg

    out = {"materializations": 0, "output_files": 0, "runs": 0, "partitions": 0}
    run_ids: set[str] = set()
    keys = [_parse_key(text) for text in asset_keys]
    for key in keys:
        flt = dg.AssetRecordsFilter(asset_key=key, asset_partitions=partitions or None)
        cursor = None
        while True:
            page = instance.fetch_materializations(flt, limit=500, cursor=cursor)
            for rec in page.records:
                out["materializations"] += 1
                run_ids.add(rec.run_id)
                mat = rec.asset_materialization
                for url in output_urls(mat.metadata if mat else {}):
                    out["output_files"] += delete_url(url)
            if not page.has_more:
                break
            cursor = page.cursor
    if not partitions:
        instance.wipe_assets(keys)
        return out
    for p in partitions:
        run_ids |= {r.run_id for r in instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/partition": p}))}
    for run_id in sorted(run_ids):
        instance.delete_run(run_id)
        out["runs"] += 1
    for key in keys:
        instance.wipe_asset_cached_status([key])
    if partitions_def:
        existing = set(instance.get_dynamic_partitions(partitions_def))
        for p in partitions:
            if p in existing:
                instance.delete_dynamic_partition(partitions_def, p)
                out["partitions"] += 1
    return out


def row_values(frame: pd.DataFrame) -> set[str]:
    """The distinct cell values (as text) long enough to identify a row's content."""
    values: set[str] = set()
    for col in frame.columns:
        for v in frame[col].dropna().astype(str).unique():
            v = v.strip()
            if len(v) >= MIN_VALUE_CHARS:
                values.add(v)
                if len(values) >= MAX_VALUES:
                    return values
    return values


def cache_entry_matches(value: dict[str, Any], needles: set[str], asset_keys: set[str]) -> bool:
    """Whether a cached entry was written for one of `asset_keys` (its `asset` field), was
    asked about a row holding one of the `needles` (digests of the request's values), or holds
    a needle in its answer."""
    if asset_keys and str(value.get("asset", "")) in asset_keys:
        return True
    if not needles:
        return False
    stored = value.get("values")  # digests of the request row's values (LLM client)
    if isinstance(stored, list) and set(stored) & set(value_hashes({n: n for n in needles})):
        return True
    text = json.dumps(value, ensure_ascii=False, default=str)
    return any(n in text for n in needles)


def forget_cache(cache: Any, values: set[str], asset_keys: set[str]) -> int:
    """Delete the LLM cache entries that hold the dataset's values or belong to its assets."""
    from datasetgen_resources.llm.cache import delete_where

    return delete_where(cache, lambda _k, v: cache_entry_matches(v, values, asset_keys))


def open_llm_cache() -> Any | None:
    """The LLM cache configured for the project (the same env the LLM resource reads), or
    None when there is none."""
    from datasetgen_resources.llm.cache import open_cache
    from datasetgen_resources.llm.resource import _default_cache_path

    backend = os.environ.get("DATASETGEN_LLM_CACHE") or "sqlite"
    if backend == "none":
        return None
    path = os.environ.get("DATASETGEN_LLM_CACHE_PATH") or _default_cache_path()
    if backend == "sqlite" and not Path(path).exists():
        return None
    with contextlib.suppress(ValueError):
        return open_cache(backend, path, os.environ.get("DATASETGEN_LLM_CACHE_URL_ENV"))
    return None


def erase_dataset(store: Any, row: dict[str, Any]) -> dict[str, int]:
    """Erase dataset `row` everywhere and delete its record; returns counts (no values)."""
    from datasetgen_api.uploads import pipeline_named, read_frame

    values: set[str] = set()
    for f in row["files"]:
        with contextlib.suppress(Exception):  # a file already gone holds nothing to match
            values |= row_values(read_frame(f["url"], f["type"]))
    counts = {"files": sum(delete_url(f["url"]) for f in row["files"]),
              "materializations": 0, "output_files": 0, "runs": 0, "partitions": 0,
              "llm_cache_entries": 0}
    pipeline = pipeline_named(row["pipeline"]) if row.get("pipeline") else None
    partitioned = pipeline is not None and pipeline.spec.upload is not None
    keys = list(row["asset_keys"])
    if keys and (row["files"] or not partitioned):
        import dagster as dg

        from datasetgen_assets.instance import ensure_dagster_home

        ensure_dagster_home()
        with dg.DagsterInstance.get() as instance:
            counts.update(wipe_materializations(
                instance, keys, [f["key"] for f in row["files"]] if partitioned else None,
                f"{row['pipeline']}_uploads" if partitioned else None))
    cache = open_llm_cache()
    if cache is not None:
        try:
            counts["llm_cache_entries"] = forget_cache(cache, values, set(keys))
        finally:
            cache.close()
    store.delete_dataset(row["id"])
    return counts
