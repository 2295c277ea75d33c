"""The BM25 reader used at query time agrees with bm25s itself (the oracle)."""

from __future__ import annotations

import bm25s
import numpy as np

from newsbot.embeddings.bm25 import BM25Index
from newsbot.embeddings.tokenize import query_terms

QUESTIONS = ["杭州电信工会和哪家医院合作？", "甬江街道培育出几名“浙江工匠”?", "亚运 亚运 风筝", "no such words here", ""]


def test_reader_matches_bm25s(sample_index):
    ours = BM25Index(sample_index / "bm25")
    oracle = bm25s.BM25.load(str(sample_index / "bm25"))
    assert ours.num_docs == oracle.scores["num_docs"]
    assert ours.vocab_dict == oracle.vocab_dict
    for q in QUESTIONS:
        tokens = [t for t in query_terms(q) if t in oracle.vocab_dict]
        want = oracle.get_scores(tokens) if tokens else np.zeros(ours.num_docs)
        np.testing.assert_allclose(ours.get_scores(query_terms(q)), want, rtol=1e-6, atol=1e-6)


def test_memory_mapped_reader_gives_the_same_scores(sample_index):
    a = BM25Index(sample_index / "bm25").get_scores(query_terms("工会 职工"))
    b = BM25Index(sample_index / "bm25", mmap=True).get_scores(query_terms("工会 职工"))
    np.testing.assert_array_equal(a, b)
    assert a.max() > 0



def test_a_name_jieba_glues_to_its_neighbours_is_still_a_token():
    import jieba

    from newsbot.embeddings.tokenize import tokenize

    # jieba's HMM glues 狄托 to the characters around it differently each time
    article = tokenize("狄托雪恥，令狄托接受。當狄托勝利時")
    assert article.count("狄托") == 3
    assert article.count("雪恥") == 1  # a pair search mode already gave is not repeated
    assert "狄托" in tokenize("狄托於西元幾年的時候過世?")
    # dictionary words, digits and Latin script: as search mode gives them
    assert tokenize("中华人民共和国") == jieba.lcut_for_search("中华人民共和国")
    assert tokenize("2012年 Tallentyre") == ["2012", "年", "tallentyre"]


def test_traditional_text_is_cut_as_its_simplified_reading_and_keeps_its_characters():
    from newsbot.embeddings.hanzi import to_simplified
    from newsbot.embeddings.tokenize import query_terms, tokenize

    # jieba's dictionary is Simplified: Traditional text is cut where its Simplified reading is
    # (為什麼, 反應爐 whole, not 為什 / 麼 / 應爐), and each token keeps the text's own characters.
    q = "此反應爐為什麼會招惹一些爭議?"
    assert [to_simplified(t) for t in tokenize(q)] == tokenize(to_simplified(q))
    assert {"反應爐", "為什麼", "爭議"} <= set(tokenize(q))
    assert query_terms(q) == ["反應", "反應爐", "招惹", "一些", "爭議"]  # 為什麼 is a question word
    assert query_terms("「卡樂」於何年結束營業?") == ["卡樂", "何年", "結束", "營業"]
    assert tokenize("長城有多長？") == ["長城", "有", "多長"] and tokenize("长城有多长？") == ["长城", "有", "多长"]
    assert to_simplified("國際太空站") == "国际太空站" and len(to_simplified("乾隆於臺")) == 4


def test_a_damaged_character_table_is_reported_and_text_cut_as_written(monkeypatch, caplog):
    from newsbot.embeddings import hanzi

    monkeypatch.setattr(hanzi, "TABLE", "no-such-table.json")
    hanzi._table.cache_clear()
    try:
        with caplog.at_level("WARNING"):
            assert hanzi.to_simplified("國際太空站") == "國際太空站"
        assert "no-such-table.json could not be read" in caplog.text
    finally:
        hanzi._table.cache_clear()
