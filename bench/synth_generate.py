"""Synthetic generation benchmark: `python -m bench.synth_generate [--rows N]`.

Generates ROWS (default 1,000,000) rows of the 10-field `bank_transactions` template with the
vectorized statistical generator, and compares it in the same run with the usual way of
doing it: a Faker-per-row loop (one Faker call per semantic field per row, `random` for the
numbers and weighted categories), timed on a 20,000-row sample and extrapolated linearly.
Also reported: the constraint check over all rows and writing Parquet.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

TEMPLATE = "bank_transactions"
BASELINE_ROWS = 20_000
TARGET_S = 10.0


def faker_per_row(rows: int, seed: int = 0) -> Any:
    """The baseline: the same 10 fields, one row at a time with Faker and `random`."""
    import pandas as pd
    from faker import Faker

    from datasetgen_assets.synth.templates import load_template

    table = load_template(TEMPLATE).table()
    f = table.fields
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rnd = random.Random(seed)

    def weighted(name: str) -> tuple[list[str], list[float]]:
        enum = f[name].enum
        assert isinstance(enum, dict)
        return list(enum), list(enum.values())

    cats = {n: weighted(n) for n in ("currency", "transaction_type", "channel", "status")}
    dist = f["amount"].distribution
    assert dist is not None and dist.mu is not None and dist.sigma is not None
    out = []
    for _ in range(rows):
        amount = rnd.lognormvariate(dist.mu, dist.sigma)
        while not 0.5 <= amount <= 50000:
            amount = rnd.lognormvariate(dist.mu, dist.sigma)
        out.append({
            "transaction_id": fake.uuid4(),
            "account_number": fake.numerify("####-######-##"),
            "account_holder": fake.name(),
            "posted_at": fake.date_time_between_dates(pd.Timestamp("2024-01-01"),
                                                      pd.Timestamp("2024-12-31 23:59:59")),
            "amount": round(amount, 2),
            **{n: rnd.choices(v, w)[0] for n, (v, w) in cats.items()},
            "merchant": fake.company(),
        })
    frame = pd.DataFrame(out)
    return frame[list(f)]


def run(rows: int = 1_000_000, seed: int = 0) -> dict[str, Any]:
    """Time ours on `rows` rows and the baseline on a sample; check and write ours."""
    from datasetgen_assets.synth import semantic
    from datasetgen_assets.synth.constraints import adherence
    from datasetgen_assets.synth.export import write_frame
    from datasetgen_assets.synth.generate import generate
    from datasetgen_assets.synth.templates import load_template

    schema = load_template(TEMPLATE)
    table = schema.table()
    t = time.perf_counter()
    semantic.pools(schema.locale)  # Faker pools: built once per process and locale
    pools_s = time.perf_counter() - t
    t = time.perf_counter()
    frame = generate(schema, rows, seed)[table.name]
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    adh = adherence(frame, table)
    check_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        size = write_frame(frame, Path(tmp) / "out.parquet")
        write_s = time.perf_counter() - t
    sample = min(BASELINE_ROWS, rows)
    t = time.perf_counter()
    base = faker_per_row(sample, seed)
    base_sample_s = time.perf_counter() - t
    base_s = base_sample_s * rows / sample
    return {
        "template": TEMPLATE, "fields": len(table.fields), "rows": len(frame),
        "ours_s": round(ours_s, 3), "rows_per_s": round(len(frame) / ours_s),
        "pools_s": round(pools_s, 3), "adherence": adh["overall"], "check_s": round(check_s, 3),
        "parquet_s": round(write_s, 3), "parquet_bytes": size,
        "baseline": "Faker per row", "baseline_sample_rows": len(base),
        "baseline_sample_s": round(base_sample_s, 3), "baseline_extrapolated_s": round(base_s, 2),
        "ratio": round(base_s / ours_s, 1), "target_s": TARGET_S, "met": ours_s < TARGET_S,
        "unique_ids": bool(frame["transaction_id"].is_unique),
    }


def report(res: dict[str, Any]) -> str:
    """The benchmark as printed lines."""
    return "\n".join([
        f"synthetic generation: {res['rows']:,} rows x {res['fields']} fields "
        f"(template {res['template']}) in {res['ours_s']:.2f}s = {res['rows_per_s']:,} rows/s "
        f"(target < {res['target_s']:.0f}s: {'met' if res['met'] else 'NOT met'}); "
        f"Faker pools {res['pools_s']:.2f}s once per process",
        f"baseline {res['baseline']}: {res['baseline_sample_rows']:,} rows in "
        f"{res['baseline_sample_s']:.2f}s -> {res['baseline_extrapolated_s']:.1f}s for "
        f"{res['rows']:,} (extrapolated) -> ours {res['ratio']}x faster",
        f"constraint check over all rows: {res['adherence']:.2f}% adherence in "
        f"{res['check_s']:.2f}s; unique ids: {res['unique_ids']}; Parquet write "
        f"{res['parquet_s']:.2f}s ({res['parquet_bytes']:,} bytes)",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(report(run(args.rows, args.seed)))


if __name__ == "__main__":
    main()
