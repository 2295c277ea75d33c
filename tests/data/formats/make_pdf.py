"""Write the PDF fixtures in tests/data/formats/pdf/ (deterministic: run it again, same bytes).

    /work/venv/bin/python tests/data/formats/make_pdf.py

* sample_two_column.pdf - the shipped sample page (embeddings/data/sample_page.txt) set like a
  newspaper: A3 pages, running header (paper, date, 第3版 工会新闻) and a page-number footer,
  each article's kicker/headline/subtitle centred across the page in bigger type (the longest
  headline wraps onto two lines), the body in two balanced, justified columns with 2-character
  first-line indents, section lines in a bold face. The text is wrapped here (stringWidth), so
  the columns are real columns; no article is split across pages.
* single_column.pdf - a one-column press release (a Latin paragraph with a hyphenated break).
* encrypted.pdf (user password "secret") and owner_only.pdf (owner password only: opens as is).
* scanned.pdf - one page that is only an image of a short article (no text layer).
* corrupt.pdf - single_column.pdf cut in half.

Text uses reportlab's built-in CID font STSong-Light (UniGB-UCS2-H): not embedded, so the files
stay small and the text extracts as Unicode. The bold face is the same font under the name
"STSong-Light,Bold" (a viewer substitutes a bold face; pdfplumber reports the name).
"""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A3, A4, A5
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase._cidfontdata import CIDFontInfo
from reportlab.pdfbase.pdfdoc import PDFString
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.lib.pdfencrypt import StandardEncryption

HERE = Path(__file__).resolve().parent
OUT = HERE / "pdf"
SAMPLE = HERE.parents[2] / "embeddings" / "data" / "sample_page.txt"
CJK_TTC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # fonts-noto-cjk; index 2 = SC

FONT, BOLD = "STSong-Light", "STSong-Light,Bold"
BODY, LEADING = 10.0, 14.5
HEAD_SIZES = {1: 22.0, 2: 15.0, 3: 12.0}  # markup heading level -> point size
CLOSING = set("，。、；：？！”’）》」』】,.;:?!)%")
OPENING = set("“‘（《「『【(")

PAPER, DATE, PAGE = "浙江工人日报", "2022年4月12日 星期二", "第3版 工会新闻"


class _Song(UnicodeCIDFont):
    """STSong-Light, optionally under a ",Bold" name (same widths; a viewer substitutes a bold face).

    The CIDSystemInfo strings are written as PDF strings, not raw literals, so an encrypted file
    encrypts them too (reportlab writes "(Adobe)" verbatim, which a reader then "decrypts" into
    garbage and loses the CID -> Unicode mapping)."""

    def __init__(self, bold: bool = False):
        super().__init__(FONT)
        self.bold = bold
        if bold:
            self.name = self.fontName = BOLD

    def addObjects(self, doc):
        info = CIDFontInfo[FONT]
        saved = copy.deepcopy(info)
        desc = info["DescendantFonts"][0]
        desc["CIDSystemInfo"] = {"Registry": PDFString("Adobe"), "Ordering": PDFString("GB1"), "Supplement": 0}
        if self.bold:
            info["BaseFont"] = desc["BaseFont"] = "/STSong-Light,Bold"
            desc["FontDescriptor"]["FontName"] = "/STSongStd-Light,Bold"
            desc["FontDescriptor"]["Flags"] = 6 | 262144  # ForceBold
        try:
            super().addObjects(doc)
        finally:
            CIDFontInfo[FONT] = saved


pdfmetrics.registerFont(_Song())
pdfmetrics.registerFont(_Song(bold=True))


def width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT, size)


def tokens(text: str) -> list[str]:
    """Line-break units: a run of Latin letters/digits (and a following space) or one character."""
    return re.findall(r"[A-Za-z0-9'’.%+\-]+ ?|.", text)


def wrap(text: str, size: float, first: float, rest: float, hyphenate: bool = False) -> list[str]:
    """Greedy wrap into lines no wider than ``first`` (then ``rest``) points, with kinsoku: a line
    does not start with closing or end with opening punctuation."""
    lines, cur, limit = [], [], first
    for tok in tokens(text):
        if not cur or width("".join(cur) + tok.rstrip(), size) <= limit:
            cur.append(tok)
            continue
        if hyphenate and len(tok.strip()) >= 8:  # split a long Latin word with a hyphen
            room = limit - width("".join(cur), size)
            k = max(i for i in range(len(tok) + 1) if width(tok[:i] + "-", size) <= room or i == 0)
            if k >= 3:
                cur.append(tok[:k] + "-")
                tok = tok[k:]
        carry, nxt = [], tok  # kinsoku: move tokens down until the break is allowed
        while len(cur) > 1 and (nxt[0] in CLOSING or cur[-1][-1] in OPENING):
            nxt = cur.pop()
            carry.insert(0, nxt)
        lines.append("".join(cur))
        cur, limit = carry + [tok], rest
    if cur:
        lines.append("".join(cur))
    return lines


def draw_line(c: canvas.Canvas, x: float, y: float, text: str, size: float, justify_to: float = 0, font: str = FONT):
    # UniGB-UCS2-H has no glyph for U+00B7 (the middle dot of "共富·引领"): reportlab would draw
    # nothing. U+30FB is drawn, and maps back to U+00B7 when the text is extracted.
    text = text.replace("\u00b7", "\u30fb")
    t = c.beginText(x, y)
    t.setFont(font, size)
    spacing = 0.0
    if justify_to and len(text.rstrip()) > 1:
        spacing = max(0.0, (justify_to - width(text.rstrip(), size)) / (len(text.rstrip()) - 1))
    t.setCharSpace(spacing)
    t.textOut(text)
    t.setCharSpace(0)
    c.drawText(t)


def paragraph_rows(text: str, col_w: float, hyphenate: bool = False) -> list[tuple[str, float, float]]:
    """(text, indent, justify_to) rows of one paragraph: indented first line, justified but last."""
    lines = wrap(text, BODY, col_w - 2 * BODY, col_w, hyphenate)
    rows = []
    for i, line in enumerate(lines):
        indent = 2 * BODY if i == 0 else 0.0
        rows.append((line, indent, (col_w - indent) if i < len(lines) - 1 else 0.0))
    return rows


def articles(sample: str) -> list[tuple[list[tuple[int, str]], list[tuple[str, str]]]]:
    """The sample page as (headings [(level, text)], body [("p"|"s", text)]) per article."""
    out: list = []
    for raw in sample.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = re.match(r"^(#+)\s+(.*)$", line)
        if m:
            if not out or out[-1][1]:
                out.append(([], []))
            out[-1][0].append((len(m.group(1)), m.group(2)))
        elif line.startswith("**") and line.endswith("**"):
            out[-1][1].append(("s", line.strip("*")))
        else:
            out[-1][1].append(("p", line))
    return out


def running_furniture(c: canvas.Canvas, w: float, h: float, margin: float, n: int):
    c.setFont(FONT, 12)
    c.drawString(margin, h - 40, PAPER)
    c.setFont(FONT, 9)
    c.drawCentredString(w / 2, h - 40, DATE)
    c.drawRightString(w - margin, h - 40, PAGE)
    c.setLineWidth(0.8)
    c.line(margin, h - 48, w - margin, h - 48)
    c.drawCentredString(w / 2, 28, f"— {n} —")


def make_two_column(path: Path):
    w, h = A3
    margin, gutter = 48.0, 26.0
    col_w = (w - 2 * margin - gutter) / 2
    top, bottom = h - 70, 50
    c = canvas.Canvas(str(path), pagesize=A3, invariant=1, pageCompression=1)
    c.setTitle("浙江工人日报 第3版")  # document info: a title, no date (CreationDate is not the paper's date)
    page = 1
    running_furniture(c, w, h, margin, page)
    y = top
    for heads, body in articles(SAMPLE.read_text(encoding="utf-8")):
        head_rows = [(size, line) for level, text in heads for size in [HEAD_SIZES[level]]
                     for line in wrap(text, size, w - 2 * margin, w - 2 * margin)]
        rows: list[tuple[str, float, float, str]] = []
        for kind, text in body:
            if kind == "s":
                rows.append((text, 0.0, 0.0, BOLD))
            else:
                rows.extend((t, ind, j, FONT) for t, ind, j in paragraph_rows(text, col_w))
        per_col = (len(rows) + 1) // 2
        need = sum(s * 1.35 for s, _ in head_rows) + 12 + per_col * LEADING
        if y - need < bottom:
            c.showPage()
            page += 1
            running_furniture(c, w, h, margin, page)
            y = top
        for size, line in head_rows:
            y -= size * 1.35
            c.setFont(FONT, size)
            x = (w - width(line, size)) / 2
            draw_line(c, x, y, line, size)
        y -= 12
        for i, (text, indent, justify, font) in enumerate(rows):
            col, row = divmod(i, per_col)
            x = margin + col * (col_w + gutter) + indent
            draw_line(c, x, y - (row + 1) * LEADING, text, BODY, justify, font)
        y -= per_col * LEADING + 14
        c.setLineWidth(0.4)
        c.line(margin, y, w - margin, y)
        y -= 8
    c.showPage()
    c.save()


RELEASE_TITLE = "市总工会启动2023年职工技能提升行动"
RELEASE = [
    "本报讯 记者林晓报道 5月8日,市总工会在市职工服务中心召开职工技能提升行动启动会,发布今年将面向全市一线职工开展的十项技能培训和竞赛活动。",
    "根据行动方案,市总工会将联合人社、教育等部门,全年组织各类技能培训300余场,覆盖制造业、建筑业和新就业形态劳动者3万人次,并对取得高级工以上职业资格的职工给予每人最高2000元的补贴。",
    "The programme supports internationalisation of vocational training for manufacturing workers, with exchanges between partner cities planned for the autumn.",
    "市总工会有关负责人表示,技能是职工立身之本,工会将把技能提升作为服务职工的重要抓手,让更多职工实现技能成才、技能致富。",
]


def draw_single_column(c: canvas.Canvas):
    w, h = A4
    margin = 130.0
    col_w = w - 2 * margin
    c.setFont(FONT, 9)
    c.drawString(margin, h - 40, "市总工会新闻稿")
    c.drawRightString(w - margin, h - 40, "2023年5月8日")
    y = h - 90
    c.setFont(FONT, 18)
    c.drawCentredString(w / 2, y, RELEASE_TITLE)
    y -= 30
    for para in RELEASE:
        for text, indent, justify in paragraph_rows(para, col_w, hyphenate=True):
            y -= LEADING
            draw_line(c, margin + indent, y, text, BODY, justify)
        y -= 4
    c.setFont(FONT, 9)
    c.drawCentredString(w / 2, 30, "1")


def make_single(path: Path, encrypt=None):
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1, pageCompression=1, encrypt=encrypt)
    draw_single_column(c)
    c.showPage()
    c.save()


SCAN_TITLE = "工会送清凉进工地"
SCAN_TEXT = [
    "本报讯 记者周平报道 7月15日,区总工会走进城北建筑工地,为一线建筑工人送去绿豆汤和防暑药品。",
    "工会干部提醒大家合理安排作业时间,注意防暑降温。",
]


def make_scanned(path: Path):
    dpi = 150
    img = Image.new("L", (int(A5[0] / 72 * dpi), int(A5[1] / 72 * dpi)), 255)
    draw = ImageDraw.Draw(img)
    big = ImageFont.truetype(CJK_TTC, 44, index=2)
    small = ImageFont.truetype(CJK_TTC, 28, index=2)
    draw.text((img.width // 2, 90), SCAN_TITLE, font=big, fill=0, anchor="mm")
    y = 170
    per_line = (img.width - 120) // 28
    for para in SCAN_TEXT:
        text = "\u3000\u3000" + para
        for i in range(0, len(text), per_line):
            draw.text((60, y), text[i : i + per_line], font=small, fill=0)
            y += 44
        y += 10
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    c = canvas.Canvas(str(path), pagesize=A5, invariant=1)
    c.drawImage(ImageReader(io.BytesIO(buf.getvalue())), 0, 0, width=A5[0], height=A5[1])
    c.showPage()
    c.save()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    make_two_column(OUT / "sample_two_column.pdf")
    make_single(OUT / "single_column.pdf")
    make_single(OUT / "encrypted.pdf", StandardEncryption("secret", "owner-secret", strength=128))
    make_single(OUT / "owner_only.pdf", StandardEncryption("", "owner-secret", canModify=0, strength=128))
    make_scanned(OUT / "scanned.pdf")
    data = (OUT / "single_column.pdf").read_bytes()
    (OUT / "corrupt.pdf").write_bytes(data[: len(data) // 2])
    for p in sorted(OUT.iterdir()):
        print(f"{p.name}: {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
