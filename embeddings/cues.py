"""Cues in a question that point at the answering sentence: the words next to the question word,
and the subject of a definition question.

A reading-comprehension question is mostly its answering sentence with the answer replaced by a
question word ("蒙泰罗获得第几名?" ← "…蒙泰罗…获得第3名。"), so the words right beside the
question word ("获得") are the surest sign of that sentence; the question's subject, named in
many sentences, is a weak one. "什么是X?" / "X是什么?" asks for the sentence that defines X:
one that opens with X and says what it is (是/为/指…).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .excerpt import char_ngrams
from .tokenize import STOPWORDS, tokenize

# Question words (Simplified and Traditional, and English): where the answer would stand.
_WH = re.compile(
    r"为什么|為什麼|什么|什麼|多少|哪[一个個些里裡儿兒家位种種年天]?|谁|誰|几|幾|何[时時地处處种種者]?|怎[么麼样樣]|如何|是否"
    r"|\b(?:what|which|who|whom|whose|when|where|why|how)\b",
    re.I,
)
_DEFINE = [
    re.compile(r"^(?:请问)?(?:什么|什麼)(?:是|叫|叫做|叫作)(?P<x>.+?)[？?。.！!]*$"),
    re.compile(r"^(?P<x>.+?)(?:是|指|為|为)(?:什么|什麼|何物|指什么|指什麼|什么意思|什麼意思)[？?。.！!]*$"),
    re.compile(r"^(?P<x>.+?)(?:指的是|是指)(?:什么|什麼)[？?。.！!]*$"),
    re.compile(r"^(?:what|who) (?:is|are|was|were) (?:an? |the )?(?P<x>.+?)[?.!]*$", re.I),
]
_COPULA = re.compile(r"[，,]?\s*(?:又[称稱名]\S{1,12}?[，,])?\s*(?:是|為|为|指|乃|係|系|一[种種个個位座家所]|位於|位于|即)")
_ASIDE = re.compile(r"^\S{0,6}?\s*[（(][^）)]{0,60}[）)]")
# The field a definition is stated in, before its subject: "在数学中，约化群是…".
_FIELD = re.compile(r"^(?:在|於|于)[^，,。]{1,12}(?:中|里|裡|上|内|內)\s*[，,]\s*")
# "什么是X?" (not "X的标度因子是什么?", which :func:`defined` also reads): a definition is the answer.
_ASKS_DEFINITION = re.compile(r"^(?:请问|請問)?\s*(?:什么|什麼)(?:是|叫|叫做|叫作)|^\s*what (?:is|are) (?:an? )?(?!the\b)", re.I)
SIDE = 2  # question tokens taken on each side of the question word


@lru_cache(maxsize=1024)
def neighbours(question: str) -> tuple[str, ...]:
    """The content words right before and after the question word (up to :data:`SIDE` each)."""
    q = unicodedata.normalize("NFKC", question).lower()
    m = _WH.search(q)
    if not m:
        return ()
    before = [t for t in tokenize(q[: m.start()]) if t not in STOPWORDS][-SIDE:]
    after = [t for t in tokenize(q[m.end() :]) if t not in STOPWORDS][:SIDE]
    return tuple(dict.fromkeys(before + after))


def near(question: str, weights: dict[str, float], sentence: str, tokens: frozenset[str]) -> float:
    """Share (by IDF) of the question word's neighbours found in ``sentence`` (by word, or by a
    character bigram when jieba cut it differently)."""
    words = neighbours(question)
    if not words:
        return 0.0
    total = found = 0.0
    s = unicodedata.normalize("NFKC", sentence).lower()
    for w in words:
        wt = weights.get(w, 1.0)
        total += wt
        if w in tokens or w in s:
            found += wt
        elif len(w) > 2 and any(g in s for g in char_ngrams(w)):
            found += wt / 2
    return found / total if total else 0.0


@lru_cache(maxsize=1024)
def defined(question: str) -> str | None:
    """The X of "什么是X?" / "X是什么?" / "what is X?", or None."""
    q = unicodedata.normalize("NFKC", question).strip().lower()
    for p in _DEFINE:
        m = p.match(q)
        if m:
            x = m.group("x").strip(" 「」“”\"'《》")
            return x if 0 < len(x) <= 30 else None
    return None


def defines(subject: str | None, sentence: str, exact: bool = False) -> float:
    """1.0 when ``sentence`` opens with ``subject`` (or, unless ``exact``, its first three
    characters) and says what it is soon after."""
    if not subject:
        return 0.0
    s = _FIELD.sub("", unicodedata.normalize("NFKC", sentence).strip().lower()).lstrip("「“\"'《")
    if s.startswith(subject):
        rest = s[len(subject) :]
    elif len(subject) >= 3 and s.startswith(subject[:3]) and not exact:
        rest = s[3:]
    else:
        return 0.0
    rest = _ASIDE.sub("", rest)  # 乙酰胺（Acetamide）是… / 易颉（简称易颉）是…
    return 1.0 if _COPULA.match(rest) else 0.0


@lru_cache(maxsize=1024)
def asks_definition(question: str) -> bool:
    """Is ``question`` "什么是X?" / "what is X?": one whose answer is the sentence defining X?"""
    return bool(_ASKS_DEFINITION.search(unicodedata.normalize("NFKC", question).strip())) and defined(question) is not None
