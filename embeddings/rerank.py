"""Which of the first few results should come first: the passage score, and how well the
sentence each offers as the answer fits the question.

Passages are ranked by their fused BM25 + dense score, which judges a whole chunk. Two chunks
of one article (or of two similar articles) often score close; the one whose best sentence
fits the question (its words, the words beside the question word, the kind of answer asked
for: :mod:`.choose`), or whose headline names what the question names, is more often the one
that answers. The first :data:`POOL` results are
reordered by a weighted sum of these features (weights per encoder in ``calibration.py``,
fitted by ``benchmarks/fit_rerank.py`` across CMRC 2018 trial and DRCD dev); results after
them keep their order, so "More" pages stay stable.
"""

from __future__ import annotations

from typing import Sequence

FEATURES = ("fused", "first", "choice", "coverage", "title")
POOL = 5

# Analysis hook (benchmarks/fit_rerank.py): when a list, each question appends its pool.
RECORD: list | None = None


def features(scores: Sequence[float], choices: Sequence[float], coverages: Sequence[float],
             titles: Sequence[float] = ()) -> list[dict[str, float]]:
    """One row per result (in score order): its best chunk's fused score and its sentence-choice
    score, each relative to the pool's best, whether it came first, the share of the question's
    information in its chunks, and in its article's headline."""
    top_s, top_c = max(scores), max(choices)
    titles = list(titles) or [0.0] * len(scores)
    return [
        {"fused": s - top_s, "first": 1.0 if i == 0 else 0.0, "choice": c - top_c, "coverage": cov, "title": t}
        for i, (s, c, cov, t) in enumerate(zip(scores, choices, coverages, titles))
    ]


def order(rows: list[dict[str, float]], weights: dict[str, float]) -> list[int]:
    """Indices of ``rows`` best first (ties keep the given order)."""
    value = [sum(weights.get(f, 0.0) * r[f] for f in FEATURES) for r in rows]
    return sorted(range(len(rows)), key=lambda i: -value[i])
