"""Questions about an article the index does not hold: how often is one answered anyway?

    python benchmarks/absent.py [--model M] [--cache DIR] [--set FIELD=JSON] [--json]

The hardest unanswerable questions are those of the same kind as the answerable ones: same
script, same style, about a person or a place that simply is not in the index. For CMRC 2018
trial and DRCD dev, each corpus is split into two halves (files by position: even, odd), each
half indexed (under ``--cache``), and each question asked, at the default settings (k = 3), of
the half that lacks its source article. Reported per set: questions asked, answered (a quote
where nothing should be quoted), and of those, how many quote one of the expected answers
anyway (another article holds it too: not a false answer); and the false answers among the
questions the answer scorer was not fitted on (``unseen``: hash share under 0.1 or from 0.5,
cross_encoder.py --joint), since it was fitted with other articles' excerpts as negatives.
"""

from __future__ import annotations

import json
import time
import zlib

from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import load_questions
from newsbot.embeddings.index import build_index, open_store
from newsbot.embeddings.search import Retriever, SearchSettings

from precision import log, parser, run_options, setting_changes, short


def main() -> dict:
    ap = parser(__doc__)
    run_options(ap)
    args = ap.parse_args()
    encoder = load_encoder(canonical_name(args.model))
    tag = short(encoder.name)
    sets = {"cmrc": args.shared / "bench" / "cmrc2018-trial", "drcd": args.shared / "bench" / "drcd-dev"}
    result = {"model": encoder.name, "sets": {}}
    for name, folder in sets.items():
        files = sorted((folder / "corpus").iterdir())
        questions = load_questions(folder / "questions.jsonl", warn=log)
        asked = answered = quoted = unseen = unseen_false = 0
        for part in (0, 1):
            corpus = args.cache / f"{name}-half{part}-corpus"
            corpus.mkdir(parents=True, exist_ok=True)
            held = {f.name for f in files[part::2]}
            for f in files[part::2]:
                if not (corpus / f.name).exists():
                    (corpus / f.name).symlink_to(f)
            out = args.cache / f"{name}-half{part}-{tag}"
            build_index([corpus], out, encoder=encoder)
            index = open_store(out)
            retriever = Retriever(index, encoder=encoder, settings=SearchSettings.for_model(index.model, **setting_changes(args.set)))
            t = time.perf_counter()
            for qu in questions:
                if qu.abstain or qu.source in held:
                    continue
                asked += 1
                share = zlib.crc32(qu.q.encode("utf-8")) / 2**32  # cross_encoder.hash_share
                unseen += not 0.1 <= share < 0.5
                ans = retriever.ask(qu.q, k=3)
                if ans.answered:
                    answered += 1
                    quote = any(a in ans.hits[0].excerpt for a in qu.a)
                    quoted += quote
                    unseen_false += not quote and not 0.1 <= share < 0.5
            log(f"{name}: half {part} asked in {time.perf_counter() - t:.0f}s")
        false = answered - quoted
        result["sets"][name] = {"questions": asked, "answered": answered, "quoting_an_answer": quoted,
                                "false_answers": false, "rate": round(false / max(1, asked), 4),
                                "unseen": {"questions": unseen, "false_answers": unseen_false, "rate": round(unseen_false / max(1, unseen), 4)}}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for name, m in result["sets"].items():
            print(f"{name}: {m['false_answers']}/{m['questions']} questions about an absent article answered wrongly "
                  f"({m['rate']:.0%}; {m['quoting_an_answer']} more answered from another article)")
    return result


if __name__ == "__main__":
    main()
