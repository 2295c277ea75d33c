"""Questions that name an article by its headline: "牡蒿的外貌特征是什么?" of an archive with an
article headed 牡蒿 that no other article mentions.

Such a question is about that article, however few of its other words the article shares (外貌,
特征 against its 茎, 叶子, 花序): the refusal gate and thresholds (:mod:`.refusal`,
``SearchSettings``) judge it on those words and refused it. A headline that other articles use too (铁路, 政治家) does not
single one out, so it must be the headline's alone. On CMRC trial and DRCD dev, of the questions
the refusal turned away that name their rank-1 article's headline, the 3 answerable ones each name
a headline no other article uses (牡蒿, 史继偕, 張學良), and the 7 unanswerable ones each name one
that 3 to 9 articles use (README, Quality).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .hanzi import to_simplified
from .refusal import normalise
from .types import Article
from .util import LRU

# A trailing disambiguation, as encyclopedia headlines have: 民主黨_(美國), 水星 (行星).
_DISAMBIGUATION = re.compile(r"[_\s]*[(（][^()（）]*[)）]\s*$")
_LATIN = re.compile(r"[0-9a-z]")


def subject(title: str) -> str:
    """What a question would call the article headed ``title``: the headline without a trailing
    disambiguation; empty when that leaves fewer than two characters."""
    core = _DISAMBIGUATION.sub("", title).strip()
    return core if len(core) >= 2 else ""


def others_use(articles: Sequence[Article], article: int, name: str) -> bool:
    """Does an article other than ``articles[article]`` hold ``name`` in its headline or text?
    Reads every article: callers cache it."""
    return any(i != article and (name in other.title or any(name in p for p in other.paragraphs)) for i, other in enumerate(articles))


def named(question: str, articles: Sequence[Article], article: int, alone: LRU[bool]) -> bool:
    """Does ``question`` name ``articles[article]`` by its headline, one no other article uses?
    ``alone``: the caller's cache of that last answer by article (read only for a question that
    names the headline)."""
    name = subject(articles[article].title)
    return bool(name) and names(question, name) and alone.get(article, lambda: not others_use(articles, article, name))


def names(question: str, name: str) -> bool:
    """Does ``question`` name ``name`` (in either script; a Latin name as a whole word: "Mac" is not
    named by "machine")?"""
    q, n = to_simplified(normalise(question)), to_simplified(normalise(name))
    start = q.find(n)
    while start >= 0:
        end = start + len(n)
        before, after = q[start - 1: start] if start else "", q[end: end + 1]
        if not (_LATIN.match(n[0]) and _LATIN.match(before)) and not (_LATIN.match(n[-1]) and _LATIN.match(after)):
            return True
        start = q.find(n, start + 1)
    return False
