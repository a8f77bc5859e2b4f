"""`python -m bench [SUITE ...]` (or `make bench`): run benchmark suites and print ratios.

Each suite compares against a named baseline in the same run. Results are also written to
bench/results/<suite>-<time>.json.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime


def foundation(args: argparse.Namespace) -> dict:
    from bench.foundation import run_all

    res = run_all(args.rows)
    d, f, p = res["demo"], res["filter_pushdown"], res["projection_pushdown"]
    print(f"demo (all shipped pipelines, in process): {d['demo_seconds']:.2f}s")
    print(f"filter pushdown: join {f['rows_in']:,} x {f['rows_in']:,} rows then keep "
          f"{f['rows_out']:,}: without optimizer {f['plain_s']:.2f}s, with {f['optimized_s']:.2f}s"
          f" -> {f['ratio']}x faster")
    print(f"projection pushdown: {p['rows']:,} rows x {p['columns']} columns, {p['used']} used: "
          f"bytes read {p['bytes_plain']:,} -> {p['bytes_optimized']:,} "
          f"({p['bytes_ratio']}x fewer); time {p['plain_s']:.2f}s -> {p['optimized_s']:.2f}s "
          f"({p['ratio']}x faster)")
    return res


def uploads(args: argparse.Namespace) -> dict:
    from bench.uploads import run_all

    res = run_all()
    for where, r in res.items():
        if "error" in r:
            print(f"upload sensor tick ({where}): skipped: {r['error']}")
            continue
        print(f"upload sensor tick ({where}): {r['objects']:,} objects, {r['new']} new: "
              f"bare listing {r['list_s']:.2f}s, full tick {r['tick_s']:.2f}s "
              f"({r['overhead']}x the listing)")
    return res


def reported(module: str, run: str = "run", report: str = "report",
             rows: bool = False) -> Callable[[argparse.Namespace], dict]:
    """A suite whose module has a run function (given --rows when `rows`) and a report
    function that formats its results."""
    def suite(args: argparse.Namespace) -> dict:
        mod = importlib.import_module(f"bench.{module}")
        res = getattr(mod, run)(args.rows) if rows else getattr(mod, run)()
        print(getattr(mod, report)(res))
        return res

    return suite


SUITES: dict[str, Callable[[argparse.Namespace], dict]] = {
    "foundation": foundation,
    "profiling": reported("profiling", "run_profiling", "format_profiling", rows=True),
    "llm": reported("llm", "run_llm_bench"),
    "quality": reported("quality"),
    "pii": reported("pii"),
    "uploads": uploads,
    "synth_generate": reported("synth_generate", rows=True),
    "synth_augment": reported("synth_augment", report="format_results"),
    "pdf_tables": reported("pdf_tables"),
    "builder": reported("builder"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description="DatasetGen benchmarks")
    parser.add_argument("suites", nargs="*",
                        help=f"which to run (default: all of {', '.join(SUITES)})")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per joined table")
    args = parser.parse_args()
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite {unknown[0]!r}; choose from {', '.join(SUITES)}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    from bench.common import save_results

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in args.suites or list(SUITES):
        print(f"\n== {name}")
        save_results(name, SUITES[name](args), stamp)


if __name__ == "__main__":
    main()
