"""Newspaper files of every format through the real `newsbot` command: index, ask, sources.

A folder mixing web pages, a PDF, a Word file and damaged files of each kind is indexed: the
good ones are read, each bad one is named in a warning, and citations carry the date, 版次,
URL and PDF page the files give. ``seed_dev`` asked of the index built from each format scores
within 0.05 hit@1 of the one built from the text file.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest

from helpers import SEED_DEV, needs_shared
from test_cli_people import QUESTION, newsbot

FORMATS = Path(__file__).resolve().parent / "data" / "formats"
BAD = {"encrypted.pdf": "encrypted", "corrupt.docx": "", "index_page.html": "no article text", "huge.png": "too large"}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, Path, str]:
    papers = tmp_path_factory.mktemp("papers")
    for rel in ["html/article8.html", "html/article1.html", "pdf/single_column.pdf", "docx/sample.docx",
                "pdf/encrypted.pdf", "docx/corrupt.docx", "html/index_page.html", "scan/huge.png"]:
        shutil.copy(FORMATS / rel, papers / Path(rel).name)
    index = papers.parent / "index"
    r = newsbot("index", papers, "--index-dir", index, "--json")
    assert r.returncode == 0, r.stderr
    return papers, index, r.stderr


def test_every_format_is_read_and_every_bad_file_named(mixed):
    papers, index, stderr = mixed
    stats = json.loads(newsbot("stats", "--index-dir", index, "--json").stdout)
    assert sorted(stats["corpus_files"]) == ["article1.html", "article8.html", "sample.docx", "single_column.pdf"]
    for name, why in BAD.items():
        [line] = [ln for ln in stderr.splitlines() if name in ln]
        assert line.startswith("newsbot: warning: skipped") and why in line, line


def test_citations_carry_date_page_and_link(mixed):
    _, index, _ = mixed
    r = newsbot("ask", QUESTION, "--index-dir", index, "--json", "-k", "5")
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)["results"]
    web = next(h for h in results if h["source"] == "article8.html")
    assert "杭州市儿童医院" in web["excerpt"]
    assert (web["date"], web["page"]) == ("2022-04-12", "第3版") and web["url"].startswith("https://")
    plain = newsbot("ask", QUESTION, "--index-dir", index, "-k", "5").stdout
    assert "2022-04-12 · 第3版 · article8.html ¶" in plain
    rows = json.loads(newsbot("sources", "--index-dir", index, "--json").stdout)
    pdf = [r for r in rows if r["source"] == "single_column.pdf"]
    assert pdf and all(r["pdf_page"] == 1 for r in pdf)


def test_a_new_day_adds_only_the_new_file(mixed, tmp_path):
    papers, index, _ = mixed
    work = tmp_path / "papers"
    shutil.copytree(papers, work)
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    shutil.copy(FORMATS / "html" / "article2.html", work)
    r = newsbot("index", work, "--index-dir", copy, "--json")
    report = json.loads(r.stdout)
    assert report["files"] == 5 and report["embedded"] < report["passages"] / 2, report


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        if not self.path.endswith(".htm"):
            self.send_error(404)
            return
        body = (FORMATS / "html" / "article8.html").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_index_a_url(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/zjgrb/2022-04/12/content_3_8.htm"
    try:
        r = newsbot("index", url, f"http://127.0.0.1:{server.server_port}/missing.pdf", "--index-dir", tmp_path / "idx", "--json")
    finally:
        server.shutdown()
    assert r.returncode == 0, r.stderr
    assert "skipped http://127.0.0.1" in r.stderr and "missing.pdf" in r.stderr and "404" in r.stderr
    stats = json.loads(newsbot("stats", "--index-dir", tmp_path / "idx", "--json").stdout)
    assert stats["corpus_files"] == [url]
    hit = json.loads(newsbot("ask", QUESTION, "--index-dir", tmp_path / "idx", "--json").stdout)["results"][0]
    assert hit["source"] == url and hit["date"] == "2022-04-12"


@needs_shared(SEED_DEV)
@pytest.mark.parametrize("fmt,files", [("html", ["html/article%d.html" % i for i in range(1, 9)]),
                                       ("pdf", ["pdf/sample_two_column.pdf"]), ("docx", ["docx/sample.docx"])])
def test_seed_dev_scores_as_well_from_every_format(fmt, files, tmp_path, encoder, sample_retriever):
    from newsbot.embeddings.evaluate import evaluate, load_questions
    from newsbot.embeddings.index import Index, build_index
    from newsbot.embeddings.search import Retriever

    questions = load_questions(SEED_DEV)
    baseline = evaluate(sample_retriever, questions, k=3)["hit@1"]
    papers = tmp_path / fmt
    papers.mkdir()
    for rel in files:
        shutil.copy(FORMATS / rel, papers)
    build_index([papers], tmp_path / "idx", encoder=encoder)
    got = evaluate(Retriever(Index.load(tmp_path / "idx"), encoder=encoder), questions, k=3)
    assert got["hit@1"] >= baseline - 0.05, (fmt, got["hit@1"], baseline)
    assert len(Index.load(tmp_path / "idx").articles) == 8
