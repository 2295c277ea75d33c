"""Retrieval quality bars on the seed dev set (sample page) and the CMRC 2018 trial set."""

from __future__ import annotations

import pytest

from newsbot.embeddings.evaluate import evaluate, load_questions
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.search import Retriever

from helpers import CMRC, ROOT, SEED_DEV

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
