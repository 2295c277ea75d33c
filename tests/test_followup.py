"""Follow-up questions (embeddings/followup.py): resolved against the answer they reply to.

On the shipped sample page: a follow-up with a pronoun is answered from the article the previous
answer cited, where the follow-up alone is not; one that article cannot answer falls back to a
search; the highlight is chosen for the follow-up; one nothing answers gets no quote. The pure word functions, the restriction of
``Retriever.ask`` to articles, and the benchmark's pairs (benchmarks/data/followups.jsonl; the
CMRC and DRCD ones need ../shared).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from helpers import CMRC, DRCD, ROOT, SAMPLE_DIR
from newsbot.embeddings.evaluate import Question
from newsbot.embeddings.followup import (
    ARTICLE,
    SEARCH,
    ask_followup,
    carried_terms,
    cited_article,
    content_terms,
    found_in,
    named_terms,
    names_carried,
    subject_terms,
    swap_subject,
    what_about,
    with_carried,
)
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.metrics import highlight_text, judge
from newsbot.embeddings.search import Retriever

PAIRS = ROOT / "benchmarks" / "data" / "followups.jsonl"
CORPUS = {"sample": SAMPLE_DIR, "cmrc": CMRC / "corpus", "drcd": DRCD / "corpus"}


def _rows() -> list[dict]:
    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _pairs(which: str | None = None) -> list[dict]:
    """The answerable pairs (of one set)."""
    return [r for r in _rows() if not r.get("abstain") and (which is None or r["set"] == which)]


def _unanswerable(which: str | None = None) -> list[dict]:
    """The follow-ups whose answer is in neither the cited article nor the rest of the set."""
    return [r for r in _rows() if r.get("abstain") and (which is None or r["set"] == which)]


def _conversation(retriever, q1: str, q: str):
    """The previous answer, the follow-up asked alone, and the follow-up resolved."""
    first = retriever.ask(q1, k=3)
    assert first.answered, q1
    return first, retriever.ask(q, k=3), ask_followup(retriever, q1, first.hits, q, k=3)


def _quotes(answer, text: str) -> bool:
    return bool(answer.answered and answer.hits and text in answer.hits[0].excerpt)


# -- the words ---------------------------------------------------------------------------------


def test_content_terms_drop_pronouns_and_question_words():
    assert content_terms("他是哪里人？") == ["人"]
    assert content_terms("那是哪一年？") == ["一年"]
    assert content_terms("她是在哪里出生的？") == ["出生"]
    assert content_terms("他们在哪？") == []  # nothing of its own: query_terms would keep the tokens


def test_carried_terms_are_what_the_followup_leaves_out():
    assert carried_terms("徐宜民的手为什么长满了疱疹?", "他最长连续工作了多少小时?") == ["徐宜民", "手", "长满", "疱疹"]
    # said again in the follow-up (as a word or inside its text): not carried
    assert "徐宜民" not in carried_terms("徐宜民的手为什么长满了疱疹?", "徐宜民连续工作了多久?")
    assert carried_terms("椒江区微型党课比赛是谁举办的?", "椒江区微型党课比赛是谁举办的?") == []
    assert with_carried("他是哪里人?", ["盛青李"]) == "他是哪里人? 盛青李"
    assert with_carried(" 他是哪里人? ", []) == "他是哪里人?"


def test_names_are_carried_alone_into_the_article():
    """Who "他" is goes with the follow-up into the cited article; the previous question's other
    words (which lead back to the sentence that answered it) do not."""
    assert names_carried("罗保铭本科毕业于哪所大学？", "他是哪里人？") == ["罗保铭"]
    assert names_carried("“建才之家”是什么时候揭牌的?", "它服务多少人?") == ["建才之家"]  # quoted: a name
    assert names_carried("罗保铭本科毕业于哪所大学？", "罗保铭是哪里人？") == []
    assert named_terms("探險隊的大本營「Framheim」於何年建立?") == ["framheim"]
    assert named_terms("Who designed it?") == []  # no Chinese: nothing the tagger can name


@pytest.mark.parametrize(
    "question, subject",
    [
        ("那杨昊呢？", "杨昊"),
        ("那么于海呢?", "于海"),
        ("还有“职工大讲堂”呢", "“职工大讲堂”"),
        ("What about Yang Hao?", "Yang Hao"),
        ("and the Taipei 101?", "the Taipei 101"),
        ("那2006年他的最好成绩呢？", None),  # points back ("他"): a question about the same subject
        ("为什么呢？", None),  # no word of its own
        ("他是哪里人？", None),
        ("And how many?", None),
    ],
)
def test_what_about(question, subject):
    assert what_about(question) == subject


def test_swap_subject_asks_the_previous_question_of_someone_else():
    assert swap_subject("于海什么时候入选中国国家队？", ["于海"], "杨昊") == "杨昊 什么时候入选中国国家队?"
    assert swap_subject("張學良在哪一個地方出生?", ["張學良"], "陳誠") == "陳誠 在哪一個地方出生?"
    assert swap_subject("蒙泰罗在2005年获得第几名？", [], "2006年") == "2006年 蒙泰罗在2005年获得第几名?"


def test_found_in_needs_the_rarest_term_and_half_the_weight():
    text, tokens = "徐宜民是宁波海曙区总工会权益保障部的负责人", frozenset({"徐宜民", "宁波", "海曙区"})
    weights = {"徐宜民": 8.0, "宁波": 2.0, "淳安": 6.0}
    assert found_in([], weights, text, tokens)
    assert found_in(["徐宜民", "宁波"], weights, text, tokens)
    assert found_in(["保障部"], {"保障部": 3.0}, text, tokens)  # inside the text, not a token
    assert not found_in(["淳安", "宁波"], weights, text, tokens)  # the rarest missing
    assert not found_in(["徐宜民", "淳安", "宁波", "杭州"], weights | {"杭州": 7.0}, text, tokens)  # 10 of 23 found


def test_subject_terms_from_the_headline_else_the_rarest_held():
    text, tokens = "于海,河南洛阳人,是一名中国足球运动员", frozenset({"于海", "中国", "足球"})
    assert subject_terms("于海什么时候入选中国国家队？", "于海", text, tokens, {}) == ["于海"]
    weights = {"于海": 9.0, "入选": 4.0, "中国": 1.0}
    assert subject_terms("于海什么时候入选中国国家队？", "足坛新星", text, tokens, weights) == ["于海"]
    assert subject_terms("谁是冠军？", "足坛新星", text, tokens, weights) == []


# -- searching within articles ------------------------------------------------------------------


def test_ask_within_searches_only_those_articles(sample_retriever):
    r = sample_retriever
    everywhere = r.ask("工会为职工做了什么?", k=8, trim=False)
    articles = {h.article for h in everywhere.hits}
    assert len(articles) > 1
    one = max(articles)
    within = r.ask("工会为职工做了什么?", k=8, trim=False, within=[one])
    assert within.hits and {h.article for h in within.hits} == {one}
    assert set(r.passages_of([one]).tolist()) == {p.id for p in r.index.passages if p.article == one}
    nothing = r.ask("工会为职工做了什么?", within=[])
    assert not nothing.answered and nothing.hits == ()
    assert r.ask("工会为职工做了什么?", k=8, trim=False) == everywhere  # the default path is untouched


# -- follow-ups on the sample page --------------------------------------------------------------


def test_pronoun_followup_is_answered_from_the_cited_article(sample_retriever):
    q1, q = "“建才之家”是什么时候揭牌的?", "它服务多少人?"
    first, alone, fu = _conversation(sample_retriever, q1, q)
    assert not _quotes(alone, "近20万")  # alone, "它" is anything
    assert fu.resolved_in == ARTICLE
    top = fu.answer.hits[0]
    assert top.article == first.hits[0].article
    assert "近20万" in highlight_text(top)
    assert fu.answer.query == q  # the answer is to the reader's question …
    assert "建才之家" in fu.query  # … searched with what it left out


def test_english_followup_is_answered_from_the_cited_article(sample_retriever):
    q1, q = "Which county held a kite-painting event for the Asian Games?", "Who did the volunteers explain the Asian Games to?"
    _first, alone, fu = _conversation(sample_retriever, q1, q)
    assert not _quotes(alone, "残疾职工")
    assert fu.resolved_in == ARTICLE and _quotes(fu.answer, "残疾职工")


def test_highlight_is_chosen_for_the_followup(sample_retriever):
    q1, q = "徐宜民的手为什么长满了疱疹?", "他最长连续工作了多少小时?"
    first, _alone, fu = _conversation(sample_retriever, q1, q)
    assert "长时间带橡胶手套" in highlight_text(first.hits[0])
    marked = highlight_text(fu.answer.hits[0])
    assert fu.resolved_in == ARTICLE and "20个小时" in marked and "橡胶手套" not in marked


def test_followup_about_something_else_falls_back_to_a_search(sample_retriever):
    # "那X呢？": the previous question asked of X, which the cited article does not hold
    first, _alone, fu = _conversation(sample_retriever, "椒江区微型党课比赛是谁举办的?", "那放飞亚运祝福的活动呢?")
    assert fu.resolved_in == SEARCH
    assert fu.answer.hits[0].article != first.hits[0].article and _quotes(fu.answer, "德清县总工会")
    # a question of its own, naming what the article does not: searched as asked
    first, _alone, fu = _conversation(sample_retriever, "徐宜民的手为什么长满了疱疹?", "淳安的驾驶员技能大赛有多少名驾驶员参加?")
    assert fu.resolved_in == SEARCH and fu.query == "淳安的驾驶员技能大赛有多少名驾驶员参加?"
    assert _quotes(fu.answer, "30名")


def test_what_about_something_the_article_holds_stays_in_it(sample_retriever):
    first, _alone, fu = _conversation(sample_retriever, "孙耀春雕刻了什么?", "那吴莹呢?")
    assert fu.resolved_in == ARTICLE and fu.answer.hits[0].article == first.hits[0].article
    assert "亚运主题作品" in highlight_text(fu.answer.hits[0])


def test_without_a_usable_previous_answer_it_searches(sample_retriever):
    r = sample_retriever
    q1, q = "徐宜民的手为什么长满了疱疹?", "他最长连续工作了多少小时?"
    fu = ask_followup(r, q1, (), q, k=3)  # the previous question was refused
    assert fu.resolved_in == SEARCH and "徐宜民" in fu.query and _quotes(fu.answer, "20个小时")
    hit = r.ask(q1, k=3).hits[0]
    gone = replace(hit, article=10_000, title="an article since deleted")
    assert cited_article(r, gone) is None
    assert ask_followup(r, q1, (gone,), q, k=3).resolved_in == SEARCH
    moved = replace(hit, article=0 if hit.article else 1)  # the index rebuilt: ids shifted
    assert cited_article(r, moved) == hit.article
    assert ask_followup(r, q1, (), "？").answer.answered is False  # nothing to resolve


# -- the benchmark's pairs ----------------------------------------------------------------------


def test_pairs_file():
    rows = _pairs()
    assert len(rows) >= 30
    for name in CORPUS:
        assert len([r for r in rows if r["set"] == name]) >= 10, name
    for r in rows:
        assert {"q1", "q", "a", "source", "set"} <= r.keys() and r["a"], r
        assert r.get("expect", ARTICLE) in (ARTICLE, SEARCH)
        assert (r.get("expect") == SEARCH) == ("q1_source" in r), r
        folder = CORPUS[r["set"]]
        if not folder.exists():
            continue  # checked where ../shared is
        text = (folder / r["source"]).read_text(encoding="utf-8")
        assert all(a in text for a in r["a"]), r  # exact substrings of the article


def test_unanswerable_pairs_file():
    """Follow-ups to a first question the set answers, whose own answer it does not hold."""
    rows = _unanswerable()
    assert len(_unanswerable("sample")) >= 10 and len(_unanswerable("cmrc")) >= 8 and len(_unanswerable("drcd")) >= 8
    assert sum(1 for r in rows if r["q"].isascii()) >= 2  # some English
    answerable = {(r["q1"], r["q"]) for r in _pairs()}
    for r in rows:
        assert {"q1", "q", "source", "set"} <= r.keys() and r["a"] == [] and r["expect"] == "none", r
        assert "q1_source" not in r and (r["q1"], r["q"]) not in answerable, r
        folder = CORPUS[r["set"]]
        if folder.exists():
            assert (folder / r["source"]).is_file(), r  # the article q1's answer cites


def _rates(retriever, pairs) -> tuple[float, float, list]:
    """hit@1 of the follow-ups alone and resolved, and the pairs resolved wrong."""
    alone = resolved = 0
    wrong = []
    for p in pairs:
        q = Question(p["q"], tuple(p["a"]), p["source"])
        first = retriever.ask(p["q1"], k=3)
        alone += judge(q, retriever.ask(p["q"], k=3)).hit_rank == 1
        fu = ask_followup(retriever, p["q1"], first.hits, p["q"], k=3)
        if judge(q, fu.answer).hit_rank == 1 and fu.resolved_in == p.get("expect", ARTICLE):
            resolved += 1
        else:
            wrong.append((p["q1"], p["q"], fu.resolved_in, fu.query))
    return alone / len(pairs), resolved / len(pairs), wrong


def test_sample_pairs(sample_retriever):
    """Measured 0.74 alone, 0.84 resolved (benchmarks/followup.py)."""
    alone, resolved, wrong = _rates(sample_retriever, _pairs("sample"))
    assert resolved >= 0.8, wrong
    assert resolved >= alone + 0.1, (alone, resolved)


def test_sample_unanswerable_followups_mostly_get_no_quote(sample_retriever):
    """Nothing found beats a wrong quote: the cited article holds no answer, nor does the page
    (benchmarks/followup.py counts these as false answers, per set, with and without resolution;
    measured 2 of 10 here, 10 of 10 before the article's answer had to pass the evidence test)."""
    quoted = []
    for pair in _unanswerable("sample"):
        _first, _alone, fu = _conversation(sample_retriever, pair["q1"], pair["q"])
        if fu.answer.answered and fu.answer.hits:
            quoted.append((pair["q"], fu.resolved_in, highlight_text(fu.answer.hits[0])))
    assert len(quoted) <= 2, quoted


@pytest.mark.parametrize("which", ["cmrc", "drcd"])
def test_shared_pairs(which, tmp_path, encoder):
    """The CMRC / DRCD pairs on an index of the articles they cite (the full sets:
    benchmarks/followup.py; measured there 0.58 -> 1.00 and 0.20 -> 0.85; here 0.84 and 0.80)."""
    folder = CORPUS[which]
    if not folder.exists():
        pytest.skip(f"{folder} not present")
    pairs = _pairs(which)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in {p["source"] for p in pairs} | {p.get("q1_source", p["source"]) for p in pairs}:
        shutil.copy(folder / name, corpus / name)
    build_index([corpus], tmp_path / "index", encoder=encoder)
    retriever = Retriever(Index.load(tmp_path / "index"), encoder=encoder)
    alone, resolved, wrong = _rates(retriever, pairs)
    assert resolved >= 0.75, wrong
    assert resolved >= alone + 0.1, (alone, resolved)
