"""OCR of scanned pages into page markup, with RapidOCR (PP-OCRv4 Chinese models on ONNX Runtime).

An optional extra: ``pip install "newsbot-cite[ocr]"`` (``rapidocr-onnxruntime``, whose wheel
ships the models). Without it :func:`ocr_image` raises :class:`OcrUnavailable`, a ``SkipFile``
saying what to install.

Lines found by the detector are put in reading order by a recursive XY-cut, columns first (a
headline across the columns is cut off above them), then rebuilt into paragraphs: a first-line
indent, a line stopping short of its column's right edge, or a blank line ends one; the top line
of a column continues the previous column's paragraph unless indented. Lines in clearly larger
type are headings: the largest size on the page ``#``, the next ``##``, then ``###``. Type size
is a line's width per character (CJK is square), steadier than its box's height.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from . import SkipFile

INSTALL_HINT = 'pip install "newsbot-cite[ocr]"'
# An image this large is refused before decoding (8000x10000 is a broadsheet page at 400 dpi);
# below Pillow's DecompressionBombWarning threshold (89,478,485 pixels).
MAX_IMAGE_PIXELS = 80_000_000
# Larger scans are scaled down to this longest side first. A 3720x5700 page of 24-px type read
# scaled to 2000 px (RapidOCR's default): 98.9% of characters; 3000: 99.8%; 4000: 99.9%.
OCR_MAX_SIDE = 4000
# Detection takes ~150 MB a megapixel: a larger image is detected in horizontal strips of about
# this many pixels, overlapping by TILE_OVERLAP; a line is taken from the strip holding its
# middle (whole, if under TILE_OVERLAP px tall). That 3720x5700 page: 1.9 GB -> 1.2 GB peak.
TILE_PIXELS = 3_000_000
TILE_OVERLAP = 256
# RapidOCR settings, measured on tests/data/formats/scan and variants (0.4-2x, tight leading,
# skew; make_docx_scan.py):
# - use_cls False (True): the 180-degree classifier squeezes a line into 192x48 px, judges some
#   wide lines upside down, and they are read as nothing and dropped: scan_wide.png (70
#   characters a line) 70.1% of characters read with the defaults, 99.0% without it.
# - det_unclip_ratio 2.0 (1.6): a little larger boxes keep a line's last "。" or "”", which
#   paragraph rebuilding needs: scan_article.png 99.66% -> 99.87%, a one-column page at 0.4x
#   97.3% -> 99.2% (3 paragraphs found instead of 4 before). 2.2 merges lines of small type.
# - max_side_len OCR_MAX_SIDE (2000): we scale down ourselves; det_limit_type "min" 736 (as
#   default): detection at the image's own size (only images under 736 px are enlarged).
# - det_box_thresh, text_score 0.5 (as default): 0.3-0.5 changed nothing, even at 20% contrast.
ENGINE_PARAMS = {
    "max_side_len": OCR_MAX_SIDE,
    "det_limit_type": "min",
    "det_limit_side_len": 736,
    "det_box_thresh": 0.5,
    "det_unclip_ratio": 2.0,
    "use_cls": False,
    "text_score": 0.5,
}
HEADING_RATIO = 1.15  # type this much larger than the body's is a heading
MAX_HEADING_LEVELS = 3

_engine = None
_lock = threading.Lock()


class OcrUnavailable(SkipFile):
    """The OCR extra is not installed."""


class Line(NamedTuple):
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def size(self) -> float:
        """Estimated type size in pixels: width per character (half for ASCII), else height."""
        chars = sum(0.5 if c.isascii() else 1.0 for c in self.text if not c.isspace())
        return (self.x1 - self.x0) / chars if chars >= 2 else self.y1 - self.y0


def check_image_size(width: int, height: int) -> None:
    """Raise SkipFile for an image too large to decode safely (checked before decoding)."""
    if width * height > MAX_IMAGE_PIXELS:
        raise SkipFile(
            f"image too large: {width}×{height} pixels; the limit is {MAX_IMAGE_PIXELS:,} pixels "
            "(e.g. 8000×10000): scan at 300 dpi or less"
        )


def get_engine(what: str = "a scanned page"):
    """The process's one RapidOCR engine, made on first use; OcrUnavailable without the extra.
    ``what`` says in that message what OCR was needed for."""
    global _engine
    with _lock:
        if _engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError:
                raise OcrUnavailable(f"OCR is not installed: {INSTALL_HINT} (needed to read the text of {what})") from None
            _engine = RapidOCR(**ENGINE_PARAMS)
        return _engine


def _to_array(image):
    """The image as an 8-bit BGR array (what RapidOCR reads), transparency on white, scaled
    down to OCR_MAX_SIDE."""
    import numpy as np
    from PIL import Image

    check_image_size(*image.size)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(image, dtype=np.float32)
        top = 65535.0 if image.mode.startswith("I;16") else float(arr.max() or 1.0)
        image = Image.fromarray((arr * (255.0 / top)).clip(0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    image = image.convert("L")
    if max(image.size) > OCR_MAX_SIDE:
        scale = OCR_MAX_SIDE / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS)
    return np.repeat(np.asarray(image)[:, :, None], 3, axis=2)


def _strips(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """(top, bottom, own top, own bottom) of the horizontal strips an image is read in."""
    if height * width <= TILE_PIXELS:
        return [(0, height, 0, height)]
    step = max(512, TILE_PIXELS // width)
    strips, top = [], 0
    while True:
        bottom = min(height, top + step + TILE_OVERLAP)
        own_top = 0 if top == 0 else top + TILE_OVERLAP // 2
        strips.append((top, bottom, own_top, height if bottom == height else bottom - TILE_OVERLAP // 2))
        if bottom == height:
            return strips
        top += step


def ocr_lines(image, what: str = "a scanned page") -> list[Line]:
    """The text lines RapidOCR finds in a PIL image, boxes in the image's own pixels, not yet
    in reading order."""
    engine = get_engine(what)
    arr = _to_array(image)
    scale = image.width / arr.shape[1]
    lines = []
    for top, bottom, own_top, own_bottom in _strips(*arr.shape[:2]):
        with _lock:  # one engine per process; RapidOCR keeps per-call state on it
            result, _ = engine(arr[top:bottom])
        for box, text, _score in result or ():
            xs, ys = [p[0] for p in box], [p[1] + top for p in box]
            if text.strip() and own_top <= (min(ys) + max(ys)) / 2 < own_bottom:
                lines.append(Line(min(xs) * scale, min(ys) * scale, max(xs) * scale, max(ys) * scale, text.strip()))
    return lines


def ocr_image(image, what: str = "a scanned page") -> str:
    """OCR a PIL image into page markup: ``#`` heading lines, one paragraph per line, in
    reading order. ``what`` names the source in the OcrUnavailable message."""
    return page_markup(ocr_lines(image, what))


# -- layout: boxes -> reading order -> paragraphs ------------------------------------------------


def _merge_same_line(lines: list[Line]) -> list[Line]:
    """Join boxes the detector split within one text line (at a space, say)."""
    out: list[Line] = []
    for ln in sorted(lines, key=lambda b: (b.x0, b.y0)):
        h = ln.y1 - ln.y0
        for i, prev in enumerate(out):
            ph = prev.y1 - prev.y0
            overlap = min(prev.y1, ln.y1) - max(prev.y0, ln.y0)
            gap = ln.x0 - prev.x1
            if overlap >= 0.6 * min(h, ph) and -0.2 * h <= gap <= 0.8 * max(h, ph) and abs(h - ph) < 0.3 * max(h, ph):
                sep = " " if gap > 0.3 * h else ""
                out[i] = Line(prev.x0, min(prev.y0, ln.y0), ln.x1, max(prev.y1, ln.y1), prev.text + sep + ln.text)
                break
        else:
            out.append(ln)
    return out


def _gaps(spans: list[tuple[float, float]], min_gap: float) -> list[float]:
    """Cut positions: the middles of gaps at least ``min_gap`` wide between the spans' union."""
    cuts, end = [], None
    for a, b in sorted(spans):
        if end is not None and a - end >= min_gap:
            cuts.append((a + end) / 2)
        end = b if end is None else max(end, b)
    return cuts


def _split(lines: list[Line], cuts: list[float], key) -> list[list[Line]]:
    groups: list[list[Line]] = [[] for _ in range(len(cuts) + 1)]
    for ln in lines:
        groups[sum(1 for c in cuts if key(ln) > c)].append(ln)
    return [g for g in groups if g]


def _segments(lines: list[Line], min_gap: float) -> list[list[Line]]:
    """Rows (lines sharing any height) grouped into segments, top to bottom: runs of rows that
    keep a column gutter between them, and runs of rows across it (headlines)."""
    gutter = lambda group: bool(_gaps([(ln.x0, ln.x1) for ln in group], min_gap))  # noqa: E731
    segments: list[list[Line]] = []
    for row in _split(lines, _gaps([(ln.y0, ln.y1) for ln in lines], 0.5), lambda ln: (ln.y0 + ln.y1) / 2):
        if segments and (gutter(segments[-1] + row) if gutter(segments[-1]) else not gutter(row) and not gutter(segments[-1] + row)):
            segments[-1].extend(row)
        else:
            segments.append(list(row))
    return segments


def _reading_order(lines: list[Line], bounds: tuple[float, float], gutter: float, depth: int = 0):
    """(line, column left, column right) in reading order. Recursive XY-cut, columns first: a
    vertical gap at least ``gutter`` wide through the whole region splits it into columns;
    else it is cut between a headline across the columns and the columns below it."""
    if len(lines) > 1 and depth < 30:
        cols = _gaps([(ln.x0, ln.x1) for ln in lines], gutter)
        if cols:
            out = []
            for group in _split(lines, cols, lambda ln: (ln.x0 + ln.x1) / 2):
                out += _reading_order(group, (min(ln.x0 for ln in group), max(ln.x1 for ln in group)), gutter, depth + 1)
            return out
        segments = _segments(lines, gutter)
        if len(segments) > 1:
            return [item for seg in segments for item in _reading_order(seg, bounds, gutter, depth + 1)]
    return [(ln, *bounds) for ln in sorted(lines, key=lambda ln: (ln.y0, ln.x0))]


def _join(a: str, b: str) -> str:
    if a[-1:].isascii() and a[-1:].isalpha() and b[:1].isascii() and b[:1].isalpha():
        return a + " " + b
    return a + b


def page_markup(lines: list[Line]) -> str:
    """Page markup from OCR'd text lines (any order): headings by type size, paragraphs
    rebuilt from indents, short last lines and gaps, columns read left to right."""
    lines = _merge_same_line([ln for ln in lines if ln.text.strip()])
    if not lines:
        return ""
    # Body type size: the median over characters, not lines (headlines have few characters).
    by_size = sorted((ln.size, len(ln.text)) for ln in lines)
    half, count = sum(n for _, n in by_size) / 2, 0
    body = next(size for size, n in by_size if (count := count + n) >= half)
    big = lambda ln: ln.size >= HEADING_RATIO * body  # noqa: E731
    ordered = _reading_order(lines, (min(ln.x0 for ln in lines), max(ln.x1 for ln in lines)), 0.8 * body)

    blocks: list[list] = []  # [kind, text, size, last line, column right edge]
    for ln, left, right in ordered:
        prev = blocks[-1] if blocks else None
        if big(ln):
            if prev and prev[0] == "h" and abs(ln.size - prev[2]) < 0.15 * prev[2] and ln.y0 - prev[3].y1 < 0.8 * ln.size:
                prev[1], prev[3] = _join(prev[1], ln.text), ln  # a headline set on two lines
            else:
                blocks.append(["h", ln.text, ln.size, ln, right])
            continue
        if prev and prev[0] == "p":
            last = prev[3]
            new = (
                ln.x0 - left >= 1.0 * body  # first-line indent
                or min(prev[4], right) - last.x1 >= 1.5 * body  # the previous line stopped short
                or (prev[4] == right and ln.y0 - last.y1 > 1.0 * body)  # a blank line (same column)
            )
            if not new:
                prev[1], prev[3], prev[4] = _join(prev[1], ln.text), ln, right
                continue
        blocks.append(["p", ln.text, ln.size, ln, right])

    sizes: list[float] = []  # heading type sizes, largest first; within 12% is the same size
    for size in sorted((b[2] for b in blocks if b[0] == "h"), reverse=True):
        if not sizes or size < sizes[-1] * 0.88:
            sizes.append(size)
    out = []
    for kind, text, size, _, _ in blocks:
        if kind == "h":
            level = next(i for i, s in enumerate(sizes) if size >= s * 0.88) + 1
            out.append("#" * min(level, MAX_HEADING_LEVELS) + " " + text)
        else:
            out.append(text)
    return "\n".join(out) + "\n"
