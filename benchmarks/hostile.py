"""Latency of hostile and extreme questions (tests/test_reliability.py checks their answers).

    python benchmarks/hostile.py [INDEX_DIR] [--repeat N] [--json]

Without INDEX_DIR the sample page is indexed into a temporary folder. After a warm-up each
question is asked ``--repeat`` times; the table gives its median and worst time. ``BUDGET_MS``
is what a question should cost at most on a shared 2-core machine (the bound the unit tests
asserted before wall-clock bounds moved here).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from newsbot.embeddings.errors import UsageError
from newsbot.embeddings.index import build_index
from newsbot.bot.indexes import sample_corpus
from newsbot.embeddings.search import MAX_QUESTION_CHARS, Retriever

BUDGET_MS = 2000.0
Q = "杭州电信工会和哪家医院合作？"
QUESTIONS = {
    "punctuation (zh)": "？！。，、；：“”（）《》……",
    "punctuation (ascii)": "?!.,;:'\"()[]{}<>",
    "stop words": "的了吗呢",
    "stop words x50": "的了吗呢" * 50,
    "lone surrogate": "\ud800",
    "format characters": "\u200b\u200e\u202e",
    "emoji x500": "😀" * 500,
    "question + junk": Q + "\ud800\u202e😀",
    "longest allowed": ("工会职工" * MAX_QUESTION_CHARS)[:MAX_QUESTION_CHARS],
    "100k characters (refused)": "问" * 100_000,
    "english": "Who is the chair of the Yongjiang Subdistrict trade union?",
}


def ask_ms(retriever: Retriever, q: str) -> float:
    t0 = time.perf_counter()
    try:
        retriever.ask(q)
    except UsageError:
        pass
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index_dir", nargs="?")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(args.index_dir) if args.index_dir else Path(tmp) / "index"
        if not args.index_dir:
            build_index([sample_corpus()], index_dir)
        retriever = Retriever.load(index_dir)
        retriever.warm_up()
        rows = {}
        for name, q in QUESTIONS.items():
            times = [ask_ms(retriever, q) for _ in range(args.repeat)]
            rows[name] = {"p50_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2)}
    worst = max(r["max_ms"] for r in rows.values())
    result = {"questions": rows, "worst_ms": worst, "budget_ms": BUDGET_MS, "within_budget": worst <= BUDGET_MS}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    width = max(map(len, rows))
    for name, r in rows.items():
        print(f"{name:<{width}}  p50 {r['p50_ms']:>9.2f} ms  max {r['max_ms']:>9.2f} ms")
    print(f"worst {worst:.2f} ms; budget {BUDGET_MS:.0f} ms: {'within' if result['within_budget'] else 'OVER'}")


if __name__ == "__main__":
    main()
