"""Retrieval quality bars on the seed dev set (sample page) and the CMRC 2018 trial set."""

from __future__ import annotations

import pytest

from newsbot.embeddings.evaluate import evaluate, load_questions
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.search import Retriever

from helpers import CMRC, SEED_DEV


def test_seed_dev_bars(sample_retriever):
    if not SEED_DEV.exists():
        pytest.skip(f"{SEED_DEV} not present")
    m = evaluate(sample_retriever, load_questions(SEED_DEV))
    misses = m.pop("misses")
    assert m["hit@1"] >= 0.90, (m, misses)
    assert m["hit@5"] >= 0.97, (m, misses)
    assert m["abstain_total"] == 2, m
    assert m["abstain_correct"] == m["abstain_total"], (m, misses)
    assert m["false_abstain"] == 0, (m, misses)


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
