"""The demo: materialize every shipped example pipeline on embedded defaults (SQLite
instance in ./.dagster_home, data in ./data/assets, outputs in ./out; no key, no service)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from datasetgen_assets.cli import console, land_upload, run_pipeline
from datasetgen_assets.instance import ensure_dagster_home
from datasetgen_assets.pipeline.spec import discover_pipelines
from datasetgen_resources.storage import default_data_url

SAMPLE_UPLOAD = Path(__file__).resolve().parent.parent / "examples" / "uploads" / \
    "orders_2024_06.csv"


def main() -> int:
    root = Path.cwd()
    home = ensure_dagster_home(root)
    started = time.perf_counter()
    failures = 0
    pipelines = discover_pipelines()
    for pipeline in pipelines:
        partition = None
        if pipeline.spec.upload is not None:  # drop the sample upload, as a user would
            partition = land_upload(pipeline, str(SAMPLE_UPLOAD))
            console.print(f"uploaded {SAMPLE_UPLOAD.name} to the landing zone as {partition}",
                          markup=False)
        failures += run_pipeline(pipeline, partition=partition) != 0
    console.print(
        f"\n{len(pipelines)} pipelines materialized in {time.perf_counter() - started:.1f}s "
        f"({failures} failed)\n"
        f"  exports:         {root / 'out'}\n"
        f"  asset data:      {default_data_url()}\n"
        f"  Dagster history: {home}\n"
        f"  landing zone:    {root / 'landing'} (drop CSVs into uploads/orders/ while "
        "`make ui` runs: the upload sensor starts a run for each)\n"
        "Open the UI with `make ui`: the Dagster UI at http://127.0.0.1:3000, and the API with "
        "the visual pipeline builder (it prints the link with a token)", markup=False)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
