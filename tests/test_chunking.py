"""Chunking: sentence splitting and packing properties (hypothesis), and article chunking."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsbot.embeddings.chunking import ChunkSettings, chunk_articles, join_units, pack, sentence_units, split_sentences
from newsbot.embeddings.ingest import parse_page
from newsbot.embeddings.types import Article

from helpers import SAMPLE_DIR

ALPHABET = list("甬江街道工会职工产业改革亚运杭州宁波abcXYZ 0123456789") + list("。！？；…!?;.,，、：:“”‘’「」（）()\"' \n")

text_st = st.text(alphabet=st.sampled_from(ALPHABET), max_size=300)
para_st = st.text(alphabet=st.sampled_from(ALPHABET[:-1]), min_size=1, max_size=200)


@st.composite
def chunk_settings(draw):
    # maximum 1 and 2 hang in _cut_long (see test_tiny_maximum_terminates).
    maximum = draw(st.integers(min_value=3, max_value=300))
    target = draw(st.integers(min_value=1, max_value=maximum))
    overlap = draw(st.integers(min_value=0, max_value=target - 1))
    return ChunkSettings(target=target, maximum=maximum, overlap=overlap)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_st)
def test_split_sentences_round_trip(text):
    parts = split_sentences(text)
    assert "".join(parts) == text
    assert all(parts)


def test_split_keeps_closing_quotes():
    assert split_sentences("他说：“好。”然后走了。") == ["他说：“好。”", "然后走了。"]
    assert split_sentences("「走吧！」她说。") == ["「走吧！」", "她说。"]
    assert split_sentences("He left. She stayed.") == ["He left. ", "She stayed."]
    assert split_sentences("没有标点") == ["没有标点"]


def test_initials_abbreviations_and_titles_do_not_end_a_sentence():
    assert split_sentences("霍尔以笔名S.G. Tallentyre写作。下一句。") == ["霍尔以笔名S.G. Tallentyre写作。", "下一句。"]
    assert split_sentences("麦克阿瑟（John H. McArthur）教授。现任总裁。") == ["麦克阿瑟（John H. McArthur）教授。", "现任总裁。"]
    assert split_sentences("圣若望（St. John of Matha）及St. Felix的雕像。") == ["圣若望（St. John of Matha）及St. Felix的雕像。"]
    assert split_sentences("《卡拉OK.LIVE！‧台北‧我》是第六张专辑。更缔造了纪录。") == ["《卡拉OK.LIVE！‧台北‧我》是第六张专辑。", "更缔造了纪录。"]
    # an unclosed 《 does not swallow the rest of the paragraph
    assert split_sentences("没有闭合《书名！后面很长的文字。后面。") == ["没有闭合《书名！", "后面很长的文字。", "后面。"]
    assert split_sentences("I met Dr. Sun. He was kind.") == ["I met Dr. Sun. ", "He was kind."]


def test_a_bang_or_semicolon_inside_brackets_does_not_end_a_sentence():
    jstorm = "目前负责为杰尼斯旗下组合（包括岚及Hey! Say! JUMP）出版影音产品。2006年成立。"
    assert split_sentences(jstorm) == ["目前负责为杰尼斯旗下组合（包括岚及Hey! Say! JUMP）出版影音产品。", "2006年成立。"]
    assert split_sentences("海拔450-{zh-cn:米; zh-tw:公尺}-的地区。下一句。") == ["海拔450-{zh-cn:米; zh-tw:公尺}-的地区。", "下一句。"]
    assert split_sentences("京急逗子线（；）是一条铁路。它很短。") == ["京急逗子线（；）是一条铁路。", "它很短。"]
    # a bracketed sentence still ends with its bracket; quotations still split; unclosed brackets do not swallow the rest
    assert split_sentences("曹操问：「可乎？（你可以尽忠？）」他说。") == ["曹操问：「可乎？", "（你可以尽忠？）」", "他说。"]
    assert split_sentences("他说：「你好！我是谁？」走了。") == ["他说：「你好！", "我是谁？」", "走了。"]
    assert split_sentences("没有闭合（括号；后面很长的文字。后面。") == ["没有闭合（括号；", "后面很长的文字。", "后面。"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(para_st, min_size=1, max_size=6), chunk_settings())
def test_pack_covers_all_units_in_order(paras, cs):
    units = sentence_units(paras, cs.maximum)
    # Units are the paragraphs again, cut no longer than maximum.
    for n, para in enumerate(paras, 1):
        assert "".join(s for m, s in units if m == n) == para
    assert all(0 < len(s) <= cs.maximum for _n, s in units)
    spans = pack(units, cs)
    if not units:
        assert spans == []
        return
    # Spans are non-empty, move forward, start at 0, end at len(units), and leave no gap.
    assert spans[0][0] == 0 and spans[-1][1] == len(units)
    covered = set()
    for (a, b), (c, d) in zip(spans, spans[1:]):
        assert a < c <= b, spans  # next chunk starts after this one's start, no gap
        assert d > b  # every chunk brings at least one new sentence, never only overlap
    for a, b in spans:
        assert a < b
        covered.update(range(a, b))
        size = sum(len(units[i][1]) for i in range(a, b))
        assert size <= cs.maximum, (size, cs)
    assert covered == set(range(len(units)))
    # Overlap between consecutive chunks is at most `overlap` characters.
    for (a, b), (c, _d) in zip(spans, spans[1:]):
        shared = sum(len(units[i][1]) for i in range(c, b))
        assert shared <= cs.overlap, (shared, cs)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(para_st, min_size=1, max_size=6), chunk_settings())
def test_chunk_articles_keeps_all_text(paras, cs):
    art = Article(id=7, title="标题", source="dir/a.txt", paragraphs=tuple(paras))
    passages, by_article = chunk_articles([art], cs)
    assert [p.id for p in passages] == list(range(len(passages)))
    units = sentence_units(paras, cs.maximum)
    assert by_article == {7: units}
    # Each passage records its range of units: they tile the article in order, overlapping at
    # most by the overlap, and they are its text and paragraphs.
    assert passages[0].sentences[0] == 0 and passages[-1].sentences[1] == len(units)
    for p, q in zip(passages, passages[1:]):
        assert p.sentences[0] < q.sentences[0] <= p.sentences[1]
    for p in passages:
        a, b = p.sentences
        assert p.text == join_units(units[a:b])
        assert p.paragraphs == tuple(sorted({u.paragraph for u in units[a:b]}))
    for p in passages:
        assert p.article == 7 and p.title == "标题" and p.source == "dir/a.txt"
        assert p.paragraphs == tuple(sorted(p.paragraphs))
        assert set(p.paragraphs) <= set(range(1, len(paras) + 1))
    # Every non-blank sentence unit appears (stripped) in a passage citing its paragraph.
    for n, s in units:
        if s.strip():
            assert any(s.strip() in p.text and n in p.paragraphs for p in passages), (s, n)


def test_long_sentence_is_cut():
    long = "甬江" * 200 + "。"
    units = sentence_units([long], 100)
    assert len(units) >= 5
    assert all(len(s) <= 100 for _n, s in units)
    assert "".join(s for _n, s in units) == long


def test_long_sentence_cut_at_commas():
    sentence = "，".join(["工会服务职工群众"] * 30) + "。"
    units = sentence_units([sentence], 50)
    assert all(len(s) <= 50 for _n, s in units)
    assert all(s.endswith("，") for _n, s in units[:-1])
    assert "".join(s for _n, s in units) == sentence


def test_tiny_maximum_terminates():
    code = "from newsbot.embeddings.chunking import sentence_units; print(sentence_units(['甬江街道'], 2))"
    try:  # a guard against an endless loop, not a time bound: it returns in well under a second
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("sentence_units(['甬江街道'], 2) loops: it did not return within 60 s")
    assert out.returncode == 0, out.stderr
    assert "甬江" in out.stdout


def test_settings_validation():
    ChunkSettings(10, 10, 0)
    for bad in [(0, 10, 0), (20, 10, 0), (10, 20, 10), (10, 20, -1)]:
        with pytest.raises(ValueError):
            ChunkSettings(*bad)
    assert ChunkSettings().to_dict() == {"target": 160, "maximum": 250, "overlap": 40}


def test_join_units_paragraph_breaks():
    assert join_units([(1, "甲。"), (1, "乙。"), (2, "丙。")]) == "甲。乙。\n丙。"


def test_sample_chunks_keep_metadata():
    text = (SAMPLE_DIR / "sample_page.txt").read_text(encoding="utf-8")
    arts = parse_page(text, "sample_page.txt")
    cs = ChunkSettings()
    passages = chunk_articles(arts, cs).passages
    assert [p.id for p in passages] == list(range(len(passages)))
    by_id = {a.id: a for a in arts}
    for p in passages:
        art = by_id[p.article]
        assert p.title == art.title and p.source == "sample_page.txt"
        assert len(p.text) <= cs.maximum + len(p.paragraphs)  # newline between paragraphs
        for line in p.text.split("\n"):
            assert any(line in art.paragraphs[n - 1] for n in p.paragraphs), line
    assert {p.article for p in passages} == set(by_id)
