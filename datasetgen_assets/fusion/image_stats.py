"""Simple statistics of an image file as features: size, aspect ratio, mean colour,
brightness, contrast and colourfulness. Decoded with PyMuPDF (PNG, JPEG, GIF, BMP, TIFF...),
downsampled to at most ~256 px on the long side before the pixel statistics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from datasetgen_assets.errors import StepInputError

IMAGE_STATS = ["width", "height", "aspect_ratio", "mean_r", "mean_g", "mean_b", "brightness",
               "contrast", "colorfulness"]
MAX_IMAGE_BYTES = 50 * 1024 * 1024


def image_statistics(data: bytes, where: str = "image") -> dict[str, float]:
    """The IMAGE_STATS of encoded image bytes (colour values 0-255)."""
    import pymupdf

    try:
        pix = pymupdf.Pixmap(data)
    except Exception as exc:
        raise StepInputError(f"{where}: not a readable image ({exc})",
                             fix="use PNG, JPEG, GIF, BMP or TIFF files, or give numeric"
                                 " feature `columns` instead of image_column") from None
    width, height = pix.width, pix.height
    if pix.alpha:
        pix = pymupdf.Pixmap(pix, 0)
    if pix.colorspace is None or pix.colorspace.n != 3:
        pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
    factor = 0
    while max(width, height) >> factor > 256 and factor < 8:
        factor += 1
    if factor:
        pix.shrink(factor)
    rgb = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)
    rgb = rgb.astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    lum = 0.299 * r + 0.587 * g + 0.114 * b
    rg, yb = r - g, 0.5 * (r + g) - b
    colorful = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    return {"width": float(width), "height": float(height),
            "aspect_ratio": width / height if height else 0.0,
            "mean_r": float(r.mean()), "mean_g": float(g.mean()), "mean_b": float(b.mean()),
            "brightness": float(lum.mean()), "contrast": float(lum.std()),
            "colorfulness": colorful}


def file_statistics(ref: str, resolve: Callable[[str], str]) -> dict[str, float]:
    """IMAGE_STATS of one image file (local or s3://); errors name the file."""
    from datasetgen_resources import files

    url = resolve(ref)
    if files.size(url) > MAX_IMAGE_BYTES:
        raise StepInputError(f"{ref}: the image is over {MAX_IMAGE_BYTES // 2**20} MB",
                             fix="downscale it or give numeric feature columns")
    data = files.read_bytes(url)
    if not data:
        raise StepInputError(f"{ref}: the image is empty (0 bytes)",
                             fix="check the file was written completely")
    return image_statistics(data, ref)
