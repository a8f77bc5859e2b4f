"""Shared helpers: timing, materializing a pipeline file in process, printing results."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import load_pipeline
from datasetgen_resources import datasetgen_resources

RESULTS = Path(__file__).resolve().parent / "results"


def save_results(name: str, res: Any, stamp: str | None = None) -> Path:
    """Write a suite's results to bench/results/<name>-<UTC time>.json; returns the path."""
    import json
    from datetime import UTC, datetime

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(res, indent=2, default=str))
    return path


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of `repeat` runs, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def materialize_file(path: Path, data_dir: Path, optimized: bool,
                     upload: Path | None = None) -> dg.ExecuteInProcessResult:
    """Materialize every step of a pipeline file through Dagster, in process; an
    upload-triggered pipeline gets `upload` as its file."""
    pipeline = load_pipeline(path)
    built = build_pipeline(pipeline, optimized=optimized)
    instance = dg.DagsterInstance.ephemeral()
    partition = None
    if pipeline.spec.upload is not None and upload is not None:
        from datasetgen_assets.cli import land_upload

        partition = land_upload(pipeline, str(upload))
        instance.add_dynamic_partitions(f"{pipeline.name}_uploads", [partition])
    result = dg.materialize(
        built["assets"], resources=datasetgen_resources(str(data_dir)), instance=instance,
        partition_key=partition,
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    if not result.success:
        raise RuntimeError(f"benchmark pipeline {path} failed")
    return result


def row(name: str, baseline: str, base_s: float, ours_s: float, extra: str = "") -> str:
    return (f"{name:<28} {baseline:<24} {base_s:>9.2f}s {ours_s:>9.2f}s "
            f"{base_s / ours_s:>7.1f}x  {extra}")


HEADER = f"{'benchmark':<28} {'baseline':<24} {'baseline':>10} {'ours':>10} {'ratio':>8}"
