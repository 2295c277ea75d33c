"""A question about one place's or organisation's thing, cited from an article about another's.

"美国总统是谁?" finds an article on a 马达加斯加总统 (美国 occurs in it once, elsewhere), and
"东京奥运会中国队获得多少枚金牌?" the 2008 team of an article that also names 洛杉矶奥运会: every
word of the question is in the article, so word counts and closeness in meaning both pass it. What
gives it away is the name: the question writes a place or an organisation (jieba's tags ``ns``,
``nt``) before a noun (美国 总统, 东京 奥运会, 清华大学 校长), and

* the article never writes the name and the noun joined (美国总统),
* the marked sentence does not hold the name,
* some sentence of the article writes the noun right after another such name, one the question
  does not hold (马达加斯加总统, 洛杉矶奥运会).

Text of either script is read in Simplified characters (:mod:`.hanzi`), tagged sentence by
sentence, only the sentences holding the noun. search.py refuses on it only where the refusal
weights and the answer scorer are not sure either (``settings.name_conflict``): alone it also
fires on answers whose question names a place more broadly than the article (全台灣人口 asked of
an article on 彰化縣's).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .answertype import tagged
from .hanzi import to_simplified
from .refusal import normalise

NAME_TAGS = ("ns", "nsf", "nt")  # places, organisations
_SENTENCE = re.compile(r"[。！？；!?;\n]")


class NameConflict(NamedTuple):
    name: str  # as the question writes it (美国)
    noun: str  # the noun it stands before (总统)
    others: tuple[str, ...]  # names the article writes before that noun instead (马达加斯加)


def plain(text: str) -> str:
    """``text`` as compared here: normalised as the refusal gate reads it, in Simplified characters."""
    return to_simplified(normalise(text))


def noun_like(tag: str) -> bool:
    return tag.startswith("n") or tag in ("j", "vn")  # 奥运会 is tagged j (an abbreviation)


def name_conflicts(question: str, article: str, marked: str) -> tuple[NameConflict, ...]:
    """The names ``question`` writes before a noun that ``article`` (whose marked sentence is
    ``marked``) writes that noun after only other names; empty when there is none."""
    q, text, mark = plain(question), plain(article), plain(marked)
    words = tagged(q)
    asked = dict.fromkeys((name, noun) for (name, tag), (noun, noun_tag) in zip(words, words[1:])
                          if tag in NAME_TAGS and len(name) >= 2 and len(noun) >= 2 and noun_like(noun_tag))
    sentences = _SENTENCE.split(text) if asked else []
    found = []
    for name, noun in asked:  # each pair once, however often a (long) question repeats it
        if name + noun in text or name in mark:
            continue
        others = []
        for sentence in sentences:
            if noun not in sentence:
                continue
            pairs = tagged(sentence)
            others += [w for (w, t), (after, _) in zip(pairs, pairs[1:])
                       if after == noun and t in NAME_TAGS and w != name and w not in q]
        if others:
            found.append(NameConflict(name, noun, tuple(dict.fromkeys(others))))
    return tuple(found)
