"""Images on a PDF page: page, pixel size, placement box, format and the nearby caption.

Images whose stream no decoder can read are skipped with a warning: an unknown /Filter, or a
stream whose declared format does not match its bytes (a DCTDecode stream that is not a JPEG,
a JPXDecode stream that is not JPEG 2000). MuPDF itself renders such images as blank pixels
without an error, so the check is ours.
"""

from __future__ import annotations

import re
from typing import Any

# PDF stream filters MuPDF decodes, and the image format each final filter means.
FORMAT_BY_FILTER = {
    "": "raw", "FlateDecode": "raw", "LZWDecode": "raw", "RunLengthDecode": "raw",
    "ASCIIHexDecode": "raw", "ASCII85Decode": "raw", "DCTDecode": "jpeg",
    "JPXDecode": "jpx", "JBIG2Decode": "jbig2", "CCITTFaxDecode": "ccitt",
}  # fmt: skip
JPEG_MAGIC = b"\xff\xd8"
JPX_MAGIC = (b"\x00\x00\x00\x0cjP", b"\xffO\xffQ")
CAPTION = re.compile(r"^\s*(fig(ure)?|image|photo|chart|graph|plate|exhibit|illustration)"
                     r"\.?\s*[\dIVXivx]*[.:\-\u2013]?\s", re.IGNORECASE)
CAPTION_MAX_DISTANCE = 72.0  # points between the image and its caption block


def _filters(doc: Any, xref: int) -> list[str]:
    kind, value = doc.xref_get_key(xref, "Filter")
    if kind in ("null", "none"):
        return []
    return [f for f in re.split(r"[\s\[\]/]+", value) if f]


def image_problem(doc: Any, xref: int) -> str | None:
    """Why the image XObject `xref` cannot be decoded, or None when it can."""
    if xref <= 0:
        return None  # inline image: decoded with the page content
    filters = _filters(doc, xref)
    unknown = [f for f in filters if f not in FORMAT_BY_FILTER]
    if unknown:
        return f"unsupported image format (stream filter /{unknown[0]})"
    if len(filters) == 1 and filters[0] in ("DCTDecode", "JPXDecode"):
        head = doc.xref_stream_raw(xref)[:12]
        if filters[0] == "DCTDecode" and not head.startswith(JPEG_MAGIC):
            return "declared JPEG (DCTDecode) but the stream is not a JPEG"
        if filters[0] == "JPXDecode" and not head.startswith(JPX_MAGIC):
            return "declared JPEG 2000 (JPXDecode) but the stream is not JPEG 2000"
    return None


def image_format(doc: Any, xref: int) -> str:
    """jpeg, jpx, jbig2, ccitt or raw (pixels in a generic compression), from the filters."""
    filters = _filters(doc, xref) if xref > 0 else []
    return FORMAT_BY_FILTER.get(filters[-1], "raw") if filters else "raw"


def caption_near(blocks: list[tuple[Any, ...]], bbox: tuple[float, ...]) -> str | None:
    """The nearest text block below or above `bbox` that reads like a caption
    ("Figure 1: ...", "Fig. 2", "Chart 3 -"), within CAPTION_MAX_DISTANCE points."""
    x0, y0, x1, y1 = bbox
    best: tuple[float, str] | None = None
    for b in blocks:
        if len(b) > 6 and b[6] != 0:  # not a text block
            continue
        bx0, by0, bx1, by1, text = b[0], b[1], b[2], b[3], str(b[4])
        if bx1 < x0 - 36 or bx0 > x1 + 36 or not CAPTION.match(text):
            continue
        gap = by0 - y1 if by0 >= y1 - 2 else (y0 - by1 if by1 <= y0 + 2 else None)
        if gap is None or gap > CAPTION_MAX_DISTANCE:
            continue
        if best is None or gap < best[0]:
            best = (max(gap, 0.0), " ".join(text.split()))
    return best[1] if best else None


def page_images(doc: Any, page: Any, warnings: list[str], label: str) -> list[dict[str, Any]]:
    """One record per image placement on `page`; undecodable images go to `warnings`."""
    out: list[dict[str, Any]] = []
    blocks: list[tuple[Any, ...]] | None = None
    for info in page.get_image_info(xrefs=True):
        xref = int(info.get("xref") or 0)
        problem = image_problem(doc, xref)
        if problem:
            warnings.append(f"{label} page {page.number + 1}: image (xref {xref}) skipped: "
                            f"{problem}")
            continue
        if blocks is None:
            blocks = page.get_text("blocks")
        bbox = tuple(round(float(v), 2) for v in info["bbox"])
        out.append({
            "page": page.number + 1,
            "image_index": len(out),
            "xref": xref,
            "width": int(info["width"]),
            "height": int(info["height"]),
            "bbox": ",".join(f"{v:g}" for v in bbox),
            "format": image_format(doc, xref),
            "colorspace": info.get("cs-name") or None,
            "bits_per_component": int(info.get("bpc") or 0),
            "caption": caption_near(blocks, bbox),
        })
    return out
