"""`python -m bench` (or `make bench`): run the benchmarks and print ratios."""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from bench.foundation import run_all


def main() -> None:
    parser = argparse.ArgumentParser(description="DatasetGen benchmarks")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per joined table")
    args = parser.parse_args()
    res = run_all(args.rows)
    d, f, p = res["demo"], res["filter_pushdown"], res["projection_pushdown"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    print(f"demo (all shipped pipelines, in process): {d['demo_seconds']:.2f}s")
    print(f"filter pushdown: join {f['rows_in']:,} x {f['rows_in']:,} rows then keep "
          f"{f['rows_out']:,}: without optimizer {f['plain_s']:.2f}s, with {f['optimized_s']:.2f}s"
          f" -> {f['ratio']}x faster")
    print(f"projection pushdown: {p['rows']:,} rows x {p['columns']} columns, {p['used']} used: "
          f"bytes read {p['bytes_plain']:,} -> {p['bytes_optimized']:,} "
          f"({p['bytes_ratio']}x fewer); time {p['plain_s']:.2f}s -> {p['optimized_s']:.2f}s "
          f"({p['ratio']}x faster)")
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"foundation-{stamp}.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
