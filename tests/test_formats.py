"""What every format shares: pages with metadata become articles, bad files are skipped with a
warning naming them, unchanged files are not parsed again, and citations show where to look.

The format readers themselves are tested in test_format_<name>.py; here a stand-in reader
(a plain function with the reader contract) is put in for ``.pdf`` where the test needs to
count calls or to fail on purpose.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import newsbot.embeddings.files as files_module
from newsbot.embeddings.formats import Meta, Page, SkipFile
from newsbot.embeddings.index import Index, build_index, read_corpus
from newsbot.embeddings.types import Hit

PAGE = (
    "# 宁海县总工会开展“送清凉”活动\n"
    "本报讯 7月15日，宁海县总工会向一线环卫工人送去绿豆汤和防暑药品共计3200份。\n"
    "县总工会副主席王丽华说，今年的活动将持续到8月底，覆盖全县26家企业。\n"
)
META = Meta(date="2022-07-16", page="第3版", section="工会", url="https://example.com/a.html", pdf_page=2)


class CountingReader:
    def __init__(self, pages=None, error: BaseException | None = None):
        self.calls, self.pages, self.error = 0, pages or [Page("", Meta(pdf_page=1)), Page(PAGE, META)], error

    def __call__(self, path: Path, data: bytes, warn) -> list[Page]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.pages


@pytest.fixture
def reader(monkeypatch):
    r = CountingReader()
    real = files_module.reader_for
    monkeypatch.setattr(files_module, "reader_for", lambda name: r if str(name).endswith(".pdf") else real(name))
    return r


def test_pages_become_articles_with_what_the_file_says(tmp_path, reader):
    (tmp_path / "p.pdf").write_bytes(b"%PDF-1.7 stand-in")
    corpus = read_corpus([tmp_path], lambda m: None)
    [art] = corpus.articles
    assert art.title == "宁海县总工会开展“送清凉”活动" and art.source == "p.pdf"
    assert (art.date, art.page, art.section, art.url, art.pdf_page) == ("2022-07-16", "第3版", "工会", "https://example.com/a.html", 2)
    assert len(corpus.files["p.pdf"]) == 64


@pytest.mark.parametrize("error", [ValueError("bad xref table"), MemoryError(), RecursionError(), SkipFile("encrypted PDF: remove the password")])
def test_a_reader_failing_skips_the_file_with_a_warning_naming_it(tmp_path, monkeypatch, error):
    r = CountingReader(error=error)
    monkeypatch.setattr(files_module, "reader_for", lambda name: r)
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7")
    (tmp_path / "good.md").write_text(PAGE, encoding="utf-8")
    warnings: list[str] = []
    corpus = read_corpus([tmp_path], warnings.append)
    assert [a.source for a in corpus.articles] == ["good.md"]
    [w] = warnings
    assert w.startswith("skipped ") and "bad.pdf" in w
    assert ("encrypted PDF" in w) if isinstance(error, SkipFile) else ("could not be read" in w or "too complex" in w)


def test_too_big_and_empty_files_are_skipped_before_parsing(tmp_path, reader, monkeypatch):
    monkeypatch.setattr(files_module, "MAX_FILE_BYTES", 100)
    (tmp_path / "big.pdf").write_bytes(b"%" * 101)
    (tmp_path / "empty.pdf").write_bytes(b"")
    warnings: list[str] = []
    assert read_corpus([tmp_path], warnings.append).articles == []
    assert reader.calls == 0
    assert any("big.pdf" in w and "larger than" in w for w in warnings)
    assert any("empty.pdf" in w and "empty" in w for w in warnings)


def test_unchanged_files_are_not_parsed_again(tmp_path, reader, encoder, monkeypatch):
    corpus, index = tmp_path / "papers", tmp_path / "index"
    corpus.mkdir()
    (corpus / "p.pdf").write_bytes(b"%PDF-1.7 one")
    (corpus / "notes.md").write_text("# 另一篇\n本报讯 职工书屋新添图书五百册。\n", encoding="utf-8")
    build_index([corpus], index, encoder=encoder)
    assert reader.calls == 1
    (corpus / "more.md").write_text("# 第三篇\n本报讯 劳模工作室今天揭牌。\n", encoding="utf-8")
    report = build_index([corpus], index, encoder=encoder)
    assert reader.calls == 1 and report.articles == 3  # the PDF's articles came from the index
    [art] = [a for a in Index.load(index).articles if a.source == "p.pdf"]
    assert (art.date, art.page, art.pdf_page) == ("2022-07-16", "第3版", 2)
    (corpus / "p.pdf").write_bytes(b"%PDF-1.7 two")  # changed bytes: parsed again
    build_index([corpus], index, encoder=encoder)
    assert reader.calls == 2
    import newsbot.embeddings.build as build_module

    monkeypatch.setattr(build_module, "READERS_VERSION", 999)  # a newer reader: parsed again
    report = build_index([corpus], index, encoder=encoder)
    assert reader.calls == 3 and not report.up_to_date


def test_unsupported_file_named_on_the_command_line_is_a_warning(tmp_path):
    f = tmp_path / "sheet.xlsx"
    f.write_bytes(b"PK\x03\x04")
    warnings: list[str] = []
    assert read_corpus([f], warnings.append).articles == []
    assert "sheet.xlsx" in warnings[0] and ".pdf" in warnings[0] and ".docx" in warnings[0]


HIT = Hit(1, 1.0, "想职工所想", "sample_page.pdf", (2,), "前文。答案。", (3, 6), "前文。答案。",
          date="2023-03-15", page="第3版", url="https://example.com/a?x=1&y=<2>", pdf_page=1)


def test_citations_show_date_page_file_and_pdf_page():
    from newsbot.bot.render import plain_hit, where

    assert where(HIT) == "2023-03-15 · 第3版 · sample_page.pdf p.1 ¶2 · https://example.com/a?x=1&y=<2>"
    assert plain_hit(HIT).splitlines()[0] == "[1] 想职工所想 · 2023-03-15 · 第3版 · sample_page.pdf p.1 ¶2 · https://example.com/a?x=1&y=<2>"
    bare = Hit(1, 1.0, "T", "page.txt", (1,), "x", (0, 1), "x")
    assert where(bare) == "page.txt ¶1"


def test_telegram_citation_links_the_source_and_escapes_it():
    from newsbot.bot.telegram.render import render_hit
    from tgserver import parse_html

    html_ = render_hit(replace(HIT, url="https://example.com/a?x=1&y=2"), 1)
    text, entities = parse_html(html_)  # what Telegram would accept and show
    assert "2023-03-15 · 第3版 · sample_page.pdf p.1 ¶2" in text
    assert any(e["type"] == "text_link" and e["url"] == "https://example.com/a?x=1&y=2" for e in entities)
    hostile = replace(HIT, url='javascript:alert(1)"')
    assert "href" not in render_hit(hostile, 1)


def test_json_results_carry_the_metadata():
    d = HIT.to_dict()
    assert (d["date"], d["page"], d["pdf_page"]) == ("2023-03-15", "第3版", 1)


FIXTURES = Path(__file__).resolve().parent / "data" / "formats"


@pytest.mark.parametrize("fixture", ["pdf/single_column.pdf", "docx/sample.docx", "html/article3.html"])
def test_damaged_files_give_a_reason_not_a_library_error(fixture, capfd):
    """Bytes of a good file flipped and cut at random (seeded): each reader reads it or raises
    SkipFile with a reason; no library exception leaks, and no library log reaches the terminal."""
    import random

    from newsbot.embeddings.formats import reader_for

    good = (FIXTURES / fixture).read_bytes()
    read = reader_for(fixture)
    rng = random.Random(7)
    for _ in range(60):
        data = bytearray(good)
        for _ in range(rng.randint(1, 30)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        try:
            pages = read(Path(fixture), bytes(data), lambda m: None)
        except SkipFile as e:
            assert str(e)
        else:
            assert all(isinstance(p.text, str) for p in pages)
    assert capfd.readouterr().err == ""
