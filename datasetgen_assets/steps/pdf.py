"""`pdf` source: tables, text, sections, metadata, images or pages of PDF files (PyMuPDF).

One step gives one frame (`output:`). Tables come as one long table with provenance (file,
page, table_index, bbox, confidence, method, row_index, col_0..col_N), or, with `table:`, one
selected table with its header row as the columns; several `pdf` steps give several assets.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from datasetgen_assets.documents import extract, reader
from datasetgen_assets.documents.ocr import NO_TESSERACT_NOTE
from datasetgen_assets.documents.tables import PageTable, header_columns
from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.registry import (
    Columns,
    EnvVarName,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    register,
)
from datasetgen_resources import files

Output = Literal["tables", "text", "sections", "metadata", "images", "pages"]
TABLE_COLUMNS = ["file", "page", "table_index", "bbox", "confidence", "method", "row_index"]
COLUMNS: dict[str, list[str]] = {
    "text": ["file", "page", "text", "chars", "words", "scanned", "text_source"],
    "pages": ["file", "page", "chars", "words", "scanned", "text_source", "width", "height",
              "rotation", "images"],
    "sections": ["file", "section_index", "level", "heading", "page", "page_end", "text",
                 "chars", "heading_source"],
    "metadata": ["file", "title", "author", "subject", "keywords", "creator", "producer",
                 "creation_date", "mod_date", "pages", "encrypted", "pdf_format", "has_outline"],
    "images": ["file", "page", "image_index", "xref", "width", "height", "bbox", "format",
               "colorspace", "bits_per_component", "caption"],
}
INFER_MAX_PAGES = 20  # planning reads a selected table's header only from files this short
MAX_WARNINGS_IN_REPORT = 50


class TableSelector(StepConfig):
    """Which table to return: the `index`-th (0-based) table among those matching `page`
    (1-based) and `header_contains` (case-insensitive text of the header row)."""

    page: int | None = Field(None, ge=1, description="Only tables on this page (1-based).")
    index: int = Field(0, ge=0, description="0-based among the matching tables.")
    header_contains: str | None = Field(
        None, min_length=1, description="Only tables whose header row contains this text.")


class PdfConfig(StepConfig):
    """Config of the `pdf` step."""

    path: str = Field(description="A PDF file, a glob such as docs/*.pdf, or an S3 URL/prefix "
                      "pattern such as s3://bucket/reports/*.pdf; files are read in name order.")
    output: Output = Field("tables", description="tables | text (per page) | sections | "
                           "metadata (per file) | images | pages (per-page summary).")
    table: int | TableSelector | None = Field(
        None, description="Return ONE table with its header row as columns: a 0-based index "
        "over all tables in file and page order, or {page, index, header_contains}.")
    min_confidence: float = Field(0.0, ge=0, le=1, description="Drop tables whose confidence "
                                  "(0..1, see the README) is below this.")
    detector: Literal["lines", "layout"] = Field(
        "lines", description="lines: ruled tables, fast, no layout model; layout: PyMuPDF's "
        "ONNX layout model (AGPL component), slower, also some unruled tables.")
    text_fallback: bool = Field(False, description="On pages where the detector finds no "
                                "table, guess tables from text alignment (low confidence).")
    password_env: EnvVarName | None = Field(
        None, description="NAME of an environment variable holding the password of "
        "encrypted PDFs (never the password itself).")
    max_pages: int | None = Field(None, ge=1, description="Read at most this many pages of "
                                  "each file.")
    ocr: bool = Field(True, description="OCR scanned pages when tesseract is installed.")
    ocr_language: str = Field("eng", pattern=r"^[A-Za-z_+]+$",
                              description="tesseract language(s), e.g. eng or deu+eng.")

    @model_validator(mode="after")
    def _table_needs_tables(self) -> PdfConfig:
        if self.table is not None and self.output != "tables":
            raise ValueError(f"`table:` selects a table, but output is '{self.output}'; set "
                             "`output: tables` or remove `table:`")
        return self


def _urls(config: PdfConfig, ctx: StepContext) -> list[str]:
    return files.expand(ctx.resolve(config.path))


def _table_rows(t: PageTable, label: str, index: int, width: int) -> list[dict[str, Any]]:
    out = []
    for r, row in enumerate(t.rows):
        rec: dict[str, Any] = {
            "file": label, "page": t.page, "table_index": index,
            "bbox": ",".join(f"{v:g}" for v in t.bbox), "confidence": t.confidence,
            "method": t.method, "row_index": r}
        for c in range(width):
            rec[f"col_{c}"] = row[c] if c < len(row) else None
        out.append(rec)
    return out


def _matches(t: PageTable, sel: TableSelector) -> bool:
    if sel.page is not None and t.page != sel.page:
        return False
    if sel.header_contains is not None:
        header = " ".join(t.rows[0]) if t.rows else ""
        return sel.header_contains.lower() in header.lower()
    return True


def _describe(found: list[tuple[str, int, PageTable]]) -> str:
    shown = [f"{os.path.basename(u)} page {t.page} #{i} ({len(t.rows)}x{t.n_cols}, conf "
             f"{t.confidence:.2f}, header: {' | '.join(t.rows[0])[:60]!r})"
             for u, i, t in found[:10]]
    more = f" ... and {len(found) - 10} more" if len(found) > 10 else ""
    return "; ".join(shown) + more if shown else "none"


def select_table(found: list[tuple[str, int, PageTable]], sel: int | TableSelector,
                 where: str) -> tuple[str, int, PageTable]:
    """The selected (file, index, table); StepInputError listing the tables when none fits."""
    if isinstance(sel, int):
        if sel < len(found):
            return found[sel]
        what = f"table {sel} (0-based)"
    else:
        hits = [f for f in found if _matches(f[2], sel)]
        if sel.index < len(hits):
            return hits[sel.index]
        what = f"a table matching {sel.model_dump(exclude_none=True)}"
    raise StepInputError(
        f"{where}: field 'table': there is no {what}; {len(found)} table(s) found "
        f"(after min_confidence): {_describe(found)}",
        fix="pick one of the tables listed (page is 1-based, index 0-based), lower "
        "`min_confidence:`, or try `detector: layout` / `text_fallback: true`",
    )


def _table_frame(t: PageTable) -> pd.DataFrame:
    cols = header_columns(t.rows[0] + [""] * (t.n_cols - len(t.rows[0])))
    body = [row + [""] * (t.n_cols - len(row)) for row in t.rows[1:]]
    return pd.DataFrame(body, columns=cols, dtype="str")


def _tables(config: PdfConfig, urls: list[str], notes: extract.Notes,
            report: dict[str, Any]) -> pd.DataFrame:
    found: list[tuple[str, int, PageTable]] = []
    below = 0
    for url in urls:
        with reader.opened(url, config.password_env) as doc:
            tables = extract.document_tables(doc, config.max_pages, notes, config.detector,
                                             config.text_fallback, url)
        for i, t in enumerate(tables):
            if t.confidence >= config.min_confidence:
                found.append((url, i, t))
            else:
                below += 1
    report.update({"tables_found": len(found) + below, "tables_below_min_confidence": below,
                   "detector": config.detector, "text_fallback": config.text_fallback})
    if config.table is not None:
        url, index, t = select_table(found, config.table, config.path)
        report["table"] = {"file": url, "page": t.page, "table_index": index,
                           "bbox": list(t.bbox), "confidence": t.confidence,
                           "method": t.method, "confidence_parts": t.features}
        return _table_frame(t)
    report["tables"] = [{"file": u, "page": t.page, "table_index": i, "rows": len(t.rows),
                         "cols": t.n_cols, "confidence": t.confidence, "method": t.method}
                        for u, i, t in found[:MAX_WARNINGS_IN_REPORT]]
    width = max((t.n_cols for _, _, t in found), default=0)
    records = [rec for u, i, t in found for rec in _table_rows(t, u, i, width)]
    cols = TABLE_COLUMNS + [f"col_{c}" for c in range(width)]
    frame = pd.DataFrame.from_records(records, columns=cols)
    return frame.astype({c: "str" for c in cols if c.startswith("col_")}) if records else frame


def run(inputs: list[pd.DataFrame], config: PdfConfig, ctx: StepContext) -> StepResult:
    """Read `config.output` from every PDF `config.path` matches."""
    urls = _urls(config, ctx)
    notes = extract.Notes()
    report: dict[str, Any] = {"files_read": len(urls), "output": config.output}
    if config.output == "tables":
        frame = _tables(config, urls, notes, report)
    else:
        records: list[dict[str, Any]] = []
        for url in urls:
            with reader.opened(url, config.password_env) as doc:
                records.extend(_records(config, doc, url, notes))
            ctx.log.info("read %s from %s", config.output, url)
        frame = pd.DataFrame.from_records(records, columns=COLUMNS[config.output])
    report.update({"rows": len(frame), "columns": [str(c) for c in frame.columns],
                   "pages_read": notes.pages_read,
                   "scanned_pages": notes.scanned_pages[:MAX_WARNINGS_IN_REPORT],
                   "ocr_pages": notes.ocr_pages})
    if notes.ocr_unavailable:
        report["ocr_note"] = NO_TESSERACT_NOTE
        ctx.log.warning(NO_TESSERACT_NOTE)
    if notes.warnings:
        report["warnings"] = notes.warnings[:MAX_WARNINGS_IN_REPORT]
        for w in notes.warnings[:MAX_WARNINGS_IN_REPORT]:
            ctx.log.warning(w)
    return StepResult(frame.reset_index(drop=True), report)


def _records(config: PdfConfig, doc: Any, url: str,
             notes: extract.Notes) -> list[dict[str, Any]]:
    out = config.output
    if out == "metadata":
        return [reader.metadata(doc, url)]
    if out in ("text", "pages"):
        return extract.pages(doc, url, config.max_pages, notes, config.ocr, config.ocr_language,
                             with_text=out == "text")
    if out == "sections":
        return extract.section_records(doc, url, config.max_pages, notes)
    return extract.image_records(doc, url, config.max_pages, notes)


def _local_files(config: PdfConfig, ctx: StepContext) -> list[str] | None:
    path = ctx.resolve(config.path) if "{upload}" not in config.path else ""
    if not path or "://" in path:
        return None
    found = sorted(glob.glob(path, recursive=True)) if glob.has_magic(path) else [path]
    found = [p for p in found if os.path.isfile(p) and os.path.getsize(p) > 0 and ctx.may_read(p)]
    return found or None


def infer_columns(config: PdfConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    """Fixed columns per output; a selected table's header when a short local file has it;
    None for the long table (its col_N width depends on the documents)."""
    if config.output != "tables":
        return list(COLUMNS[config.output])
    if config.table is None:
        return None
    paths = _local_files(config, ctx)
    if paths is None or len(paths) != 1:
        return None
    try:
        with reader.opened(paths[0], config.password_env) as doc:
            if min(doc.page_count, config.max_pages or doc.page_count) > INFER_MAX_PAGES:
                return None
        cfg = config.model_copy(update={"path": paths[0]})
        return [str(c) for c in _tables(cfg, paths, extract.Notes(), {}).columns]
    except Exception:  # a planning hook fails closed: the run reports the real error
        return None


def estimate_rows(config: PdfConfig, inputs: list[int | None], ctx: StepContext) -> int | None:
    """Files for metadata; pages for text and pages; None otherwise (or for remote files)."""
    paths = _local_files(config, ctx)
    if paths is None or config.output not in ("metadata", "text", "pages"):
        return None
    if config.output == "metadata":
        return len(paths)
    total = 0
    try:
        for p in paths:
            with reader.opened(p, config.password_env) as doc:
                total += min(doc.page_count, config.max_pages or doc.page_count)
    except Exception:
        return None
    return total


register(
    StepType(
        name="pdf",
        kind="source",
        config_model=PdfConfig,
        run=run,
        description="Tables (with confidence), text, sections, metadata, images or pages of PDF "
        "files (local, glob or S3).",
        min_inputs=0,
        max_inputs=0,
        kinds=("pdf", "pandas"),
        infer_columns=infer_columns,
        estimate_rows=estimate_rows,
    )
)
