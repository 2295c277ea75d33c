"""Questions typed in the other script: Simplified readers of a Traditional archive, and the reverse.

    python benchmarks/other_script.py [--model M] [--cache DIR] [--limit N] [--json]

newsbot matches words in the script they are written in (embeddings/tokenize.py): a question in
Simplified characters finds a Traditional article by meaning (the encoder) only. This measures,
at the default settings (k = 3), with the indexes precision.py builds under ``--cache``:

* answerable questions rewritten in the other script and asked of their own index: DRCD dev in
  Simplified of the DRCD index, CMRC 2018 trial in Traditional of the CMRC index (hit@1,
  highlight@1, false abstains, beside the same questions as written);
* unanswerable questions written in the index's script (false answers): seed_dev and
  out_of_corpus in Traditional of the DRCD index, CMRC trial in Traditional of the DRCD index,
  DRCD dev in Simplified of the CMRC index. precision.py asks the first two as written
  (Simplified): there the script alone keeps most of their words from matching.

To Simplified: character by character (embeddings/hanzi.py). To Traditional, where one
Simplified character stands for several (发: 發 / 髮), each word takes the spelling the DRCD
index uses most (:class:`Rewriter`), as a reader of that script would have typed it.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from dataclasses import replace

from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import evaluate, load_questions
from newsbot.embeddings.hanzi import _table, to_simplified
from newsbot.embeddings.index import build_index, open_store
from newsbot.embeddings.search import Retriever, SearchSettings
from newsbot.embeddings.tokenize import HAN
from precision import OOC, log, parser, short

MAX_SPELLINGS = 64  # a word with more Traditional spellings than this takes each character's commonest


class Rewriter:
    """Writes text in Traditional characters the way an index's articles spell its words.

    ``df``: the index's document frequency of each term (Index.df)."""

    def __init__(self, df: dict[str, int]):
        self.df = df
        self.spellings: dict[str, set[str]] = defaultdict(set)  # Simplified character -> Traditional ones
        for trad, simp in _table().items():
            self.spellings[simp].add(chr(trad))
        self.freq: Counter = Counter()
        for term, n in df.items():
            for ch in term:
                self.freq[ch] += n

    def _char(self, ch: str) -> str:
        return max(sorted(self.spellings.get(ch, set()) | {ch}), key=lambda c: self.freq[c])

    def traditional(self, text: str) -> str:
        import jieba  # the benchmark's own cut of the question into words (imported here: ~0.5 s)

        out = []
        for word in jieba.lcut(text):
            spelled = "".join(self._char(c) for c in word)
            options = [sorted(self.spellings.get(c, set()) | {c}) for c in word]
            if HAN.search(word) and len(word) > 1 and len(list(itertools.islice(itertools.product(*options), MAX_SPELLINGS + 1))) <= MAX_SPELLINGS:
                best = max(("".join(p) for p in itertools.product(*options)), key=lambda w: self.df.get(w, 0))
                if self.df.get(best, 0):
                    spelled = best
            out.append(spelled)
        return "".join(out)


def main() -> dict:
    ap = parser(__doc__)
    ap.add_argument("--limit", type=int, default=0, help="ask at most this many questions of each set (0: all)")
    ap.add_argument("--json", action="store_true")
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
        retrievers[name] = Retriever(index, encoder=encoder, settings=SearchSettings.for_model(index.model))
    rewrite = Rewriter(retrievers["drcd"].index.df)
    to_script = {"cmrc": to_simplified, "drcd": rewrite.traditional}

    def questions(path, script=None):
        qs = load_questions(path, warn=log)[: args.limit or None]
        return [replace(q, q=script(q.q)) for q in qs] if script else qs

    result = {"model": encoder.name, "answerable": {}, "false_answers": {}}
    for name, other in (("drcd", to_simplified), ("cmrc", rewrite.traditional)):
        for label, script in (("as written", None), ("other script", other)):
            m = evaluate(retrievers[name], questions(sets[name] / "questions.jsonl", script), k=3)
            result["answerable"][f"{name} {label}"] = {k: m[k] for k in ("questions", "hit@1", "highlight@1", "false_abstain")}
            log(f"{name} {label}: {result['answerable'][f'{name} {label}']}")
    crossed = [("seed", args.shared / "eval" / "seed_dev.jsonl", "drcd"), ("ooc", OOC, "drcd"),
               ("cmrc", sets["cmrc"] / "questions.jsonl", "drcd"), ("drcd", sets["drcd"] / "questions.jsonl", "cmrc")]
    for qname, path, idx in crossed:
        m = evaluate(retrievers[idx], questions(path, to_script[idx]), k=3, expect_none=True)
        result["false_answers"][f"{qname}->{idx} in its script"] = {"false_answer": m["false_answer"], "questions": m["must_refuse"], "rate": m["false_answer_rate"]}
        log(f"{qname} -> {idx}: {result['false_answers'][f'{qname}->{idx} in its script']}")
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return result
    for key, m in result["answerable"].items():
        print(f"{key:22} hit@1 {m['hit@1']:.3f}  highlight@1 {m['highlight@1']:.3f}  false abstains {m['false_abstain']}/{m['questions']}")
    for key, m in result["false_answers"].items():
        print(f"false answers {key:26} {m['false_answer']:>4}/{m['questions']:<4} ({m['rate']:.0%})")
    return result


if __name__ == "__main__":
    main()
