"""PDF: each page's text layer in reading order (columns, headlines by size; see :mod:`.pdflayout`),
scanned pages through OCR (:mod:`.ocr`, the optional ``[ocr]`` extra).

Running headers and footers (paper name, date, 第3版, page numbers) are dropped from the text; the
date, 版次 and 版名 printed in them become the page's :class:`Meta`. Failing that, a date or 版次
in the document info's Title/Subject/Keywords is used. The info's CreationDate is never used:
it is when the file was made (typeset, scanned, exported), not when the paper was published,
and a confidently wrong date in a citation is worse than none.
"""

from __future__ import annotations

import io
import logging
import math
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Callable

from . import Meta, Page, SkipFile
from . import pdflayout as L

MAX_PAGES = 500  # pages read from one PDF; the rest are left out with a warning
OCR_DPI = 250  # scanned pages are rendered at this resolution for OCR …
MAX_OCR_SIDE = 4000  # … or smaller, to this longest side (what ocr.py scales larger images to)
MIN_TEXT_CHARS = 20  # a page with fewer usable characters and an image on it is a scan
FURNITURE_ZONE = 0.12  # running headers / footers sit in this top / bottom share of a page
OCR_EXTRA = 'pip install "newsbot-cite[ocr]"'

_DATE = re.compile(r"((?:19|20)\d{2})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})(?!\d)")
_CN_DATE = re.compile(r"([〇零一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日")
_BAN = re.compile(r"第\s*([0-9一二三四五六七八九十]{1,3})\s*版(?:\s*[:：]?\s*(?!星期)([\u4e00-\u9fff]{2,8}))?")
_BAN_LATIN = re.compile(r"(?<![A-Za-z])([A-Z]\d{1,2})\s*版")
_PAGE_NO = re.compile(r"[\s\-—–·•|(（]*(第\s*)?\d{1,4}(\s*[页頁])?(\s*/\s*\d{1,4})?[\s\-—–·•|)）]*|(page|p\.)\s*\d+", re.I)
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}


def _cn_number(s: str) -> int:
    if "十" not in s:
        return int("".join(str(_CN_DIGITS[c]) for c in s))
    tens, _, ones = s.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def parse_meta(texts: list[str]) -> tuple[str, str, str]:
    """(ISO date, 版次, 版名) printed in ``texts`` (header/footer lines), each "" when absent."""
    date = page = section = ""
    for text in texts:
        text = unicodedata.normalize("NFKC", text)
        if not date:
            m = _DATE.search(text)
            cn = None if m else _CN_DATE.search(text)
            y, mo, d = (int(g) for g in m.groups()) if m else (_cn_number(g) for g in cn.groups()) if cn else (0, 0, 0)
            if 1 <= mo <= 12 and 1 <= d <= 31:
                date = f"{y:04d}-{mo:02d}-{d:02d}"
        if not page:
            m = _BAN.search(text)
            if m:
                page, section = f"第{m.group(1)}版", section or (m.group(2) or "")
            elif (m := _BAN_LATIN.search(text)):
                page = m.group(1)
    return date, page, section


def _is_furniture(text: str) -> bool:
    text = unicodedata.normalize("NFKC", text).strip()
    return bool(_DATE.search(text) or _CN_DATE.search(text) or _BAN.search(text) or _BAN_LATIN.search(text)
                or _PAGE_NO.fullmatch(text))


def _edge_blocks(frags: list[L.Frag], height: float) -> list[list[list[L.Frag]]]:
    """The rows at the top and at the bottom of a page set apart by a gap (header, footer blocks)."""
    rows = L.row_groups(frags)
    blocks = []
    for seq, inside in ((rows, lambda r: max(f.bottom for f in r) <= FURNITURE_ZONE * height),
                        (rows[::-1], lambda r: min(f.top for f in r) >= (1 - FURNITURE_ZONE) * height)):
        block: list[list[L.Frag]] = []
        for a, b in zip(seq, seq[1:] + [None]):
            if not inside(a) or len(block) >= 3:
                block = []
                break
            block.append(a)
            em = max(f.size for f in a + (b or []))
            gap = math.inf if b is None else max(min(f.top for f in b) - max(f.bottom for f in a),
                                                 min(f.top for f in a) - max(f.bottom for f in b))
            if gap >= 0.8 * em:
                break
        blocks.append(block)
    return blocks


def split_furniture(pages: list[list[L.Frag]], heights: list[float]) -> tuple[list[list[L.Frag]], list[list[str]]]:
    """Drop running headers/footers: a top or bottom block of rows, apart from the text, holding
    a date, 版次 or page number, or repeated (digits aside) on another page. Returns the pages'
    remaining fragments and the dropped lines (for :func:`parse_meta`)."""
    key = lambda row: re.sub(r"\d+", "#", "".join(f.text for f in row).replace(" ", ""))
    blocks = [_edge_blocks(frags, h) for frags, h in zip(pages, heights)]
    seen = Counter(k for page in blocks for k in {key(r) for block in page for r in block})
    kept, dropped = [], []
    for frags, page in zip(pages, blocks):
        out: set[int] = set()
        texts: list[str] = []
        for block in page:
            if any(_is_furniture(f.text) for r in block for f in r) or any(seen[key(r)] > 1 for r in block):
                out |= {id(f) for r in block for f in r}
                texts += [" ".join(f.text.strip() for f in r) for r in block]
        kept.append([f for f in frags if id(f) not in out])
        dropped.append(texts)
    return kept, dropped


def _char(c: dict) -> L.Char:
    text = "".join(unicodedata.normalize("NFKC", ch) if "\u2f00" <= ch <= "\u2fdf" or "\uf900" <= ch <= "\ufaff" else ch
                   for ch in c["text"])
    size = c["size"] or (c["bottom"] - c["top"]) or 1.0
    return L.Char(text, c["x0"], c["x1"], c["top"], c["bottom"], size, L.is_bold(c.get("fontname") or ""))


def _usable(text: str) -> bool:
    return not text.startswith("(cid:") and not ("\ue000" <= text[:1] <= "\uf8ff") and not text.isspace()


def _open(data: bytes):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    if b"%PDF-" not in data[:1024]:
        raise SkipFile("not a PDF: it does not start with %PDF- (a web page or another format saved as .pdf?)")
    try:
        pdf = pdfplumber.open(io.BytesIO(data), password="")
        pdf.pages  # parses the page tree
        return pdf
    except Exception as e:
        cause = e.args[0] if e.args and isinstance(e.args[0], Exception) else e
        if isinstance(cause, PDFPasswordIncorrect):
            raise SkipFile("encrypted PDF: it needs a password to open; remove the password (e.g. "
                           "qpdf --password=THE_PASSWORD --decrypt in.pdf out.pdf) and index it again") from None
        if isinstance(cause, PDFEncryptionError):
            raise SkipFile(f"encrypted PDF with an unsupported protection ({cause}); save an unprotected "
                           "copy (e.g. qpdf --decrypt, or print it to PDF) and index it again") from None
        truncated = b"%%EOF" not in data[-2048:]
        raise SkipFile(f"damaged PDF{' (truncated: no %%EOF at the end)' if truncated else ''}: "
                       f"{type(cause).__name__}: {cause}; download or export it again") from None


def read(path: Path, data: bytes, warn: Callable[[str], None]) -> list[Page]:
    """One :class:`Page` per PDF page with text (at most ``MAX_PAGES``), ``Meta.pdf_page`` 1-based."""
    # pdfminer logs every oddity of a damaged file ("Could not get FontBBox…") as a warning, which
    # would reach the terminal of `newsbot index`; what matters is reported through ``warn``.
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    pdf = _open(data)
    with pdf:
        if len(pdf.pages) > MAX_PAGES:
            warn(f"{len(pdf.pages)} pages; only the first {MAX_PAGES} are read")
        frags, heights, scans = [], [], []
        for i, page in enumerate(pdf.pages[:MAX_PAGES]):
            try:
                chars = [c for c in page.dedupe_chars().chars if c.get("upright", True)
                         and c["x1"] > 0 and c["x0"] < page.width and c["bottom"] > 0 and c["top"] < page.height]
                usable = sum(_usable(c["text"]) for c in chars)
                # No text layer, or glyphs without Unicode ("(cid:…)"), over an image or drawn
                # shapes: render and OCR it.
                if usable < MIN_TEXT_CHARS and (page.images or usable < len(chars) / 2 or len(page.curves) > 50):
                    scans.append(i)
                    chars = []
                frags.append(L.fragments([_char(c) for c in chars if _usable(c["text"]) or c["text"] == " "]))
            except Exception as e:  # one damaged page: the others are still read
                warn(f"page {i + 1} could not be read ({type(e).__name__}: {str(e)[:200]}); skipped")
                frags.append([])
            heights.append(float(page.height))
            page.close()
        info = [str(pdf.metadata.get(k) or "") for k in ("Title", "Subject", "Keywords")]
    content, furniture = split_furniture(frags, heights)
    metas = [parse_meta(texts) for texts in furniture]
    info_date, info_page, _ = parse_meta(info)
    doc_date = next((m[0] for m in metas if m[0]), info_date)
    body = L.body_size([f for page in content for f in page])
    levels = L.heading_levels([f for page in content for f in page], body)
    out: dict[int, Page] = {}
    for i, (fs, (date, ban, section)) in enumerate(zip(content, metas)):
        lines = L.markup(fs, body, levels) if fs else []
        if lines:
            out[i] = Page("\n".join(lines), Meta(date=date or doc_date, page=ban or info_page, section=section, pdf_page=i + 1))
    missing = _ocr(path, data, scans, warn, out, Meta(date=doc_date, page=info_page))
    if not out:
        if missing:
            raise SkipFile(f"scanned PDF: no text layer on its {len(scans)} page(s), and OCR is not installed: {OCR_EXTRA}")
        if scans:
            raise SkipFile(f"scanned PDF: OCR found no text on its {len(scans)} page(s); scan it again at 300 dpi or more, upright")
        raise SkipFile("no text in this PDF (blank pages?); check that it is the right file")
    if missing:
        warn(f"{len(missing)} scanned page(s) without a text layer skipped (page {', '.join(str(i + 1) for i in missing)}): "
             f"OCR is not installed: {OCR_EXTRA}")
    return [out[i] for i in sorted(out)]


def _ocr(path: Path, data: bytes, scans: list[int], warn, out: dict[int, Page], meta: Meta) -> list[int]:
    """OCR the scanned pages into ``out``; returns the pages left unread because OCR is missing."""
    if not scans:
        return []
    try:
        from . import ocr
    except ImportError:
        return scans
    unavailable = getattr(ocr, "OcrUnavailable", SkipFile)
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except Exception as e:
        warn(f"scanned page(s) {', '.join(str(i + 1) for i in scans)} could not be rendered for OCR ({e}); skipped")
        return []
    try:
        for n, i in enumerate(scans):
            try:
                page = doc[i]
                w, h = page.get_size()
                scale = min(OCR_DPI / 72, MAX_OCR_SIDE / max(w, h, 1.0))
                image = page.render(scale=scale).to_pil()
                page.close()
            except Exception as e:
                warn(f"page {i + 1} could not be rendered for OCR ({type(e).__name__}: {e}); skipped")
                continue
            try:
                text = ocr.ocr_image(image)
            except unavailable:
                return scans[n:]
            except SkipFile as e:
                warn(f"page {i + 1}: {e}")
                continue
            if text.strip():
                out[i] = Page(text, Meta(date=meta.date, page=meta.page, pdf_page=i + 1))
    finally:
        doc.close()
    return []
