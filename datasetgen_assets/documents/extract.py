"""Per-document extraction for each `output:` of the pdf step, page by page.

Each function takes an open document and returns plain records (dicts); the pdf step turns
them into DataFrames. Pages are visited one at a time (see reader.iter_pages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datasetgen_assets.documents import ocr
from datasetgen_assets.documents.images import page_images
from datasetgen_assets.documents.reader import iter_pages
from datasetgen_assets.documents.tables import Detector, PageTable, page_tables
from datasetgen_assets.documents.text import Line, page_lines, sections


@dataclass
class Notes:
    """What a run met besides data: warnings, scanned pages, OCR use."""

    warnings: list[str] = field(default_factory=list)
    pages_read: int = 0
    scanned_pages: list[str] = field(default_factory=list)
    ocr_pages: int = 0
    ocr_unavailable: bool = False


def _page_text(page: Any, label: str, notes: Notes, use_ocr: bool,
               language: str) -> tuple[str, bool, str]:
    """(text, scanned, source) of a page; OCR for scanned pages when tesseract exists."""
    text = page.get_text("text")
    if text.strip():
        return text, False, "text"
    if not ocr.is_scanned(page, text):
        return text, False, "none"
    notes.scanned_pages.append(f"{label}#{page.number + 1}")
    if not use_ocr:
        return text, True, "none"
    if not ocr.tesseract_available():
        notes.ocr_unavailable = True
        return text, True, "none"
    try:
        text = ocr.ocr_page_text(page, language)
    except RuntimeError as exc:  # tesseract present but its language data is not
        notes.warnings.append(f"{label} page {page.number + 1}: OCR failed: {exc}")
        return "", True, "none"
    notes.ocr_pages += 1
    return text, True, "ocr"


def pages(doc: Any, label: str, max_pages: int | None, notes: Notes, use_ocr: bool = True,
          language: str = "eng", with_text: bool = False) -> list[dict[str, Any]]:
    """One record per page: size, rotation, counts, scanned flag (and the text)."""
    out = []
    for page in iter_pages(doc, max_pages):
        notes.pages_read += 1
        text, scanned, source = _page_text(page, label, notes, use_ocr, language)
        rec: dict[str, Any] = {"file": label, "page": page.number + 1}
        if with_text:
            rec["text"] = text.strip()
        rec.update({
            "chars": len(text.strip()),
            "words": len(text.split()),
            "scanned": scanned,
            "text_source": source,
        })
        if not with_text:
            rec.update({"width": round(page.rect.width, 2), "height": round(page.rect.height, 2),
                        "rotation": int(page.rotation), "images": len(page.get_images())})
        out.append(rec)
    return out


def section_records(doc: Any, label: str, max_pages: int | None,
                    notes: Notes) -> list[dict[str, Any]]:
    """One record per section (outline headings when present, else font-based headings)."""
    lines: list[Line] = []
    for page in iter_pages(doc, max_pages):
        notes.pages_read += 1
        got = page_lines(page)
        if not got and ocr.is_scanned(page, ""):
            notes.scanned_pages.append(f"{label}#{page.number + 1}")
        lines.extend(got)
    toc = doc.get_toc(simple=True)
    if max_pages is not None:
        toc = [e for e in toc if e[2] <= max_pages]
    return [{"file": label, "section_index": i, "level": s.level, "heading": s.heading,
             "page": s.page, "page_end": s.page_end, "text": s.text, "chars": len(s.text),
             "heading_source": s.source}
            for i, s in enumerate(sections(lines, toc))]


def image_records(doc: Any, label: str, max_pages: int | None,
                  notes: Notes) -> list[dict[str, Any]]:
    """One record per image placement; undecodable images become warnings."""
    out: list[dict[str, Any]] = []
    for page in iter_pages(doc, max_pages):
        notes.pages_read += 1
        for rec in page_images(doc, page, notes.warnings, label):
            out.append({"file": label, **rec})
    return out


def document_tables(doc: Any, max_pages: int | None, notes: Notes, detector: Detector,
                    text_fallback: bool, label: str = "") -> list[PageTable]:
    """Every table of the document in page order; scanned pages (no text layer, so no table
    can be read there) are listed in `notes`."""
    out: list[PageTable] = []
    for page in iter_pages(doc, max_pages):
        notes.pages_read += 1
        found = page_tables(page, detector, text_fallback)
        if not found and ocr.is_scanned(page, page.get_text("text")):
            notes.scanned_pages.append(f"{label}#{page.number + 1}")
        out.extend(found)
    return out
