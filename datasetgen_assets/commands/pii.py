"""`datasetgen pii FILE`: the personal data in a table, per column; optionally a protected copy."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pandas as pd

from datasetgen_assets.cli import console, err, main
from datasetgen_assets.errors import DatasetGenError

READERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json",
           ".parquet": "parquet", ".xlsx": "excel"}


def read_table(file: str) -> pd.DataFrame:
    """A local data file read by the source step of its extension."""
    from datasetgen_assets.steps.registry import StepContext, get_step_type

    kind = READERS.get(Path(file).suffix.lower())
    if kind is None:
        raise click.BadParameter(f"cannot read '{file}': use one of {', '.join(READERS)}")
    st = get_step_type(kind)
    ctx = StepContext(step_id="file", base_dir=Path.cwd())
    return st.run([], st.config_model.model_validate({"path": file}), ctx).frame


def write_table(frame: pd.DataFrame, out: str) -> str:
    from datasetgen_assets.steps.registry import StepContext, get_step_type

    st = get_step_type("write")
    ctx = StepContext(step_id="out", base_dir=Path.cwd())
    return str(st.run([frame], st.config_model.model_validate({"path": out}), ctx).report
               .get("path", out))


@main.command("pii")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable, with every finding.")
@click.option("--columns", multiple=True, help="Only these columns (default: text columns).")
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.4, show_default=True)
@click.option("--apply", "apply", type=click.Choice(["mask", "redact", "hash", "pseudonymize"]),
              help="Protect every finding this way and write --out.")
@click.option("--out", type=click.Path(dir_okay=False), help="Where the protected copy goes.")
def pii_command(file: str, as_json: bool, columns: tuple[str, ...], min_score: float,
                apply: str | None, out: str | None) -> None:
    """Report the personal data in FILE per column (no raw values are printed)."""
    from datasetgen_assets.steps.pii import (
        PiiConfig,
        column_counts,
        findings,
        protect_frame,
        scan_frame,
    )

    if bool(apply) != bool(out):
        raise click.UsageError("--apply and --out go together")
    try:
        frame = read_table(file)
        config = PiiConfig(columns=list(columns) or None, min_score=min_score,
                           default_action={"type": apply or "flag"})
        hits, plans = scan_frame(frame, config)
        counts = column_counts(frame, hits)
        written = None
        if apply and out:
            protected, _ = protect_frame(frame, hits, config)
            written = write_table(protected, out)
    except DatasetGenError as exc:
        err.print(f"✗ {file}: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    if as_json:
        doc = {"file": file, "rows": len(frame), "columns": counts,
               "strategies": {c: p.get("strategy") for c, p in plans.items()},
               "findings": findings(frame, hits)}
        if written:
            doc["written"] = written
        click.echo(json.dumps(doc))
        return
    from rich.table import Table

    table = Table("column", "entities (cells)", "strategy", title=f"PII in {file}")
    for col, plan in plans.items():
        found = ", ".join(f"{e} {n}" for e, n in counts.get(col, {}).items()) or "-"
        table.add_row(str(col), found, str(plan.get("strategy", "")))
    console.print(table)
    if written:
        console.print(f"protected copy ({apply}) written to {written}", markup=False)
