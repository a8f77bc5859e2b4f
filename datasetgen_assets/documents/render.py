"""Rendering a PDF page to PNG bytes (for vision models and previews)."""

from __future__ import annotations

from datasetgen_assets.documents.reader import opened
from datasetgen_assets.errors import StepInputError

MAX_DPI = 600


def render_page_png(path: str, page_number: int, dpi: int = 150,
                    password_env: str | None = None) -> bytes:
    """PNG bytes of page `page_number` (1-based) of the PDF at `path` (local or s3://)."""
    if not 1 <= dpi <= MAX_DPI:
        raise StepInputError(f"dpi {dpi} is out of range", fix=f"use 1..{MAX_DPI} (150 is usual)")
    with opened(path, password_env) as doc:
        if not 1 <= page_number <= doc.page_count:
            raise StepInputError(
                f"{path}: there is no page {page_number}; the document has {doc.page_count} "
                "page(s)",
                fix=f"use a 1-based page number from 1 to {doc.page_count}",
            )
        pix = doc.load_page(page_number - 1).get_pixmap(dpi=dpi)
        return bytes(pix.tobytes("png"))
