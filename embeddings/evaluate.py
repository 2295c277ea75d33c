"""Measure retrieval on a question file: hit@k judged on the excerpt the reader sees."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .excerpt import MAX_EXCERPT
from .util import percentile


@dataclass(frozen=True)
class Question:
    q: str
    a: tuple[str, ...] = ()
    source: str | None = None
    abstain: bool = False


def load_questions(path: str | Path) -> list[Question]:
    """Read a question file (JSON Lines: q, a, source?, abstain?)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as e:
        raise UsageError(f"Cannot read the question file {path}: {e.strerror}. Give a JSON Lines file of questions.") from None
    except UnicodeDecodeError as e:
        raise UsageError(
            f"Cannot read the question file {path}: it is not UTF-8 text (byte {e.start + 1} is not UTF-8; "
            f"GBK or another legacy encoding?). Save it as UTF-8, e.g. `iconv -f GBK -t UTF-8 {path} > questions-utf8.jsonl`."
        ) from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            q = row["q"]
            if not isinstance(q, str):
                raise TypeError("q must be a string")
            answers = row.get("a") or []
            answers = [answers] if isinstance(answers, str) else list(answers)
            out.append(Question(q, tuple(str(a) for a in answers), row.get("source"), bool(row.get("abstain", False))))
        except (ValueError, KeyError, TypeError) as e:
            raise UsageError(
                f'{path}:{n}: not a question ({e}). Each line must be a JSON object like {{"q": "...", "a": ["..."]}}.'
            ) from None
    if not out:
        raise UsageError(f"{path} holds no questions.")
    return out


def is_hit(question: Question, source: str, excerpt: str) -> bool:
    if question.source is not None and source != question.source:
        return False
    excerpt = excerpt[:MAX_EXCERPT]
    return not question.a or any(a in excerpt for a in question.a)


def evaluate(retriever, questions: list[Question], k: int = 10) -> dict:
    """Run every question through ``retriever.ask`` and compute the metrics."""
    rows = []
    latencies = []
    for qu in questions:
        t = time.perf_counter()
        ans = retriever.ask(qu.q, k=k)
        latencies.append((time.perf_counter() - t) * 1000)
        first_hit = next((h.rank for h in ans.hits if is_hit(qu, h.source, h.excerpt)), None) if ans.answered else None
        first_doc = (
            next((h.rank for h in ans.hits if qu.source is None or h.source == qu.source), None) if ans.answered else None
        )
        rows.append({"q": qu.q, "a": list(qu.a), "source": qu.source, "abstain": qu.abstain, "answered": ans.answered,
                     "hit_rank": first_hit, "doc_rank": first_doc,
                     "top": ans.hits[0].to_dict() if ans.hits else None})
    answerable = [r for r in rows if not r["abstain"]]
    n = len(answerable) or 1

    def rate(key, kk):
        return round(sum(1 for r in answerable if r[key] is not None and r[key] <= kk) / n, 4)

    mrr = sum(1.0 / r["hit_rank"] for r in answerable if r["hit_rank"] is not None and r["hit_rank"] <= 10) / n
    abstain = [r for r in rows if r["abstain"]]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "hit@1": rate("hit_rank", 1),
        "hit@3": rate("hit_rank", 3),
        "hit@5": rate("hit_rank", 5),
        "hit@10": rate("hit_rank", 10),
        "mrr@10": round(mrr, 4),
        "doc_hit@1": rate("doc_rank", 1),
        "doc_hit@5": rate("doc_rank", 5),
        "abstain_total": len(abstain),
        "abstain_correct": sum(1 for r in abstain if not r["answered"]),
        "false_abstain": sum(1 for r in answerable if not r["answered"]),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "k": k,
        "misses": [r for r in rows if (r["abstain"] and r["answered"]) or (not r["abstain"] and r["hit_rank"] != 1)],
    }
