"""What a search may be tuned by: thresholds, fitted weights and switches, per encoder (calibration.py)."""

from __future__ import annotations

from dataclasses import dataclass

from . import choose


@dataclass(frozen=True)
class SearchSettings:
    """Tuned on shared/eval/seed_dev.jsonl and the CMRC 2018 trial set (see README)."""

    bm25_weight: float = 0.5
    candidates: int = 40  # passages considered before merging
    candidates_per_result: int = 4  # ... or this many per result asked for, when more
    chunk_bonus: float = 0.15  # weight of the chunk's fused score when choosing the sentence
    # Abstention: answer when the best passage is close in meaning, or shares enough
    # informative words with the question.
    min_dense: float = 0.4  # meaning alone, for a question in Chinese (its words should match too)
    min_dense_other_script: float = 0.27  # meaning alone, for a question with no Chinese characters
    min_coverage: float = 0.3
    min_dense_with_coverage: float = 0.15
    min_coverage_alone: float = 0.75  # nearly every informative question word found: answer
    # Later results must score at least this share of the first one's (fused z-score): weak
    # trailing citations are noise to a reader.
    min_relative: float = 0.3
    # Weights of the features that choose the answering sentence (see choose.py); per encoder
    # in calibration.py.
    choice: tuple[tuple[str, float], ...] = tuple(choose.DEFAULT_WEIGHTS.items())
    # Weights of refusal.FEATURES for a Chinese question (answer when the sum is > 0); empty:
    # the thresholds above alone. Per encoder in calibration.py.
    refusal: tuple[tuple[str, float], ...] = ()
    # Weights of plausible.FEATURES: a 2nd/3rd result is shown only when their sum is > 0.
    later: tuple[tuple[str, float], ...] = ()
    # The highlight grows from the chosen clause to its whole sentence, and to the sentence
    # before when the chosen one opens by pointing back, and for a question asking for an
    # account (为什么, 如何, 有哪些…) to the next sentence of the paragraph (highlight.py), whose
    # excerpt then goes on with up to ``excerpt_run_on`` sentences after the highlight, in order.
    grow_clauses: bool = True
    grow_back: bool = True
    grow_open: bool = True
    grow_leans: bool = True  # ... and to what it leans on, the kind of answer asked, what it announces (highlight.mark)
    excerpt_run_on: int = 3
    # When the runner-up sentence is next to the chosen one and scores within log(tie) of it
    # (choose.choose_two), both are marked: a near tie is a coin toss a reader settles at a
    # glance. 0 marks the chosen sentence alone.
    tie: float = 0.35
    choice_trees: str = ""  # a tree model (embeddings/data) choosing the sentence instead of ``choice``
    # Weights of rerank.FEATURES: the first rerank.POOL results reordered; empty: score order.
    rerank: tuple[tuple[str, float], ...] = ()
    # A question in another script must also come closer to some passage than any of
    # offtopic.QUESTIONS comes to any (measured once per index).
    offtopic_floor: bool = True
    # A question typed in the other script is asked in the index's (script.py), answered if the refusal clears this (None: as typed).
    other_script_margin: float | None = 6.0
    strictness: float = 0.0  # added to what the refusal weights must clear (the user's ``strictness`` setting)
    # (U, B[, E]): a Chinese question the refusal weights answer by less than U log-odds is refused
    # when the answer scorer (answer_scorer.py) gives the first result less than B; a question
    # with no Chinese, when it gives less than E (without E: not read); empty: off.
    answer_check: tuple[float, ...] = ()
    # More (U, B) steps on top of answer_check's: a question answered by less than U needs at least
    # the highest B among the steps it falls under (none: not read).
    answer_check_steps: tuple[tuple[float, float], ...] = ()
    # (U, B): a Chinese question whose first result's article writes a noun of the question only
    # after another place or organisation (name_conflict.py: 美国总统 asked of 马达加斯加总统) needs
    # at least B from the scorer when the weights answer it by less than U; empty: off. Searching
    # the whole index only.
    name_conflict: tuple[float, float] = ()

    @classmethod
    def for_model(cls, model: str, **changes) -> SearchSettings:
        """The defaults with ``model``'s calibration (calibration.py), then ``changes``."""
        from .calibration import overrides

        return cls(**(overrides(model) | changes))
