"""A question typed in the other script than the index's is searched in the index's (script.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from newsbot.bot.cli import main
from newsbot.embeddings import script
from newsbot.embeddings.script import SIMPLIFIED, TRADITIONAL, Rewriter, char_counts, index_script

# Term -> passages, as Index.df holds them: a Traditional index whose headlines are Simplified
# (DRCD's are), a Simplified one that writes 乾隆 with its Traditional 乾, and a mixed one.
TRADITIONAL_DF = {"長城": 40, "长城": 1, "國家": 30, "文物局": 5, "歷代": 6, "總長度": 3, "為": 50, "誰": 9, "皇后": 4, "後來": 60,
                  "家": 30, "裡": 2, "里": 20, "發表": 7, "頭髮": 1, "會": 20, "麼": 9, "島": 4}
SIMPLIFIED_DF = {"长城": 40, "国家": 30, "文物局": 5, "历代": 6, "总长度": 3, "为": 50, "谁": 9, "乾隆": 3, "干部": 20, "后来": 60}


def test_an_index_script_is_read_from_its_characters():
    assert index_script(char_counts(TRADITIONAL_DF)) == TRADITIONAL
    assert index_script(char_counts(SIMPLIFIED_DF)) == SIMPLIFIED
    assert index_script(char_counts({"union": 3, "news": 2})) is None


def test_simplified_questions_are_spelled_as_a_traditional_index_spells_its_words():
    rewrite = Rewriter(TRADITIONAL_DF)
    assert rewrite("国家文物局宣布中国历代长城总长度为多少?") == "國家文物局宣布中國歷代長城總長度為多少?"
    assert rewrite("谁发表了头发的文章?") == "誰發表了頭髮的文章?"  # 发: 發 in 發表, 髮 in 頭髮
    # Typed in the index's script: not rewritten (None), even with a character it rarely writes.
    assert rewrite("長城的總長度為多少?") is None
    assert rewrite("后沃澳村會在什麼時候變成孤島?") is None  # 后 once, 會 麼 島 the index's own
    assert rewrite("皇后是誰?") is None
    assert rewrite("Who built the Great Wall?") is None


def test_traditional_questions_are_simplified_for_a_simplified_index():
    rewrite = Rewriter(SIMPLIFIED_DF)
    assert rewrite("國家文物局宣布中國歷代長城總長度為多少?") == "国家文物局宣布中国历代长城总长度为多少?"
    assert rewrite("乾隆是誰?") == "乾隆是谁?"  # the index writes 乾隆: 干隆 would match nothing
    assert rewrite("长城有多长?") is None
    # A mixed index writes both: nothing is foreign to it, questions are searched as typed.
    assert Rewriter(TRADITIONAL_DF | SIMPLIFIED_DF)("长城有多长?") is None
    assert Rewriter(TRADITIONAL_DF | SIMPLIFIED_DF)("長城有多長?") is None


ARTICLES = {
    "great_wall.txt": "長城\n\n長城是古代中國為抵禦北方遊牧民族而修築的軍事工程。\n\n"
                      "2012年，國家文物局宣布中國歷代長城總長度為21196.18公里。明長城東起鴨綠江，西至嘉峪關。\n",
    "metro.txt": "臺北捷運\n\n臺北捷運是服務臺北市與新北市的大眾運輸系統。\n\n第一條路線於1996年通車，目前每日運量約兩百萬人次。\n",
    "bubble_tea.txt": "珍珠奶茶\n\n珍珠奶茶是一種源自臺灣的茶飲，1980年代出現於臺中。\n\n飲料中加入以木薯粉製成的粉圓。\n",
}


@pytest.fixture(scope="module")
def traditional_retriever(tmp_path_factory, encoder):
    from newsbot.embeddings.index import Index, build_index
    from newsbot.embeddings.search import Retriever

    corpus = tmp_path_factory.mktemp("traditional")
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    build_index([corpus], corpus.parent / "traditional-index", encoder=encoder)
    return Retriever(Index.load(corpus.parent / "traditional-index"), encoder=encoder)


@pytest.mark.parametrize("question", ["国家文物局宣布中国历代长城总长度为多少?", "國家文物局宣布中國歷代長城總長度為多少?"])
def test_a_question_finds_its_answer_in_either_script(traditional_retriever, question):
    answer = traditional_retriever.ask(question, k=3)
    assert answer.answered and answer.query == question  # the reader's words, as typed
    first = answer.hits[0]
    assert first.source == "great_wall.txt"
    assert "21196.18公里" in first.excerpt[first.highlight[0] : first.highlight[1]]


def test_a_rewritten_question_must_clear_the_margin(traditional_retriever, monkeypatch):
    """The margin applies to rewritten questions only: raised out of reach, the Simplified question
    is refused and the Traditional one still answered (neither names a headline: 城墙, not 长城)."""
    monkeypatch.setattr(traditional_retriever, "settings", replace(traditional_retriever.settings, other_script_margin=1e9))
    assert not traditional_retriever.ask("国家文物局宣布中国历代城墙总长度为多少?").answered
    assert traditional_retriever.ask("國家文物局宣布中國歷代城牆總長度為多少?").answered
    # A question naming an article by a headline no other article uses is answered from it
    # whatever the margin (headline.py).
    assert traditional_retriever.ask("国家文物局宣布中国历代长城总长度为多少?").answered
    assert script.TRADITIONAL == traditional_retriever._rewriter.script


def test_the_cli_answers_a_traditional_question_about_the_simplified_sample(sample_index, capsys):
    """End to end: typed in Traditional, the question is asked of the Simplified sample page in
    Simplified (searched as typed, it is refused), and the reply echoes it as typed."""
    question = "杭州電信工會和哪家醫院合作？"
    assert main(["ask", question, "--index-dir", str(sample_index), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    first = out["results"][0]
    assert out["query"] == question and "杭州市儿童医院" in first["excerpt"][first["highlight"][0] : first["highlight"][1]]
