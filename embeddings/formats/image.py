"""Scanned pages as image files (.png .jpg .jpeg .tif .tiff .webp .bmp), read by OCR.

Needs the OCR extra (``pip install "newsbot-cite[ocr]"``); without it every image is skipped
with that hint, before it is decoded. The image's size is checked before its pixels are
decoded (a few bytes can declare a 50000x50000 picture). A multi-page TIFF gives one Page per
page, ``Meta.pdf_page`` = its 1-based page number; a single image gives one Page with
``pdf_page`` 0 (there is no page to name). EXIF rotation of camera photos is applied.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from pathlib import Path
from typing import Callable

from . import Meta, Page, SkipFile

MAX_FRAMES = 500  # pages of a multi-page TIFF read; the rest are left out with a warning


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height a PNG's header declares (read without Pillow)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def _too_large(data: bytes, error: Exception) -> SkipFile:
    from . import ocr

    size = _declared_size(data)
    if size:
        try:
            ocr.check_image_size(*size)
        except SkipFile as e:
            return e
    m = re.search(r"\((\d+) pixels\)", str(error))
    pixels = f"{int(m.group(1)):,} pixels" if m else "more pixels than Pillow allows"
    return SkipFile(f"image too large: {pixels}; the limit is {ocr.MAX_IMAGE_PIXELS:,} pixels (e.g. 8000×10000): scan at 300 dpi or less")


def read(path: Path, data: bytes, warn: Callable[[str], None]) -> list[Page]:
    from . import ocr

    ocr.get_engine(f"the scanned image {path.name}")  # no OCR: say so before decoding anything
    from PIL import Image, ImageOps, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is lower
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as e:
            raise _too_large(data, e) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error) as e:
            why = "unknown format" if isinstance(e, UnidentifiedImageError) else str(e)
            raise SkipFile(f"not an image that can be read ({why}): damaged, or another kind of file with an image's name? Scan or export the page again as .png or .jpg") from None
    frames = getattr(image, "n_frames", 1)
    pages = []
    for i in range(min(frames, MAX_FRAMES)):
        where = f" (page {i + 1} of {frames})" if frames > 1 else ""
        try:
            image.seek(i)
            ocr.check_image_size(*image.size)  # every page: a TIFF's pages differ in size
            if image.format == "JPEG" and max(image.size) > ocr.OCR_MAX_SIDE:
                image.draft("L", (ocr.OCR_MAX_SIDE, ocr.OCR_MAX_SIDE))  # decode at 1/2, 1/4 … size
            try:
                frame = ImageOps.exif_transpose(image)  # a camera photo's rotation
            except Exception:  # broken EXIF: the pixels as stored
                frame = image.copy()
            frame.load()
        except SkipFile as e:
            if frames == 1:
                raise
            warn(f"{path}: page {i + 1} of {frames} skipped: {e}")
            continue
        except Exception as e:  # Pillow's decoders fail in many ways on a damaged file
            if frames == 1:
                raise SkipFile(f"damaged image ({e}); scan or export it again") from None
            warn(f"{path}: page {i + 1} of {frames} skipped: damaged ({e})")
            continue
        text = ocr.ocr_image(frame, f"the scanned image {path.name}{where}")
        if text.strip():
            pages.append(Page(text, Meta(pdf_page=i + 1 if frames > 1 else 0)))
    if frames > MAX_FRAMES:
        warn(f"{path}: {frames} pages; only the first {MAX_FRAMES} are read (split the TIFF to index the rest)")
    if not pages:
        warn(f"{path}: OCR found no text in this image")
    return pages
