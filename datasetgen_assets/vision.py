"""Image inputs for vision LLM calls: an image file (local or s3://), an http(s) URL, a data:
URI or a PDF page reference such as `report.pdf#page=3` becomes what a provider accepts: a
data: URI of a PNG, JPEG, GIF or WEBP image no larger than a size limit (or the http(s) URL
unchanged: the provider fetches it). Formats are recognised by their bytes, never by the file
name. `image_tokens` estimates what an image costs in input tokens."""

from __future__ import annotations

import base64
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from datasetgen_assets.errors import StepInputError

# what OpenAI, Anthropic and Gemini all accept as image parts
SUPPORTED: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif",
                             "webp": "image/webp"}
DEFAULT_MAX_MB = 5.0  # Anthropic's per-image limit (OpenAI allows 20 MB)
DEFAULT_PDF_DPI = 150
DEFAULT_MAX_SIDE = 2048  # providers scale larger images down themselves (OpenAI: 2048 px)
DOWNSCALE_READ_LIMIT = 64 * 1024 * 1024  # files read for downscaling at most
_PAGE_REF = re.compile(r"^(?P<path>.+?\.pdf)#page=(?P<page>\d+)$", re.I)
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<b64>;base64)?,(?P<data>.*)$",
                       re.S)
# recognisable formats we refuse, so the error can say what the file is
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"BM", "bmp"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"%PDF", "pdf"),
    (b"\x00\x00\x01\x00", "ico"), (b"8BPS", "psd"), (b"<svg", "svg"), (b"<?xml", "svg/xml"),
)


class ImageInputError(StepInputError):
    """An image input that cannot be sent: missing, unsupported format, too large, bad page."""


@dataclass(frozen=True)
class ImageInfo:
    """What we know of one image input."""

    source: str  # the reference as written
    format: str  # png | jpeg | gif | webp | url (not read: the provider fetches it)
    width: int | None
    height: int | None
    nbytes: int | None

    @property
    def mime(self) -> str:
        return SUPPORTED.get(self.format, "")


def sniff(data: bytes) -> str | None:
    """The image format from its first bytes: png, jpeg, gif, webp, another known name
    (bmp, tiff, pdf, ...) or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "heic/avif"
    head = data[:64].lstrip()
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic) if name in {"svg", "svg/xml"} else data.startswith(magic):
            return name
    return None


def dimensions(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) read from the header of a PNG, GIF, WEBP or JPEG; None if unreadable."""
    try:
        if fmt == "png" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if fmt == "gif":
            return struct.unpack("<HH", data[6:10])
        if fmt == "webp":
            chunk = data[12:16]
            if chunk == b"VP8X":
                w = int.from_bytes(data[24:27], "little") + 1
                return w, int.from_bytes(data[27:30], "little") + 1
            if chunk == b"VP8L":
                b = int.from_bytes(data[21:25], "little")
                return (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return w & 0x3FFF, h & 0x3FFF
        if fmt == "jpeg":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                length = struct.unpack(">H", data[i + 2:i + 4])[0]
                if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB,
                              0xCD, 0xCE, 0xCF):
                    h, w = struct.unpack(">HH", data[i + 5:i + 9])
                    return w, h
                i += 2 + length
    except struct.error:
        return None
    return None


def image_tokens(width: int | None, height: int | None, kind: str = "openai") -> int:
    """Estimated input tokens of one image. openai: the high-detail tile rule (fit in
    2048x2048, shortest side to 768, 170 per 512-px tile + 85); anthropic: width*height/750
    after fitting the long side in 1568 px. An image of unknown size (a URL) counts as
    1024x1024."""
    w, h = float(width or 1024), float(height or 1024)
    if kind == "anthropic":
        scale = min(1.0, 1568 / max(w, h))
        return max(1, math.ceil(w * scale * h * scale / 750))
    scale = min(1.0, 2048 / max(w, h))
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def parse_page_ref(ref: str) -> tuple[str, int] | None:
    """('report.pdf', 3) for 'report.pdf#page=3' (pages count from 1); None otherwise."""
    m = _PAGE_REF.match(ref.strip())
    return (m.group("path"), int(m.group("page"))) if m else None


def render_pdf_page(url: str, page: int, dpi: int = DEFAULT_PDF_DPI,
                    password_env: str | None = None) -> bytes:
    """PNG bytes of page `page` (from 1) of a local or s3:// PDF (the pdf step's renderer;
    an encrypted file needs `password_env`, the NAME of the variable with its password)."""
    from datasetgen_assets.documents.render import render_page_png

    try:
        return render_page_png(url, page, dpi, password_env)
    except ImageInputError:
        raise
    except StepInputError as exc:
        raise ImageInputError(exc.message, fix=exc.fix) from None


def _identify(data: bytes, where: str) -> tuple[str, int, int]:
    """(format, width, height) of image bytes we can send; ImageInputError otherwise."""
    if not data:
        raise ImageInputError(f"{where}: the image is empty (0 bytes)",
                              fix="check the file was written completely")
    fmt = sniff(data)
    if fmt not in SUPPORTED:
        what = f"a {fmt.upper()} file" if fmt else "not an image format we recognise"
        raise ImageInputError(
            f"{where}: unsupported image format ({what})",
            fix="convert it to PNG, JPEG, GIF or WEBP (the formats vision models accept);"
                " for a PDF page write file.pdf#page=N")
    w_h = dimensions(data, fmt)
    if w_h is None:
        raise ImageInputError(f"{where}: the {fmt.upper()} image is truncated or corrupt",
                              fix="re-export the image")
    return fmt, w_h[0], w_h[1]


def downscale(data: bytes, fmt: str, max_side: int, where: str = "image") -> bytes:
    """A PNG or JPEG whose long side is over `max_side`, scaled down to it (same format;
    JPEG quality 90). Other formats and small images are returned unchanged."""
    import pymupdf

    fmt_, w, h = _identify(data, where)
    if fmt_ not in {"png", "jpeg"} or max(w, h) <= max_side:
        return data
    try:
        pix = pymupdf.Pixmap(data)
    except Exception as exc:
        raise ImageInputError(f"{where}: the {fmt_.upper()} image cannot be decoded ({exc})",
                              fix="re-export the image") from None
    scale = max_side / max(w, h)
    small = pymupdf.Pixmap(pix, max(1, round(w * scale)), max(1, round(h * scale)), None)
    if fmt_ == "jpeg":
        if small.alpha:
            small = pymupdf.Pixmap(small, 0)
        return small.tobytes("jpeg", jpg_quality=90)
    return small.tobytes("png")


def _check(data: bytes, where: str, max_bytes: int, max_side: int | None = None
           ) -> tuple[bytes, ImageInfo]:
    """The bytes to send (downscaled when `max_side` says so) and their facts."""
    fmt, w, h = _identify(data, where)
    if max_side is not None and max(w, h) > max_side and fmt in {"png", "jpeg"}:
        data = downscale(data, fmt, max_side, where)
        fmt, w, h = _identify(data, where)
    if len(data) > max_bytes:
        raise ImageInputError(
            f"{where}: the image is {len(data) / 1e6:.1f} MB, over the limit of"
            f" {max_bytes / 1e6:.1f} MB",
            fix="downscale or recompress it, lower pdf_dpi for PDF pages, set"
                " max_image_side, or raise max_image_mb (providers refuse images above"
                " 5-20 MB)")
    return data, ImageInfo(where, fmt, w, h, len(data))


def load_image(ref: str, resolve: Callable[[str], str] = lambda p: p, *,
               max_mb: float = DEFAULT_MAX_MB, pdf_dpi: int = DEFAULT_PDF_DPI,
               pdf_password_env: str | None = None,
               max_side: int | None = None) -> tuple[bytes, ImageInfo]:
    """The bytes (PNG/JPEG with a long side over `max_side` scaled down) and facts of an
    image file, data: URI or PDF page; `resolve` makes relative paths absolute
    (StepContext.resolve). Raises ImageInputError naming the reference."""
    from datasetgen_resources import files

    ref = ref.strip()
    max_bytes = int(max_mb * 1024 * 1024)
    if ref.startswith("data:"):
        m = _DATA_URI.match(ref)
        if m is None or not m.group("b64"):
            raise ImageInputError(f"{ref[:40]}...: not a base64 data: URI",
                                  fix="use data:image/png;base64,<data> or a file path")
        try:
            data = base64.b64decode(m.group("data"), validate=True)
        except ValueError:
            raise ImageInputError(f"{ref[:40]}...: the data: URI is not valid base64",
                                  fix="re-encode the image") from None
        return _check(data, ref[:40] + "...", max_bytes, max_side)
    page = parse_page_ref(ref)
    if page is not None:
        url = resolve(page[0])
        data = render_pdf_page(url, page[1], pdf_dpi, pdf_password_env)
        return _check(data, ref, max_bytes, max_side)
    url = resolve(ref)
    try:
        size = files.size(url)
    except (StepInputError, OSError):
        raise ImageInputError(f"{ref}: image file not found ({url})",
                              fix="check the path (relative paths start at the project"
                                  " folder) or the column's values") from None
    limit = max(max_bytes, DOWNSCALE_READ_LIMIT) if max_side else max_bytes
    if size > limit:  # refused before reading a huge file
        raise ImageInputError(
            f"{ref}: the image is {size / 1e6:.1f} MB, over the limit of"
            f" {limit / 1e6:.1f} MB",
            fix="downscale or recompress it, lower pdf_dpi for PDF pages, or raise"
                " max_image_mb (providers refuse images above 5-20 MB)")
    try:
        data = files.read_bytes(url)
    except StepInputError as exc:
        raise ImageInputError(f"{ref}: {exc.message}", fix=exc.fix) from None
    return _check(data, ref, max_bytes, max_side)


def data_uri(data: bytes, info: ImageInfo) -> str:
    """`data:<mime>;base64,...` of checked image bytes."""
    return f"data:{info.mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_input(ref: str, resolve: Callable[[str], str] = lambda p: p, *,
                max_mb: float = DEFAULT_MAX_MB, pdf_dpi: int = DEFAULT_PDF_DPI,
                pdf_password_env: str | None = None,
                max_side: int | None = None) -> tuple[str, ImageInfo]:
    """(what to send, facts) for one reference: an http(s) URL unchanged (size unknown),
    everything else read, checked and turned into a data: URI."""
    ref = ref.strip()
    if re.match(r"^https?://", ref, re.I):
        return ref, ImageInfo(ref, "url", None, None, None)
    data, info = load_image(ref, resolve, max_mb=max_mb, pdf_dpi=pdf_dpi,
                            pdf_password_env=pdf_password_env, max_side=max_side)
    return data_uri(data, info), info
