"""Whether a 2nd or 3rd result is worth showing: a plausible answer too, not trailing noise.

A reader shown three excerpts reads three; when only the first answers, the others cost
attention and look like answers. A later result is kept when a weighted sum of its evidence
is positive: its fused score relative to the first's, the share of the question's
information found in its own passages (and relative to the first's), whether it quotes the
same article as the first, and the refusal features of its article (:mod:`.refusal`: its
rarest question term found there, the share of question terms found there). Weights per
encoder in ``calibration.py`` (``benchmarks/fit_gates.py``).
"""

from __future__ import annotations

FEATURES = ("bias", "relative", "coverage", "cov_ratio", "same_article", "art_cov", "key_found", "gram_cov")

# Analysis hook (benchmarks/fit_gates.py): when a list, each judged later result appends its features.
RECORD: list | None = None


def features(first_score: float, first_cov: float, score: float, cov: float, same_article: bool, evidence: dict) -> dict[str, float]:
    return {
        "bias": 1.0,
        "relative": score / first_score if first_score > 0 else 0.0,
        "coverage": cov,
        "cov_ratio": min(2.0, cov / first_cov) if first_cov > 0 else 1.0,
        "same_article": 1.0 if same_article else 0.0,
        "art_cov": evidence["art_cov"],
        "key_found": evidence["key_found"],
        "gram_cov": evidence["gram_cov"],
    }


def keep(feats: dict[str, float], weights: dict[str, float]) -> bool:
    return sum(weights.get(f, 0.0) * v for f, v in feats.items()) > 0
