"""Questions typed in the other script: Simplified readers of a Traditional archive, and the reverse.

    python benchmarks/other_script.py [--model M] [--cache DIR] [--limit N] [--set FIELD=JSON] [--json]

Words match only in the script they are written in (embeddings/tokenize.py); the search asks a
question typed in the other script in the index's own (embeddings/script.py), and answers it
only on stronger evidence (``SearchSettings.other_script_margin``; ``--set
other_script_margin=null``: searched as typed, matched by meaning alone). This measures, at the
default settings (k = 3), with the indexes precision.py builds under ``--cache``:

* answerable questions typed in the other script, asked of their own index: DRCD dev in
  Simplified of the DRCD index, CMRC 2018 trial in Traditional of the CMRC index (hit@1,
  highlight@1, false abstains, beside the same questions as written);
* unanswerable questions (false answers), as typed and written in the index's script: seed_dev,
  out_of_corpus and CMRC trial (Simplified) of the DRCD index (Traditional), DRCD dev of the CMRC
  index.

The questions are put in the other script as its readers would type them: to Simplified
character by character (embeddings/hanzi.py); to Traditional with the spellings the DRCD index
uses most (:class:`newsbot.embeddings.script.Rewriter`).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import evaluate, load_questions
from newsbot.embeddings.hanzi import to_simplified
from newsbot.embeddings.index import build_index, open_store
from newsbot.embeddings.script import Rewriter
from newsbot.embeddings.search import Retriever, SearchSettings
from precision import OOC, log, parser, run_options, setting_changes, short


def main() -> dict:
    ap = parser(__doc__)
    ap.add_argument("--limit", type=int, default=0, help="ask at most this many questions of each set (0: all)")
    run_options(ap, " (other_script_margin=null: questions searched as typed)")
    args = ap.parse_args()
    encoder = load_encoder(canonical_name(args.model))
    tag = short(encoder.name)
    bench = args.shared / "bench"
    sets = {"cmrc": bench / "cmrc2018-trial", "drcd": bench / "drcd-dev"}
    retrievers = {}
    for name, folder in sets.items():
        out = args.cache / f"{name}-{tag}"
        build_index([folder / "corpus"], out, encoder=encoder)
        index = open_store(out)
        retrievers[name] = Retriever(index, encoder=encoder, settings=SearchSettings.for_model(index.model, **setting_changes(args.set)))
    rewrite = Rewriter(retrievers["drcd"].index.df)
    to_script = {"cmrc": to_simplified, "drcd": rewrite.traditional}

    def questions(path, script=None):
        qs = load_questions(path, warn=log)[: args.limit or None]
        return [replace(q, q=script(q.q)) for q in qs] if script else qs

    result = {"model": encoder.name, "settings": args.set, "answerable": {}, "false_answers": {}}
    for name, other in (("drcd", to_simplified), ("cmrc", rewrite.traditional)):
        for label, script in (("as written", None), ("other script", other)):
            m = evaluate(retrievers[name], questions(sets[name] / "questions.jsonl", script), k=3)
            result["answerable"][f"{name} {label}"] = {k: m[k] for k in ("questions", "hit@1", "highlight@1", "false_abstain")}
            log(f"{name} {label}: {result['answerable'][f'{name} {label}']}")
    crossed = [("seed", args.shared / "eval" / "seed_dev.jsonl", "drcd"), ("ooc", OOC, "drcd"),
               ("cmrc", sets["cmrc"] / "questions.jsonl", "drcd"), ("drcd", sets["drcd"] / "questions.jsonl", "cmrc")]
    for (qname, path, idx), (label, in_its_script) in itertools.product(crossed, (("as typed", False), ("in its script", True))):
        m = evaluate(retrievers[idx], questions(path, to_script[idx] if in_its_script else None), k=3, expect_none=True)
        key = f"{qname}->{idx} {label}"
        result["false_answers"][key] = {"false_answer": m["false_answer"], "questions": m["must_refuse"], "rate": m["false_answer_rate"]}
        log(f"{key}: {result['false_answers'][key]}")
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return result
    for key, m in result["answerable"].items():
        print(f"{key:22} hit@1 {m['hit@1']:.3f}  highlight@1 {m['highlight@1']:.3f}  false abstains {m['false_abstain']}/{m['questions']}")
    for key, m in result["false_answers"].items():
        print(f"false answers {key:28} {m['false_answer']:>4}/{m['questions']:<4} ({m['rate']:.0%})")
    return result


if __name__ == "__main__":
    main()
