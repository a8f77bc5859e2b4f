"""The demo: materialize every shipped example pipeline on embedded defaults (SQLite
instance in ./.dagster_home, data in ./data/assets, outputs in ./out; no key, no service)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from datasetgen_assets.cli import console, run_pipeline
from datasetgen_assets.instance import ensure_dagster_home
from datasetgen_assets.pipeline.spec import discover_pipelines
from datasetgen_resources.storage import default_data_url


def main() -> int:
    root = Path.cwd()
    home = ensure_dagster_home(root)
    started = time.perf_counter()
    failures = 0
    pipelines = discover_pipelines()
    for pipeline in pipelines:
        failures += run_pipeline(pipeline) != 0
    console.print(
        f"\n{len(pipelines)} pipelines materialized in {time.perf_counter() - started:.1f}s "
        f"({failures} failed)\n"
        f"  exports:         {root / 'out'}\n"
        f"  asset data:      {default_data_url()}\n"
        f"  Dagster history: {home}\n"
        "Open the UI with `make ui` (runs `dagster dev`), then browse http://127.0.0.1:3000"
        , markup=False)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
