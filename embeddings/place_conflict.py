"""A question about one place's X, cited from an article about another place's X.

"美国总统是谁?" finds an article on a 马达加斯加总统 (美国 occurs in it once, elsewhere), and
"东京奥运会中国队获得多少枚金牌?" the 2008 team of an article that also names 洛杉矶奥运会: every
word of the question is in the article, so word counts and closeness in meaning both pass it. What
gives it away is that the question writes a place before a noun (jieba's tag ``ns``: 美国 总统,
东京 奥运会) and the article writes that noun only after other places:

* the article never writes the place and the noun joined (美国总统),
* the marked sentence does not name the place,
* some sentence of the article writes the noun right after a place the question does not name
  (马达加斯加总统, 洛杉矶奥运会).

Text of either script is read in Simplified characters (:mod:`.hanzi`), tagged sentence by
sentence, only the sentences holding the noun. search.py refuses on it only where the refusal
weights and the answer scorer are not sure either (``settings.place_conflict``): alone it also
fires on answers whose question names a place more broadly than the article (全台灣人口 asked of
an article on 彰化縣's).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from .answertype import tagged
from .hanzi import to_simplified

PLACE_TAGS = ("ns", "nsf")
_SENTENCE = re.compile(r"[。！？；!?;\n]")


class PlaceConflict(NamedTuple):
    place: str  # as the question writes it (美国)
    noun: str  # the noun it stands before (总统)
    others: tuple[str, ...]  # places the article writes before that noun instead (马达加斯加)


def plain(text: str) -> str:
    return to_simplified(unicodedata.normalize("NFKC", text).lower())


def noun_like(tag: str) -> bool:
    return tag.startswith("n") or tag in ("j", "vn")  # 奥运会 is tagged j (an abbreviation)


def place_conflicts(question: str, article: str, marked: str) -> tuple[PlaceConflict, ...]:
    """The places ``question`` writes before a noun that ``article`` (whose marked sentence is
    ``marked``) writes that noun after only other places; empty when there is none."""
    q, text, mark = plain(question), plain(article), plain(marked)
    words = tagged(q)
    pairs_asked = dict.fromkeys((place, noun) for (place, tag), (noun, noun_tag) in zip(words, words[1:])
                                if tag in PLACE_TAGS and len(place) >= 2 and len(noun) >= 2 and noun_like(noun_tag))
    sentences = _SENTENCE.split(text) if pairs_asked else []
    found = []
    for place, noun in pairs_asked:  # each pair once, however often a (long) question repeats it
        if place + noun in text or place in mark:
            continue
        others = []
        for sentence in sentences:
            if noun not in sentence:
                continue
            pairs = tagged(sentence)
            others += [w for (w, t), (after, _) in zip(pairs, pairs[1:])
                       if after == noun and t in PLACE_TAGS and w != place and w not in q]
        if others:
            found.append(PlaceConflict(place, noun, tuple(dict.fromkeys(others))))
    return tuple(found)
