"""A question that names an article by a headline no other article uses is answered from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.embeddings import headline
from newsbot.embeddings.types import Article

MUGAO = """# 牡蒿

牡蒿为菊科蒿属的植物。多年生草本，茎直立；叶子互生，茎中部以下的叶子呈楔形，先端作羽状三裂；头状花序卵形，排列成圆锥花序，秋季开花。

分布于中国大陆的福建、辽宁、河北、四川等地，生长在林缘、山坡和路旁。
"""
OTHERS = {
    "rail.md": "# 城际铁路\n\n城际铁路是连接相邻城市的客运铁路，列车速度较快，班次密集。这条线路于二〇一五年开通，全长八十公里，沿途设站十二座。\n\n"
               "车站的建筑风格简洁，候车大厅宽敞明亮，每天有数万名旅客在这里乘车。\n",
    "tea.md": "# 龙井茶\n\n龙井茶是一种绿茶，产于杭州西湖一带的山区。茶叶扁平光滑，色泽翠绿，香气清高，味道甘醇。\n\n"
              "每年春季采摘，清明节前采制的明前茶品质最佳，价格也最高。\n",
    "lib.md": "# 市立图书馆\n\n市立图书馆位于市中心广场东侧，馆藏图书一百二十万册，设有少儿阅览室和古籍部。\n\n"
              "图书馆每周一闭馆，其余时间早上九点开放，读者凭身份证即可办理借书证。\n",
}
# Mentions 牡蒿 in passing: the headline is no longer the one article's own.
GARDEN = "# 植物园\n\n植物园收集了两千多种植物，园内的草本区种有牡蒿、艾草和薄荷，供游客观赏。\n\n植物园每天早上八点开放，门票十元。\n"


def _article(i: int, title: str, *paragraphs: str) -> Article:
    return Article(id=i, title=title, source=f"{i}.md", paragraphs=paragraphs)


@pytest.mark.parametrize("title, subject", [
    ("牡蒿", "牡蒿"), ("民主黨_(美國)", "民主黨"), ("水星 (行星)", "水星"), ("长城（消歧义）", "长城"), ("稻", ""), ("(一)", ""),
])
def test_subject_is_the_headline_without_its_disambiguation(title, subject):
    assert headline.subject(title) == subject


@pytest.mark.parametrize("question, name, named", [
    ("牡蒿的外貌特征是什么？", "牡蒿", True),
    ("人們以什麼稱號稱呼張學良?", "张学良", True),  # either script
    ("张学良的稱號是什麼?", "張學良", True),
    ("What does the Mac cost?", "Mac", True),
    ("Is machine learning hard?", "Mac", False),  # a Latin name is a whole word
    ("What is 64DD?", "64dd", True),
    ("美国总统是谁?", "牡蒿", False),
])
def test_names_in_either_script_and_latin_names_as_whole_words(question, name, named):
    assert headline.names(question, name) is named


def test_others_use_a_headline_in_their_headline_or_text():
    articles = [_article(0, "牡蒿", "牡蒿为菊科蒿属的植物。"), _article(1, "植物园", "园内种有牡蒿。"), _article(2, "龙井茶", "龙井茶是一种绿茶。")]
    assert headline.others_use(articles, 0, "牡蒿")  # 植物园 names it too
    assert not headline.others_use(articles, 2, "龙井茶")
    articles[1] = _article(1, "牡蒿 (植物)", "另一篇。")  # or uses it in its own headline
    assert headline.others_use(articles, 0, "牡蒿")


def _retriever(folder: Path, encoder, files: dict[str, str]):
    from newsbot.embeddings.index import Index, build_index
    from newsbot.embeddings.search import Retriever

    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    build_index([corpus], folder / "index", encoder=encoder)
    return Retriever(Index.load(folder / "index"), encoder=encoder)


def test_a_question_naming_a_headline_no_other_article_uses_is_answered_from_it(tmp_path, encoder):
    # 外貌 and 特征 are not in the article (it says 茎, 叶子, 花序): on those words alone the
    # refusal gate refuses, as it did for CMRC trial's "牡蒿的外貌特征是什么?".
    question = "牡蒿的外貌特征是什么？"
    own = _retriever(tmp_path / "own", encoder, {"mugao.md": MUGAO, **OTHERS})
    answer = own.ask(question, k=3)
    assert answer.answered and answer.hits[0].title == "牡蒿"
    assert "茎直立" in answer.hits[0].excerpt
    # The same archive with one more article that mentions 牡蒿: the headline singles out no article.
    shared = _retriever(tmp_path / "shared", encoder, {"mugao.md": MUGAO, "garden.md": GARDEN, **OTHERS})
    assert not shared.ask(question, k=3).answered
    # A question that names no headline is judged as before.
    assert not own.ask("美国总统是谁?", k=3).answered
