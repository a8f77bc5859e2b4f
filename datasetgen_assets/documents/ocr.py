"""Scanned pages (no text layer, a page-sized image) and OCR through tesseract when installed."""

from __future__ import annotations

import shutil
from typing import Any

SCAN_COVERAGE = 0.5  # images covering at least half the page, and no text: a scanned page
NO_TESSERACT_NOTE = (
    "scanned pages were flagged but not OCR'd: tesseract is not installed (install the "
    "`tesseract-ocr` system package with its language data, e.g. apt-get install "
    "tesseract-ocr, and set TESSDATA_PREFIX if PyMuPDF does not find it)"
)


def tesseract_available() -> bool:
    """True when the `tesseract` executable is on PATH."""
    return shutil.which("tesseract") is not None


def image_coverage(page: Any, infos: list[dict[str, Any]] | None = None) -> float:
    """Share of the page area covered by image placements (clipped to the page; overlaps may
    count twice, capped at 1)."""
    area = abs(page.rect)
    if area <= 0:
        return 0.0
    infos = page.get_image_info() if infos is None else infos
    covered = 0.0
    for info in infos:
        r = page.rect & info["bbox"]
        covered += abs(r) if not r.is_empty else 0.0
    return min(1.0, covered / area)


def is_scanned(page: Any, text: str, infos: list[dict[str, Any]] | None = None) -> bool:
    """A page without a text layer whose images cover most of it."""
    return not text.strip() and image_coverage(page, infos) >= SCAN_COVERAGE


def ocr_page_text(page: Any, language: str = "eng", dpi: int = 300) -> str:
    """The page's text recognized by tesseract (through PyMuPDF's OCR text page)."""
    textpage = page.get_textpage_ocr(language=language, dpi=dpi, full=True)
    return str(page.get_text("text", textpage=textpage))
