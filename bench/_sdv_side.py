"""The SDV side of bench/synth_augment.py. Runs inside `.venv/bench-sdv` (SDV, SDMetrics and the
table packages, no torch; never imported by DatasetGen).

    python _sdv_side.py export DIR     # the packaged tables as DIR/<name>.parquet
    python _sdv_side.py run JOB.json   # fit+sample GaussianCopula; SDMetrics QualityReport of
                                       # SDV's and DatasetGen's synthetic rows; JSON on stdout
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")


def export(out: Path) -> None:
    import palmerpenguins
    from vega_datasets import data

    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "penguins": palmerpenguins.load_penguins(),
        "cars": data.cars(),
        "seattle_weather": data.seattle_weather(),
    }
    for name, df in tables.items():
        df.to_parquet(out / f"{name}.parquet", index=False)
    print(json.dumps(sorted(tables)))


def _quality(real: pd.DataFrame, synth: pd.DataFrame, columns: dict) -> dict:
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    report.generate(real, synth, {"columns": columns}, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {"score": float(report.get_score()),
            "column_shapes": float(props["Column Shapes"]),
            "column_pair_trends": float(props["Column Pair Trends"])}


def run(job_path: Path) -> None:
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    job = json.loads(job_path.read_text())
    results = {}
    for t in job["tables"]:
        real = pd.read_parquet(t["real"])
        columns = t["columns"]
        metadata = Metadata.load_from_dict({"tables": {t["name"]: {"columns": columns}}})
        start = time.perf_counter()
        synth = GaussianCopulaSynthesizer(metadata, enforce_min_max_values=True)
        synth.fit({t["name"]: real})  # SDV 2.0: a dict of one table
        fitted = time.perf_counter()
        sample = synth.sample(num_rows=t["rows"])
        if isinstance(sample, dict):
            sample = next(iter(sample.values()))
        done = time.perf_counter()
        sample.to_parquet(t["sdv_out"], index=False)
        ours = pd.read_parquet(t["ours"])[list(real.columns)]
        for c in real.columns:  # same dtypes as the real table for SDMetrics
            if str(real[c].dtype).startswith("datetime"):
                ours[c] = pd.to_datetime(ours[c])
        results[t["name"]] = {
            "sdv_fit_seconds": fitted - start, "sdv_sample_seconds": done - fitted,
            "sdv_quality": _quality(real, sample, columns),
            "ours_quality": _quality(real, ours, columns),
        }
    import sdmetrics
    import sdv

    print(json.dumps({"versions": {"sdv": sdv.__version__, "sdmetrics": sdmetrics.__version__,
                                   "pandas": pd.__version__}, "tables": results}))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(Path(sys.argv[2]))
    else:
        run(Path(sys.argv[2]))
