"""A question about one place's or organisation's thing cited from an article about another's (name_conflict.py)."""

from __future__ import annotations

from newsbot.embeddings.name_conflict import NameConflict, name_conflicts

MADAGASCAR = ("安德里·拉乔利纳是马达加斯加共和国政治人物。曾为首都塔那那利佛市长、反对派领袖，马达加斯加总统。"
              "非洲联盟因此中止了马达加斯加的成员国资格，美国也切断了所有援助。")
MADAGASCAR_MARKED = "曾为首都塔那那利佛市长、反对派领袖，马达加斯加总统。"


def test_another_place_before_the_questions_noun_is_a_conflict():
    assert name_conflicts("美国总统是谁?", MADAGASCAR, MADAGASCAR_MARKED) == (NameConflict("美国", "总统", ("马达加斯加",)),)
    article = "花样游泳于1984年洛杉矶奥运会正式成为奥运比赛项目。本次奥运会中国队获得了全部二个项目的参赛资格。"
    conflicts = name_conflicts("东京奥运会中国队获得多少枚金牌?", article, "本次奥运会中国队获得了全部二个项目的参赛资格。")
    assert [(c.name, c.noun, c.others) for c in conflicts] == [("东京", "奥运会", ("洛杉矶",))]


def test_another_organisation_before_the_noun_is_a_conflict_too():
    article = "清华大学校长邱勇出席了开学典礼。典礼在大礼堂举行。"
    assert [(c.name, c.others) for c in name_conflicts("北京大学校长是谁?", article, "典礼在大礼堂举行。")] == [("北京大学", ("清华大学",))]
    assert name_conflicts("清华大学校长是谁?", article, "清华大学校长邱勇出席了开学典礼。") == ()


def test_either_script_is_read_in_simplified():
    traditional = "安德里·拉喬利納是馬達加斯加共和國政治人物。曾為首都塔那那利佛市長，馬達加斯加總統。美國也切斷了援助。"
    assert [c.others for c in name_conflicts("美國總統是誰?", traditional, "馬達加斯加總統。")] == [("马达加斯加",)]


def test_no_conflict_where_the_article_writes_the_place_with_the_noun_or_marks_the_place():
    election = "1968年美國總統選舉標誌了南方在政治立場上的轉捩點。法國總統戴高樂訪問了北京。"
    assert name_conflicts("美国总统是谁?", election, "1968年美國總統選舉標誌了南方在政治立場上的轉捩點。") == ()
    assert name_conflicts("美国总统是谁?", MADAGASCAR, "美国也切断了所有援助，马达加斯加总统。") == ()


def test_no_conflict_without_another_place_before_the_noun():
    article = "他于2009年就任总统。美国也切断了所有援助。"
    assert name_conflicts("美国总统是谁?", article, "他于2009年就任总统。") == ()
    # a place the question names itself is not "another" place
    article = "马达加斯加总统拉乔利纳访问了法国。"
    assert name_conflicts("马达加斯加总统和美国总统谁先访问法国?", article, article) == ()
    assert name_conflicts("美国总统先访问法国吗?", article, article) != ()


def test_a_question_without_a_place_before_a_noun_has_none():
    assert name_conflicts("拉乔利纳哪一年当选?", MADAGASCAR, MADAGASCAR_MARKED) == ()
    assert name_conflicts("", MADAGASCAR, "") == ()
