"""PDFs with known content, drawn with PyMuPDF into a folder: tables with their ground truth
(ruled, unruled, multi-page, decimals), a structured document (outline, headings, an image
with a caption, metadata), and bad inputs (encrypted, corrupt, zero pages, scanned, an image
in an unsupported format, a long text-only file).

Ground truth has the shape of camelot's gt.json: [{"page": 1, "rows": [[cell, ...], ...]}].
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pymupdf

Truth = list[dict[str, Any]]

ROW_H = 18.0
PASSWORD = "s3cret-pw"


def _table(page: pymupdf.Page, x0: float, y0: float, widths: list[float],
           rows: list[list[str]], ruled: bool, numeric_right: bool = True) -> float:
    """Draw `rows` (header first) at (x0, y0); grid lines when `ruled`. Returns the bottom y."""
    xs = [x0]
    for w in widths:
        xs.append(xs[-1] + w)
    for r, row in enumerate(rows):
        top = y0 + r * ROW_H
        for c, text in enumerate(row):
            font = "hebo" if r == 0 else "helv"
            size = 9.0
            tw = pymupdf.get_text_length(text, fontname=font, fontsize=size)
            is_num = numeric_right and r > 0 and _numeric(text)
            x = xs[c + 1] - tw - 4 if is_num else xs[c] + 4
            page.insert_text((x, top + ROW_H - 5), text, fontname=font, fontsize=size)
    bottom = y0 + len(rows) * ROW_H
    if ruled:
        for r in range(len(rows) + 1):
            y = y0 + r * ROW_H
            page.draw_line((xs[0], y), (xs[-1], y), width=0.8)
        for x in xs:
            page.draw_line((x, y0), (x, bottom), width=0.8)
    return bottom


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "").replace("-", "").replace("%", "").isdigit()


def _save(doc: pymupdf.Document, path: Path, **kw: Any) -> Path:
    doc.save(str(path), **kw)
    doc.close()
    return path


def _body(page: pymupdf.Page, y: float, text: str) -> None:
    page.insert_text((72, y), text, fontname="helv", fontsize=10)


PRODUCTS = [
    ["Product", "Region", "Units", "Revenue"],
    ["Widget A", "North", "120", "1,540.25"],
    ["Widget B", "South", "85", "990.10"],
    ["Gadget C", "East", "240", "3,301.00"],
    ["Gizmo D", "West", "15", "210.75"],
    ["Doohickey E", "Central", "301", "4,050.60"],
]


def ruled(folder: Path) -> tuple[Path, Truth]:
    """One page, one ruled 6 x 4 table with a title above it."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Quarterly sales", fontname="hebo", fontsize=14)
    _body(page, 96, "The table below lists units and revenue per product.")
    _table(page, 72, 120, [110, 80, 60, 90], PRODUCTS, ruled=True)
    return _save(doc, folder / "ruled.pdf"), [{"page": 1, "rows": PRODUCTS}]


UNRULED = [
    ["City", "Country", "Population", "Area"],
    ["Lyon", "France", "522,969", "47.87"],
    ["Porto", "Portugal", "231,800", "41.42"],
    ["Graz", "Austria", "291,072", "127.57"],
    ["Ghent", "Belgium", "263,927", "156.18"],
    ["Turku", "Finland", "195,301", "245.67"],
    ["Split", "Croatia", "160,577", "79.33"],
]


def unruled(folder: Path) -> tuple[Path, Truth]:
    """One page, a table laid out by text alignment only (no lines)."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "European cities", fontname="hebo", fontsize=14)
    _table(page, 72, 110, [100, 100, 90, 80], UNRULED, ruled=False)
    return _save(doc, folder / "unruled.pdf"), [{"page": 1, "rows": UNRULED}]


def multipage(folder: Path, pages: int = 3, seed: int = 7) -> tuple[Path, Truth]:
    """A ruled table on each of `pages` pages, with different rows and columns per page."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    truth: Truth = []
    for p in range(pages):
        page = doc.new_page()
        page.insert_text((72, 60), f"Batch report, part {p + 1}", fontname="hebo", fontsize=12)
        ncols = 3 + p % 3
        header = ["Batch", *[f"Metric {c}" for c in range(1, ncols)]]
        rows = [header]
        for r in range(8 + 2 * p):
            values = [str(rng.randint(1, 9999)) for _ in range(ncols - 1)]
            rows.append([f"B-{p + 1}{r:02d}", *values])
        _table(page, 72, 90, [80] + [70] * (ncols - 1), rows, ruled=True)
        truth.append({"page": p + 1, "rows": rows})
    return _save(doc, folder / "multipage.pdf"), truth


def decimals(folder: Path, seed: int = 3) -> tuple[Path, Truth]:
    """A ruled table of numbers with decimals, signs and thousands separators."""
    rng = random.Random(seed)
    rows = [["Sensor", "Mean", "Min", "Max", "Delta %"]]
    for i in range(12):
        lo = rng.uniform(-50, 50)
        hi = lo + rng.uniform(0.5, 3000)
        rows.append([f"S{i + 1:02d}", f"{(lo + hi) / 2:,.2f}", f"{lo:.2f}", f"{hi:,.3f}",
                     f"{rng.uniform(-9, 9):.1f}%"])
    rows[1][1] = "3.30"  # the value PyMuPDF's Table.extract() turns into "330\n."
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "Sensor readings", fontname="hebo", fontsize=12)
    _table(page, 60, 80, [70, 90, 80, 100, 70], rows, ruled=True)
    return _save(doc, folder / "decimals.pdf"), [{"page": 1, "rows": rows}]


def table_set(folder: Path) -> list[tuple[str, Path, Truth]]:
    """The four table fixtures as (kind, path, truth)."""
    return [("ruled", *ruled(folder)), ("unruled", *unruled(folder)),
            ("multi-page", *multipage(folder)), ("decimals", *decimals(folder))]


def _png(width: int, height: int, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, width, height), False)
    pix.set_rect(pix.irect, rgb)
    return pix.tobytes("png")


def document(folder: Path, with_outline: bool = True) -> Path:
    """Two pages: a title, headings in larger/bold fonts, body text, an image with a caption
    below it, metadata, and (optionally) an outline."""
    doc = pymupdf.open()
    p1 = doc.new_page()
    p1.insert_text((72, 80), "Annual Report", fontname="hebo", fontsize=22)
    p1.insert_text((72, 120), "1 Introduction", fontname="hebo", fontsize=15)
    _body(p1, 140, "This report describes the year in review for the company.")
    _body(p1, 154, "It covers sales, operations and the outlook for next year.")
    p1.insert_text((72, 190), "1.1 Scope", fontname="hebo", fontsize=12)
    _body(p1, 208, "Only the European business is in scope for this edition.")
    p1.insert_image(pymupdf.Rect(72, 230, 272, 330), stream=_png(200, 100))
    p1.insert_text((72, 346), "Figure 1: Revenue by month in 2025", fontname="helv", fontsize=9)
    _body(p1, 380, "Revenue grew steadily, as the figure above shows.")
    p2 = doc.new_page()
    p2.insert_text((72, 80), "2 Operations", fontname="hebo", fontsize=15)
    _body(p2, 100, "Operations ran three plants at full capacity all year.")
    _body(p2, 114, "Maintenance windows were scheduled in August.")
    p2.insert_text((72, 150), "3 Outlook", fontname="hebo", fontsize=15)
    _body(p2, 170, "We expect moderate growth next year.")
    doc.set_metadata({"title": "Annual Report 2025", "author": "Jane Analyst",
                      "subject": "year in review", "creationDate": "D:20250102030405Z",
                      "modDate": "D:20250203040506Z"})
    if with_outline:
        doc.set_toc([[1, "1 Introduction", 1], [2, "1.1 Scope", 1], [1, "2 Operations", 2],
                     [1, "3 Outlook", 2]])
    return _save(doc, folder / ("report.pdf" if with_outline else "report_no_outline.pdf"))


def encrypted(folder: Path) -> Path:
    """The ruled table, AES-256 encrypted with user password PASSWORD."""
    src, _ = ruled(folder)
    doc = pymupdf.open(src)
    return _save(doc, folder / "encrypted.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256,
                 user_pw=PASSWORD, owner_pw=PASSWORD + "-owner")


def corrupt(folder: Path) -> Path:
    """Bytes that are not a PDF (a truncated header and junk)."""
    path = folder / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3 this file was cut off during upload \x00\x01\x02" * 3)
    return path


def zero_pages(folder: Path) -> Path:
    """A syntactically valid PDF whose page tree is empty (PyMuPDF refuses to save one)."""
    path = folder / "zero.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                     b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
                     b"trailer<</Root 1 0 R>>\n%%EOF\n")
    return path


SCANNED_TEXT = ["Invoice number 4711", "Total amount due 123.45 EUR"]


def scanned(folder: Path) -> Path:
    """Page 1 has a text layer; page 2 is only a page-sized image of printed text (a scan:
    OCR can read it, text extraction finds nothing)."""
    src = pymupdf.open()
    p = src.new_page()
    for i, line in enumerate(SCANNED_TEXT):
        p.insert_text((72, 100 + 40 * i), line, fontname="helv", fontsize=20)
    png = p.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY).tobytes("png")
    src.close()
    doc = pymupdf.open()
    p1 = doc.new_page()
    _body(p1, 80, "A normal page with a text layer.")
    p2 = doc.new_page()
    p2.insert_image(p2.rect, stream=png)
    return _save(doc, folder / "scanned.pdf")


def unsupported_image(folder: Path) -> Path:
    """A page with one good PNG (captioned) and two image XObjects nothing can decode: one
    with an unknown filter, one claiming JPEG (DCTDecode) whose bytes are not a JPEG."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_image(pymupdf.Rect(72, 72, 172, 172), stream=_png(50, 50))
    page.insert_text((72, 190), "Figure 2: A good image", fontname="helv", fontsize=9)
    bad = {"ImUnknown": "/FooDecode", "ImNotJpeg": "/DCTDecode"}
    res = doc.xref_get_key(page.xref, "Resources")
    res_xref = int(res[1].split()[0]) if res[0] == "xref" else None
    content = b""
    for i, (name, filt) in enumerate(bad.items()):
        data = f"not an image stream at all ({name})".encode()
        xref = doc.get_new_xref()
        doc.update_object(xref, "<< /Type /XObject /Subtype /Image /Width 64 /Height 64 "
                                "/BitsPerComponent 8 /ColorSpace /DeviceRGB "
                                f"/Filter {filt} /Length {len(data)} >>")
        doc.update_stream(xref, data, compress=False)
        doc.xref_set_key(xref, "Filter", filt)  # update_stream drops the key
        if res_xref is not None:
            doc.xref_set_key(res_xref, f"XObject/{name}", f"{xref} 0 R")
        else:
            doc.xref_set_key(page.xref, f"Resources/XObject/{name}", f"{xref} 0 R")
        content += f"q 100 0 0 100 {300 + 120 * i} 500 cm /{name} Do Q\n".encode()
    cxref = doc.get_new_xref()
    doc.update_object(cxref, "<< >>")
    doc.update_stream(cxref, content)
    contents = page.get_contents()
    doc.xref_set_key(page.xref, "Contents",
                     "[" + " ".join(f"{c} 0 R" for c in [*contents, cxref]) + "]")
    return _save(doc, folder / "bad_image.pdf")


def large(folder: Path, pages: int = 1000) -> Path:
    """`pages` text-only pages (a "Chapter N" heading and a paragraph each).

    The first page is drawn with insert_text; the others reuse its resources and a copy of its
    content stream with the chapter number changed (10x faster than drawing each page)."""
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. "
    doc = pymupdf.open()
    first = doc.new_page()
    first.insert_text((72, 72), "Chapter 1", fontname="hebo", fontsize=16)
    first.insert_text((72, 100), [line] * 6, fontname="helv", fontsize=10)
    resources = doc.xref_get_key(first.xref, "Resources")[1]
    template = b"".join(doc.xref_stream(x) for x in first.get_contents())
    chapter_1 = b"<" + b"Chapter 1".hex().encode() + b">"
    assert chapter_1 in template, "insert_text no longer writes hex strings"
    del first
    for i in range(2, pages + 1):
        page = doc.new_page()
        page_xref = page.xref
        del page
        content = doc.get_new_xref()
        doc.update_object(content, "<<>>")
        doc.update_stream(content, template.replace(
            chapter_1, b"<" + f"Chapter {i}".encode().hex().encode() + b">"))
        doc.xref_set_key(page_xref, "Resources", resources)
        doc.xref_set_key(page_xref, "Contents", f"{content} 0 R")
    return _save(doc, folder / "large.pdf")
