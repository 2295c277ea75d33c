"""How much to highlight: the answering sentence, grown to what a reader must read with it.

The sentence splitter cuts at ；/; as well as at 。！？ (clauses make better chunks), so the
chosen unit may be one clause of a longer sentence: the highlight grows to the whole
sentence, to the next 。！？ (at most ``MAX_CHARS`` in all). And a sentence that opens by
pointing back (因此…, 这…, 其…) reads only with the sentence before it, which joins too.
"""

from __future__ import annotations

import re

MAX_CHARS = 160  # a highlight grown past this stays the single chosen unit
MAX_TIED_CHARS = 200  # two near-tied neighbouring sentences are both marked up to this length
_CLAUSE_END = re.compile(r"[；;，,：:]\s*[”’」』\"'）)\]】》]*\s*$")
_BACK = re.compile(r"^\s*(?:因此|所以|因而|故此|于是|於是|由此|这使|這使|这是因为|這是因為|此后|此後|其后|其後|之后|之後|此外|另外|同时|同時|但是|但|然而|而且|并且|並且|这些|這些|这个|這個|这样|這樣|此|这|這|其|它们|它們|它|他们|他們|她们|她們)")


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
