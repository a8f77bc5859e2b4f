"""Quality benchmark: 1,000,000 rows x 10 checks, wall time and GE vs vectorized time.

Five rules run as Great Expectations expectations (range, regex, enum, not null, unique) and
five checks are ours, vectorized (missing values, duplicates, z-score outliers, PII exposure,
a cross-field condition). Run alone: `python -m bench.quality [--rows N]`.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import pandas as pd


def generate(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, rows).round()
    age[rng.choice(rows, rows // 1000, replace=False)] = 200
    status = rng.choice(np.array(["paid", "shipped", "lost", "Paid"]), rows,
                        p=[0.6, 0.38, 0.01, 0.01])
    start = rng.integers(0, 1000, rows)
    return pd.DataFrame({
        "id": np.arange(rows), "age": age, "status": pd.array(status, dtype="str"),
        "code": pd.array([f"C-{i % 99991:05d}" for i in range(rows)], dtype="str"),
        "start": start, "end": start + rng.integers(-5, 100, rows),
        "note": pd.array(np.where(rng.random(rows) < 0.001, "mail me at a@b.com", "ok"),
                         dtype="str")})


CONFIG = {
    "business_rules": [
        {"type": "range", "column": "age", "min": 0, "max": 120},
        {"type": "regex", "column": "code", "pattern": r"^C-\d{5}$"},
        {"type": "enum", "column": "status", "values": ["paid", "shipped"]},
        {"type": "not_null", "column": "age"},
        {"type": "unique", "column": "id"},
        {"type": "condition", "condition": "end >= start"},
    ],
    "checks": {"type_consistency": False, "format_inconsistency": False,
               "statistical_anomalies": False, "invalid_values": False,
               "outliers": {"method": "zscore", "columns": ["age"]}},
    "data_docs": False, "min_quality_score": 0,
}


def run(rows: int = 1_000_000) -> dict[str, Any]:
    from datasetgen_assets.quality.ge_checks import _batch_definition
    from datasetgen_assets.steps.quality_validation import QualityConfig, assess
    from datasetgen_assets.steps.registry import StepContext

    df = generate(rows)
    started = time.perf_counter()
    _batch_definition()  # GE import and context, once per process
    ge_setup = time.perf_counter() - started
    config = QualityConfig.model_validate(CONFIG)
    started = time.perf_counter()
    result = assess(df, config, StepContext())
    wall = time.perf_counter() - started
    timing = result["timing"]
    ge = timing.get("great_expectations", 0.0)
    return {"rows": rows, "checks": 10, "wall_seconds": round(wall, 2),
            "great_expectations_seconds": round(ge, 2),
            "vectorized_seconds": round(wall - ge, 2), "ge_setup_seconds": round(ge_setup, 2),
            "per_family_seconds": {k: round(v, 3) for k, v in timing.items()},
            "score": result["score"], "issues": len(result["issues"])}


def report(res: dict[str, Any]) -> str:
    return (f"quality: {res['rows']:,} rows x {res['checks']} checks: {res['wall_seconds']:.2f}s "
            f"wall (Great Expectations {res['great_expectations_seconds']:.2f}s for 5 "
            f"expectations, ours vectorized {res['vectorized_seconds']:.2f}s for 5 checks; GE "
            f"import + context once {res['ge_setup_seconds']:.2f}s); score {res['score']}\n"
            f"  per family: {res['per_family_seconds']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    res = run(parser.parse_args().rows)
    print(report(res))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
