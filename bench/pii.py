"""PII benchmark: naive per-cell `AnalyzerEngine.analyze` vs the `pii` step's column strategy.

100,000 rows x 5 columns (names, emails, phones, free text, ids) generated with Faker, with
the true entity spans known. Both are measured in one run: ours on every row, the naive way on
a labelled sample (its rows/s is extrapolated), and recall/precision on that sample for both.
Run alone: `python -m bench.pii [--rows N] [--sample N]`.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import pandas as pd

AREAS = (212, 415, 312, 617, 202, 305, 713, 206, 503, 404, 646, 818)
ENTITY_OF = {"name": "PERSON", "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER"}


def generate(rows: int, seed: int = 7) -> tuple[pd.DataFrame, list[tuple[int, str, str, int, int]]]:
    """The table and its true spans (row, column, entity, start, end)."""
    from faker import Faker

    f = Faker("en_US")
    f.seed_instance(seed)
    data: dict[str, list[str]] = {"name": [], "email": [], "phone": [], "note": [], "id": []}
    truth = []
    for i in range(rows):
        name, email = f.name(), f.email()
        phone = f"({f.random_element(AREAS)}) {f.random_int(200, 999)}-{f.numerify('####')}"
        for col, val in (("name", name), ("email", email), ("phone", phone)):
            data[col].append(val)
            truth.append((i, col, ENTITY_OF[col], 0, len(val)))
        who, city = f.first_name() + " " + f.last_name(), f.city()
        tel = f"{f.random_element(AREAS)}-{f.random_int(200, 999)}-{f.numerify('####')}"
        head = f"Customer {who} from {city} asked us to call back on "
        note = head + tel + f" about order {f.random_int(1000, 99999)}."
        truth.append((i, "note", "PERSON", 9, 9 + len(who)))
        start = 9 + len(who) + 6
        truth.append((i, "note", "LOCATION", start, start + len(city)))
        truth.append((i, "note", "PHONE_NUMBER", len(head), len(head) + len(tel)))
        data["note"].append(note)
        data["id"].append(f"ORD-{i:07d}")
    return pd.DataFrame(data), truth


def score(found: list[tuple[int, str, str, int, int]],
          truth: list[tuple[int, str, str, int, int]]) -> dict[str, float]:
    """Span recall and precision: a hit counts when type matches and spans overlap."""
    by_cell: dict[tuple[int, str], list[tuple[str, int, int]]] = {}
    for r, c, e, s, t in truth:
        by_cell.setdefault((r, c), []).append((e, s, t))
    hit_truth = 0
    found_by_cell: dict[tuple[int, str], list[tuple[str, int, int]]] = {}
    for r, c, e, s, t in found:
        found_by_cell.setdefault((r, c), []).append((e, s, t))
    for key, spans in by_cell.items():
        got = found_by_cell.get(key, [])
        hit_truth += sum(any(e == ge and gs < t and s < gt for ge, gs, gt in got)
                         for e, s, t in spans)
    correct = 0
    for key, got in found_by_cell.items():
        spans = by_cell.get(key, [])
        correct += sum(any(e == ge and gs < t and s < gt for e, s, t in spans)
                       for ge, gs, gt in got)
    return {"recall": round(hit_truth / max(1, len(truth)), 4),
            "precision": round(correct / max(1, len(found)), 4)}


def run(rows: int = 100_000, sample: int = 500) -> dict[str, Any]:
    from datasetgen_assets.steps.pii import PiiConfig, findings, scan_frame
    from datasetgen_resources import pii as engines

    df, truth = generate(rows)
    engines.analyzer()  # load once, outside the timings
    started = time.perf_counter()
    hits, plans = scan_frame(df, PiiConfig())
    ours_s = time.perf_counter() - started
    ours = [(f["row"], f["column"], f["entity_type"], f["start"], f["end"])
            for f in findings(df, hits) if f["row"] < sample]
    head, truth_head = df.head(sample), [t for t in truth if t[0] < sample]
    analyzer = engines.analyzer()
    started = time.perf_counter()
    naive = []
    for i, rec in enumerate(head.to_dict("records")):
        for col, val in rec.items():
            for r in analyzer.analyze(str(val), language="en", score_threshold=0.4):
                naive.append((i, col, r.entity_type, r.start, r.end))
    naive_s = time.perf_counter() - started
    ours_rate, naive_rate = rows / ours_s, sample / naive_s
    return {"rows": rows, "columns": len(df.columns), "labelled_sample_rows": sample,
            "ours_seconds": round(ours_s, 2), "ours_rows_per_s": round(ours_rate, 1),
            "naive_sample_seconds": round(naive_s, 2), "naive_rows_per_s": round(naive_rate, 1),
            "speedup": round(ours_rate / naive_rate, 1),
            "ours_quality": score(ours, truth_head), "naive_quality": score(naive, truth_head),
            "strategies": {c: p.get("strategy") for c, p in plans.items()},
            "per_column_seconds": {c: p.get("seconds") for c, p in plans.items()}}


def report(res: dict[str, Any]) -> str:
    o, n = res["ours_quality"], res["naive_quality"]
    return (f"pii: {res['rows']:,} rows x {res['columns']} columns: column strategy "
            f"{res['ours_seconds']:.1f}s = {res['ours_rows_per_s']:,.0f} rows/s; naive per-cell "
            f"analyze {res['naive_rows_per_s']:,.1f} rows/s (on {res['labelled_sample_rows']} "
            f"rows, {res['naive_sample_seconds']:.1f}s) -> {res['speedup']}x faster; recall/"
            f"precision on the labelled sample: ours {o['recall']:.3f}/{o['precision']:.3f}, "
            f"naive {n['recall']:.3f}/{n['precision']:.3f}\n"
            f"  per column: {res['per_column_seconds']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=500)
    args = parser.parse_args()
    res = run(args.rows, args.sample)
    print(report(res))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
