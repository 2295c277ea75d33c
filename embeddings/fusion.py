"""Score fusion and passage merging: pure functions on numpy arrays and plain lists."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MIN_SPREAD = 1e-9  # a standard deviation below this counts as none (constant scores)


class Candidate(NamedTuple):
    """A passage found for a question, as merging sees it."""

    passage: int  # Passage.id
    article: int  # Article.id
    paragraphs: tuple[int, ...]
    score: float  # fused


def fuse_candidates(
    bm25: np.ndarray,
    dense: np.ndarray,
    bm25_stats: tuple[float, float],
    dense_stats: tuple[float, float],
    bm25_weight: float,
) -> np.ndarray:
    """Fused scores of some documents: ``bm25_weight`` times the z-scored BM25 score plus the
    rest times the z-scored dense score, z-scored with the whole collection's statistics.

    ``*_stats`` are ``(mean, std)`` of each score over all documents (or a fixed sample), so
    that a candidate's fused score does not depend on which other candidates were found.
    When BM25 matched nothing (an English question over a Chinese corpus, say), or its scores
    do not vary, the dense scores decide alone; a dense spread of zero counts as one.
    """
    mb, sb = bm25_stats
    md, sd = dense_stats
    zd = (np.asarray(dense, np.float32) - md) / (sd if sd > MIN_SPREAD else 1.0)
    if sb <= MIN_SPREAD or not np.any(bm25):
        return zd
    zb = (np.asarray(bm25, np.float32) - mb) / sb
    return bm25_weight * zb + (1.0 - bm25_weight) * zd


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest scores, best first (ties by index)."""
    n = min(n, scores.size)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.lexsort((part, -scores[part]))]


def merge_runs(candidates: list[Candidate]) -> list[list[int]]:
    """Group candidate passages that would show the same text twice.

    ``candidates`` are best first. Chunks of
    one article that are neighbours (adjacent ids: they touch or share overlap sentences) join
    one group, transitively. Returns groups of indices into ``candidates``, ordered by their
    best member.
    """
    groups: list[list[int]] = []
    spans: list[tuple[int, int, int]] = []  # article, min pid, max pid
    for i, (pid, art, _paras, _score) in enumerate(candidates):
        hit = [g for g, (ga, lo, hi) in enumerate(spans) if ga == art and lo - 1 <= pid <= hi + 1]
        if not hit:
            groups.append([i])
            spans.append((art, pid, pid))
            continue
        g = hit[0]
        groups[g].append(i)
        spans[g] = (art, min(spans[g][1], pid), max(spans[g][2], pid))
        for other in reversed(hit[1:]):  # this passage bridges two groups: join them
            groups[g].extend(groups[other])
            spans[g] = (art, min(spans[g][1], spans[other][1]), max(spans[g][2], spans[other][2]))
            del groups[other], spans[other]
    return groups
