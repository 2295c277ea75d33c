"""Follow-up questions: hit@1 and highlight@1 of short follow-ups with and without resolution.

    python benchmarks/followup.py [--model M] [--cache DIR] [--shared DIR] [--sets sample,cmrc,drcd] [--json] [--show]

``benchmarks/data/followups.jsonl`` holds pairs ``{"q1", "q", "a", "source", "set", "expect"}``:
a first question ``q1``, a follow-up ``q`` asked in reply to its answer, the follow-up's answers
``a`` (exact substrings of ``source``), and where the follow-up should be answered from
(``expect``: "article", the article ``q1``'s answer cited; "search", elsewhere, its ``q1`` then
having its own ``q1_source``). Unanswerable follow-ups, ``{"q1", "q", "a": [], "abstain": true,
"source", "set", "expect": "none"}``: a natural follow-up whose answer is in neither the article
``q1``'s answer cited (``source``) nor anywhere else in the set; the right reply is "nothing found".
Each set's index is built once under ``--cache`` (as
``precision.py`` does: the sample page, the CMRC 2018 trial and the DRCD dev corpora).

For each pair, at the default settings (what a reader sees, k = 3 results): ``q1`` is asked (a
normal search) and its results are the previous answer; then the follow-up is judged

* ``without``: ``retriever.ask(q)``, the follow-up alone;
* ``with``: ``ask_followup(retriever, q1, q1's hits, q)`` (``newsbot.embeddings.followup``).

Metrics (:mod:`newsbot.embeddings.metrics`): ``hit@1`` (rank 1 quotes an answer from ``source``),
``highlight@1`` (and its marked sentence holds the answer); ``q1_hit@1`` (the first question's
own hit@1, for context), all over the answerable pairs only; ``article``: share of follow-ups answered from the cited article
(``with`` only), ``route_ok``: share resolved where ``expect`` says, ``p50_ms``: median time of
``ask_followup`` (two or three searches). Over the unanswerable follow-ups: ``false answers``,
how many (and what share) got an answer (``answer.answered`` with hits: a quote that cannot be
right), without and with resolution.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from newsbot.bot.indexes import sample_corpus
from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import Question
from newsbot.embeddings.followup import ARTICLE, SEARCH, ask_followup
from newsbot.embeddings.index import build_index, open_store
from newsbot.embeddings.metrics import READER_K, highlight_text, judge
from newsbot.embeddings.search import Retriever
from newsbot.embeddings.util import percentile
from precision import log, parser, short

PAIRS = HERE / "data" / "followups.jsonl"
SETS = ("sample", "cmrc", "drcd")
NONE = "none"  # the expect of an unanswerable follow-up: nothing should be found


def load_pairs(path: Path = PAIRS) -> list[dict]:
    """The follow-up pairs (JSON Lines), each checked for the fields the benchmark reads."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            missing = {"q1", "q", "a", "source", "set"} - row.keys()
            if missing or row["set"] not in SETS or row.get("expect", ARTICLE) not in (ARTICLE, SEARCH, NONE):
                raise ValueError(f"{path}:{n}: not a follow-up pair (missing {sorted(missing)} or unknown set/expect)")
            if bool(row.get("abstain")) != (row.get("expect") == NONE) or bool(row.get("abstain")) == bool(row["a"]):
                raise ValueError(f"{path}:{n}: an unanswerable follow-up has abstain, expect none and no answers; only it")
            rows.append(row)
    return rows


def corpora(shared: Path) -> dict[str, Path]:
    return {"sample": sample_corpus(), "cmrc": shared / "bench" / "cmrc2018-trial" / "corpus", "drcd": shared / "bench" / "drcd-dev" / "corpus"}


def measure(retriever, pairs: list[dict], k: int = READER_K) -> list[dict]:
    """One row per pair: the first question judged, and the follow-up without and with resolution
    (``answered``: it got a reply quoting something, a false answer when the pair is ``abstain``)."""
    out = []
    for p in pairs:
        first_q = Question(p["q1"], (), p.get("q1_source", p["source"]))
        first = retriever.ask(p["q1"], k=k)
        follow = Question(p["q"], tuple(p["a"]), p["source"], abstain=bool(p.get("abstain")))
        alone = retriever.ask(p["q"], k=k)
        t = time.perf_counter()
        resolved = ask_followup(retriever, p["q1"], first.hits if first.answered else (), p["q"], k=k)
        ms = (time.perf_counter() - t) * 1000
        j_alone, j_with = judge(follow, alone, reader_k=k), judge(follow, resolved.answer, reader_k=k)
        top = resolved.answer.hits[0] if resolved.answer.answered and resolved.answer.hits else None
        ok = not follow.abstain  # an unanswerable follow-up has no right quote to hit
        out.append({
            "set": p["set"], "q1": p["q1"], "q": p["q"], "a": p["a"], "expect": p.get("expect", ARTICLE),
            "abstain": follow.abstain,
            "q1_hit": judge(first_q, first, reader_k=k).doc_rank == 1,
            "without": {"hit": ok and j_alone.hit_rank == 1, "highlight": ok and j_alone.highlight, "answered": j_alone.answered},
            "with": {"hit": ok and j_with.hit_rank == 1, "highlight": ok and j_with.highlight, "answered": j_with.answered,
                     "resolved_in": resolved.resolved_in,
                     "query": resolved.query, "ms": round(ms, 1),
                     "marked": highlight_text(top) if top else None, "source": top.source if top else None},
        })
    return out


def summary(all_rows: list[dict]) -> dict:
    """hit@1 and the rest over the answerable pairs; false answers over the unanswerable ones."""
    rows = [r for r in all_rows if not r["abstain"]]
    unanswerable = [r for r in all_rows if r["abstain"]]
    n = len(rows) or 1

    def share(pred) -> float:
        return round(sum(1 for r in rows if pred(r)) / n, 3)

    def false_answers(how: str) -> dict:
        count = sum(1 for r in unanswerable if r[how]["answered"])
        return {"count": count, "share": round(count / (len(unanswerable) or 1), 3)}

    return {
        "pairs": len(rows),
        "unanswerable": len(unanswerable),
        "false_answers": {"without": false_answers("without"), "with": false_answers("with")},
        "q1_hit@1": share(lambda r: r["q1_hit"]),
        "without": {"hit@1": share(lambda r: r["without"]["hit"]), "highlight@1": share(lambda r: r["without"]["highlight"])},
        "with": {"hit@1": share(lambda r: r["with"]["hit"]), "highlight@1": share(lambda r: r["with"]["highlight"]),
                 "article": share(lambda r: r["with"]["resolved_in"] == ARTICLE)},
        "route_ok": share(lambda r: r["with"]["resolved_in"] == r["expect"]),
        "p50_ms": percentile([r["with"]["ms"] for r in rows], 50),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = parser(__doc__)
    ap.add_argument("--sets", default=",".join(SETS), help="which sets to run (comma-separated)")
    ap.add_argument("--pairs", type=Path, default=PAIRS, help="the follow-up pairs (JSON Lines)")
    ap.add_argument("--show", action="store_true", help="print every pair's outcome on stderr")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    wanted = [s for s in args.sets.split(",") if s]
    pairs = [p for p in load_pairs(args.pairs) if p["set"] in wanted]
    encoder = load_encoder(canonical_name(args.model))
    tag = short(encoder.name)
    where = corpora(args.shared)
    rows = []
    for name in wanted:
        out = args.cache / f"{name}-{tag}"
        t = time.perf_counter()
        rep = build_index([where[name]], out, encoder=encoder)
        log(f"{name}: index {out} {'up to date' if rep.up_to_date else f'built in {time.perf_counter() - t:.0f}s'} ({rep.passages} chunks)")
        retriever = Retriever(open_store(out), encoder=encoder)
        rows += measure(retriever, [p for p in pairs if p["set"] == name])
    result = {"model": encoder.name, "k": READER_K, "sets": {s: summary([r for r in rows if r["set"] == s]) for s in wanted},
              "all": summary(rows)}
    if args.show:
        for r in rows:
            w, o = r["with"], r["without"]
            if r["abstain"]:  # x: answered (falsely), .: nothing found
                outcome = f"{'x' if o['answered'] else '.'}  -> {'x' if w['answered'] else '.'} "
            else:
                outcome = (f"{'+' if o['hit'] else '-'}{'+' if o['highlight'] else '-'} -> {'+' if w['hit'] else '-'}"
                           f"{'+' if w['highlight'] else '-'}")
            log(f"{r['set']:6} {outcome} {w['resolved_in']:7} {r['q1']} / {r['q']} | {w['query']} | {w['marked']}")
    if args.json:
        print(json.dumps(result | {"pairs": rows}, ensure_ascii=False))
        return result
    print(f"model: {result['model']}; follow-ups, k = {READER_K}; hit@1 / highlight@1 without -> with resolution")
    print("(over the answerable pairs; false answers: unanswerable follow-ups that got a quote, without -> with)")
    print(f"{'set':8}{'pairs':>6}{'q1 hit@1':>10}{'hit@1':>16}{'highlight@1':>16}{'article':>9}{'route ok':>10}{'p50 ms':>8}"
          f"{'unans':>7}{'false answers':>24}")
    for name, m in [*result["sets"].items(), ("all", result["all"])]:
        wo, wi = m["without"], m["with"]
        fo, fw = m["false_answers"]["without"], m["false_answers"]["with"]
        false = f"{fo['count']} ({fo['share']:.2f}) -> {fw['count']} ({fw['share']:.2f})"
        print(f"{name:8}{m['pairs']:>6}{m['q1_hit@1']:>10.2f}{wo['hit@1']:>8.2f} -> {wi['hit@1']:.2f}"
              f"{wo['highlight@1']:>8.2f} -> {wi['highlight@1']:.2f}{wi['article']:>9.2f}{m['route_ok']:>10.2f}{m['p50_ms']:>8.0f}"
              f"{m['unanswerable']:>7}{false:>24}")
    return result


if __name__ == "__main__":
    main()
