"""`datasetgen generate SCHEMA|--template NAME --rows N --out FILE` and `datasetgen templates`."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from datasetgen_assets.cli import console, err, main
from datasetgen_assets.errors import DatasetGenError, PipelineValidationError

PROGRESS_MIN_ROWS = 50_000  # smaller runs finish before a bar is worth drawing


def _fail(message: str) -> None:
    err.print(f"✗ {message}", markup=False, soft_wrap=True)
    sys.exit(2)


def _schema(schema_file: str | None, template: str | None) -> Any:
    from datasetgen_assets.synth.schema import load_schema
    from datasetgen_assets.synth.templates import template_path

    if (schema_file is None) == (template is None):
        raise click.UsageError("give a SCHEMA file or --template NAME (not both)")
    try:
        return load_schema(template_path(template) if template else str(schema_file))
    except PipelineValidationError as exc:
        _fail(f"{schema_file or template}\n{exc}")
    except DatasetGenError as exc:
        _fail(str(exc))


@main.command("generate")
@click.argument("schema_file", required=False, metavar="SCHEMA")
@click.option("--template", help="A shipped template instead of a SCHEMA file.")
@click.option("--rows", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Rows of root tables (child tables follow their per_parent counts).")
@click.option("--out", help="Output file (.csv .json .jsonl .parquet .xlsx); several tables: a "
              "folder (CSV per table) or a name with {table}.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--table", "tables", multiple=True, help="Only this table (repeatable); its "
              "parents' keys are generated as needed.")
@click.option("--generator", type=click.Choice(["statistical", "llm"]), default="statistical",
              show_default=True)
@click.option("--instruction", default="", help="llm: what the rows describe.")
@click.option("--dry-run", is_flag=True, help="Check the schema and show what would be made "
              "(llm: the cost estimate); generate nothing.")
@click.option("--print", "print_schema", is_flag=True,
              help="Print the template's YAML (to copy and edit) and exit.")
def generate_command(schema_file: str | None, template: str | None, rows: int, out: str | None,
                     seed: int, tables: tuple[str, ...], generator: str, instruction: str,
                     dry_run: bool, print_schema: bool) -> None:
    """Generate synthetic data from a SCHEMA file (YAML/JSON) or a --template."""
    if print_schema:
        from datasetgen_assets.synth.templates import template_path

        if template is None:
            raise click.UsageError("--print shows a template: add --template NAME")
        try:
            click.echo(template_path(template).read_text(encoding="utf-8"), nl=False)
        except DatasetGenError as exc:
            _fail(str(exc))
        return
    schema = _schema(schema_file, template)
    names = list(tables) or schema.order()
    for name in names:
        try:
            schema.table(name)
        except KeyError as exc:
            raise click.UsageError(f"--table: {exc.args[0]}") from None
    if generator == "llm":
        _llm(schema, names, rows, out, seed, instruction, dry_run)
        return
    if dry_run:
        _plan(schema, names, rows)
        return
    if not out:
        raise click.UsageError("--out is required (or use --dry-run)")
    _statistical(schema, names, rows, out, seed)


def _plan(schema: Any, names: list[str], rows: int) -> None:
    from datasetgen_assets.synth.generate import expected_rows

    console.print(f"✓ schema {schema.name or '(unnamed)'} is valid", markup=False)
    for name in names:
        t = schema.table(name)
        parent = f", {t.per_parent.min}-{t.per_parent.max} per {t.parent()}" if t.per_parent \
            else ""
        console.print(f"  {name}: ~{expected_rows(schema, name, rows):,} rows{parent}; "
                      + ", ".join(f"{n} ({f.type})" for n, f in t.fields.items()),
                      markup=False, soft_wrap=True)


def _statistical(schema: Any, names: list[str], rows: int, out: str, seed: int) -> None:
    from datasetgen_assets.synth.constraints import adherence
    from datasetgen_assets.synth.export import table_paths, write_frame
    from datasetgen_assets.synth.generate import generate

    try:
        paths = table_paths(out, names)
    except DatasetGenError as exc:
        _fail(str(exc))
    total = sum(len(schema.table(n).fields) for n in names)
    start = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} fields"), TimeElapsedColumn(), console=err, transient=True,
                  disable=rows < PROGRESS_MIN_ROWS) as bar:
        task = bar.add_task(f"generating {rows:,} rows", total=total)

        def tick(table: str, field: str) -> None:
            if table in paths:
                bar.update(task, advance=1, description=f"{table}.{field}")

        try:
            frames = generate(schema, rows, seed, names, progress=tick)
        except DatasetGenError as exc:
            _fail(str(exc))
        seconds = time.perf_counter() - start
        bar.update(task, description="writing")
        summary = Table("table", "rows", "columns", "file", "bytes", "adherence",
                        title=f"generated in {seconds:.2f}s (seed {seed})")
        for name, frame in frames.items():
            try:
                written = write_frame(frame, paths[name])
            except DatasetGenError as exc:
                _fail(str(exc))
            parents = {r: frames[r] for r, _ in schema.table(name).references().values()
                       if r in frames}
            adh = adherence(frame, schema.table(name), parents or None)
            summary.add_row(name, f"{len(frame):,}", str(frame.shape[1]), paths[name],
                            f"{written:,}", f"{adh['overall']:.2f}%")
    console.print(summary)


def _llm(schema: Any, names: list[str], rows: int, out: str | None, seed: int,
         instruction: str, dry_run: bool) -> None:
    from datasetgen_assets.commands.profile import _llm_client
    from datasetgen_assets.synth.constraints import row_json_schema, violations
    from datasetgen_assets.synth.export import write_frame

    if len(names) != 1:
        raise click.UsageError("the llm generator makes one table at a time (its foreign keys "
                               "cannot follow another table): pass --table NAME")
    table = schema.table(names[0])
    from datasetgen_assets.synth import llm_generator

    text = llm_generator.table_instruction(schema, table, instruction)
    client = _llm_client()
    if client is None:
        _fail("no LLM available; configure the LLM resource or use --generator statistical")
    row_schema = row_json_schema(table)
    if dry_run:
        est = llm_generator.estimate_llm_generation(client, row_schema=row_schema,
                                                    instruction=text, rows=rows)
        click.echo(json.dumps(est, indent=2, default=str))
        return
    if not out:
        raise click.UsageError("--out is required (or use --dry-run)")
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn(
            "{task.completed}/{task.total} rows"), console=err, transient=True) as bar:
        task = bar.add_task(f"asking the LLM for {rows:,} rows", total=rows)
        try:
            frame, report = llm_generator.generate_with_llm(
                client, row_schema=row_schema, instruction=text, rows=rows,
                validate=lambda df: violations(df, table),
                unique=[n for n, f in table.fields.items() if f.unique], seed=seed,
                progress=lambda done, asked: bar.update(task, completed=done))
        except DatasetGenError as exc:
            _fail(str(exc))
    written = write_frame(frame, out)
    console.print(f"✓ {len(frame):,} rows -> {out} ({written:,} bytes)", markup=False)
    click.echo(json.dumps(report, indent=2, default=str))


@main.command("templates")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def templates_command(as_json: bool) -> None:
    """List the shipped schema templates (datasetgen generate --template NAME --print shows
    one)."""
    from datasetgen_assets.synth.templates import list_templates

    items = list_templates()
    if as_json:
        click.echo(json.dumps([{"name": t.name, "industry": t.industry,
                                "description": t.description, "tables": list(t.tables)}
                               for t in items], indent=2))
        return
    table = Table("template", "industry", "tables", "description",
                  title=f"{len(items)} templates")
    for t in items:
        table.add_row(t.name, t.industry, ", ".join(t.tables), t.description)
    console.print(table)
