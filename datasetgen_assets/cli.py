"""The `datasetgen` command: validate, explain and run pipeline files; list step types."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from datasetgen_assets.errors import PipelineValidationError
from datasetgen_assets.pipeline.spec import Pipeline, load_pipeline

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _load(file: str) -> Pipeline:
    try:
        return load_pipeline(file)
    except PipelineValidationError as exc:
        err.print(f"[red]✗ {file}[/red]\n{exc}", markup=True, soft_wrap=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="datasetgen")
def main() -> None:
    """DatasetGen: YAML pipelines compiled into Dagster assets."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check pipeline FILES without running anything (exit 2 on problems)."""
    failed = False
    for file in files:
        try:
            p = load_pipeline(file)
        except PipelineValidationError as exc:
            failed = True
            err.print(f"✗ {file}\n{exc}", markup=False, soft_wrap=True)
            continue
        known = sum(1 for c in p.columns.values() if c is not None)
        console.print(f"✓ {file}: pipeline '{p.name}', {len(p.order)} steps "
                      f"(columns known for {known})", markup=False, soft_wrap=True)
    sys.exit(2 if failed else 0)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def explain(file: str) -> None:
    """Print FILE's plan before and after optimization and the rules that fired."""
    from datasetgen_assets.commands.llm import llm_cost_lines
    from datasetgen_assets.pipeline.optimizer import explain as explain_plan
    from datasetgen_assets.pipeline.optimizer import optimize

    pipeline = _load(file)
    console.print(explain_plan(pipeline), markup=False, soft_wrap=True)
    lines = llm_cost_lines(optimize(pipeline))
    if lines:
        console.print("\n" + "\n".join(lines), markup=False, soft_wrap=True)


@main.command("steps")
def list_steps() -> None:
    """List the step types and what they do."""
    from datasetgen_assets.steps.registry import load_all

    table = Table("type", "kind", "inputs", "description")
    for name, st in sorted(load_all().items()):
        inputs = f"{st.min_inputs}" + ("" if st.max_inputs == st.min_inputs
                                       else f"..{st.max_inputs or 'n'}")
        table.add_row(name, st.kind, inputs, st.description)
    console.print(table)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--no-optimize", is_flag=True, help="Run the plan exactly as written.")
@click.option("--select", "select", multiple=True, help="Only these step ids (and nothing else).")
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), help="Dagster's log.")
@click.option("--upload", "upload_file", type=click.Path(exists=True, dir_okay=False),
              help="Upload-triggered pipelines: put this file into the landing zone and run it.")
@click.option("--partition", help="Upload-triggered pipelines: the landing-zone key to run.")
def run(file: str, no_optimize: bool, select: tuple[str, ...], quiet: bool,
        log_level: str, upload_file: str | None, partition: str | None) -> None:
    """Materialize FILE's assets through Dagster, in process, with progress."""
    pipeline = _load(file)
    if pipeline.spec.upload is not None:
        if upload_file:
            partition = land_upload(pipeline, upload_file)
        if not partition:
            err.print(f"{file}: pipeline '{pipeline.name}' runs once per upload; give --upload "
                      "FILE or --partition KEY", markup=False, soft_wrap=True)
            sys.exit(2)
    code = run_pipeline(pipeline, optimized=not no_optimize, select=list(select), quiet=quiet,
                        log_level=log_level, partition=partition)
    sys.exit(code)


def land_upload(pipeline: Pipeline, path: str) -> str:
    """Copy a file into the pipeline's landing prefix, as an upload would; returns its key."""
    from datasetgen_resources import files
    from datasetgen_resources.landing import landing_zone_from_env

    assert pipeline.spec.upload is not None
    key = pipeline.spec.upload.prefix + Path(path).name
    files.write_bytes_atomic(landing_zone_from_env(pipeline.base_dir).url_for(key),
                             Path(path).read_bytes())
    return key


def run_pipeline(pipeline: Pipeline, *, optimized: bool = True, select: list[str] | None = None,
                 quiet: bool = False, log_level: str = "WARNING",
                 partition: str | None = None) -> int:
    """Materialize one pipeline in process on the local instance; prints a summary."""
    import dagster as dg

    from datasetgen_assets.instance import ensure_dagster_home
    from datasetgen_assets.pipeline import progress
    from datasetgen_assets.pipeline.factory import asset_key, build_pipeline
    from datasetgen_resources import datasetgen_resources

    ensure_dagster_home(pipeline.base_dir)
    built = build_pipeline(pipeline, optimized=optimized)
    selection = [asset_key(pipeline.name, s) for s in select] if select else None
    total = len(select) if select else len(built["assets"])
    started = time.perf_counter()
    rows: dict[str, Any] = {}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} steps"), TimeElapsedColumn(),
                  console=err, disable=quiet, transient=True) as bar:
        task = bar.add_task(f"pipeline {pipeline.name}", total=total)

        def on_event(event: str, key: str, details: dict[str, Any]) -> None:
            if event == "start":
                bar.update(task, description=f"{key} ({details.get('type')})")
            elif event == "done":
                rows[key] = details.get("rows")
                bar.advance(task)

        unsubscribe = progress.subscribe(on_event)
        try:
            with dg.DagsterInstance.get() as instance:
                if partition is not None:
                    instance.add_dynamic_partitions(f"{pipeline.name}_uploads", [partition])
                result = dg.materialize(
                    built["assets"], resources=datasetgen_resources(), instance=instance,
                    selection=selection, raise_on_error=False, partition_key=partition,
                    tags={"datasetgen/pipeline": pipeline.name},
                    run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
                )
        finally:
            unsubscribe()
    _print_summary(result, pipeline, time.perf_counter() - started)
    return 0 if result.success else 1


def _short(path: str) -> str:
    """A path relative to the current folder when it is inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _print_summary(result: Any, pipeline: Pipeline, seconds: float) -> None:
    table = Table("step", "rows", "stored at / written to", title=f"pipeline {pipeline.name}")
    for mat in result.get_asset_materialization_events():
        data = mat.event_specific_data.materialization
        md = data.metadata
        count = md.get("dagster/row_count")
        report = md["report"].value if "report" in md else {}
        path = report.get("path") if isinstance(report, dict) else None
        path = _short(str(path or (md["path"].value if "path" in md else "")))
        table.add_row(data.asset_key.path[-1], f"{count.value:,}" if count else "", str(path),
                      style="bold" if isinstance(report, dict) and report.get("path") else None)
    console.print(table)
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_CHECK_EVALUATION":
            ch = ev.event_specific_data
            mark = "✓" if ch.passed else "✗"
            console.print(f"  check {mark} {ch.asset_key.path[-1]}.{ch.check_name}",
                          markup=False)
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            data = ev.event_specific_data
            msg = (data.user_failure_data.description if data.user_failure_data
                   else data.error.message if data.error else "failed")
            err.print(f"✗ {ev.step_key}: {msg.strip()}", markup=False, soft_wrap=True)
    status = "succeeded" if result.success else "FAILED"
    console.print(f"run {result.run_id} {status} in {seconds:.1f}s", markup=False)


import datasetgen_assets.commands  # noqa: E402, F401  (registers the other subcommands)

if __name__ == "__main__":  # pragma: no cover
    main()
