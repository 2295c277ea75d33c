"""OCR of scanned pages (the optional extra, rapidocr-onnxruntime) and the image reader.

The scans in tests/data/formats/scan are rendered from the sample page's articles by
tests/data/formats/make_docx_scan.py; those articles are the ground truth. Character accuracy is
1 - Levenshtein distance / length over the text with whitespace removed and NFKC applied (so
OCR's full-width "，" equals the sample's ","). Run with -s to see the measured accuracy and time.
"""

from __future__ import annotations

import builtins
import importlib.util
import sys
import time
import tracemalloc
import unicodedata
from pathlib import Path

import pytest

from newsbot.embeddings.formats import Meta, SkipFile, reader_for
from newsbot.embeddings.formats import image as image_reader
from newsbot.embeddings.formats import ocr
from newsbot.embeddings.formats.ocr import Line, OcrUnavailable, page_markup
from newsbot.embeddings.ingest import parse_page

SCANS = Path(__file__).parent / "data" / "formats" / "scan"
sys.path.insert(0, str(SCANS.parent))
from make_docx_scan import scan_articles  # noqa: E402  (the scans' ground truth)

needs_ocr = pytest.mark.skipif(
    importlib.util.find_spec("rapidocr_onnxruntime") is None,
    reason='rapidocr-onnxruntime is not installed (pip install "newsbot-cite[ocr]")',
)


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def accuracy(got: str, want: str) -> float:
    got, want = norm(got), norm(want)
    return 1 - edit_distance(got, want) / len(want)


def truth_text(name: str) -> str:
    return "".join(x for a in scan_articles(name) for x in (*a.kicker, a.title, *a.subtitles, *a.paragraphs))


def markup_text(markup: str) -> str:
    return "".join(line.lstrip("#") for line in markup.splitlines())


_cache: dict = {}


def ocr_scan(name: str) -> tuple[str, float]:
    """(markup, seconds) of reading a scan with the image reader, once per test run."""
    if name not in _cache:
        ocr.get_engine()  # model loading is not OCR time
        path = SCANS / name
        start = time.perf_counter()
        (page,) = image_reader.read(path, path.read_bytes(), pytest.fail)
        _cache[name] = (page.text, time.perf_counter() - start)
        assert page.meta == Meta()  # a single image: no page number
    return _cache[name]


@needs_ocr
@pytest.mark.parametrize("name", ["scan_article.png", "scan_wide.png"])
def test_character_accuracy(name, capsys):
    markup, seconds = ocr_scan(name)
    acc = accuracy(markup_text(markup), truth_text(name))
    with capsys.disabled():
        print(f"\n{name}: character accuracy {acc:.4f} over {len(norm(truth_text(name)))} characters, OCR {seconds:.2f} s")
    assert acc >= 0.97


@needs_ocr
def test_headlines_are_headings():
    markup, _ = ocr_scan("scan_article.png")
    headings = [line for line in markup.splitlines() if line.startswith("#")]
    assert [norm(h) for h in headings] == [
        norm("# 传播新时代的精神力量"),  # the largest type
        norm("## 台州椒江区总举办微型党课比赛"),  # subtitle, kicker: the next size
        norm("## “娘家人”助力疫情防控"),
        norm("# 宁波海曙工会干部徐宜民:昼夜兼程的“摆渡人”"),
    ]


@needs_ocr
def test_two_columns_give_the_articles_and_their_paragraphs():
    markup, _ = ocr_scan("scan_article.png")
    got, want = parse_page(markup, "scan_article.png"), scan_articles("scan_article.png")
    assert [(norm(a.title), tuple(map(norm, a.kicker)), tuple(map(norm, a.subtitles))) for a in got] == [
        (norm(a.title), tuple(map(norm, a.kicker)), tuple(map(norm, a.subtitles))) for a in want
    ]
    for g, w in zip(got, want):
        # Not merged across articles or columns, nor split: paragraph for paragraph.
        assert len(g.paragraphs) == len(w.paragraphs) == {"传播新时代的精神力量": 4}.get(w.title, 7)
        for gp, wp in zip(g.paragraphs, w.paragraphs):
            assert accuracy(gp, wp) >= 0.95, (gp, wp)
    assert norm(got[0].paragraphs[-1]).endswith("为职工群众提供更具更高质量的服务。")
    assert norm(got[1].paragraphs[0]).startswith("记者张浩呈通讯员郑轶文报道穿上防护服")
    # The paragraph that runs from the foot of the left column to the top of the right one.
    assert "晚上8点又接到转运的紧急任务" in norm(got[1].paragraphs[4])


@needs_ocr
def test_one_wide_column():
    """70 characters (1680 px) a line: RapidOCR's default settings drop lines of it (70% of
    the characters read); see ENGINE_PARAMS."""
    markup, _ = ocr_scan("scan_wide.png")
    (article,) = parse_page(markup, "scan_wide.png")
    (want,) = scan_articles("scan_wide.png")
    assert norm(markup.splitlines()[0]) == norm("# 服务亚运交通保障 淳安启动“百业百匠”百场技能竞赛")
    assert len(article.paragraphs) == len(want.paragraphs) == 3
    for gp, wp in zip(article.paragraphs, want.paragraphs):
        assert accuracy(gp, wp) >= 0.95, (gp, wp)


@needs_ocr
def test_a_large_scan_read_in_strips_reads_the_same(monkeypatch):
    """Above TILE_PIXELS the page is detected in overlapping strips (bounded memory)."""
    from PIL import Image

    monkeypatch.setattr(ocr, "TILE_PIXELS", 600_000)  # the 1240x1900 scan: 4 strips
    image = Image.open(SCANS / "scan_article.png")
    assert len(ocr._strips(image.height, image.width)) == 4
    markup = ocr.ocr_image(image)
    assert accuracy(markup_text(markup), truth_text("scan_article.png")) >= 0.97
    assert [norm(a.title) for a in parse_page(markup, "x")] == [norm(a.title) for a in scan_articles("scan_article.png")]


@needs_ocr
def test_multi_page_tiff_gives_a_page_per_frame(tmp_path):
    from PIL import Image

    first = Image.open(SCANS / "scan_article.png").crop((0, 0, 1240, 445))  # headline, subtitle, six rows of body
    second = Image.open(SCANS / "scan_wide.png")
    path = tmp_path / "scan.tif"
    first.save(path, save_all=True, append_images=[second], compression="tiff_deflate")
    assert reader_for(path) is image_reader.read
    pages = image_reader.read(path, path.read_bytes(), pytest.fail)
    assert [p.meta.pdf_page for p in pages] == [1, 2]
    assert norm(pages[0].text).startswith(norm("# 传播新时代的精神力量\n## 台州椒江区总举办微型党课比赛"))
    assert "淳安县第五届" in pages[1].text


@needs_ocr
def test_decompression_bomb_is_refused_before_decoding():
    path = SCANS / "huge.png"
    assert path.stat().st_size < 200
    tracemalloc.start()
    try:
        with pytest.raises(SkipFile, match=r"^image too large: 50000×50000 pixels; the limit is 80,000,000 pixels"):
            image_reader.read(path, path.read_bytes(), pytest.fail)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000


def test_size_limit_is_checked_on_images_handed_to_ocr():
    with pytest.raises(SkipFile, match=r"image too large: 9000×9000 pixels; the limit is 80,000,000 pixels"):
        ocr.check_image_size(9000, 9000)
    ocr.check_image_size(8000, 10000)  # a broadsheet at 400 dpi is fine


def test_large_scans_are_scaled_down_and_modes_normalised():
    import numpy as np
    from PIL import Image

    arr = ocr._to_array(Image.new("L", (5000, 300), 200))
    assert arr.shape == (240, ocr.OCR_MAX_SIDE, 3) and arr.dtype == np.uint8
    clear = ocr._to_array(Image.new("RGBA", (50, 20), (0, 0, 0, 0)))  # transparent: on white
    assert int(clear.min()) == 255
    deep = ocr._to_array(Image.fromarray(np.full((10, 10), 65535, dtype=np.uint16)))  # 16-bit scan
    assert int(deep.min()) == 255


@needs_ocr
@pytest.mark.parametrize(
    "data, reason",
    [
        (b"not an image at all" * 10, r"not an image that can be read \(unknown format\)"),
        ((SCANS / "scan_wide.png").read_bytes()[:5000], r"damaged image \(image file is truncated.*\); scan or export it again"),
    ],
)
def test_unreadable_images(data, reason):
    with pytest.raises(SkipFile, match=reason):
        image_reader.read(Path("page.png"), data, pytest.fail)


def test_without_the_extra_ocr_is_unavailable_with_the_pip_hint(monkeypatch):
    monkeypatch.setattr(ocr, "_engine", None)
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import fails
    real_import = builtins.__import__

    def no_rapidocr(name, *args, **kwargs):
        if name.startswith("rapidocr_onnxruntime"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_rapidocr)
    from PIL import Image

    with pytest.raises(OcrUnavailable, match=r'^OCR is not installed: pip install "newsbot-cite\[ocr\]" \(needed to read the text of a scanned page\)$'):
        ocr.ocr_image(Image.new("L", (10, 10)))
    # The image reader says so before decoding the file (this one is not even an image).
    with pytest.raises(OcrUnavailable, match=r'pip install "newsbot-cite\[ocr\]" \(needed to read the text of the scanned image 第3版\.png\)'):
        image_reader.read(Path("第3版.png"), b"garbage", pytest.fail)
    assert issubclass(OcrUnavailable, SkipFile)


# -- layout from line boxes, without OCR ----------------------------------------------------------


def box(x0: float, y0: float, text: str, size: float = 20) -> Line:
    """A line of ``text`` set in ``size``-px type at (x0, y0)."""
    return Line(x0, y0, x0 + size * len(text), y0 + size, text)


def test_two_columns_under_a_headline_are_read_column_by_column():
    lines = [
        box(150, 0, "大标题在这里", 40),
        # left column x 0..200 (10 chars), right column x 240..440; rows 30 px apart
        box(40, 60, "左一左一左一左一"),  # indented: a paragraph starts
        box(240, 60, "右一右一右一右一右一"),
        box(0, 90, "左二左二左二左二左二"),
        box(240, 90, "右二右二右二。"),  # stops short: the paragraph ends
        box(0, 120, "左三左三左三左三左三"),
        box(280, 120, "右三右三右三右三"),  # indented
        box(0, 150, "左四。"),
    ]
    assert page_markup(list(reversed(lines))) == (
        "# 大标题在这里\n"
        "左一左一左一左一左二左二左二左二左二左三左三左三左三左三左四。\n"  # first column's paragraph
        "右一右一右一右一右一右二右二右二。\n"  # a new one: the left column's last line ended short
        "右三右三右三右三\n"
    )


def test_a_paragraph_runs_on_from_one_column_into_the_next():
    lines = [box(40, 0, "甲甲甲甲甲甲甲甲"), box(0, 30, "乙乙乙乙乙乙乙乙乙乙"), box(240, 0, "丙丙丙丙丙丙丙丙丙丙"), box(240, 30, "丁丁。")]
    assert page_markup(lines) == "甲甲甲甲甲甲甲甲乙乙乙乙乙乙乙乙乙乙丙丙丙丙丙丙丙丙丙丙丁丁。\n"


def test_one_column_with_split_boxes_and_a_kicker():
    lines = [
        box(100, 0, "引题引题", 28),
        box(60, 40, "主标题主标题", 40),
        box(40, 100, "本报讯"), box(110, 100, "记者报道正文正文正文"),  # one line, split at a space
        box(0, 130, "正文正文正文正文正文正文。"),
    ]
    assert page_markup(lines) == "## 引题引题\n# 主标题主标题\n本报讯 记者报道正文正文正文正文正文正文正文正文正文。\n"
