"""A question typed in the other script than its articles: Simplified over Traditional, or the reverse.

Words match only in the script they are written in (:mod:`.tokenize`), so such a question is
matched by meaning alone: of DRCD dev's questions typed in Simplified, 1,679 of 3,524 were
refused; of CMRC trial's typed in Traditional, 519 of 1,000 (``benchmarks/other_script.py``).
The search therefore asks it in the index's script (:class:`Rewriter`): to Simplified character
by character (:mod:`.hanzi`); to Traditional, where one Simplified character stands for several
(发: 發 / 髮), each word takes the spelling the index's own articles use most.

Which characters belong to which script is read from the index itself: a character is foreign
to it when the index writes it the other way at least :data:`FOREIGN` times as often (家 is
Traditional too, 长 is not; 乾 is Simplified too, in 乾隆), and a question with more such characters
than characters only the index's script writes is rewritten. An index that writes both scripts
(a mixed archive) finds no character foreign: its questions are searched as typed.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache

from .hanzi import _table, to_simplified
from .tokenize import HAN, _jieba

SIMPLIFIED, TRADITIONAL = "simplified", "traditional"
TRADITIONAL_SHARE = 0.1  # an index is Traditional from this share of Traditional-only characters (DRCD 0.32, CMRC 0.00004)
FOREIGN = 20  # a character is foreign to an index that writes it the other way this many times as often (DRCD: 长 19 / 長 797, 里 893 / 裡 122: its headlines are Simplified)
SAMPLE_TERMS = 200_000  # an index's vocabulary read for its characters (terms in first-seen order)
MAX_SPELLINGS = 64  # a word with more Traditional spellings than this takes each character's commonest


@lru_cache(maxsize=1)
def _scripts() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Traditional-only characters; each Simplified character's Traditional spellings."""
    spellings: dict[str, set[str]] = {}
    for t, s in _table().items():
        spellings.setdefault(s, set()).add(chr(t))
    return frozenset(chr(t) for t in _table()), {s: frozenset(ts) for s, ts in spellings.items()}


def char_counts(df: Mapping[str, int]) -> Counter:
    """How often each character occurs in an index's terms, each term counted once per passage holding it."""
    freq: Counter = Counter()
    for term, n in itertools.islice(df.items(), SAMPLE_TERMS):
        for ch in term:
            freq[ch] += n
    return freq


def index_script(freq: Counter) -> str | None:
    """SIMPLIFIED or TRADITIONAL for an index's :func:`char_counts`, None without Chinese. A mixed
    index is one or the other here, and writes most characters both ways: nothing is foreign to it."""
    traditional = _scripts()[0]
    t = sum(n for c, n in freq.items() if c in traditional)
    han = sum(n for c, n in freq.items() if HAN.match(c))
    if not han:
        return None
    return TRADITIONAL if t >= TRADITIONAL_SHARE * han else SIMPLIFIED


class Rewriter:
    """Writes questions in an index's script. ``df``: the index's term -> passages; read on first use."""

    def __init__(self, df: Mapping[str, int]):
        self.df = df
        self._read: tuple[str | None, Counter] | None = None

    def _index(self) -> tuple[str | None, Counter]:
        if self._read is None:  # two threads may both read it: the same answer
            freq = char_counts(self.df)
            self._read = (index_script(freq), freq)
        return self._read

    @property
    def script(self) -> str | None:
        return self._index()[0]

    def _leaning(self, ch: str) -> int:
        """1: this index writes ``ch`` and not its other-script form; -1: the reverse; 0: both, or neither."""
        traditional, spellings = _scripts()
        others = {to_simplified(ch)} if ch in traditional else spellings.get(ch, ())
        if not others:
            return 0
        freq = self._index()[1]
        mine, theirs = freq[ch], max(freq[c] for c in others)
        return 1 if mine > FOREIGN * theirs else -1 if theirs > FOREIGN * mine else 0

    def foreign(self, text: str) -> bool:
        """Is ``text`` written in the other script than this index's: more of its characters
        foreign to the index than of its own (后沃澳村會在什麼…: 后 is foreign to DRCD, 會, 麼 are its own)?"""
        if self.script is None:
            return False
        leaning = [self._leaning(c) for c in text]
        return leaning.count(-1) > leaning.count(1)

    def simplified(self, text: str) -> str:
        """``text`` in Simplified characters; a word the index spells as typed stays (乾隆, not 干隆)."""
        words = _jieba().lcut(text, HMM=False)
        return "".join(w if self.df.get(w, 0) > self.df.get(to_simplified(w), 0) else to_simplified(w) for w in words)

    def traditional(self, text: str) -> str:
        """``text`` in Traditional characters, each word spelled as the index spells it most."""
        freq = self._index()[1]
        spellings = _scripts()[1]
        out = []
        for word in _jieba().lcut(text, HMM=False):
            options = [sorted(spellings.get(c, frozenset()) | {c}) for c in word]
            spelled = "".join(max(o, key=lambda x, c=c: (freq[x], x == c)) for o, c in zip(options, word))  # ties: as typed
            if len(word) > 1 and math.prod(len(o) for o in options) <= MAX_SPELLINGS:
                best = max(("".join(p) for p in itertools.product(*options)), key=lambda w: self.df.get(w, 0))
                if self.df.get(best, 0):
                    spelled = best
            out.append(spelled)
        return "".join(out)

    def __call__(self, question: str) -> str | None:
        """``question`` in the index's script, or None when nothing in it is foreign to the index
        (or rewriting changes nothing: 皇后 is Traditional too)."""
        if not self.foreign(question):
            return None
        again = self.simplified(question) if self.script == SIMPLIFIED else self.traditional(question)
        return None if again == question else again
