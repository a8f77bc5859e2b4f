"""`datasetgen pdf FILE [--tables|--text] [--json]`: inspect a PDF's tables or sections."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click
from rich.table import Table

from datasetgen_assets.cli import console, err, main
from datasetgen_assets.errors import DatasetGenError

PREVIEW_ROWS = 15


def _tables(path: str, detector: str, text_fallback: bool, min_confidence: float,
            max_pages: int | None, password_env: str | None) -> list[dict[str, Any]]:
    from datasetgen_assets.documents import extract, reader

    notes = extract.Notes()
    with reader.opened(path, password_env) as doc:
        found = extract.document_tables(doc, max_pages, notes, detector,  # type: ignore[arg-type]
                                        text_fallback)
    return [{"page": t.page, "index": t.index, "bbox": list(t.bbox),
             "confidence": t.confidence, "method": t.method, "confidence_parts": t.features,
             "rows": t.rows}
            for t in found if t.confidence >= min_confidence]


def _sections(path: str, max_pages: int | None, password_env: str | None) -> dict[str, Any]:
    from datasetgen_assets.documents import extract, reader

    notes = extract.Notes()
    with reader.opened(path, password_env) as doc:
        meta = reader.metadata(doc, path)
        secs = extract.section_records(doc, path, max_pages, notes)
    meta = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in meta.items()}
    return {"metadata": meta, "scanned_pages": notes.scanned_pages,
            "sections": [{k: s[k] for k in ("level", "heading", "page", "page_end", "text",
                                             "heading_source")} for s in secs]}


def _print_tables(path: str, tables: list[dict[str, Any]]) -> None:
    if not tables:
        console.print(f"{path}: no tables found (try --detector layout or --text-fallback)",
                      markup=False)
    for t in tables:
        rows = t["rows"]
        width = max(len(r) for r in rows)
        bbox = ", ".join(f"{v:g}" for v in t["bbox"])
        table = Table(*[str(c) for c in rows[0]] + [""] * (width - len(rows[0])),
                      title=f"page {t['page']} table {t['index']}: {len(rows)} x {width}, "
                            f"confidence {t['confidence']:.2f} ({t['method']}), bbox [{bbox}]")
        for row in rows[1:PREVIEW_ROWS + 1]:
            table.add_row(*[str(c) for c in row] + [""] * (width - len(row)))
        console.print(table)
        if len(rows) > PREVIEW_ROWS + 1:
            console.print(f"  ... {len(rows) - PREVIEW_ROWS - 1} more rows", markup=False)


def _print_sections(doc: dict[str, Any]) -> None:
    meta = doc["metadata"]
    console.print(f"{meta['file']}: {meta['pages']} page(s), title {meta['title']!r}, author "
                  f"{meta['author']!r}", markup=False, soft_wrap=True)
    for s in doc["sections"]:
        indent = "  " * max(s["level"] - 1, 0)
        head = s["heading"] or "(before the first heading)"
        preview = " ".join(s["text"].split())[:100]
        console.print(f"{indent}{head}  [p. {s['page']}]", markup=False, style="bold")
        if preview:
            console.print(f"{indent}  {preview}", markup=False, soft_wrap=True)
    if doc["scanned_pages"]:
        console.print(f"scanned pages (no text layer): {', '.join(doc['scanned_pages'])}",
                      markup=False)


@main.command("pdf")
@click.argument("file")
@click.option("--tables", "mode", flag_value="tables", default=True,
              help="Show the tables (the default).")
@click.option("--text", "mode", flag_value="text", help="Show the text by sections.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--detector", type=click.Choice(["lines", "layout"]), default="lines",
              help="Table detector (lines: ruled tables, fast; layout: PyMuPDF's layout model).")
@click.option("--text-fallback", is_flag=True,
              help="Guess tables from text alignment on pages without ruled tables.")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.0,
              help="Hide tables below this confidence.")
@click.option("--max-pages", type=click.IntRange(min=1), default=None,
              help="Read at most this many pages.")
@click.option("--password-env", default=None,
              help="NAME of an environment variable holding the password of an encrypted PDF.")
def pdf_command(file: str, mode: str, as_json: bool, detector: str, text_fallback: bool,
                min_confidence: float, max_pages: int | None, password_env: str | None) -> None:
    """Tables (page, bbox, confidence, cells) or text by sections of the PDF FILE (local or
    s3://). With --tables --json: a list of {page, bbox, confidence, rows}, rows being lists
    of cell strings, header row first."""
    if password_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", password_env):
        raise click.BadParameter("give the NAME of an environment variable that holds the "
                                 "password, never the password itself",
                                 param_hint="--password-env")
    try:
        if mode == "text":
            doc = _sections(file, max_pages, password_env)
            if as_json:
                click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
            else:
                _print_sections(doc)
            return
        tables = _tables(file, detector, text_fallback, min_confidence, max_pages,
                         password_env)
    except DatasetGenError as exc:
        err.print(f"✗ {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(tables, indent=2, ensure_ascii=False))
    else:
        _print_tables(file, tables)
