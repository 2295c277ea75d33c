"""Measure retrieval on a question file: hit@k judged on the excerpt the reader sees (metrics: :mod:`.metrics`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import UsageError
from .metrics import READER_K, is_hit, judge, summarise  # noqa: F401 (is_hit: public here too)
from .util import percentile


@dataclass(frozen=True)
class Question:
    q: str
    a: tuple[str, ...] = ()
    source: str | None = None
    abstain: bool = False


def load_questions(path: str | Path, warn: Callable[[str], None] = lambda m: None) -> list[Question]:
    """Read a question file (JSON Lines: q, a, source?, abstain?). A line whose question is
    empty (CMRC 2018 trial has two) cannot be asked: it is skipped, with a warning naming it."""
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
            if not q.strip():
                warn(f"{path}:{n}: the question is empty; skipped.")
                continue
            answers = row.get("a") or []
            answers = [answers] if isinstance(answers, str) else list(answers)
            out.append(Question(q, tuple(str(a) for a in answers), row.get("source"), bool(row.get("abstain", False))))
        except (ValueError, KeyError, TypeError) as e:
            raise UsageError(
                f'{path}:{n}: not a question ({e}). Each line must be a JSON object like {{"q": "...", "a": ["..."]}}.'
            ) from None
    if not out:
        raise UsageError(f'{path} holds no questions: write one JSON object a line, e.g. {{"q": "杭州电信工会和哪家医院合作？", "a": ["杭州市儿童医院"]}}.')
    return out


def evaluate(retriever, questions: list[Question], k: int = 10, *, reader_k: int = READER_K, expect_none: bool = False) -> dict:
    """Run every question through ``retriever.ask`` and compute the metrics.

    One ``ask`` per question with ``k`` results (trimmed as a reader sees them): its first
    ``reader_k`` are what ``newsbot chat`` shows, so ``shown`` and ``off_source`` are read there
    (see :mod:`.metrics`). ``expect_none``: no question of the file is answerable here.
    """
    rows = []
    judged = []
    latencies = []
    for qu in questions:
        t = time.perf_counter()
        ans = retriever.ask(qu.q, k=max(k, reader_k))
        latencies.append((time.perf_counter() - t) * 1000)
        j = judge(qu, ans, reader_k=reader_k, expect_none=expect_none)
        judged.append(j)
        rows.append({"q": qu.q, "a": list(qu.a), "source": qu.source, "abstain": j.must_refuse, "answered": j.answered,
                     "hit_rank": j.hit_rank, "doc_rank": j.doc_rank, "highlight": j.highlight,
                     "top": ans.hits[0].to_dict() if ans.hits else None})
    m = summarise(judged)
    m.update({
        "abstain_total": m["must_refuse"],
        "abstain_correct": m["must_refuse"] - m["false_answer"],
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "k": k,
        "reader_k": reader_k,
        "misses": [r for r in rows if (r["abstain"] and r["answered"]) or (not r["abstain"] and (r["hit_rank"] != 1 or not r["highlight"]))],
    })
    return m
