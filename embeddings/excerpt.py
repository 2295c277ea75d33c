"""Choose the sentence that answers and cut the excerpt around it. Pure functions."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import NamedTuple

from .tokenize import STOPWORDS

MAX_EXCERPT = 300
# How much closeness to the best sentence counts when filling the excerpt: answers often run on
# into the next sentence. Measured on the CMRC 2018 trial set (see README).
NEIGHBOUR_BONUS = {1: 0.35, -1: 0.35, 2: 0.15, -2: 0.15}
# Share of the best sentence's score that lets another sentence join the excerpt on its own.
STRONG_SHARE = 0.2
ELLIPSIS = "…"
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


def char_ngrams(text: str, n: int = 2) -> set[str]:
    """Character n-grams of the word characters of ``text`` (lower-cased)."""
    s = _PUNCT.sub(" ", unicodedata.normalize("NFKC", text).lower())
    grams = set()
    for part in s.split():
        if len(part) < n:
            if part and part not in STOPWORDS:
                grams.add(part)
            continue
        grams.update(part[i : i + n] for i in range(len(part) - n + 1))
    return grams


_QUESTION_GRAMS = {"什么", "多少", "哪个", "哪些", "哪里", "为什", "怎么", "如何", "是否", "是什", "么时", "什么", "几个", "哪一", "谁是", "是谁", "是哪", "哪家", "哪位", "么样",
                   "什麼", "麼時", "哪個", "為什", "怎麼", "幾個", "是誰", "誰是", "是什", "麼樣", "何時", "有何"}


def query_grams(query: str) -> set[str]:
    return char_ngrams(query) - _QUESTION_GRAMS


def idf(df: int, n_docs: int) -> float:
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def score_sentences(
    terms: dict[str, float], grams: set[str], tokens: list[frozenset[str]], sentence_grams: list[frozenset[str]]
) -> list[float]:
    """How well each sentence of an article matches the question.

    Word overlap weighted by global IDF times local IDF (how rare the word is among the
    article's own sentences: the article's subject, named in every sentence, says little about
    which sentence answers), plus the same for the question's character bigrams, which is
    robust to word segmentation. Both parts are shares of the question's total weight.
    """
    n = len(tokens)
    if n == 0:
        return []

    def local(df: int) -> float:
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    tw = {t: w * local(sum(t in s for s in tokens)) for t, w in terms.items()}
    gw = {g: local(sum(g in s for s in sentence_grams)) for g in grams}
    t_total = sum(tw.values()) or 1.0
    g_total = sum(gw.values()) or 1.0
    return [
        sum(w for t, w in tw.items() if t in toks) / t_total + sum(w for g, w in gw.items() if g in sg) / g_total
        for toks, sg in zip(tokens, sentence_grams)
    ]


def _densest_window(text: str, grams: set[str], window: int) -> int:
    """Start of the ``window``-long stretch of ``text`` holding most of the question's bigrams."""
    low = unicodedata.normalize("NFKC", text).lower()
    hits = [i for i in range(len(low) - 1) if low[i : i + 2] in grams] if len(low) == len(text) else []
    if not hits:
        return 0
    best_start, best_count, j = 0, 0, 0
    for i, pos in enumerate(hits):
        while hits[j] < pos - window + 2:
            j += 1
        if i - j + 1 > best_count:
            best_count = i - j + 1
            # centre the matched stretch in the window
            mid = (hits[j] + pos) // 2
            best_start = mid - window // 2
    return max(0, min(len(text) - window, best_start))


def _render(sentences: list[str], chosen: list[int]) -> tuple[str, list[tuple[int, int]]]:
    """Chosen sentences in document order; a gap between them, or a cut end, shows "…"."""
    parts, spans, pos, prev = [], [], 0, None
    for i in chosen:
        if (prev is None and i > 0) or (prev is not None and i != prev + 1):
            if parts:
                parts[-1] = parts[-1].rstrip()
                pos = sum(map(len, parts))
            parts.append(ELLIPSIS)
            pos += 1
        text = sentences[i]
        if not parts or parts[-1] == ELLIPSIS:
            text = text.lstrip()
        parts.append(text)
        spans.append((pos, pos + len(text.rstrip())))
        pos += len(text)
        prev = i
    if parts:
        parts[-1] = parts[-1].rstrip()
    if prev is not None and prev < len(sentences) - 1:
        parts.append(ELLIPSIS)
    return "".join(parts), spans


def _cost(chosen: set[int], n: int, lengths: list[int]) -> int:
    order = sorted(chosen)
    gaps = sum(1 for a, b in zip(order, order[1:]) if b != a + 1)
    return sum(lengths[i] for i in order) + gaps + (order[0] > 0) + (order[-1] < n - 1)


class Excerpt(NamedTuple):
    text: str  # at most the limit, "…" wherever text is left out
    highlight: tuple[int, int]  # [start, end) of the best sentence (or its extent) in ``text``
    shown: list[int]  # indices of the sentences shown, ascending


def build_excerpt(
    sentences: list[str],
    best: int,
    scores: list[float],
    limit: int = MAX_EXCERPT,
    grams: set[str] = frozenset(),
    allowed: set[int] | None = None,
    extent: tuple[int, int] | None = None,
    run_on: int = 0,
) -> Excerpt:
    """An excerpt of at most ``limit`` characters built around ``sentences[best]``.

    The best sentence comes first; then, while they fit, the other sentences that match the
    question well, and the best one's neighbours for context (only those in ``allowed``, when
    given). They are shown in document order, quoted exactly, with "…" wherever text is left
    out. Returns the excerpt, the ``[start, end)`` span of the best sentence in it, and the
    indices of the sentences shown.

    ``extent``: ``(first, last)`` sentences (inclusive, around ``best``) that answer together
    (see :mod:`.highlight`): all shown and highlighted when they fit, else ``best`` alone.

    ``run_on``: the answer may run on past the highlight (a question asking for an account:
    why, how, which ones): up to this many sentences after it come first, in order, while they fit.
    """
    if not sentences:
        return Excerpt("", (0, 0), [])
    core = sentences[best].strip()
    if len(core) > limit - 2:
        # One sentence longer than the budget: keep the stretch richest in question words.
        window = limit - 2 * len(ELLIPSIS)  # room for "…" at both ends
        start = _densest_window(core, set(grams), window)
        piece = core[start : start + window]
        prefix = ELLIPSIS if start > 0 else ""
        suffix = ELLIPSIS if start + window < len(core) else ""
        return Excerpt(prefix + piece + suffix, (len(prefix), len(prefix) + len(piece)), [best])
    n = len(sentences)
    lengths = [len(s.strip()) for s in sentences]
    top = max(scores[best], 1e-9)
    # Priority: how well a sentence matches, plus closeness to the best sentence.
    priority = sorted(
        (i for i in range(n) if i != best and (allowed is None or i in allowed)),
        key=lambda i: -(scores[i] / top + NEIGHBOUR_BONUS.get(i - best, 0.0)),
    )
    chosen = {best}
    lo, hi = extent if extent is not None else (best, best)
    if (lo, hi) != (best, best) and lo <= best <= hi and _cost(set(range(lo, hi + 1)), n, lengths) <= limit:
        chosen = set(range(lo, hi + 1))
    else:
        lo = hi = best
    i = hi + 1
    while i <= hi + run_on and i < n and (allowed is None or i in allowed) and _cost(chosen | {i}, n, lengths) <= limit:
        chosen.add(i)
        i += 1
    # A sentence that matches well may stand apart (after "…"); a weak one only as context
    # next to a sentence already shown, so that the excerpt reads as connected text.
    progress = True
    while progress:
        progress = False
        for i in priority:
            if i in chosen:
                continue
            strong = scores[i] >= STRONG_SHARE * top
            if not strong and (i - 1) not in chosen and (i + 1) not in chosen:
                continue
            if _cost(chosen | {i}, n, lengths) <= limit:
                chosen.add(i)
                progress = True
                break
    order = sorted(chosen)
    text, spans = _render(sentences, order)
    if len(text) > limit:  # white space inside sentences can make the estimate short
        text = text[: limit - 1].rstrip() + ELLIPSIS
    start, end = spans[order.index(lo)][0], spans[order.index(hi)][1]
    return Excerpt(text, (start, min(end, len(text))), order)
