"""Refuse when the index cannot answer: judged on the question's most informative terms.

A question the corpus can answer names things the cited article names too: its rarest terms
(a person, a place, a title) occur in that article. A question from elsewhere ("东京奥运会中国队
获得多少枚金牌?") finds a passage close in meaning and sharing common words (奥运会, 金牌), but
its rarest terms are missing from it. jieba cuts unknown names unpredictably (盛青李是 as
盛青/李是), so a term also counts as found when its characters occur in the article, and the
question's character bigrams are compared too. Two more tell a question about this article
from an everyday one that merely shares its words ("感冒了应该吃什么药?" and a herb "主治感冒"):
how much of the question the article's headline names (``title_cov``), and how rare the
question's rarest term is in the index (``spec``; 1 for a term it has never seen).

Features of a question and its rank-1 article (:func:`features`), combined linearly with
per-encoder weights (``calibration.py``, fitted by ``benchmarks/fit_gates.py`` across
CMRC 2018 trial and DRCD dev with cross-pairings and everyday questions,
``benchmarks/data/everyday_zh.jsonl``, as the unanswerable ones).
"""

from __future__ import annotations

import math
import re
import unicodedata

FEATURES = ("bias", "dense", "coverage", "art_cov", "key_found", "gram_cov", "unknown", "title_cov", "spec")

# Analysis hook (benchmarks/fit_gates.py): when a list, each judged question appends its features.
RECORD: list | None = None

_WORDY = re.compile(r"[\w]", re.UNICODE)


def normalise(text: str) -> str:
    """NFKC, lower case: the form ``features`` expects ``article_text`` in."""
    return unicodedata.normalize("NFKC", text).lower()


def headline_share(weights: dict[str, float], headline: str) -> float:
    """The share of ``weights`` (a question's terms and their IDF) that ``headline`` (normalised)
    names: the refusal gate's ``title_cov``, and the first results' reordering (search.py)."""
    return sum(w for t, w in weights.items() if t in headline) / (sum(weights.values()) or 1.0)


def _found(term: str, tokens: frozenset[str], text: str) -> bool:
    return term in tokens or (len(term) >= 2 and term in text)


def features(
    weights: dict[str, float],
    grams: set[str],
    df: dict,
    article_text: str,
    article_tokens: frozenset[str],
    article_grams: frozenset[str],
    best_dense: float,
    coverage: float,
    title: str = "",
    top_idf: float = 0.0,
) -> dict[str, float]:
    """Evidence that the rank-1 article answers the question (see the module docstring).
    ``article_text`` and ``title`` (the headline): normalised (:func:`normalise`); ``top_idf``: the
    index's IDF of a term it has never seen (the scale of ``weights``)."""
    text = article_text
    terms = {t: w for t, w in weights.items() if _WORDY.search(t)}
    total = sum(terms.values()) or 1.0
    found = {t for t in terms if _found(t, article_tokens, text)}
    # The most informative term: highest IDF, ties to the longer term.
    key = max(terms, key=lambda t: (terms[t], len(t)), default=None)
    unknown = sum(w for t, w in terms.items() if not df.get(t, 0) and t not in found)
    return {
        "bias": 1.0,
        "dense": float(best_dense),
        "coverage": float(coverage),
        "art_cov": sum(terms[t] for t in found) / total,
        "key_found": 1.0 if key is None or key in found else 0.0,
        "gram_cov": (sum(1 for g in grams if g in article_grams) / len(grams)) if grams else 0.0,
        "unknown": unknown / total,
        "title_cov": headline_share(terms, title) if title else 0.0,
        "spec": max(terms.values(), default=0.0) / top_idf if top_idf > 0 else 0.0,
    }


def score(feats: dict[str, float], weights: dict[str, float]) -> float:
    return sum(weights.get(f, 0.0) * v for f, v in feats.items())


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))
