"""How much to highlight: the answering sentence, grown to what a reader must read with it.

The sentence splitter cuts at ；/; as well as at 。！？ (clauses make better chunks), so the
chosen unit may be one clause of a longer sentence: the highlight grows to the whole
sentence, to the next 。！？ (at most ``MAX_CHARS`` in all). And a sentence that opens by
pointing back (因此…, 这…, 其…) reads only with the sentence before it, which joins too; so
does the sentence before a mark that names something only by pointing at it (…以这张专辑获得…),
and a mark that merely restates the question gets both its neighbours (:func:`refer`); a mark
that announces what follows (有以下三点：…) takes in what it announces (:func:`announced`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Sequence

from . import answertype, cues
from .hanzi import to_simplified
from .tokenize import STOPWORDS, query_terms

MAX_CHARS = 160  # a highlight grown past this stays the single chosen unit
MAX_TIED_CHARS = 200  # two near-tied neighbouring sentences are both marked up to this length
_CLAUSE_END = re.compile(r"[；;，,：:]\s*[”’」』\"'）)\]】》]*\s*$")
# A question that asks for an account rather than a name or a figure (为什么, 如何, 有哪些,
# 什么特征…, 什么是X?): its answer often runs on into the next sentence ("产妇症状为呼吸困难…出现缺氧。
# 不久进入昏迷状态。"), which is then marked too.
_OPEN = re.compile(
    # 为什么 after 因/名/称…, or ending the question, is "for what"/"as what" (因为什么, 改名赤崁为什么?,
    # 称为什么): a name (but 这是为什么? asks why).
    r"(?<![因名称稱成作视視译譯认認])(?:为什么|為什麼)(?!\s*[?？]?\s*$)|(?:是|这|這)(?:为什么|為什麼)|为何|為何|如何|怎样|怎樣|怎么|怎麼|哪些|什么样|什麼樣|"
    r"特征|特徵|特点|特點|影响(?!力)|影響(?!力)|内容|內容|作用|症状|症狀|观点|觀點|评价|評價|背景|分别|分別|过程|過程|经过(?!哪)|經過(?!哪)|"
    r"原因|意义|意義|表现|表現|做了什么|做了什麼|\bwhy\b|\bhow\b(?! (?:many|much|long|old|tall|far|high|big))",
    re.I,
)
_AS_WHAT = re.compile(r"(?:为|為)(?:什么|什麼)\s*[?？]?\s*$")  # 改名赤崁为什么?: renamed as what, not "what is X"
# An account of a reason (为什么, 原因, 怎么得名): the question restates what happened, and the
# reason is as often given in the sentence before it ("…被阎行攻击。韩遂极为失意，…投靠羌人。")
# as after: the sentence before is marked too.
_REASON = re.compile(r"为什么|為什麼|为何|為何|原因|得名|\bwhy\b", re.I)
# A sentence that opens by pointing back (因此…, 这…, 其…, 同年…, 该…, 在这…) reads only with the one before.
_BACK = re.compile(r"^\s*(?:因此|所以|因而|故此|于是|於是|由此|这使|這使|这是因为|這是因為|此后|此後|其后|其後|之后|之後|此外|另外|同时|同時|但是|但|然而|而且|并且|並且|这些|這些|这个|這個|这样|這樣|此|这|這|其|它们|它們|它|他们|他們|她们|她們|"
                   r"同年|同月|同日|当年|當年|是年|该年|該年|翌年|次年|隔年|该|該|在这|在這|在此|自此|从此|從此|至此)")


# A mark that names something only by pointing at it (这张专辑, 该项, 这一时期, 同年, 是为, 他…), or
# not at all (a sentence opening 是…/位于…: no subject), reads only with the sentence before,
# which names it; and a question asks for exactly that more often than not ("五月天的哪一张专辑
# 获得…?" ← "…推出第二张专辑《爱情万岁》。五月天也以这张专辑获得…"). _BACK finds such words
# opening a sentence; this, anywhere in the mark.
_POINTS_BACK = re.compile(
    r"[这這此该該](?:张|張|个|個|部|本|首|项|項|种|種|位|座|些|年|时|時|次|场|場|间|間|支|家|所|条|條|件|份|篇|届|屆)|同年|是为|是為|取而代"
    r"|[这這该該](?:一|套|批|段|则|則|样|樣)|此[书書前后後]|^\s*(?:他|她|牠|其)(?![们們])"
    r"|^\s*(?:是|为|為|位于|位於|成为|成為)(?!否)"  # no subject: the one before it is meant
)
# A sentence that announces what follows (有以下三点：…, 具有数个独有特征。, 有些分别。): the sentences after
# it are what it announces, and are marked with it (up to MAX_TIED_CHARS in all).
_ANNOUNCES = re.compile(
    r"(?:以下|如下|下列)[^。，]{0,8}[：:]|以下[几幾二两兩三四五六七八九十数數][个個点點项項方面]"
    r"|(?:有|具有|具備|具备|分为|分為|包括|導致|导致)[^。，]{0,4}(?:数|數|几|幾|多|[二两兩三四五六七八九十])(?:个|個|种|種|点|點|项|項|方面)"
    r"[^。，]{0,8}(?:特征|特徵|特点|特點|原因|方面|不同|区别|區別|分别|分別|优点|優點|缺点|缺點)[^。，]{0,10}[。：:]\s*$"
    r"|(?:有些分别|有些分別|有所不同|不同之处|不同之處)[。：:]\s*$"
)
RESTATED_CHARS = 2  # a mark with at most this many characters of words beyond the question's restates it


def extent(texts: list[str], paragraph: list[int], best: int, back: bool = True, clauses: bool = True) -> tuple[int, int]:
    """``(first, last)`` unit indices (inclusive) to highlight around ``best``.

    ``texts``: the article's sentence units; ``paragraph``: each unit's paragraph number (a
    highlight never crosses a paragraph).
    """
    lo = hi = best
    size = len(texts[best].strip())
    # Clauses before and after, to the sentence's ends.
    while clauses and lo > 0 and paragraph[lo - 1] == paragraph[best] and _CLAUSE_END.search(texts[lo - 1]) and size + len(texts[lo - 1].strip()) <= MAX_CHARS:
        lo -= 1
        size += len(texts[lo].strip())
    while clauses and hi + 1 < len(texts) and paragraph[hi + 1] == paragraph[best] and _CLAUSE_END.search(texts[hi]) and size + len(texts[hi + 1].strip()) <= MAX_CHARS:
        hi += 1
        size += len(texts[hi].strip())
    if back and lo > 0 and paragraph[lo - 1] == paragraph[best] and _BACK.search(texts[lo]) and size + len(texts[lo - 1].strip()) <= MAX_CHARS:
        lo -= 1
    return lo, hi


def next_sentence(texts: list[str], paragraph: list[int], i: int) -> int | None:
    """The first unit of the sentence after unit ``i``'s (past its clauses), in the same paragraph, or None."""
    j = i
    while j + 1 < len(texts) and paragraph[j + 1] == paragraph[i] and _CLAUSE_END.search(texts[j]):
        j += 1
    return j + 1 if j + 1 < len(texts) and paragraph[j + 1] == paragraph[i] else None


def _chars(texts: list[str], lo: int, hi: int) -> int:
    """Characters a highlight of units ``lo..hi`` (inclusive) shows."""
    return sum(len(texts[i].strip()) for i in range(lo, hi + 1))


def asks_for_account(question: str) -> bool:
    """Does ``question`` ask for an account (why, how, which ones, what features, what X is:
    :func:`cues.defined`) rather than a name or a figure?"""
    return bool(_OPEN.search(question)) or (cues.defined(question) is not None and not _AS_WHAT.search(question))


def _beside(texts: list[str], paragraph: list[int], i: int, step: int) -> int | None:
    """The nearest unit before (``step`` -1) or after (+1) unit ``i`` that is not blank, in its paragraph, or None."""
    j = i + step
    while 0 <= j < len(texts) and paragraph[j] == paragraph[i] and not texts[j].strip():
        j += step
    return j if 0 <= j < len(texts) and paragraph[j] == paragraph[i] else None


def grow_back(texts: list[str], paragraph: list[int], lo: int, hi: int, back: bool = True, clauses: bool = True) -> tuple[int, int]:
    """``(lo, hi)`` with the sentence before joined (its :func:`extent`), when it is in the same
    paragraph and the whole stays within ``MAX_TIED_CHARS`` (the reason a why-question asks for)."""
    prev = _beside(texts, paragraph, lo, -1)
    if prev is None:
        return lo, hi
    start = extent(texts, paragraph, prev, back, clauses)[0]
    return (start, hi) if _chars(texts, start, hi) <= MAX_TIED_CHARS else (lo, hi)


def grow_on(texts: list[str], paragraph: list[int], lo: int, hi: int) -> tuple[int, int]:
    """``(lo, hi)`` with the next sentence of the same paragraph joined, when the whole stays
    within ``MAX_TIED_CHARS`` (the answer to :func:`asks_for_account` questions runs on)."""
    nxt = _beside(texts, paragraph, hi, 1)
    if nxt is None:
        return lo, hi
    size = _chars(texts, lo, nxt)
    if size > MAX_TIED_CHARS:
        return lo, hi
    # the next sentence with its own clauses, to its end
    end = nxt
    while end + 1 < len(texts) and paragraph[end + 1] == paragraph[hi] and _CLAUSE_END.search(texts[end]):
        if size + len(texts[end + 1].strip()) > MAX_TIED_CHARS:
            return lo, hi
        end += 1
        size += len(texts[end].strip())
    return lo, end


def announced(texts: list[str], paragraph: list[int], lo: int, hi: int) -> tuple[int, int]:
    """``(lo, hi)`` grown over the sentences after it, in its paragraph and within
    ``MAX_TIED_CHARS``, when one of its units announces them (:data:`_ANNOUNCES`)."""
    if not any(_ANNOUNCES.search(texts[i]) for i in range(lo, hi + 1)):
        return lo, hi
    size = _chars(texts, lo, hi)
    while hi + 1 < len(texts) and paragraph[hi + 1] == paragraph[hi] and size + len(texts[hi + 1].strip()) <= MAX_TIED_CHARS:
        hi += 1
        size += len(texts[hi].strip())
    return lo, hi


_QUOTES = (("「", "」"), ("“", "”"), ("『", "』"))


def close_quote(texts: list[str], paragraph: list[int], lo: int, hi: int) -> tuple[int, int]:
    """``(lo, hi)`` grown to the end of a quotation the highlight opens but does not close
    (the splitter cuts inside quotations: 她谈到：「亚当是可爱的…约会。一旦你…关系。」), when
    it closes in the same paragraph within ``MAX_TIED_CHARS``."""
    def open_(j: int) -> bool:
        shown = "".join(texts[lo:j + 1])
        return any(shown.count(a) > shown.count(b) for a, b in _QUOTES)

    end = hi
    while open_(end):
        nxt = _beside(texts, paragraph, end, 1)
        if nxt is None or _chars(texts, lo, nxt) > MAX_TIED_CHARS:
            return lo, hi
        end = nxt
    return lo, end


@lru_cache(maxsize=256)
def _asked(question: str) -> tuple[str, frozenset[str]]:
    """``question`` and its words, in Simplified characters (:func:`restates` asks once per result)."""
    return to_simplified(question), frozenset(to_simplified(t) for t in query_terms(question))


def restates(question: str, text: str, words: Iterable[str] | None = None) -> bool:
    """Does ``text`` say nothing beyond ``question`` (at most :data:`RESTATED_CHARS` characters of
    other words; compared in Simplified characters)? A question is often its answering sentence
    reworded, with the answer taken out: a sentence that is all question words is the question
    asked back ("哪一座位於韓國的島嶼其植被是闊葉常綠植被?" ← "植被為闊葉常綠植被。"), and the
    answer stands in a sentence beside it. ``words``: ``text``'s tokens, when already cut."""
    q, asked = _asked(question)
    other = 0
    for t in query_terms(text) if words is None else words:
        f = to_simplified(t)
        if f not in asked and f not in STOPWORDS and not all(c in q for c in f):
            other += len(f)
            if other > RESTATED_CHARS:
                return False
    return True


def refer(texts: list[str], paragraph: list[int], lo: int, hi: int, question: str, back: bool = True, clauses: bool = True,
          tokens: Sequence[frozenset[str]] | None = None) -> tuple[int, int]:
    """``(lo, hi)`` grown to what the mark leans on: the sentence before when it names something
    only by pointing at it (:data:`_POINTS_BACK`); the sentences on both sides when it
    :func:`restates` the question. ``tokens``: each unit's tokens (the index's), if at hand."""
    shown = "".join(texts[lo:hi + 1])
    if _POINTS_BACK.search(shown):
        return grow_back(texts, paragraph, lo, hi, back, clauses)
    if restates(question, shown, None if tokens is None else frozenset().union(*tokens[lo:hi + 1])):
        return grow_on(texts, paragraph, *grow_back(texts, paragraph, lo, hi, back, clauses))
    return lo, hi


def toward_kind(texts: list[str], paragraph: list[int], lo: int, hi: int, question: str, back: bool = True,
                clauses: bool = True) -> tuple[int, int]:
    """``(lo, hi)`` grown to the sentence before or after (both, if both do) that holds the kind of
    answer the question asks for (:mod:`.answertype`: a year for 哪一年, a name for 谁…) when the
    mark holds none: it is the question's sentence, and the answer stands beside it. Read in
    Simplified characters (the patterns and jieba's tags are Simplified)."""
    q = to_simplified(question)
    kind = answertype.question_type(q)

    def holds(a: int, b: int) -> bool:  # unit by unit: the choice has tagged most of them already (cached)
        return any(answertype.matches(kind, to_simplified(texts[i]), q) for i in range(a, b + 1))

    if kind is None or holds(lo, hi):
        return lo, hi
    blo, bhi = grow_back(texts, paragraph, lo, hi, back, clauses)
    alo, ahi = grow_on(texts, paragraph, lo, hi)
    before = blo < lo and holds(blo, lo - 1)
    after = ahi > hi and holds(hi + 1, ahi)
    if before:
        return grow_on(texts, paragraph, blo, bhi) if after else (blo, bhi)
    return (alo, ahi) if after else (lo, hi)


def mark(texts: list[str], paragraph: list[int], best: int, partner: int | None, question: str, *,
         back: bool = True, clauses: bool = True, account: bool = True, leans: bool = True,
         tokens: Sequence[frozenset[str]] | None = None) -> tuple[int, int]:
    """``(first, last)`` units to highlight: ``best``'s :func:`extent`; with a near-tied
    neighbouring ``partner``, both (within ``MAX_TIED_CHARS``); else, for a question that
    :func:`asks_for_account` (with ``account``), the next sentence too (:func:`grow_on`), and
    for one asking for a reason the sentence before as well (:func:`grow_back`). With
    ``leans``, then, what the mark leans on (:func:`refer`), the neighbour holding the kind
    of answer asked for (:func:`toward_kind`) and what it announces (:func:`announced`)."""
    lo, hi = extent(texts, paragraph, best, back, clauses)
    if partner is not None:  # a near tie is a coin toss a reader settles at a glance: mark both
        plo, phi = extent(texts, paragraph, partner, back, clauses)
        if _chars(texts, min(lo, plo), max(hi, phi)) <= MAX_TIED_CHARS:
            lo, hi = min(lo, plo), max(hi, phi)
    elif account and asks_for_account(question):
        if _REASON.search(question):
            lo, hi = grow_back(texts, paragraph, lo, hi, back, clauses)
        lo, hi = grow_on(texts, paragraph, lo, hi)
    if leans:
        lo, hi = refer(texts, paragraph, lo, hi, question, back, clauses, tokens)
        lo, hi = toward_kind(texts, paragraph, lo, hi, question, back, clauses)
        lo, hi = announced(texts, paragraph, lo, hi)
    return close_quote(texts, paragraph, lo, hi)
