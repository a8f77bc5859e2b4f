"""`datasetgen augment FILE --rows N --out FILE`: synthetic rows like an upload, with a
fidelity and privacy summary."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from datasetgen_assets.cli import console, err, main
from datasetgen_assets.commands.profile import SOURCE_BY_EXTENSION, read_source
from datasetgen_assets.errors import DatasetGenError

OUT_FORMATS = (".csv", ".json", ".jsonl", ".parquet", ".xlsx")


def write_output(frame: Any, path: str) -> None:
    """Write `frame` atomically in the format of `path`'s extension (the synth exporter)."""
    from datasetgen_assets.synth.export import write_frame

    write_frame(frame, path)


def _check_paths(file: str, out: str) -> None:
    suffix = Path(file).suffix.lower()
    if suffix not in SOURCE_BY_EXTENSION:
        raise click.UsageError(
            f"{file}: unsupported file type '{suffix or '(none)'}'; augment reads "
            + ", ".join(sorted(SOURCE_BY_EXTENSION)) + ". Fix: convert the upload to CSV, JSON "
            "or Excel (.xlsx)")
    if Path(out).suffix.lower() not in OUT_FORMATS:
        raise click.UsageError(
            f"--out {out}: cannot tell the output format from its extension; use one of "
            + ", ".join(OUT_FORMATS))


def _summary(report: dict[str, Any], out: str) -> None:
    priv = report["privacy"]
    closer = priv.get("closer_to_training")
    console.print(
        f"✓ {report['synthetic_rows']:,} synthetic rows ({report['output']}) -> {out} "
        f"in {report['seconds']:.2f}s, {report['model']} model", markup=False, soft_wrap=True)
    console.print(
        f"  fidelity: quality {_f(report['quality_score'])} (column shapes "
        f"{_f(report['column_shapes'])}, pair trends {_f(report['column_pair_trends'])}), "
        f"constraint adherence {_f(report['constraint_adherence'])}", markup=False, soft_wrap=True)
    console.print(
        f"  privacy: {report['exact_copies']} exact copies of real rows; "
        + ("no holdout (too few rows)" if closer is None else
           f"{closer:.1%} closer to training than holdout (50% = no memorization), median DCR "
           f"{_f(priv['median_dcr_training'])} / {_f(priv['median_dcr_holdout'])}"),
        markup=False, soft_wrap=True)
    worst = report["column_scores"][:3]
    if worst:
        console.print("  lowest column shapes: " + ", ".join(
            f"{s['column']} {_f(s['score'])}" for s in worst), markup=False, soft_wrap=True)
    for w in report["warnings"]:
        err.print(f"  ! {w}", markup=False, soft_wrap=True)


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


@main.command("augment")
@click.argument("file")
@click.option("--rows", type=int, required=True, help="Synthetic rows to generate.")
@click.option("--out", "out", required=True,
              help="Output file: .csv, .json, .jsonl, .parquet or .xlsx.")
@click.option("--synthetic-only", is_flag=True,
              help="Write only the synthetic rows (default: real + synthetic, `_synthetic` "
                   "flag).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--model", type=click.Choice(["cart", "copula"]), default="cart",
              show_default=True, help="The tabular model.")
@click.option("--holdout", type=click.FloatRange(0, 0.9, max_open=True), default=0.2,
              show_default=True, help="Share of rows held out for the privacy check.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Also write the full report as JSON here.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def augment_command(file: str, rows: int, out: str, synthetic_only: bool, seed: int, model: str,
                    holdout: float, report_path: str | None, quiet: bool) -> None:
    """Generate ROWS synthetic rows like FILE (csv, json, jsonl, xlsx, parquet): same types,
    formats, distributions and correlations; new ids and PII. Prints fidelity and privacy."""
    from datasetgen_assets.synth.augment import augment

    if rows <= 0:
        raise click.BadParameter(f"{rows}: must be at least 1. Fix: ask for a positive "
                                 "number of rows, e.g. --rows 1000", param_hint="--rows")
    _check_paths(file, out)
    start = time.perf_counter()

    def progress(msg: str) -> None:
        if not quiet:
            err.print(f"[{time.perf_counter() - start:5.1f}s] {msg}", markup=False, soft_wrap=True)

    try:
        if Path(file).exists() and Path(file).stat().st_size == 0:
            raise DatasetGenError(f"{file} is empty (0 bytes). Fix: upload a file with a header "
                                  "row and data rows")
        frame = read_source(file)
        result = augment(frame, rows=rows, output="synthetic" if synthetic_only else "merged",
                         seed=seed, holdout=holdout, method=model, source=file,
                         progress=progress)
        progress(f"writing {len(result.frame):,} rows")
        write_output(result.frame, out)
    except DatasetGenError as exc:
        err.print(f"✗ {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    except (ValueError, OSError) as exc:
        err.print(f"✗ {file}: cannot read: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    report = result.report
    if report_path:
        from datasetgen_assets.pipeline.metadata import jsonable

        tmp = Path(report_path).with_suffix(".tmp")
        tmp.write_text(json.dumps(jsonable(report), indent=2, ensure_ascii=False))
        tmp.replace(report_path)
    _summary(report, out)
