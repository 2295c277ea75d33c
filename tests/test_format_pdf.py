"""PDF reader: column order, headlines, running headers, Meta, encryption, damage, scans.

Fixtures are made by tests/data/formats/make_pdf.py (reportlab); the layout functions are also
tested on synthetic character boxes, against the text they were built from.
"""

from __future__ import annotations

import difflib
import io
import random
import re
import sys
import types
from pathlib import Path

import pytest

from newsbot.embeddings import formats
from newsbot.embeddings.formats import Meta, SkipFile, pdf
from newsbot.embeddings.formats import pdflayout as L
from newsbot.embeddings.ingest import parse_page

from helpers import SAMPLE_DIR

PDF_DIR = Path(__file__).parent / "data" / "formats" / "pdf"
SAMPLE = parse_page((SAMPLE_DIR / "sample_page.txt").read_text(encoding="utf-8"), "sample_page.txt")
OCR_HINT = 'pip install "newsbot-cite[ocr]"'


def read(name: str, warnings: list | None = None):
    path = PDF_DIR / name
    return pdf.read(path, path.read_bytes(), (warnings if warnings is not None else []).append)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def two_column():
    pages = read("sample_two_column.pdf")
    articles = [(a, p.meta) for p in pages for a in parse_page(p.text, "sample_two_column.pdf")]
    return pages, articles


# -- the sample page set in two columns --------------------------------------------------------


def test_two_column_articles_and_titles(two_column):
    _, articles = two_column
    assert [a.title for a, _ in articles] == [a.title for a in SAMPLE]
    for (got, _), want in zip(articles, SAMPLE):
        assert got.kicker == want.kicker and got.subtitles == want.subtitles, want.title
        assert got.byline == want.byline


def test_two_column_paragraphs_match_and_columns_do_not_interleave(two_column):
    _, articles = two_column
    for (got, _), want in zip(articles, SAMPLE):
        a, b = squash("".join(want.paragraphs)), squash("".join(got.paragraphs))
        assert difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.97, want.title
        for para in want.paragraphs:  # a paragraph spliced from two columns would not be here
            if len(para) > 40:
                assert squash(para) in b, para[:30]
        assert len(got.paragraphs) == len(want.paragraphs), want.title


def test_two_column_meta_from_running_header(two_column):
    pages, articles = two_column
    assert [p.meta.pdf_page for p in pages] == [1, 2, 3]
    for p in pages:
        assert (p.meta.date, p.meta.page, p.meta.section) == ("2022-04-12", "第3版", "工会新闻")
    assert {m.pdf_page for a, m in articles if a.title == "想职工所想"} == {3}


def test_two_column_running_header_and_footer_dropped(two_column):
    pages, _ = two_column
    for p in pages:
        assert "浙江工人日报" not in p.text and "星期二" not in p.text and "第3版" not in p.text
        assert not any(re.fullmatch(r"[—\s\d]+", line) for line in p.text.splitlines())
    assert pages[0].text.startswith("# “甬”当先锋 举措实在\n## 宁波江北甬江街道“产改”工作成效显著\n### “产改”进行时\n")


def test_two_column_sections_and_wrapped_headline(two_column):
    pages, _ = two_column
    text = "\n".join(p.text for p in pages)
    assert "\n**做活思想引领 坚定“产改”举旗定向**\n" in text
    # set in two lines across the page; read as one headline
    assert "\n# 浙江练市智能机电高新技术园区未来三年计划这么干 搭建“536”提升职工生活品质\n" in "\n" + text


def test_page_limit_warns(monkeypatch):
    monkeypatch.setattr(pdf, "MAX_PAGES", 2)
    warnings: list[str] = []
    pages = read("sample_two_column.pdf", warnings)
    assert [p.meta.pdf_page for p in pages] == [1, 2]
    assert any("3 pages" in w and "first 2" in w for w in warnings)


# -- single column, encryption, damage ---------------------------------------------------------

RELEASE = [
    "本报讯 记者林晓报道 5月8日,市总工会在市职工服务中心召开职工技能提升行动启动会,发布今年将面向全市一线职工开展的十项技能培训和竞赛活动。",
    "根据行动方案,市总工会将联合人社、教育等部门,全年组织各类技能培训300余场,覆盖制造业、建筑业和新就业形态劳动者3万人次,并对取得高级工以上职业资格的职工给予每人最高2000元的补贴。",
    "The programme supports internationalisation of vocational training for manufacturing workers, with exchanges between partner cities planned for the autumn.",
    "市总工会有关负责人表示,技能是职工立身之本,工会将把技能提升作为服务职工的重要抓手,让更多职工实现技能成才、技能致富。",
]


@pytest.mark.parametrize("name", ["single_column.pdf", "owner_only.pdf"])
def test_single_column_press_release(name):
    [page] = read(name)
    assert page.meta == Meta(date="2023-05-08", pdf_page=1)
    [art] = parse_page(page.text, name)
    assert art.title == "市总工会启动2023年职工技能提升行动"
    assert list(art.paragraphs) == RELEASE  # Latin words spaced, "manufac-/turing" de-hyphenated
    assert "新闻稿" not in page.text


def test_user_password_is_skipped_with_the_fix():
    with pytest.raises(SkipFile, match=r"encrypted PDF: it needs a password.*qpdf --password=.* --decrypt"):
        read("encrypted.pdf")


def test_truncated_pdf_is_skipped():
    with pytest.raises(SkipFile, match=r"damaged PDF \(truncated"):
        read("corrupt.pdf")


def test_not_a_pdf_is_skipped():
    with pytest.raises(SkipFile, match="not a PDF"):
        pdf.read(Path("x.pdf"), b"<html><body>404</body></html>", print)


# -- scanned pages -----------------------------------------------------------------------------


@pytest.fixture
def ocr_module(monkeypatch):
    """formats.ocr, or a stand-in module where it is not there."""
    try:
        from newsbot.embeddings.formats import ocr
    except ImportError:
        ocr = types.ModuleType("newsbot.embeddings.formats.ocr")

        class OcrUnavailable(SkipFile):
            pass

        ocr.OcrUnavailable = OcrUnavailable
        monkeypatch.setitem(sys.modules, ocr.__name__, ocr)
        monkeypatch.setattr(formats, "ocr", ocr, raising=False)
    return ocr


def test_scanned_page_goes_through_ocr(monkeypatch, ocr_module):
    seen = []

    def fake_ocr(image):
        seen.append(image.size)
        return "# 工会送清凉进工地\n本报讯 记者周平报道 区总工会走进城北建筑工地。"

    monkeypatch.setattr(ocr_module, "ocr_image", fake_ocr)
    [page] = read("scanned.pdf")
    assert page.text == "# 工会送清凉进工地\n本报讯 记者周平报道 区总工会走进城北建筑工地。"
    assert page.meta.pdf_page == 1
    assert len(seen) == 1 and abs(seen[0][0] - 420 / 72 * pdf.OCR_DPI) < 3  # A5 at OCR_DPI


def test_scanned_pdf_without_ocr_names_the_extra(monkeypatch, ocr_module):
    def missing(image):
        raise ocr_module.OcrUnavailable("OCR is not installed")

    monkeypatch.setattr(ocr_module, "ocr_image", missing)
    with pytest.raises(SkipFile, match=re.escape(OCR_HINT)) as e:
        read("scanned.pdf")
    assert "scanned PDF" in str(e.value)


def merged(*names: str) -> bytes:
    """The fixtures' pages in one PDF (pypdfium2)."""
    import pypdfium2 as pdfium

    out = pdfium.PdfDocument.new()
    for name in names:
        out.import_pages(pdfium.PdfDocument(PDF_DIR / name))
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


def test_scanned_page_among_text_pages_without_ocr_warns(monkeypatch, ocr_module):
    def missing(image):
        raise ocr_module.OcrUnavailable("OCR is not installed")

    monkeypatch.setattr(ocr_module, "ocr_image", missing)
    warnings: list[str] = []
    pages = pdf.read(Path("m.pdf"), merged("single_column.pdf", "scanned.pdf"), warnings.append)
    assert [p.meta.pdf_page for p in pages] == [1] and "市总工会启动2023年职工技能提升行动" in pages[0].text
    assert warnings == [f"1 scanned page(s) without a text layer skipped (page 2): OCR is not installed: {OCR_HINT}"]


def test_blank_pdf_is_skipped():
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    doc.new_page(595, 842)
    buf = io.BytesIO()
    doc.save(buf)
    with pytest.raises(SkipFile, match="no text in this PDF"):
        pdf.read(Path("blank.pdf"), buf.getvalue(), print)


def test_scanned_page_real_ocr():
    pytest.importorskip("rapidocr_onnxruntime")
    pytest.importorskip("newsbot.embeddings.formats.ocr")
    [page] = read("scanned.pdf")
    assert page.meta.pdf_page == 1
    [art] = parse_page(page.text, "scanned.pdf")
    assert art.title == "工会送清凉进工地"
    body = squash("".join(art.paragraphs))
    want = squash("本报讯 记者周平报道 7月15日,区总工会走进城北建筑工地,为一线建筑工人送去绿豆汤和防暑药品。"
                  "工会干部提醒大家合理安排作业时间,注意防暑降温。")
    assert difflib.SequenceMatcher(None, want.replace(",", "，"), body.replace(",", "，")).ratio() > 0.9


# -- layout on synthetic boxes (no PDF) --------------------------------------------------------


def chars(text: str, x: float, top: float, size: float = 10.0, bold: bool = False) -> list[L.Char]:
    return [L.Char(c, x + i * size, x + (i + 1) * size, top, top + size, size, bold) for i, c in enumerate(text)]


def column_page(columns: list[list[str]], x0: float = 40, col_chars: int = 20, gutter: float = 12,
                top: float = 100, headline: str = "", width: float = 0) -> list[L.Char]:
    """Body paragraphs set in columns (first-line indent 2, full lines col_chars wide) under an
    optional headline centred over them (or over ``width`` points)."""
    out, y0 = [], top
    if headline:
        width = width or len(columns) * col_chars * 10 + (len(columns) - 1) * gutter
        out += chars(headline, x0 + (width - 20 * len(headline)) / 2, top, 20)
        y0 += 36
    for k, paras in enumerate(columns):
        x, y = x0 + k * (col_chars * 10 + gutter), y0
        for para in paras:
            text, first = para, True
            while text:
                n = col_chars - 2 if first else col_chars
                out += chars(text[:n], x + (20 if first else 0), y)
                text, first, y = text[n:], False, y + 14
    return out


def random_article(rng: random.Random, top: float, width: float):
    """(chars, bottom, expected markup) of a headline over 1-4 columns of random paragraphs; each
    column opens with a paragraph of two full lines or more (so its left edge is visible)."""
    alphabet = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    ncols, gutter = rng.randint(1, 4), rng.choice([10, 14, 24])
    col_chars = int((width - (ncols - 1) * gutter) // 10 // ncols)
    columns = [["".join(rng.choice(alphabet) for _ in range(rng.randint(2 * col_chars if i == 0 else 5, max(70, 2 * col_chars)))) + "。"
                for i in range(rng.randint(1, 5))] for _ in range(ncols)]
    headline = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 12)))
    page = column_page(columns, col_chars=col_chars, gutter=gutter, top=top, headline=headline, width=width)
    return page, max(c.bottom for c in page), [f"# {headline}"] + [p for col in columns for p in col]


def test_two_columns_under_a_spanning_headline():
    left = ["甲" * 30 + "。", "乙" * 25 + "。"]
    right = ["丙" * 40 + "。"]
    lines = L.markup(L.fragments(column_page([left, right], headline="标题在上")), 10.0, {20.0: 1})
    assert lines == ["# 标题在上", *left, *right]


def test_paragraph_continues_into_the_next_column():
    # the left column ends mid-paragraph; the right column's first row (not indented) goes on
    page = (chars("天" * 18, 60, 100) + chars("地" * 20, 40, 114)
            + chars("人" * 19 + "。", 252, 100) + chars("和" * 10 + "。", 272, 114))
    assert L.markup(L.fragments(page), 10.0, {}) == ["天" * 18 + "地" * 20 + "人" * 19 + "。", "和" * 10 + "。"]


@pytest.mark.parametrize("seed", range(40))
def test_random_columns_come_out_in_order(seed):
    """Oracle: 1-3 stacked articles, each a headline over 1-4 columns of random paragraphs (ending
    with 。) of random lengths, come out headline, then paragraph by paragraph in column order:
    nothing spliced across columns or articles, whatever the column heights."""
    rng = random.Random(seed)
    page, want, top = [], [], 100.0
    for _ in range(rng.randint(1, 3)):
        chars_, bottom, markup = random_article(rng, top, rng.choice([300, 420, 500]))
        page, want, top = page + chars_, want + markup, bottom + 24
    frags = L.fragments(page)
    assert L.markup(frags, 10.0, L.heading_levels(frags, 10.0)) == want


def test_wide_article_above_two_side_by_side():
    """A headline over four columns, and under it two articles of two columns each, side by side
    (the right one set a line lower): the wide article's columns first, then left, then right."""
    rng = random.Random(7)
    paras = lambda: ["".join(rng.choice("春夏秋冬东南西北") for _ in range(rng.randint(25, 45))) + "。" for _ in range(2)]
    top_cols, left_cols, right_cols = [paras() for _ in range(4)], [paras() for _ in range(2)], [paras() for _ in range(2)]
    wide = column_page(top_cols, col_chars=10, headline="头条新闻占满四栏")
    below = max(c.bottom for c in wide) + 24
    left = column_page(left_cols, col_chars=10, top=below, headline="左边")
    right = column_page(right_cols, x0=40 + 2 * 112, col_chars=10, top=below + 14, headline="右边")
    frags = L.fragments(wide + left + right)
    assert L.markup(frags, 10.0, {20.0: 1}) == (
        ["# 头条新闻占满四栏", *[p for c in top_cols for p in c], "# 左边", *[p for c in left_cols for p in c],
         "# 右边", *[p for c in right_cols for p in c]]
    )


def test_kicker_and_subtitle_stack_on_the_headline():
    page = (chars("工会送温暖", 150, 60, 12) + chars("城北工地迎来清凉", 120, 80, 20)
            + chars("一线工人喝上绿豆汤", 130, 108, 12) + column_page([["正" * 30 + "。"], ["文" * 30 + "。"]], top=140))
    frags = L.fragments(page)
    lines = L.markup(frags, L.body_size(frags), L.heading_levels(frags, L.body_size(frags)))
    assert lines[:3] == ["## 工会送温暖", "# 城北工地迎来清凉", "## 一线工人喝上绿豆汤"]
    [art] = parse_page("\n".join(lines), "x.pdf")
    assert (art.kicker, art.title, art.subtitles) == (("工会送温暖",), "城北工地迎来清凉", ("一线工人喝上绿豆汤",))


def test_body_size_kicker_centred_on_headline_is_a_heading():
    page = chars("本版导读", 170, 60) + chars("城北工地迎来清凉", 110, 76, 20) + chars("　　" + "正文" * 20 + "。", 40, 110)
    frags = L.fragments(page)
    assert L.markup(frags, 10.0, {20.0: 1})[:2] == ["## 本版导读", "# 城北工地迎来清凉"]


def test_headline_set_in_two_lines_is_one_heading():
    page = chars("浙江练市智能机电高新技术园区", 40, 60, 20) + chars("搭建“536”提升职工生活品质", 40, 86, 20) \
        + chars("　　本报讯 记者程雪报道 正文。", 40, 120)
    frags = L.fragments(page)
    assert L.markup(frags, 10.0, {20.0: 1}) == ["# 浙江练市智能机电高新技术园区搭建“536”提升职工生活品质", "本报讯 记者程雪报道 正文。"]


def test_larger_line_inside_a_column_is_a_section_not_a_headline():
    page = column_page([["甲" * 50 + "。"], ["乙" * 60 + "。"]], top=100) + chars("小标题", 40, 100 + 14 * 4, 12)
    page += [c._replace(top=c.top + 14, bottom=c.bottom + 14) for c in column_page([["丙" * 30 + "。"]], top=100 + 14 * 4)]
    frags = L.fragments(page)
    assert L.markup(frags, 10.0, L.heading_levels(frags, 10.0)) == ["甲" * 50 + "。", "**小标题**", "丙" * 30 + "。", "乙" * 60 + "。"]


def test_bold_line_is_a_section():
    page = chars("　　" + "甲" * 20, 40, 100) + chars("乙" * 5 + "。", 40, 114) + chars("小标题在此", 40, 128, bold=True) + chars("　　丙丙。", 40, 142)
    assert L.markup(L.fragments(page), 10.0, {}) == ["甲" * 20 + "乙" * 5 + "。", "**小标题在此**", "丙丙。"]


def test_bold_lead_paragraph_stays_a_paragraph():
    page = [c._replace(bold=c.text == "导") for c in column_page([["导" * 58, "正" * 30 + "。"]])]
    assert L.markup(L.fragments(page), 10.0, {}) == ["导" * 58, "正" * 30 + "。"]


@pytest.mark.parametrize("a, b, joined", [
    ("中文行", "接下一行", "中文行接下一行"),
    ("manufac-", "turing workers", "manufacturing workers"),
    ("workers,", "with", "workers, with"),
    ("(2022-", "2024年)", "(2022-2024年)"),
    ("作用,", "2021年", "作用,2021年"),
    ("共有17", "大项", "共有17大项"),
    ("报道 ", "在宁波", "报道 在宁波"),
])
def test_join_text(a, b, joined):
    assert L.join_text(a, b) == joined


@pytest.mark.parametrize("texts, meta", [
    (["浙江工人日报", "2022年4月12日 星期二", "第3版 工会新闻"], ("2022-04-12", "第3版", "工会新闻")),
    (["二〇二二年四月十二日", "第 03 版"], ("2022-04-12", "第03版", "")),
    (["2021-11-05 A03版 要闻"], ("2021-11-05", "A03", "")),
    (["第２版：要闻", "2022年13月40日"], ("", "第2版", "要闻")),
])
def test_parse_meta(texts, meta):
    assert pdf.parse_meta(texts) == meta


def test_furniture_needs_a_gap_from_the_text():
    # a body line near the bottom holding a date stays; the page number under a gap goes
    body = [f for t in range(10) for f in L.fragments(chars("正文正文正文正文正文", 40, 600 + 14 * t))]
    dated = L.fragments(chars("会议于2022年4月12日召开", 40, 740))
    footer = L.fragments(chars("— 7 —", 100, 780))
    kept, dropped = pdf.split_furniture([body + dated + footer], [800.0])
    assert dated[0] in kept[0] and footer[0] not in kept[0] and dropped == [["— 7 —"]]
