"""Retrieval and answering on the sample index, fusion pure functions, and the CLI end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from newsbot.bot.cli import main
from newsbot.embeddings.errors import UsageError
from newsbot.embeddings.excerpt import MAX_EXCERPT
from newsbot.embeddings.fusion import fuse_candidates, merge_runs, top_n

from helpers import SAMPLE_DIR

# -- fusion ---------------------------------------------------------------------------------------


def test_fuse_candidates():
    dense = np.array([0.1, 0.5, 0.3], dtype=np.float32)
    bm25 = np.array([2.0, 0.0, 1.0], dtype=np.float32)
    b_stats, d_stats = (1.0, 0.5), (0.3, 0.2)  # (mean, std) over the whole collection
    zb, zd = (bm25 - 1.0) / 0.5, (dense - 0.3) / 0.2
    np.testing.assert_allclose(fuse_candidates(bm25, dense, b_stats, d_stats, 0.5), 0.5 * zb + 0.5 * zd, atol=1e-6)
    np.testing.assert_allclose(fuse_candidates(bm25, dense, b_stats, d_stats, 1.0), zb, atol=1e-6)
    # BM25 matched nothing, or does not vary: the dense scores decide alone.
    np.testing.assert_allclose(fuse_candidates(np.zeros(3), dense, b_stats, d_stats, 0.5), zd, atol=1e-6)
    np.testing.assert_allclose(fuse_candidates(bm25, dense, (1.0, 0.0), d_stats, 0.5), zd, atol=1e-6)
    # A dense spread of zero does not divide by zero.
    np.testing.assert_allclose(fuse_candidates(np.zeros(3), dense, b_stats, (0.3, 0.0), 0.5), dense - 0.3, atol=1e-6)


def test_top_n():
    s = np.array([0.1, 0.9, 0.5, 0.9, 0.2])
    assert list(top_n(s, 3)) == [1, 3, 2]
    assert list(top_n(s, 10)) == [1, 3, 2, 4, 0]
    assert top_n(s, 0).size == 0


def test_merge_runs_groups_neighbours_only():
    cands = [
        (10, 1, (1,), 0.9),
        (12, 1, (3,), 0.8),  # same article, not adjacent to 10
        (11, 1, (2,), 0.7),  # bridges 10 and 12
        (20, 2, (1,), 0.6),
        (21, 3, (1,), 0.5),  # adjacent id but another article
        (30, 2, (5,), 0.4),
    ]
    assert merge_runs(cands) == [[0, 2, 1], [3], [4], [5]]
    assert merge_runs([]) == []
    assert merge_runs([(5, 0, (1,), 1.0), (7, 0, (2,), 0.5)]) == [[0], [1]]


# -- ask on the sample ----------------------------------------------------------------------------


def _check_hit_shape(hit):
    assert len(hit.excerpt) <= MAX_EXCERPT
    a, b = hit.highlight
    assert 0 <= a < b <= len(hit.excerpt)
    assert hit.excerpt[a:b] in hit.text
    for piece in hit.excerpt.split("…"):
        for line in piece.split("\n"):
            assert line.strip() in hit.text


def test_ask_hospital(sample_retriever):
    ans = sample_retriever.ask("杭州电信工会和哪家医院合作？")
    assert ans.answered and ans.hits
    top = ans.hits[0]
    assert "杭州市儿童医院" in top.excerpt
    assert top.title == "想职工所想" and top.source == "sample_page.txt"
    assert [h.rank for h in ans.hits] == list(range(1, len(ans.hits) + 1))
    for h in ans.hits:
        _check_hit_shape(h)


@pytest.mark.parametrize(
    "q", ["杭州电信工会和哪家医院合作？", "亚运会吉祥物是谁雕刻的?", "甬江街道产改工作", "淳安技能竞赛", "工会"]
)
def test_no_sentence_repeated_within_article(sample_retriever, q):
    from newsbot.embeddings.chunking import split_sentences

    ans = sample_retriever.ask(q, k=8)
    seen: dict[int, set[str]] = {}
    for h in ans.hits:
        _check_hit_shape(h)
        full = "\n".join(sample_retriever.index.articles[h.article].paragraphs)
        # Sentences whose text occurs once in the article (repeated short ones like "郑亚萍说。"
        # are distinct sentences that merely read the same).
        shown = {
            s.strip() for piece in h.excerpt.split("…") for s in split_sentences(piece)
            if len(s.strip()) > 4 and full.count(s.strip()) == 1
        }
        assert not (shown & seen.get(h.article, set())), (q, shown & seen[h.article])
        seen.setdefault(h.article, set()).update(shown)


def test_english_question(sample_retriever):
    ans = sample_retriever.ask("Who is the chair of the Yongjiang Subdistrict trade union?")
    assert ans.answered
    assert any("郑亚萍" in h.excerpt for h in ans.hits[:3])


def test_offtopic_floor_is_the_closest_offtopic_question(sample_retriever):
    from newsbot.embeddings import offtopic
    from newsbot.embeddings.encoders import encode_query

    r = sample_retriever
    vecs = encode_query(r.encoder, list(offtopic.QUESTIONS))
    # Oracle: every passage vector against every off-topic question, in numpy.
    passages = r.index.dense.reconstruct_n(0, r.index.dense.ntotal)
    assert r._offtopic_floor() == pytest.approx(float((vecs @ passages.T).max()), abs=1e-5)
    assert 0.0 < r._offtopic_floor() < 0.3  # a small page: the answerable English questions clear it


def test_english_question_below_the_offtopic_floor_is_refused(sample_retriever):
    from dataclasses import replace

    q = "Which county held a kite-painting event for the Asian Games?"
    assert sample_retriever.ask(q).answered
    strict = type(sample_retriever)(sample_retriever.index, sample_retriever.encoder, sample_retriever.settings)
    strict._offtopic = 0.99  # an index whose off-topic questions all come this close
    assert not strict.ask(q).answered
    lax = type(sample_retriever)(sample_retriever.index, sample_retriever.encoder, replace(sample_retriever.settings, offtopic_floor=False))
    lax._offtopic = 0.99
    assert lax.ask(q).answered
    assert not sample_retriever.ask("Explain the theory of relativity").answered


def test_out_of_corpus(sample_retriever):
    ans = sample_retriever.ask("特斯拉股票今天涨了多少?")
    assert ans.answered is False and ans.hits == ()
    assert ans.to_dict() == {"query": "特斯拉股票今天涨了多少?", "answered": False, "results": []}


@pytest.mark.parametrize("q", ["", "   ", "？！。,,", "\u200b\u200b", "……"])
def test_empty_questions(sample_retriever, q):
    ans = sample_retriever.ask(q)
    assert ans.answered is False and ans.hits == ()


def test_too_long_question(sample_retriever):
    with pytest.raises(UsageError):
        sample_retriever.ask("工会" * 1500)
    with pytest.raises(UsageError):
        sample_retriever.ask(None)  # type: ignore[arg-type]


def test_k_limits_hits(sample_retriever):
    assert len(sample_retriever.ask("工会职工", k=1).hits) == 1
    assert 1 < len(sample_retriever.ask("工会职工", k=4).hits) <= 4


def test_instance_cache_is_bounded_lru():
    from newsbot.embeddings.util import LRU

    cache, made = LRU(2), []

    def make(k):
        made.append(k)
        return k * 10

    assert [cache.get(k, lambda k=k: make(k)) for k in (1, 2, 1, 3, 1, 2)] == [10, 20, 10, 30, 10, 20]
    assert made == [1, 2, 3, 2]  # 2 was least recently used when 3 came in; 1 stayed


def test_dropped_retriever_is_garbage_collected(sample_index, encoder):
    """Its caches belong to the instance: after /reindex the old index can be freed."""
    import gc
    import weakref

    from newsbot.embeddings.index import Index
    from newsbot.embeddings.search import Retriever

    retriever = Retriever(Index.load(sample_index), encoder=encoder)
    assert retriever.ask("杭州电信工会和哪家医院合作？").answered
    assert retriever.ask("Who is the chair of the Yongjiang Subdistrict trade union?").answered  # sentence vectors
    dropped, index = weakref.ref(retriever), weakref.ref(retriever.index)
    del retriever
    gc.collect()
    assert dropped() is None and index() is None


# -- CLI ------------------------------------------------------------------------------------------


def _run(args, env=None, cwd=None):
    env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "newsbot.bot.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=180)


def test_cli_ask_json(sample_index, capsys):
    code = main(["ask", "杭州电信工会和哪家医院合作？", "--index-dir", str(sample_index), "--json", "-k", "2"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == {"query", "answered", "results"}
    assert out["answered"] is True and 1 <= len(out["results"]) <= 2
    for r in out["results"]:
        assert {"rank", "score", "title", "source", "paragraphs", "excerpt", "text"} <= set(r)
    assert "杭州市儿童医院" in out["results"][0]["excerpt"]

    code = main(["ask", "特斯拉股票今天涨了多少?", "--index-dir", str(sample_index), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["answered"] is False and out["results"] == []


def test_cli_ask_text_and_usage(sample_index, capsys):
    assert main(["ask", "杭州电信工会和哪家医院合作？", "--index-dir", str(sample_index)]) == 0
    out = capsys.readouterr().out
    assert "[1] 想职工所想 · sample_page.txt ¶" in out and "**" in out
    assert main(["ask", "x", "-k", "0", "--index-dir", str(sample_index)]) == 2
    assert main(["ask", "工会" * 1500, "--index-dir", str(sample_index)]) == 2
    with pytest.raises(SystemExit) as e:
        main(["ask"])
    assert e.value.code == 2


def test_cli_missing_index_dir(tmp_path, capsys):
    code = main(["ask", "工会", "--index-dir", str(tmp_path / "none")])
    assert code == 3
    assert "newsbot index" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_cli_zero_config_subprocess(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_INDEX_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    cmd = [sys.executable, "-m", "newsbot.bot.cli", "ask", "杭州电信工会和哪家医院合作？", "--json"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180)
    assert first.returncode == 0, first.stderr
    assert "first run" in first.stderr and "xdg-cache" in first.stderr
    assert "杭州市儿童医院" in json.loads(first.stdout)["results"][0]["excerpt"]
    assert (tmp_path / "xdg-cache" / "newsbot" / "index" / "manifest.json").exists()
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180)
    assert second.returncode == 0
    assert "first run" not in second.stderr and "indexing" not in second.stderr
    assert json.loads(second.stdout) == json.loads(first.stdout)


def test_cli_index_then_eval(tmp_path):
    idx = tmp_path / "idx"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "page.txt").write_bytes((SAMPLE_DIR / "sample_page.txt").read_bytes())
    built = _run(["index", str(corpus), "--index-dir", str(idx), "--json"], cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    report = json.loads(built.stdout)
    assert report["files"] == 1 and report["articles"] == 8 and report["passages"] > 0
    again = _run(["index", str(corpus), "--index-dir", str(idx)], cwd=tmp_path)
    assert again.returncode == 0 and "up to date" in again.stdout

    qfile = tmp_path / "q.jsonl"
    rows = [
        {"q": "杭州电信工会和哪家医院合作？", "a": ["杭州市儿童医院"]},
        {"q": "甬江街道总工会主席是谁?", "a": ["郑亚萍"], "source": "page.txt"},
        {"q": "特斯拉股票今天涨了多少?", "abstain": True},
    ]
    qfile.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    res = _run(["eval", str(qfile), "--index-dir", str(idx), "--json"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout)
    keys = ["questions", "hit@1", "hit@3", "hit@5", "mrr@10", "doc_hit@1", "doc_hit@5",
            "abstain_total", "abstain_correct", "false_abstain", "p50_ms", "p95_ms"]
    assert set(keys) <= set(m)
    assert m["questions"] == 3 and m["abstain_total"] == 1 and m["abstain_correct"] == 1
    assert m["hit@1"] == 1.0 and m["false_abstain"] == 0

    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    res = _run(["eval", str(bad), "--index-dir", str(idx)], cwd=tmp_path)
    assert res.returncode == 2 and "bad.jsonl:1" in res.stderr


def test_cli_bad_chunk_settings(tmp_path, capsys):
    code = main(["index", str(SAMPLE_DIR), "--index-dir", str(tmp_path / "i"), "--chunk-target", "100", "--chunk-overlap", "100"])
    assert code == 2
    assert "chunk" in capsys.readouterr().err
    assert not (tmp_path / "i").exists()


def test_cli_index_nothing(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["index", str(tmp_path / "empty"), "--index-dir", str(tmp_path / "i")])
    assert code == 2
    assert "No text to index" in capsys.readouterr().err


REORDERED = ["工会", "富阳区劳模在哪里开展公益宣传拍摄?", "园区职工活动阵地被划分为几个功能区?", "工会怎样帮职工解决孩子看病的问题?"]


def test_rerank_reorders_the_first_results(sample_retriever):
    from dataclasses import replace

    plain = type(sample_retriever)(sample_retriever.index, sample_retriever.encoder,
                                   replace(sample_retriever.settings, rerank=()))
    changed = [q for q in REORDERED if [h.excerpt for h in plain.ask(q, k=5, trim=False).hits]
               != [h.excerpt for h in sample_retriever.ask(q, k=5, trim=False).hits]]
    assert changed, "no question's results were reordered: the tests below would prove nothing"


@pytest.mark.parametrize("q", REORDERED)
def test_reordered_results_page_stably(sample_retriever, q):
    """The first results are reordered (rerank.py) within a fixed pool: asking for more results
    ("More" pages) never changes the ones already shown."""
    assert sample_retriever.settings.rerank  # the default encoder's calibration reorders
    few = sample_retriever.ask(q, k=3, trim=False).hits
    more = sample_retriever.ask(q, k=7, trim=False).hits
    assert [(h.source, h.excerpt) for h in more[: len(few)]] == [(h.source, h.excerpt) for h in few]
    assert [h.rank for h in more] == list(range(1, len(more) + 1))


def test_an_account_excerpt_reads_on_from_the_highlight(sample_retriever):
    """"有哪些…?" asks for an account: the excerpt goes on with the text that follows the marked
    sentence in the article, not with other matching sentences from before it."""
    from dataclasses import replace

    q = "园区职工活动阵地有哪些功能区？"
    hit = sample_retriever.ask(q, k=1).hits[0]
    marked = hit.excerpt[hit.highlight[0] : hit.highlight[1]]
    assert "4个功能区" in marked
    after = hit.excerpt[hit.highlight[1] :].split("…")[0]
    assert len(after) >= 60  # the sentences after the mark, as the article has them
    assert (marked + after).replace("\n", "") in "".join(hit.text.split("\n"))
    plain = type(sample_retriever)(sample_retriever.index, sample_retriever.encoder,
                                   replace(sample_retriever.settings, excerpt_run_on=0)).ask(q, k=1).hits[0]
    assert plain.excerpt.index(marked) > hit.excerpt.index(marked)  # without: sentences before it take the room


def test_html_tags_in_a_question_are_markup_not_words(sample_retriever):
    """A question pasted with tags and entities is searched as its words; the question itself is
    kept as asked (front ends escape it when they echo it)."""
    from newsbot.embeddings.util import searched_text as _clean

    plain = sample_retriever.ask("杭州电信工会和哪家医院合作？", k=3)
    asked = '<b>杭州电信</b> & <script>alert("x")</script> 工会和哪家医院合作？ &amp; </i>'
    tagged = sample_retriever.ask(asked, k=3)
    assert tagged.answered and tagged.query == asked
    assert tagged.hits[0].excerpt == plain.hits[0].excerpt and tagged.hits[0].highlight == plain.hits[0].highlight
    assert _clean('<B>工会</B>&amp;<span class="x">医院</span>') == "工会 & 医院"
    # Not markup: comparisons, and angle brackets around other words.
    assert _clean("x < 5 > y") == "x < 5 > y" and _clean("a<b") == "a<b" and _clean("<工会>") == "<工会>"
