"""Word .docx files: headings, paragraphs, bold section lines and tables, as page markup.

Heading styles (``Heading 1-9``, ``标题 1-9``, ``Title``/``标题``, ``Subtitle``/``副标题``, a style
based on one of them, or an outline level set on the paragraph or its style) become ``#``
lines of that level; a short paragraph in a clearly larger font than the body (an editor's
hand-made headline) becomes a heading too. A short paragraph whose text is all bold becomes a
``**section**`` line. Every other non-empty paragraph is one line (soft line breaks split it).
Tables are read row by row: a row of short cells is one line ``a | b | c``; a row holding
longer text (a table used for layout) gives each cell's paragraphs as lines of their own.
Text boxes follow the paragraph they are anchored in. Headers, footers, footnotes and comments
are left out (page furniture).

Date: a Word file's created/modified dates say when the file was made, not when the article
was published, so they are ignored. A dateline among the first paragraphs ("2022年4月12日
星期二 第3版", "2022-04-12") gives ``Meta.date`` (and ``Meta.page`` from "第3版") and is not
kept as text.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Callable

from ..ingest import MAX_SECTION_CHARS
from . import Meta, Page, SkipFile

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # what the zip's members may expand to, in total
MAX_MEMBERS = 10_000
MAX_CELL_CHARS = 40  # a row of single-line cells this short, none ending a sentence, is data
MAX_TABLE_DEPTH = 5  # tables nested in tables deeper than this are not read
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary Word .doc, or an encrypted .docx
DATELINE_PARAGRAPHS = 5  # a dateline is looked for among this many first paragraphs

_HEADING_NAME = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.I)
_NAMED_LEVEL = {"title": 1, "标题": 1, "subtitle": 2, "副标题": 2}
_DATE = re.compile(r"((?:19|20)\d\d)\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|[-/.](\d{1,2})[-/.](\d{1,2}))")
_WEEKDAY = re.compile(r"(星期|周|礼拜)[一二三四五六日天]")
_PAGE_NO = re.compile(r"第\s*([0-9０-９]+|[一二三四五六七八九十]+)\s*版")
_SENTENCE_STOP = "。；;.!！?？"  # a bold paragraph ending so is an emphasised sentence, not a section


def _check_zip(data: bytes) -> None:
    """Refuse what is not a .docx, or would unpack to too much, from the zip's directory alone."""
    if data.startswith(OLE2_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise SkipFile("password-protected .docx: open it in Word, remove the password (File > Info > Protect Document) and save it again")
        raise SkipFile("old .doc format (Word 97-2003), not .docx: open it in Word or LibreOffice and save it as .docx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as e:
        raise SkipFile(f"not a Word .docx file (damaged or not a zip archive: {e}); open it in Word and save it again") from None
    if len(members) > MAX_MEMBERS:
        raise SkipFile(f"damaged .docx: {len(members):,} files inside the zip (the limit is {MAX_MEMBERS:,}); open it in Word and save it again")
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        raise SkipFile(
            f"zip bomb? the .docx would unpack to {total / 2**20:,.0f} MB (the limit is {MAX_UNZIPPED_BYTES // 2**20} MB); "
            "if it is genuine, remove large embedded media and save it again"
        )
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or not any(n.startswith("word/") and n.endswith(".xml") for n in names):
        raise SkipFile("not a Word .docx file: the zip holds no word/document.xml (another Office format or a damaged file?); open it in Word and save it as .docx")


def _style_chain(style):
    for _ in range(10):  # styles are based on styles; a loop in a damaged file must end
        if style is None:
            return
        yield style
        style = style.base_style


def _outline_level(ppr) -> int:
    """1-based outline level from a w:pPr (0 = none; 10 = body text)."""
    if ppr is None:
        return 0
    lvl = ppr.find(_qn("w:outlineLvl"))
    val = lvl.get(_qn("w:val")) if lvl is not None else None
    return int(val) + 1 if val and val.isdigit() and int(val) < 9 else 0


def _heading_level(para) -> int:
    level = _outline_level(para._p.pPr)
    if level:
        return level
    try:
        style = para.style
    except (KeyError, ValueError):  # a style id the file does not define
        return 0
    for s in _style_chain(style):
        name = (s.name or "").strip().lower()
        m = _HEADING_NAME.match(name)
        if m:
            return int(m.group(1))
        if name in _NAMED_LEVEL:
            return _NAMED_LEVEL[name]
        level = _outline_level(s.element.pPr)
        if level:
            return level
    return 0


def _runs(p_el):
    """The w:r elements of a paragraph in order, tracked insertions included, text boxes and
    deletions not."""
    return p_el.xpath("./w:r | ./w:ins/w:r | ./w:hyperlink/w:r | ./w:smartTag/w:r | ./w:fldSimple/w:r | ./w:sdt/w:sdtContent/w:r")


def _run_text(r_el) -> str:
    out = []
    for child in r_el:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "t":
            out.append(child.text or "")
        elif tag == "tab":
            out.append(" ")
        elif tag in ("br", "cr"):
            out.append("\n")
    return "".join(out)


def _font_attr(run, para, attr):
    value = getattr(run.font, attr)
    if value is not None:
        return value
    for chain in (_style_chain(run.style) if run._r.rPr is not None and run._r.rPr.rStyle is not None else (), _style_chain(para.style)):
        for s in chain:
            value = getattr(s.font, attr)
            if value is not None:
                return value
    return None


def _paragraph(para) -> tuple[str, bool, float]:
    """(text, every visible character is bold, largest font size in points or 0)."""
    from docx.text.run import Run

    texts, bold, size = [], True, 0.0
    for r_el in _runs(para._p):
        text = _run_text(r_el)
        texts.append(text)
        if text.strip():
            run = Run(r_el, para)
            try:
                bold = bold and bool(_font_attr(run, para, "bold"))
                pt = _font_attr(run, para, "size")
            except (KeyError, ValueError):
                bold, pt = False, None
            size = max(size, pt.pt if pt is not None else 0.0)
    return "".join(texts), bold, size


def _blocks(element, parent, depth: int = 0):
    """(kind, text, heading level, bold, font size) in document order, kind "p" or "row", from
    the children of a w:body, w:tc, w:sdtContent or w:txbxContent; ``parent`` gives the part."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for el in element.iterchildren():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(el, parent)
            text, bold, size = _paragraph(para)
            yield ("p", text, _heading_level(para), bold, size)
            for box in el.xpath(".//w:txbxContent[not(ancestor::*[local-name()='Fallback'])]"):  # Fallback: VML copy
                yield from _blocks(box, para, depth)
        elif tag == "tbl" and depth < MAX_TABLE_DEPTH:
            for row in Table(el, parent).rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) not in seen:  # a merged cell is listed once per grid column
                        seen.add(id(cell._tc))
                        cells.append([b for b in _blocks(cell._tc, cell, depth + 1) if b[1].strip()])
                texts = [" ".join(b[1].strip() for b in blocks) for blocks in cells]
                if all(len(t) <= MAX_CELL_CHARS and len(b) <= 1 and t[-1:] not in _SENTENCE_STOP for t, b in zip(texts, cells)):
                    if any(texts):
                        yield ("row", " | ".join(texts), 0, False, 0.0)
                else:  # a layout table: each cell's paragraphs, cell after cell
                    for blocks in cells:
                        yield from blocks
        elif tag == "sdt":  # a content control: its content is body content
            content = el.find(_qn("w:sdtContent"))
            if content is not None:
                yield from _blocks(content, parent, depth)
        elif tag == "customXml":
            yield from _blocks(el, parent, depth)


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _dateline(text: str) -> tuple[str, str] | None:
    """(ISO date, 版次) when ``text`` is a dateline: a full date, a weekday, a 版次, a few more
    characters (the paper's name) and nothing else."""
    m = _DATE.search(text)
    if not m:
        return None
    y, mo, d = m.group(1), m.group(2) or m.group(4), m.group(3) or m.group(5)
    try:
        date = _dt.date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None
    page = _PAGE_NO.search(text)
    rest = _PAGE_NO.sub("", _WEEKDAY.sub("", text[: m.start()] + text[m.end() :]))
    if len(re.sub(r"[\s|/·,，、()（）]", "", rest)) > 12:
        return None
    return date, (f"第{page.group(1)}版" if page else "")


def read(path: Path, data: bytes, warn: Callable[[str], None]) -> list[Page]:
    _check_zip(data)
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError:  # a dependency of newsbot-cite; only a broken install lacks it
        raise SkipFile('python-docx is not installed: pip install "python-docx>=1.1"') from None
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_blocks(document.element.body, document))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, SyntaxError, zlib.error, NotImplementedError, EOFError) as e:
        # lxml's XMLSyntaxError is a SyntaxError; a damaged member fails to inflate (zlib.error)
        # or claims a zip feature Python lacks (NotImplementedError)
        raise SkipFile(f"damaged .docx ({type(e).__name__}: {e}); open it in Word and save it again") from None

    sizes = Counter()
    for kind, text, level, bold, size in blocks:
        if kind == "p" and not level and size:
            sizes[size] += len(text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    big = sorted({s for _, t, lvl, _, s in blocks if not lvl and body and s >= body * 1.3 and 0 < len(t.strip()) <= MAX_SECTION_CHARS}, reverse=True)

    meta, lines, seen = Meta(), [], 0
    for kind, text, level, bold, size in blocks:
        flat = " ".join(text.split())  # a heading broken by soft line breaks is one line
        if not flat:
            continue
        seen += 1
        if seen <= DATELINE_PARAGRAPHS and not meta.date and len(flat) <= 40 and (found := _dateline(flat)):
            meta = Meta(date=found[0], page=found[1])
            continue
        short = len(flat) <= MAX_SECTION_CHARS and flat[-1] not in _SENTENCE_STOP
        if kind == "p" and not level and size in big and short:
            level = big.index(size) + 1
        if level:
            lines.append("#" * min(level, 6) + " " + flat)
        elif kind == "p" and bold and short:
            lines.append(f"**{flat}**")
        else:  # a soft line break in a paragraph: two lines (parse_page rejoins a cut sentence)
            lines.extend(" ".join(part.split()) for part in text.split("\n") if part.strip())
    if not lines:
        warn(f"{path}: no text in this .docx (only images or drawings?)")
        return []
    return [Page("\n".join(lines) + "\n", meta)]
