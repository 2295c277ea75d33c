"""Ingest: decoding, corpus walking and page segmentation (real files, no mocks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsbot.embeddings.decode import SkipFile, read_text
from newsbot.embeddings.files import MAX_FILE_CHARS, iter_corpus
from newsbot.embeddings.ingest import clean_paragraphs, parse_page, rejoin_paragraphs

from helpers import SAMPLE_DIR

SAMPLE_PAGE = SAMPLE_DIR / "sample_page.txt"
SAMPLE_TEXT = SAMPLE_PAGE.read_text(encoding="utf-8")

TITLES = [
    "“甬”当先锋 举措实在",
    "传播新时代的精神力量",
    "宁波海曙工会干部徐宜民:昼夜兼程的“摆渡人”",
    "掀起服务亚运、迎接亚运的新热潮",
    "放飞“亚运祝福”",
    "服务亚运交通保障 淳安启动“百业百匠”百场技能竞赛",
    "浙江练市智能机电高新技术园区未来三年计划这么干 搭建“536”提升职工生活品质",
    "想职工所想",
]

BIG5_TEXT = (
    "本報訊 記者王小明報導 臺北市政府今天宣布,將在明年擴大推動社會住宅計畫,"
    "預計新建三千戶,優先提供給青年、長者與弱勢家庭。市長表示,這項政策將與中央政府合作,"
    "並邀請民間團體共同參與,希望讓更多市民安居樂業。記者會上,相關官員也說明了經費來源與工程時程。\n"
)


@pytest.fixture(scope="module")
def articles():
    return parse_page(SAMPLE_TEXT, "sample_page.txt")


# -- decoding -------------------------------------------------------------------------------------


def _decode(tmp_path: Path, data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a file holding ``data``, read as indexing reads it (streamed)."""
    f = tmp_path / "page.txt"
    f.write_bytes(data)
    text, enc, _sha, _truncated, _bad = read_text(f, MAX_FILE_CHARS)
    return text, enc


@pytest.mark.parametrize(
    "data, enc",
    [
        (SAMPLE_TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + SAMPLE_TEXT.encode("utf-8"), "utf-8 with BOM"),
        (SAMPLE_TEXT.encode("utf-16"), "utf-16"),  # native order + BOM
        (b"\xff\xfe" + SAMPLE_TEXT.encode("utf-16-le"), "utf-16"),
        (b"\xfe\xff" + SAMPLE_TEXT.encode("utf-16-be"), "utf-16"),
    ],
    ids=["utf8", "utf8-bom", "utf16-native", "utf16-le", "utf16-be"],
)
def test_decode_unicode(tmp_path, data, enc):
    text, got = _decode(tmp_path, data)
    assert text.lstrip("\ufeff") == SAMPLE_TEXT
    assert "\ufeff" not in text
    assert got == enc


def test_decode_gbk(tmp_path):
    text, enc = _decode(tmp_path, SAMPLE_TEXT.encode("gbk"))
    assert text == SAMPLE_TEXT
    assert enc == "gb18030"


def test_decode_gb18030_only_chars(tmp_path):
    s = "本报讯 记者报道:今天天气很好。€ 𠀀"
    text, enc = _decode(tmp_path, s.encode("gb18030"))
    assert text == s and enc == "gb18030"


def test_decode_big5(tmp_path):
    text, enc = _decode(tmp_path, BIG5_TEXT.encode("big5"))
    assert text == BIG5_TEXT
    assert enc == "big5"


def test_decode_binary_raises(tmp_path):
    with pytest.raises(SkipFile):
        _decode(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)


def test_decode_undecodable_raises(tmp_path):
    # Bytes that are valid in none of UTF-8 / GB18030 / Big5 and not mostly UTF-8.
    with pytest.raises(SkipFile):
        _decode(tmp_path, bytes([0x80, 0xFF, 0x30]) * 200)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_iter_corpus_mixed_folder(tmp_path):
    root = tmp_path / "corpus"
    _write(root / "a_utf8.txt", SAMPLE_TEXT.encode("utf-8"))
    _write(root / "b_bom.txt", b"\xef\xbb\xbf" + SAMPLE_TEXT.encode("utf-8"))
    _write(root / "c_le.txt", b"\xff\xfe" + SAMPLE_TEXT.encode("utf-16-le"))
    _write(root / "d_be.md", b"\xfe\xff" + SAMPLE_TEXT.encode("utf-16-be"))
    _write(root / "sub" / "deeper" / "e_gbk.txt", SAMPLE_TEXT.encode("gbk"))
    _write(root / "sub" / "f_big5.txt", BIG5_TEXT.encode("big5"))
    _write(root / "g_binary.txt", b"\x00\x01\x02\x03garbage\x00" * 100)
    _write(root / "h_empty.txt", b"")
    _write(root / "h_blank.txt", b"  \n\n \t")
    _write(root / "i_bad.txt", bytes([0x80, 0xFF, 0x30]) * 200)
    _write(root / "j_image.png", b"\x89PNG\r\n\x1a\n")
    _write(root / "k_notes.docx", SAMPLE_TEXT.encode("utf-8"))
    _write(root / "l_sheet.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    _write(root / ".hidden" / "x.txt", SAMPLE_TEXT.encode("utf-8"))
    warnings: list[str] = []
    files = list(iter_corpus([root], warnings.append))
    got = {f.source: f for f in files}
    assert sorted(got) == ["a_utf8.txt", "b_bom.txt", "c_le.txt", "d_be.md", "sub/deeper/e_gbk.txt", "sub/f_big5.txt"]
    for name in ["a_utf8.txt", "b_bom.txt", "c_le.txt", "d_be.md", "sub/deeper/e_gbk.txt"]:
        assert got[name].text.lstrip("\ufeff") == SAMPLE_TEXT, name
        assert len(got[name].sha256) == 64
    assert got["sub/f_big5.txt"].text == BIG5_TEXT
    joined = "\n".join(warnings)
    for bad in ["g_binary.txt", "h_empty.txt", "h_blank.txt", "i_bad.txt"]:
        assert any(bad in w and w.startswith("skipped") for w in warnings), (bad, joined)
    assert any("g_binary.txt" in w and "binary" in w for w in warnings)
    assert any("h_empty.txt" in w and "empty" in w for w in warnings)
    # Files of a format newsbot reads but that are damaged are skipped with a warning naming them;
    # other suffixes inside folders are ignored silently.
    assert any("j_image.png" in w and w.startswith("skipped") for w in warnings), joined
    assert any("k_notes.docx" in w and w.startswith("skipped") for w in warnings), joined
    assert "l_sheet.xls" not in joined


def test_iter_corpus_explicit_files(tmp_path):
    good = _write(tmp_path / "page.md", SAMPLE_TEXT.encode("utf-8"))
    other = _write(tmp_path / "page.pdf", b"%PDF-1.4")
    warnings: list[str] = []
    files = list(iter_corpus([good, other, tmp_path / "missing"], warnings.append))
    assert [f.source for f in files] == ["page.md"]
    assert any("page.pdf" in w for w in warnings)
    assert any("missing" in w for w in warnings)


def test_big5_file_parses(tmp_path):
    f = _write(tmp_path / "tw.txt", BIG5_TEXT.encode("big5"))
    (cf,) = iter_corpus([f], lambda m: None)
    arts = parse_page(cf.text, cf.source)
    assert len(arts) == 1 and "臺北市政府" in arts[0].paragraphs[0]
    assert arts[0].title == "tw"


# -- parse_page -----------------------------------------------------------------------------------


def test_sample_titles(articles):
    assert [a.title for a in articles] == TITLES
    assert [a.id for a in articles] == list(range(8))
    assert all(a.source == "sample_page.txt" for a in articles)
    assert all(a.paragraphs for a in articles)


def test_sample_kicker_subtitles(articles):
    assert articles[2].kicker == ("“娘家人”助力疫情防控",)
    assert articles[3].kicker == ("奋进新征程 建功新时代·我为亚运添光彩",)
    assert articles[3].subtitles == ("杭州劳模工匠迎亚运 亮出绝活 展现风采",)
    assert articles[0].kicker == ()


def test_sample_page_break_rejoin(articles):
    assert any("宁波市江北区甬江街道抓产业工人" in p for p in articles[0].paragraphs)
    assert any("吉祥物“江南忆”,表达" in p for p in articles[3].paragraphs)


def test_sample_dedupe(articles):
    a4 = articles[3].paragraphs
    assert sum("孙耀春" in p for p in a4) == 1
    assert sum("富阳" in p for p in a4) == 1


def test_start_id():
    arts = parse_page(SAMPLE_TEXT, "x.txt", start_id=10)
    assert [a.id for a in arts] == list(range(10, 18))


def test_no_headings_short_first_line():
    text = "市民文化节开幕\n\n今天上午,市民文化节在市中心广场开幕。\n活动将持续一个月。\n"
    (a,) = parse_page(text, "folder/file.txt")
    assert a.title == "市民文化节开幕"
    assert a.paragraphs == ("今天上午,市民文化节在市中心广场开幕。", "活动将持续一个月。")


def test_no_headings_title_from_stem():
    text = "今天上午,市民文化节在市中心广场开幕。\n活动将持续一个月。\n"
    (a,) = parse_page(text, "folder/news_0001.txt")
    assert a.title == "news_0001"
    assert len(a.paragraphs) == 2


def test_empty_page():
    assert parse_page("", "x.txt") == []
    assert parse_page("\n \n\u3000\n", "x.txt") == []


def test_split_at_top_level_without_bylines():
    text = (
        "# 第一篇\n\n第一篇的正文。\n\n## 小节\n\n小节里的内容。\n\n"
        "# 第二篇\n\n第二篇的正文。\n"
    )
    arts = parse_page(text, "p.md")
    assert [a.title for a in arts] == ["第一篇", "第二篇"]
    assert arts[0].paragraphs == ("第一篇的正文。", "小节里的内容。")
    assert arts[1].paragraphs == ("第二篇的正文。",)


def test_headings_without_byline_are_sections():
    text = (
        "# 大标题\n\n本报讯 记者李四报道 这是第一段。\n\n## 小节标题\n\n小节内容。\n\n"
        "# 第二条新闻\n\n本报讯 记者王五报道 第二条内容。\n"
    )
    arts = parse_page(text, "p.md")
    assert [a.title for a in arts] == ["大标题", "第二条新闻"]
    assert "小节内容。" in arts[0].paragraphs
    assert arts[0].byline == "本报讯 记者李四报道"


# -- clean_paragraphs property --------------------------------------------------------------------

_para = st.text(alphabet=st.sampled_from(list("甬江街道工会职工abc 12,。！？”")), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_para, max_size=12))
def test_clean_paragraphs_loses_only_duplicates(paras):
    out = clean_paragraphs(paras)
    # Rejoining only concatenates and de-duplication only drops text already kept, so every
    # input paragraph survives verbatim inside some output paragraph.
    for p in paras:
        assert any(p in q for q in out), (p, out)
    # Nothing is invented: output characters are input characters (plus join spaces), and
    # the output is no longer than the input plus one space per join.
    assert set("".join(out)) <= set("".join(paras)) | {" "}
    assert sum(len(q) for q in out) <= sum(len(p) for p in paras) + len(paras)
    # Characters are lost only with removed duplicates: without any duplicate paragraph, all
    # non-space characters are kept, in order.
    if len(set(paras)) == len(paras) and not any(
        p in q for i, p in enumerate(paras) for j, q in enumerate(paras) if i != j
    ):
        assert "".join(out).replace(" ", "") == "".join(paras).replace(" ", "")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_para, max_size=12))
def test_rejoin_preserves_characters(paras):
    # Rejoining alone (no duplicate removal): the output is exactly the input re-grouped.
    out = rejoin_paragraphs(paras)
    assert "".join(out).replace(" ", "") == "".join(paras).replace(" ", "")
