"""Retrieval quality bars on the seed dev set (sample page) and the CMRC 2018 trial set."""

from __future__ import annotations

import sys

import pytest

from newsbot.embeddings.evaluate import evaluate, load_questions
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.search import Retriever

from helpers import CMRC, DRCD, ROOT, SEED_DEV

OOC = ROOT / "benchmarks" / "data" / "out_of_corpus.jsonl"


def test_seed_dev_bars(sample_retriever):
    if not SEED_DEV.exists():
        pytest.skip(f"{SEED_DEV} not present")
    m = evaluate(sample_retriever, load_questions(SEED_DEV))
    misses = m.pop("misses")
    assert m["hit@1"] == 1.0, (m, misses)  # the target for seed_dev; every result reordering must keep it
    assert m["hit@5"] == 1.0, (m, misses)
    assert m["abstain_total"] == 2, m
    assert m["abstain_correct"] == m["abstain_total"], (m, misses)
    assert m["false_abstain"] == 0, (m, misses)
    # The marked sentence holds the answer (0.72 before answer types, headline-free focus and
    # whole-sentence highlights; 0.83 after; 0.89 with cues and near ties), and stays about one
    # sentence long.
    assert m["highlight@1"] >= 0.85, (m, [r for r in misses if r["hit_rank"] == 1])
    assert m["highlight_chars"] <= 100, m


def test_out_of_corpus_refused_on_the_sample(sample_retriever):
    """Questions the sample page cannot answer (benchmarks/data/out_of_corpus.jsonl): at most 5%
    answered, and the seed_dev questions it can answer are not refused (above)."""
    m = evaluate(sample_retriever, load_questions(OOC), expect_none=True)
    answered = [r["q"] for r in m.pop("misses")]
    assert m["must_refuse"] == 25
    assert m["false_answer_rate"] <= 0.05, (m, answered)


def test_an_out_of_corpus_question_a_corpus_does_answer_is_asked_there_as_answerable():
    """长城有多长? is answered by DRCD dev's 长城 article: precision.py asks it of that index as an
    answerable question (``answered_in`` on its line), and of every other index as one to refuse."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from precision import answered_in

    drcd = answered_in(OOC, "drcd")
    assert list(drcd) == ["长城有多长?"] and drcd["长城有多长?"].source == "drcd_dev_0090.txt"
    assert answered_in(OOC, "cmrc") == {} and answered_in(OOC, "seed") == {}
    article = DRCD / "corpus" / "drcd_dev_0090.txt"
    if not article.exists():
        pytest.skip(f"{article} not present")
    text = article.read_text(encoding="utf-8")
    assert all(a in text for a in drcd["长城有多长?"].a)  # each answer named is the article's own words


@pytest.mark.slow
def test_cmrc_trial_bars(tmp_path, encoder):
    if not (CMRC / "corpus").exists() or not (CMRC / "questions.jsonl").exists():
        pytest.skip(f"{CMRC} not present")
    out = tmp_path / "cmrc-index"
    report = build_index([CMRC / "corpus"], out, encoder=encoder)
    assert report.files == len(list((CMRC / "corpus").glob("*.txt")))
    retriever = Retriever(Index.load(out), encoder=encoder)
    m = evaluate(retriever, load_questions(CMRC / "questions.jsonl"))
    m.pop("misses")
    assert m["questions"] >= 1000
    assert m["hit@1"] >= 0.85, m
    assert m["hit@5"] >= 0.96, m
    assert m["doc_hit@1"] >= 0.97, m
    # Questions this index cannot answer: seed_dev's (another page) and out_of_corpus. The English
    # ones are judged against the index's own off-topic floor (offtopic.py): without it seed_dev's
    # two English questions were answered here (3/20 in all), with it neither (1/20).
    for qfile, most in ((SEED_DEV, 0.10), (OOC, 0.32)):
        if qfile.exists():
            none = evaluate(retriever, load_questions(qfile), expect_none=True)
            assert none["false_answer_rate"] <= most, none
    english = [q.q for q in load_questions(OOC) if q.q.isascii()]
    assert len(english) == 5 and sum(retriever.ask(q).answered for q in english) <= 1
