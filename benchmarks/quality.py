"""Quality of BM25 alone, dense alone and the hybrid on a question file.

    python benchmarks/quality.py INDEX_DIR QUESTIONS.jsonl [--json]

BM25 alone and dense alone are the same pipeline (chunks, merging, excerpts, abstention) with
the fusion weight set to 1.0 and 0.0.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from newsbot.embeddings.evaluate import evaluate, load_questions
from newsbot.embeddings.index import Index
from newsbot.embeddings.search import Retriever, SearchSettings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index_dir")
    ap.add_argument("questions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    index = Index.load(args.index_dir)
    questions = load_questions(args.questions)
    base = SearchSettings()
    encoder = None
    rows = {}
    for name, weight in (("bm25", 1.0), ("dense", 0.0), ("hybrid", base.bm25_weight)):
        r = Retriever(index, encoder=encoder, settings=replace(base, bm25_weight=weight))
        encoder = r.encoder
        m = evaluate(r, questions)
        m.pop("misses")
        rows[name] = {k: m[k] for k in ("hit@1", "hit@5", "mrr@10", "doc_hit@1", "false_abstain", "p50_ms")}
    if args.json:
        print(json.dumps(rows))
        return
    keys = list(next(iter(rows.values())))
    print(f"{'':8}" + "".join(f"{k:>14}" for k in keys))
    for name, m in rows.items():
        print(f"{name:8}" + "".join(f"{m[k]:>14}" for k in keys))


if __name__ == "__main__":
    main()
