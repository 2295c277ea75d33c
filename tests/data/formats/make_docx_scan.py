"""Build the Word and scanned-page fixtures in tests/data/formats/docx/ and .../scan/.

    /work/venv/bin/python tests/data/formats/make_docx_scan.py

Deterministic: the same python-docx, Pillow and fonts-noto-cjk give the same bytes (zip member
times and document dates are fixed; the scan noise is seeded). What is built:

docx/sample.docx    the shipped sample page (embeddings/data/sample_page.txt) as an editor
                    writes it: #/##/### lines styled Heading 1/2/3, **bold** lines as bold
                    paragraphs, body paragraphs with a first-line indent, bylines in their own run
docx/extras.docx    a dateline, Title / "标题 2" / outline-level / big-font headings, a data table
                    (one cell merged), a layout table, an emphasised bold sentence, a soft line
                    break, tracked changes, a content control, a text box and a heading on
                    two lines
docx/corrupt.docx   sample.docx cut off after 3,000 bytes (an interrupted download)
docx/old_word.docx  an old binary Word (.doc, OLE2) file renamed .docx
docx/zipbomb.docx   a valid docx whose media member declares 3,000,000,000 bytes unpacked
scan/scan_article.png  two articles of the sample page (传播新时代的精神力量, 宁波海曙工会干部徐宜民…)
                    set like a newspaper: headlines across, body in two justified columns,
                    grayscale with scanner blur and noise, ~175 dpi (24 px body type)
scan/scan_wide.png  one article (服务亚运交通保障…) in one wide column, 70 characters (1680 px) a
                    line: RapidOCR's default settings drop some of these lines (see ocr.py)
scan/huge.png       a PNG header declaring 50000x50000 pixels (a decompression bomb), 67 bytes

The scans' ground truth is the articles parse_page reads from the sample page (SCAN_ARTICLES).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SAMPLE = ROOT / "embeddings" / "data" / "sample_page.txt"
SCAN_ARTICLES = {  # fixture name -> titles of the sample articles it shows, in order
    "scan_article.png": ("传播新时代的精神力量", "宁波海曙工会干部徐宜民:昼夜兼程的“摆渡人”"),
    "scan_wide.png": ("服务亚运交通保障 淳安启动“百业百匠”百场技能竞赛",),
}


# -- docx ------------------------------------------------------------------------------------------

def _fixed_zip(data: bytes) -> bytes:
    """The zip re-written with fixed member times (python-docx stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), src.read(info), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _new_document():
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = docx.Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    props = doc.core_properties
    props.author, props.title = "编辑部", "工会新闻"
    # A file's own dates are when it was written, not published: the reader must not use them.
    props.created = props.modified = props.last_printed = dt.datetime(2023, 1, 5, 9, 30)
    props.revision = 1
    return doc


def _save(doc, path: Path) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    data = _fixed_zip(buf.getvalue())
    path.write_bytes(data)
    return data


def make_sample_docx(path: Path) -> bytes:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    from newsbot.embeddings.ingest import BYLINE

    doc = _new_document()
    for raw in SAMPLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue  # an editor separates paragraphs with paragraph marks, not empty paragraphs
        level = len(line) - len(line.lstrip("#"))
        if level:
            doc.add_heading(line[level:].strip(), level)
        elif line.startswith("**") and line.endswith("**"):
            doc.add_paragraph().add_run(line[2:-2]).bold = True
        else:
            para = doc.add_paragraph()
            para.paragraph_format.first_line_indent = Pt(24)
            head, sep, rest = line.partition("报道 ")
            if BYLINE.match(line) and sep:  # the byline in 楷体, the text after it in the body font
                run = para.add_run(head + "报道")
                run.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "楷体")
                para.add_run(" " + rest)
            else:
                para.add_run(line)
    return _save(doc, path)


def _xml(fragment: str):
    from docx.oxml import parse_xml

    ns = {
        "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
        "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
        "v": "urn:schemas-microsoft-com:vml",
    }
    decl = " ".join(f'xmlns:{k}="{v}"' for k, v in ns.items())
    return parse_xml(re.sub(r"^<([\w:]+)", lambda m: f"<{m.group(1)} {decl}", fragment, count=1))


def make_extras_docx(path: Path) -> bytes:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt

    doc = _new_document()
    doc.add_paragraph("工人日报　2022年4月12日　星期二　第3版")
    doc.add_paragraph("")
    doc.add_paragraph("职工服务数据一览", style="Title")
    wps_heading = doc.styles.add_style("标题 2", WD_STYLE_TYPE.PARAGRAPH)  # how WPS names its styles
    wps_heading.font.size = Pt(16)
    doc.add_paragraph("园区工会一季度数据", style=wps_heading)
    outlined = doc.add_paragraph("数据说明")  # a heading only by its outline level (3)
    outlined.paragraph_format.element.get_or_add_pPr().append(_xml('<w:outlineLvl w:val="2"/>'))
    big = doc.add_paragraph().add_run("手排的大标题")  # a headline made by hand: 22 pt, no style
    big.font.size, big.bold = Pt(22), True
    doc.add_paragraph("本报讯 记者程雪报道 一季度，园区工会服务职工的主要数据如下。")
    table = doc.add_table(rows=4, cols=3)
    for r, row in enumerate([("项目", "2021年", "2022年"), ("入会人数", "6200", "6700"), ("技能培训", "1.2万人次", "1.5万人次"), ("合计", "", "")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    table.cell(3, 0).merge(table.cell(3, 1)).text = "合计"
    table.cell(3, 2).text = "12900"
    doc.add_paragraph().add_run("园区职工工会建会率达100%。").bold = True  # emphasis, not a section
    doc.add_paragraph().add_run("一线声音").bold = True
    layout = doc.add_table(rows=1, cols=2)
    layout.cell(0, 0).text = "左栏的文字比较长，是一篇短文的第一段，编辑用表格排成了两栏，读的时候应当一段一段地读出来。"
    layout.cell(0, 1).text = "右栏是第二段，同样比较长，它和左栏不是同一行数据，所以不能用竖线连在一起读成一行。"
    soft = doc.add_paragraph("第一行文字，")
    soft.add_run().add_break()
    soft.add_run("第二行文字。")
    tracked = doc.add_paragraph("原有文字")
    tracked._p.append(_xml('<w:ins w:id="1" w:author="编辑" w:date="2022-04-11T00:00:00Z"><w:r><w:t>插入文字。</w:t></w:r></w:ins>'))
    tracked._p.append(_xml('<w:del w:id="2" w:author="编辑" w:date="2022-04-11T00:00:00Z"><w:r><w:delText>删除文字</w:delText></w:r></w:del>'))
    body = doc.element.body
    body.insert(len(body) - 1, _xml('<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>控件里的段落。</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    anchor = doc.add_paragraph("正文里锚定了一个文本框。")
    box = '<w:txbxContent><w:p><w:r><w:t>文本框里的文字。</w:t></w:r></w:p></w:txbxContent>'
    anchor._p.append(_xml(
        f'<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:txbx>{box}</wps:txbx></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:textbox>{box}</v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r>'
    ))
    two_line = doc.add_heading("软回车分开的", 2)  # a headline broken with Shift+Enter
    two_line.add_run().add_break()
    two_line.add_run("两行标题")
    return _save(doc, path)


def make_bad_docx(folder: Path, sample: bytes) -> None:
    (folder / "corrupt.docx").write_bytes(sample[:3000])
    ole = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(24) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00")
    ole += bytes(512 - len(ole)) + "Root Entry".encode("utf-16-le").ljust(64, b"\0") + "WordDocument".encode("utf-16-le").ljust(64, b"\0")
    (folder / "old_word.docx").write_bytes(bytes(ole.ljust(1536, b"\0")))
    # A real docx plus a media file whose headers declare 3 GB unpacked (its data is 1 KB of
    # zeros): tiny on disk, and what a zip bomb's headers say.
    buf = io.BytesIO(sample)
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("word/media/image1.png", (1980, 1, 1, 0, 0, 0)), bytes(1024), zipfile.ZIP_DEFLATED)
    data = bytearray(buf.getvalue())
    name = b"word/media/image1.png"
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = 0
        while (pos := data.find(sig, pos)) >= 0:
            name_at = pos + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                struct.pack_into("<I", data, pos + size_at, 3_000_000_000)
            pos += 4
    (folder / "zipbomb.docx").write_bytes(bytes(data))


# -- scans -----------------------------------------------------------------------------------------

BODY_PX, LEADING, COLUMN_CHARS, WIDE_CHARS, GUTTER, MARGIN = 24, 38, 22, 70, 64, 60
NO_LINE_START = "，。、；：？！”’）》】…,.;:?!)"
NO_LINE_END = "“‘（《【("


def _font(family: str, size: int):
    from PIL import ImageFont

    name, style = family.rsplit(" ", 1)
    path = subprocess.run(["fc-match", "-f", "%{file}", f"{name}:style={style}"], capture_output=True, text=True).stdout
    for index in range(10):
        try:
            font = ImageFont.truetype(path, size, index=index)
        except OSError:
            break
        if font.getname() == (name, style):
            return font
    raise SystemExit(f"font {family!r} not found: apt-get install fonts-noto-cjk")


def _wrap(text: str, font, width: int, indent: int) -> list[tuple[str, int, bool]]:
    """(line, x offset, justify) for one paragraph: first line indented, no line starting with
    closing punctuation or ending with an opening one."""
    lines, line, x0 = [], "", indent
    for ch in text:
        if line and font.getlength(line + ch) > width - x0:
            moved = ""
            if ch in NO_LINE_START or line[-1] in NO_LINE_END or ch == line[-1] == "—":
                moved, line = line[-1], line[:-1]
            lines.append((line, x0, True))
            line, x0 = moved + ch, 0
        else:
            line += ch
    lines.append((line, x0, False))
    return lines


def _draw_line(draw, x: int, y: int, width: int, line: tuple[str, int, bool], font) -> None:
    text, x0, justify = line
    spare = width - x0 - font.getlength(text)
    step = spare / (len(text) - 1) if justify and len(text) > 1 else 0
    pos = x + x0
    for ch in text:
        draw.text((pos, y), ch, font=font, fill=20)
        pos += font.getlength(ch) + step


def _centered(draw, y: int, width: int, text: str, font) -> int:
    draw.text((MARGIN + (width - font.getlength(text)) / 2, y), text, font=font, fill=15)
    return y + int(font.size * 1.6)


def _scan(articles, columns: int, path: Path, seed: int) -> None:
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    body, head = _font("Noto Serif CJK SC Regular", BODY_PX), _font("Noto Serif CJK SC Bold", 48)
    small = _font("Noto Sans CJK SC Regular", 30)
    col_w = COLUMN_CHARS * BODY_PX if columns == 2 else WIDE_CHARS * BODY_PX
    width = col_w * columns + GUTTER * (columns - 1)
    blocks = []
    for a in articles:
        lines = [ln for p in a.paragraphs for ln in _wrap(p, body, col_w, 2 * BODY_PX)]
        per_col = -(-len(lines) // columns)
        blocks.append((a, [lines[i * per_col : (i + 1) * per_col] for i in range(columns)], per_col))
    height = 2 * MARGIN + sum(len(a.kicker) * 48 + 78 + len(a.subtitles) * 48 + 30 + n * LEADING + 50 for a, _, n in blocks)
    page = Image.new("L", (width + 2 * MARGIN, height), 246)
    draw = ImageDraw.Draw(page)
    y = MARGIN
    for i, (a, cols, n) in enumerate(blocks):
        if i:
            draw.line((MARGIN, y - 26, MARGIN + width, y - 26), fill=90, width=2)
        for k in a.kicker:
            y = _centered(draw, y, width, k, small)
        y = _centered(draw, y, width, a.title, head)
        for s in a.subtitles:
            y = _centered(draw, y, width, s, small)
        y += 30
        for c, col in enumerate(cols):
            for j, line in enumerate(col):
                _draw_line(draw, MARGIN + c * (col_w + GUTTER), y + j * LEADING, col_w, line, body)
        y += n * LEADING + 50
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    noise = np.random.default_rng(seed).normal(0, 6, (page.height, page.width))
    pixels = np.clip(np.asarray(page, dtype=np.float32) + noise, 0, 255)
    # 8 gray levels: a scanner's noise, and a file small enough to commit
    Image.fromarray((pixels // 32 * 32 + 16).clip(0, 255).astype(np.uint8)).save(path, optimize=True)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_huge_png(path: Path, side: int = 50_000) -> None:
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit grayscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(bytes(side // 100))) + _png_chunk(b"IEND", b""))


def scan_articles(name: str):
    """The sample-page articles the scan ``name`` shows: its ground truth."""
    from newsbot.embeddings.ingest import parse_page

    by_title = {a.title: a for a in parse_page(SAMPLE.read_text(encoding="utf-8"), SAMPLE.name)}
    return [by_title[t] for t in SCAN_ARTICLES[name]]


def main() -> None:
    docx_dir, scan_dir = HERE / "docx", HERE / "scan"
    docx_dir.mkdir(exist_ok=True)
    scan_dir.mkdir(exist_ok=True)
    sample = make_sample_docx(docx_dir / "sample.docx")
    make_extras_docx(docx_dir / "extras.docx")
    make_bad_docx(docx_dir, sample)
    _scan(scan_articles("scan_article.png"), 2, scan_dir / "scan_article.png", seed=1)
    _scan(scan_articles("scan_wide.png"), 1, scan_dir / "scan_wide.png", seed=2)
    make_huge_png(scan_dir / "huge.png")
    for f in sorted([*docx_dir.iterdir(), *scan_dir.iterdir()]):
        print(f"{f.relative_to(HERE)}: {f.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
