"""`datasetgen profile FILE... [--json]`: profile files the source steps read."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from datasetgen_assets.cli import console, err, main
from datasetgen_assets.errors import DatasetGenError

SOURCE_BY_EXTENSION = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".json": "json", ".jsonl": "json",
    ".ndjson": "json", ".xlsx": "excel", ".xlsm": "excel", ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip


def read_source(path: str, delimiter: str | None = None, encoding: str | None = None) -> Any:
    """The DataFrame of `path`, read by the source step its extension names."""
    import pandas as pd

    from datasetgen_assets.steps.registry import StepContext, get_step_type

    suffix = Path(path.split("?")[0]).suffix.lower()
    kind = SOURCE_BY_EXTENSION.get(suffix)
    if kind is None:
        raise click.UsageError(
            f"{path}: unknown file type '{suffix or '(none)'}'; profile reads "
            + ", ".join(sorted(SOURCE_BY_EXTENSION)))
    fields: dict[str, Any] = {"path": path}
    if kind == "csv":
        fields["delimiter"] = delimiter or ("\t" if suffix == ".tsv" else ",")
        if encoding:
            fields["encoding"] = encoding
    st = get_step_type(kind)
    config = st.config_model(**fields)
    frame = st.run([], config, StepContext(pipeline="profile", step_id=Path(path).stem)).frame
    assert isinstance(frame, pd.DataFrame)
    return frame


def _llm_client() -> Any:
    """A client of the configured LLM resource (providers from $DATASETGEN_LLM_PROVIDERS or
    the resource's defaults), or None when it cannot be set up."""
    try:
        from datasetgen_resources.llm.resource import LLMResource

        return LLMResource().get_client().child()
    except Exception as exc:  # no provider available: descriptions stay rule-based
        err.print(f"LLM not available ({type(exc).__name__}: {exc})", markup=False)
        return None


def _print(profile: Any) -> None:
    from datasetgen_assets.profiling.report import type_details

    table = Table("column", "type", "nulls", "unique", "min .. max", "pattern", "PII",
                  title=f"{profile.name}: {profile.row_count:,} rows x {profile.column_count} "
                        f"columns, {profile.duplicate_rows:,} duplicate rows")
    for c in profile.columns:
        rng = ""
        if c.stats is not None and c.stats.min is not None:
            rng = f"{c.stats.min} .. {c.stats.max}"
        elif c.min_length is not None:
            rng = f"len {c.min_length} .. {c.max_length}"
        table.add_row(c.name, type_details(c), f"{c.null_ratio:.1%}", f"{c.unique_ratio:.1%}",
                      rng, c.pattern or "", c.pii or "")
    console.print(table)
    if profile.primary_keys:
        console.print("candidate keys: " + "; ".join(" + ".join(k) for k in profile.primary_keys),
                      markup=False)
    for fk in profile.foreign_keys:
        console.print(f"foreign key: {fk.column} -> {fk.references}.{fk.referenced_column} "
                      f"({fk.inclusion:.0%} of values found)", markup=False)
    for issue in profile.issues:
        where = f" [{issue.column}]" if issue.column else ""
        console.print(f"  ! {issue.kind}{where}: {issue.detail}", markup=False, soft_wrap=True)
    for c in profile.columns:
        console.print(f"  {c.name}: {c.description}", markup=False, soft_wrap=True)
    if profile.suggested_transformations:
        console.print("suggested: " + "; ".join(profile.suggested_transformations), markup=False,
                      soft_wrap=True)
    console.print(f"descriptions: {profile.descriptions}. Types and patterns inferred on up to "
                  f"{profile.inference_sample_rows:,} distinct values per column; counts and "
                  "stats are exact.", markup=False, soft_wrap=True)


@main.command("profile")
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@click.option("--schema-out", type=click.Path(dir_okay=False),
              help="Also write the JSON schema document here (one file only).")
@click.option("--llm", "use_llm", is_flag=True,
              help="Describe columns through the configured LLM (rule-based without one).")
@click.option("--null-token", "null_tokens", multiple=True,
              help="An extra value meaning null (repeatable).")
@click.option("--dayfirst/--monthfirst", default=None,
              help="Decide dates such as 01/02/2024 when the data cannot.")
@click.option("--decimal-separator", type=click.Choice([".", ","]), default=None,
              help="Decide numbers such as 1,234 when the data cannot.")
@click.option("--sample-size", type=click.IntRange(min=100), default=None,
              help="Distinct values per column used for type inference.")
@click.option("--delimiter", default=None, help="CSV field separator.")
@click.option("--encoding", default=None, help="CSV text encoding (detected when omitted).")
def profile_command(files: tuple[str, ...], as_json: bool, schema_out: str | None,
                    use_llm: bool, null_tokens: tuple[str, ...], dayfirst: bool | None,
                    decimal_separator: str | None, sample_size: int | None,
                    delimiter: str | None, encoding: str | None) -> None:
    """Profile FILES (csv, json, jsonl, xlsx, parquet): semantic type of every column, stats,
    keys, PII, quality issues. Several files: foreign keys between them too."""
    from datasetgen_assets.profiling import DEFAULT_NULL_TOKENS, ProfileOptions, profile_datasets

    if schema_out and len(files) != 1:
        raise click.UsageError("--schema-out needs exactly one FILE")
    opts: dict[str, Any] = {"null_tokens": [*DEFAULT_NULL_TOKENS, *null_tokens],
                            "dayfirst": dayfirst, "decimal_separator": decimal_separator}
    if sample_size:
        opts["sample_size"] = sample_size
    frames = {}
    for path in files:
        try:
            frames[_unique_name(Path(path).stem, frames)] = read_source(path, delimiter, encoding)
        except DatasetGenError as exc:
            err.print(f"✗ {path}: {exc}", markup=False, soft_wrap=True)
            sys.exit(2)
        except (ValueError, OSError) as exc:
            err.print(f"✗ {path}: cannot read: {exc}", markup=False, soft_wrap=True)
            sys.exit(2)
    llm = _llm_client() if use_llm else None
    if use_llm and llm is None:
        err.print("no LLM configured: descriptions are rule-based", markup=False)
    profiles = profile_datasets(frames, options=ProfileOptions(**opts), llm=llm)
    if schema_out:
        only = next(iter(profiles.values()))
        Path(schema_out).write_text(json.dumps(only.to_json_schema(), indent=2,
                                               ensure_ascii=False))
    if as_json:
        docs = [p.model_dump(mode="json", exclude_none=True) for p in profiles.values()]
        out = docs[0] if len(docs) == 1 else {"datasets": docs}
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    for p in profiles.values():
        _print(p)


def _unique_name(name: str, taken: dict[str, Any]) -> str:
    out, i = name, 1
    while out in taken:
        i += 1
        out = f"{name}_{i}"
    return out
