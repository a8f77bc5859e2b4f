"""Opening PDFs (local or S3) with clear errors, and page-by-page iteration with bounded memory."""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from datasetgen_assets.errors import StepInputError
from datasetgen_resources import files

log = logging.getLogger("datasetgen.documents")

# MuPDF keeps decoded fonts and images in a global store; shrinking it every few pages keeps a
# long document's memory flat instead of letting the store grow to its 256 MB default.
SHRINK_EVERY_PAGES = 25


def pymupdf() -> Any:
    """The PyMuPDF module, imported lazily (about 0.7 s), without its layout-model notice."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pymupdf as mod
    mod.TOOLS.mupdf_display_errors(False)
    mod.TOOLS.mupdf_display_warnings(False)
    return mod


def _open_raw(url: str) -> Any:
    fitz = pymupdf()
    try:
        if files.is_s3(url):
            data = files.read_bytes(url)
            if not data:
                raise _empty(url)
            return fitz.open(stream=data, filetype="pdf")
        if not os.path.isfile(url):
            files.read_bytes(url)  # raises the standard 'file not found' error
        if os.path.getsize(url) == 0:
            raise _empty(url)
        return fitz.open(url, filetype="pdf")
    except StepInputError:
        raise
    except (RuntimeError, ValueError) as exc:  # pymupdf.FileDataError is a RuntimeError
        raise StepInputError(
            f"{url}: not a readable PDF (corrupt or truncated: {exc})",
            fix="re-export or re-download the file; check that the upload finished and that it "
            "is a PDF and not another format renamed to .pdf",
        ) from None


def _empty(url: str) -> StepInputError:
    return StepInputError(f"{url}: file is empty (0 bytes)",
                          fix="check that the export or upload finished")


def open_pdf(url: str, password_env: str | None = None) -> Any:
    """An open, authenticated pymupdf.Document with at least one page.

    Encrypted files need `password_env`: the NAME of an environment variable holding the
    password (the password itself is never logged or put in an error).
    """
    doc = _open_raw(url)
    if doc.needs_pass:
        if not password_env:
            doc.close()
            raise StepInputError(
                f"{url}: the PDF is encrypted (password protected)",
                fix="set `password_env:` to the name of an environment variable that holds the "
                "password (e.g. password_env: REPORT_PDF_PASSWORD) and export that variable",
            )
        password = os.environ.get(password_env)
        if password is None:
            doc.close()
            raise StepInputError(
                f"{url}: the PDF is encrypted and the environment variable '{password_env}' "
                "(password_env) is not set",
                fix=f"export {password_env}=<password> in the environment that runs the "
                "pipeline",
            )
        if not doc.authenticate(password):
            doc.close()
            raise StepInputError(
                f"{url}: wrong password: the value of the environment variable "
                f"'{password_env}' does not open this encrypted PDF",
                fix=f"put the document's user or owner password in {password_env}",
            )
    if doc.page_count == 0:
        doc.close()
        raise StepInputError(
            f"{url}: the PDF has zero pages",
            fix="re-export the document (the page tree is empty), or remove it from the input",
        )
    return doc


@contextmanager
def opened(url: str, password_env: str | None = None) -> Iterator[Any]:
    """`open_pdf` as a context manager that closes the document."""
    doc = open_pdf(url, password_env)
    try:
        yield doc
    finally:
        doc.close()


def page_numbers(doc: Any, max_pages: int | None) -> range:
    """0-based indexes of the pages to read."""
    n = doc.page_count if max_pages is None else min(doc.page_count, max_pages)
    return range(n)


def iter_pages(doc: Any, max_pages: int | None = None) -> Iterator[Any]:
    """Pages one at a time; nothing from earlier pages is kept (streaming, bounded memory)."""
    fitz = pymupdf()
    for i in page_numbers(doc, max_pages):
        page = doc.load_page(i)
        yield page
        del page
        if (i + 1) % SHRINK_EVERY_PAGES == 0:
            fitz.TOOLS.store_shrink(100)


_PDF_DATE = re.compile(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?"
                       r"(?:([Zz])|([+-])(\d{2})'?(\d{2})?'?)?")


def pdf_date(value: str | None) -> datetime | None:
    """A PDF date string ("D:20250102030405Z", "D:20250102030405+01'00'") as a UTC datetime;
    None when absent or unreadable."""
    m = _PDF_DATE.match((value or "").strip())
    if not m:
        return None
    y, mo, d, h, mi, s, _z, sign, oh, om = m.groups()
    try:
        stamp = datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0),
                         int(s or 0))
    except ValueError:
        return None
    offset = timedelta(0)
    if sign:
        offset = timedelta(hours=int(oh), minutes=int(om or 0)) * (1 if sign == "+" else -1)
    return stamp.replace(tzinfo=timezone(offset)).astimezone(UTC)


def metadata(doc: Any, url: str) -> dict[str, Any]:
    """Title, author, subject, keywords, creator, producer, dates, page count, encryption."""
    meta = doc.metadata or {}

    def text(key: str) -> str | None:
        v = (meta.get(key) or "").strip()
        return v or None

    return {
        "file": url,
        "title": text("title"),
        "author": text("author"),
        "subject": text("subject"),
        "keywords": text("keywords"),
        "creator": text("creator"),
        "producer": text("producer"),
        "creation_date": pdf_date(meta.get("creationDate")),
        "mod_date": pdf_date(meta.get("modDate")),
        "pages": doc.page_count,
        "encrypted": bool(meta.get("encryption")) or bool(doc.is_encrypted),
        "pdf_format": text("format"),
        "has_outline": bool(doc.get_toc(simple=True)),
    }
