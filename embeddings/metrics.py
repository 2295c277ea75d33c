"""Precision metrics of answers as a reader sees them. Pure functions on ``Answer`` objects.

Definitions (a question is *answerable* unless it has ``abstain: true`` or the whole file is
asked with ``expect_none``):

* ``hit@k``: an answerable question whose first ``k`` results hold a hit (right ``source``, when
  the question names one, and an answer string inside the excerpt).
* ``highlight@1``: the rank-1 result is a hit and its highlighted span holds an answer.
* ``shown``: mean number of results a reader sees (the first ``reader_k``) per answered question.
* ``off_source``: among the results shown for questions whose rank-1 is a hit, the share quoted
  from a file other than the question's ``source`` (questions without a source are left out).
* ``false_abstain``: answerable questions refused.
* ``false_answer``: questions that must be refused but were answered (``false_answer_rate`` is
  their share of those questions).
* ``highlight_chars``: mean length in characters of the rank-1 highlight of answered questions.
"""

from __future__ import annotations

from dataclasses import dataclass

from .excerpt import MAX_EXCERPT

READER_K = 3  # results a reader sees by default (`newsbot chat`, Telegram)


def _answers_in(text: str, answers) -> bool:
    return not answers or any(a in text for a in answers)


def is_hit(question, source: str, excerpt: str) -> bool:
    """The result comes from the question's source (when it names one) and quotes an answer."""
    if question.source is not None and source != question.source:
        return False
    return _answers_in(excerpt[:MAX_EXCERPT], question.a)


def highlight_text(hit) -> str:
    a, b = hit.highlight
    return hit.excerpt[max(0, a) : max(0, b)]


def is_highlight_hit(question, hit) -> bool:
    """The result is a hit and its highlighted span holds an answer."""
    return is_hit(question, hit.source, hit.excerpt) and _answers_in(highlight_text(hit), question.a)


@dataclass(frozen=True)
class Judged:
    """One question's answer, judged."""

    must_refuse: bool
    answered: bool
    hit_rank: int | None  # first rank (1-based) whose result is a hit
    doc_rank: int | None  # first rank from the right source
    highlight: bool  # rank 1 is a hit and its highlight holds an answer
    shown: int  # results among the first reader_k
    off_source: int  # of those, from another file than the question's source
    has_source: bool
    highlight_chars: int  # rank-1 highlight length (0 when not answered)


def judge(question, answer, *, reader_k: int = READER_K, expect_none: bool = False) -> Judged:
    must_refuse = expect_none or bool(question.abstain)
    hits = answer.hits if answer.answered else ()
    hit_rank = next((h.rank for h in hits if is_hit(question, h.source, h.excerpt)), None)
    doc_rank = next((h.rank for h in hits if question.source is None or h.source == question.source), None)
    shown = hits[:reader_k]
    off = sum(1 for h in shown if question.source is not None and h.source != question.source)
    return Judged(
        must_refuse=must_refuse,
        answered=bool(answer.answered and hits),
        hit_rank=hit_rank,
        doc_rank=doc_rank,
        highlight=bool(hits) and is_highlight_hit(question, hits[0]),
        shown=len(shown),
        off_source=off,
        has_source=question.source is not None,
        highlight_chars=len(highlight_text(hits[0])) if hits else 0,
    )


def summarise(rows: list[Judged]) -> dict:
    """The metrics of judged answers (see the module docstring)."""
    answerable = [r for r in rows if not r.must_refuse]
    refuse = [r for r in rows if r.must_refuse]
    n = len(answerable) or 1

    def rate(pred) -> float:
        return round(sum(1 for r in answerable if pred(r)) / n, 4)

    def at(kk):
        return lambda r: r.hit_rank is not None and r.hit_rank <= kk

    answered = [r for r in rows if r.answered]
    right_first = [r for r in answerable if r.hit_rank == 1 and r.has_source]
    shown_right = sum(r.shown for r in right_first)
    false_answers = sum(1 for r in refuse if r.answered)
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "hit@1": rate(at(1)),
        "hit@3": rate(at(3)),
        "hit@5": rate(at(5)),
        "hit@10": rate(at(10)),
        "mrr@10": round(sum(1.0 / r.hit_rank for r in answerable if r.hit_rank and r.hit_rank <= 10) / n, 4),
        "doc_hit@1": rate(lambda r: r.doc_rank == 1),
        "doc_hit@5": rate(lambda r: r.doc_rank is not None and r.doc_rank <= 5),
        "highlight@1": rate(lambda r: r.highlight),
        "shown": round(sum(r.shown for r in answered) / len(answered), 3) if answered else 0.0,
        "off_source": round(sum(r.off_source for r in right_first) / shown_right, 4) if shown_right else 0.0,
        "highlight_chars": round(sum(r.highlight_chars for r in answered) / len(answered), 1) if answered else 0.0,
        "false_abstain": sum(1 for r in answerable if not r.answered),
        "must_refuse": len(refuse),
        "false_answer": false_answers,
        "false_answer_rate": round(false_answers / len(refuse), 4) if refuse else 0.0,
    }
