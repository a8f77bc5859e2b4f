"""Table-extraction benchmark: `python -m bench.pdf_tables`.

Documents: the PDFs tests/pdf_fixtures.py draws with known tables (ruled, unruled, multi-page,
decimals) and the public PDFs with ground truth in /work/shared/data/pdf (ICDAR 2013 `-str.xml`,
camelot `gt.json`; $DATASETGEN_PDF_DATA overrides the folder).

Compared in one run, each on the same pages:
- baseline: PyMuPDF 2.0's default `page.find_tables()` (layout model) + `Table.extract()`;
- ours (lines): `detector: lines` (the default), cells re-read by bounding box;
- ours (lines + text fallback): `text_fallback: true`;
- ours (layout): `detector: layout`, cells re-read by bounding box.

Cell accuracy (see datasetgen_assets/documents/scoring.py): the share of ground-truth
non-empty cells whose normalized text is found at the same row and column of an extracted
table on the same page after the best row/column offset; summed over all tables. Speed:
pages per second of detection + extraction (the layout model is loaded before timing).
Calibration: per extracted table, the share of its cells that are right (extracted_accuracy),
averaged for tables with confidence >= 0.7 and < 0.7, and the Spearman rank correlation.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from datasetgen_assets.documents import reader, scoring, tables

DATA = Path(os.environ.get("DATASETGEN_PDF_DATA", "/work/shared/data/pdf"))
HIGH = 0.7
Doc = tuple[str, str, scoring.Truth]  # (name, path, truth)
Extract = Callable[[Any], list[Any]]


def documents(folder: Path, data: Path = DATA, public: bool = True) -> list[Doc]:
    """The fixture PDFs (built into `folder`) and the public PDFs that have ground truth."""
    from tests import pdf_fixtures

    docs: list[Doc] = [(f"fixture {k}", str(p), t) for k, p, t in pdf_fixtures.table_set(folder)]
    if public and data.is_dir():
        for pdf in sorted(data.glob("*.pdf")):
            xml = pdf.with_name(pdf.stem + "-str.xml")
            gt = pdf.with_name(pdf.stem + ".gt.json")
            if xml.exists():
                docs.append((pdf.stem, str(pdf), scoring.load_icdar(xml)))
            elif gt.exists():
                docs.append((pdf.stem, str(pdf), scoring.load_gt_json(gt)))
    return docs


METHODS: dict[str, Extract] = {
    "baseline": tables.pymupdf_default,
    "ours (lines)": lambda page: tables.page_tables(page, "lines"),
    "ours (lines + text fallback)": lambda page: tables.page_tables(page, "lines", True),
    "ours (layout)": lambda page: tables.page_tables(page, "layout"),
}


def _warm_up(path: str) -> None:
    with reader.opened(path) as doc:
        doc.load_page(0).find_tables()  # loads the ONNX layout model once


def evaluate(docs: list[Doc], methods: dict[str, Extract] | None = None,
             warm_up: bool = True) -> dict[str, Any]:
    """Accuracy, speed and per-table (confidence, accuracy) of each method on `docs`."""
    methods = methods or METHODS
    if docs and warm_up:
        _warm_up(docs[0][1])
    out: dict[str, Any] = {}
    for label, fn in methods.items():
        per_doc, calib = [], []
        seconds = 0.0
        pages = hit = total = 0
        for name, path, truth in docs:
            found: dict[int, list[scoring.Rows]] = {}
            with reader.opened(path) as doc:
                for page in reader.iter_pages(doc):
                    t0 = time.perf_counter()
                    res = fn(page)
                    seconds += time.perf_counter() - t0
                    pages += 1
                    n = page.number + 1
                    truths = [t["rows"] for t in truth if t["page"] == n]
                    rows = []
                    for t in res:
                        if isinstance(t, tables.PageTable):
                            calib.append({"doc": name, "page": n, "confidence": t.confidence,
                                          "method": t.method,
                                          "accuracy": scoring.extracted_accuracy(t.rows,
                                                                                 truths)})
                            rows.append(t.rows)
                        else:
                            rows.append(t)
                    found[n] = rows
            m, n_cells = scoring.document_accuracy(truth, found)
            hit, total = hit + m, total + n_cells
            per_doc.append({"doc": name, "accuracy": m / n_cells if n_cells else 1.0,
                            "cells": n_cells})
        out[label] = {"accuracy": hit / total if total else 1.0, "cells": total,
                      "pages": pages, "seconds": seconds,
                      "pages_per_s": pages / seconds if seconds else float("inf"),
                      "per_doc": per_doc, "tables": calib}
    return out


def calibration(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean accuracy of high- and low-confidence tables and the rank correlation."""
    df = pd.DataFrame(rows, columns=["confidence", "accuracy"])
    high, low = df[df.confidence >= HIGH], df[df.confidence < HIGH]
    rho = df["confidence"].corr(df["accuracy"], method="spearman") if len(df) > 2 else None
    return {"tables": len(df), "high": len(high), "low": len(low),
            "high_accuracy": float(high.accuracy.mean()) if len(high) else None,
            "low_accuracy": float(low.accuracy.mean()) if len(low) else None,
            "spearman": None if rho is None or pd.isna(rho) else float(rho)}


def run(public: bool = True) -> dict[str, Any]:
    """Build the fixtures, evaluate every method, and add ratios against the baseline."""
    with tempfile.TemporaryDirectory(prefix="pdf_bench_") as tmp:
        docs = documents(Path(tmp), public=public)
        res = evaluate(docs)
    base = res["baseline"]
    for label, r in res.items():
        r["accuracy_ratio"] = r["accuracy"] / base["accuracy"] if base["accuracy"] else None
        r["speed_ratio"] = r["pages_per_s"] / base["pages_per_s"]
        if label != "baseline":
            r["calibration"] = calibration(r["tables"])
    return {"documents": [d[0] for d in docs], "results": res}


def fmt(v: float | None) -> str:
    return "  n/a" if v is None else f"{v:.2f}"


def report(res: dict[str, Any]) -> str:
    """The printed table."""
    results = res["results"]
    names = [d["doc"] for d in next(iter(results.values()))["per_doc"]]
    lines = [f"PDF table extraction: {len(names)} documents, "
             f"{next(iter(results.values()))['cells']:,} ground-truth cells, "
             f"{next(iter(results.values()))['pages']} pages",
             f"{'method':<30} {'cell acc':>8} {'x base':>7} {'doc mean':>8} {'pages/s':>8} "
             f"{'x base':>7}"]
    for label, r in results.items():
        mean = sum(d["accuracy"] for d in r["per_doc"]) / max(len(r["per_doc"]), 1)
        lines.append(f"{label:<30} {r['accuracy']:>8.3f} {r['accuracy_ratio'] or 0:>6.2f}x "
                     f"{mean:>8.3f} {r['pages_per_s']:>8.2f} {r['speed_ratio']:>6.2f}x")
    lines.append("(cell acc: all ground-truth cells pooled; doc mean: mean of per-document "
                 "accuracies)")
    lines.append("")
    lines.append("cell accuracy per document: " + " | ".join(
        f"{label}" for label in results))
    for i, name in enumerate(names):
        accs = "  ".join(f"{r['per_doc'][i]['accuracy']:.2f}" for r in results.values())
        lines.append(f"  {name:<28} ({results['baseline']['per_doc'][i]['cells']:>4} cells)  "
                     f"{accs}")
    lines.append("")
    lines.append(f"confidence calibration (extracted tables; high = confidence >= {HIGH}):")
    for label, r in results.items():
        c = r.get("calibration")
        if not c:
            continue
        lines.append(f"  {label:<30} {c['tables']:>3} tables: high {c['high']:>2} -> mean acc "
                     f"{fmt(c['high_accuracy'])}, low {c['low']:>2} -> {fmt(c['low_accuracy'])}"
                     f"; spearman {fmt(c['spearman'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures-only", action="store_true",
                        help="Skip the public PDFs.")
    parser.add_argument("--json", action="store_true", help="Also print the raw results.")
    args = parser.parse_args(argv)
    res = run(public=not args.fixtures_only)
    print(report(res))
    if args.json:
        print(json.dumps(res, indent=1, default=str))
    return res


if __name__ == "__main__":
    main()
