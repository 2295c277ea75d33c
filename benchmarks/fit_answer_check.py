"""Choose ``answer_check`` (U, B): where the refusal weights answer a Chinese question by less than
U log-odds, refuse it when the answer scorer (embeddings/answer_scorer.py) gives the first result
less than B.

    python benchmarks/fit_answer_check.py [--cache DIR] [--shared DIR] [--max-unsure 8]

Asks, at the default settings, every question precision.py asks and the everyday questions
(``data/everyday_zh.jsonl``) of the CMRC and DRCD indexes, and records for each Chinese question
the refusal weights let through by less than ``--max-unsure`` how far they cleared it and the
scorer's score, and the score of each question with no Chinese the thresholds answer (cached in
DIR). Then, for each (U, B) of a grid: the answerable questions refused
beyond those refused now (false abstains) and the unanswerable ones still answered, counted only
on questions the scorer was not fitted on (cross_encoder.py --joint: CMRC and DRCD questions of
hash share under 0.1 or from 0.5, the odd everyday questions, every other set).

Then the steps' grid: (U0, B0) on top of (U, B) as calibrated, a bar B0 for the questions the
weights answer by less than U0 (a step of ``answer_check_steps``: higher near the bar, lower
further from it), counted on every question answered now, fitted on or not.

``--phrases`` tests one more condition (an experiment; nothing in newsbot uses it): whether the
question's adjacent content words (jieba's precise cut, stop words apart: 美国/总统 → 美国总统)
occur joined in the first result's article, as their IDF-weighted share (``pair_coverage``). A
question from elsewhere often shares both words but not the phrase (美国总统 asked of an article
on 马达加斯加总统); the grid refuses where that share is at most P, the weights cleared their bar
by less than U2 and the scorer gives less than B2, on top of (U, B) as calibrated.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from newsbot.bot.indexes import sample_corpus
from newsbot.embeddings import answer_scorer, refusal
from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import load_questions
from newsbot.embeddings.excerpt import idf
from newsbot.embeddings.hanzi import to_simplified
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.metrics import is_hit
from newsbot.embeddings.search import Retriever, SearchSettings
from newsbot.embeddings.tokenize import STOPWORDS

WORDY = re.compile(r"\w")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cross_encoder import EVERYDAY, hash_share  # noqa: E402
from precision import OOC, cached, parser, short  # noqa: E402

OWN = [("seed", "sample"), ("cmrc", "cmrc"), ("drcd", "drcd")]
NONE = [("seed", "cmrc"), ("seed", "drcd"), ("ooc", "cmrc"), ("ooc", "drcd"), ("ooc", "sample"), ("cmrc", "drcd"), ("drcd", "cmrc"),
        ("every", "cmrc"), ("every", "drcd")]
GRID = [(u, b) for u in (2, 3, 4, 5, 6, 8) for b in (-3, -2, -1, 0)]


def doubted(r: dict, u: float, b: float) -> bool:
    """A recorded answer the weights cleared by less than ``u`` and the scorer gave less than ``b``."""
    return r["clearance"] is not None and r["clearance"] < u and r["score"] < b


def unseen(qs: str, idx: str, i: int, q: str) -> bool:
    """Not among the questions the shipped scorer was fitted on (cross_encoder.joint)."""
    if qs == "every":
        return i % 2 == 1
    if qs in ("cmrc", "drcd") and qs == idx:
        return not 0.1 <= hash_share(q) < 0.5
    return True


def pair_coverage(question: str, article_text: str, idf) -> float | None:
    """IDF-weighted share (the rarer word of each pair) of the question's adjacent content-word
    pairs that ``article_text`` (normalised, any script) writes joined; None for a question with
    no such pair. Both read in Simplified characters."""
    import jieba

    text = to_simplified(article_text)
    pairs, prev = [], None
    for word in jieba.lcut(to_simplified(refusal.normalise(question))):
        content = bool(WORDY.search(word)) and word not in STOPWORDS
        if content and prev is not None:
            pairs.append((min(idf(prev), idf(word)), prev + word in text))
        prev = word if content else None
    total = sum(w for w, _ in pairs)
    return sum(w for w, found in pairs if found) / total if total else None


def record(ret: Retriever, questions, qs: str, idx: str, own: bool, phrases: bool = False):
    for i, qu in enumerate(questions):
        if not qu.q.strip():
            continue
        answer_scorer.RECORD = []
        ans = ret.ask(qu.q, k=3)
        rec = answer_scorer.RECORD[-1] if answer_scorer.RECORD else None
        answer_scorer.RECORD = None
        first = ans.hits[0] if ans.answered else None
        yield {"qs": qs, "idx": idx, "i": i, "q": qu.q, "answered": ans.answered, "unseen": unseen(qs, idx, i, qu.q),
               "hit1": bool(own and first is not None and is_hit(qu, first.source, first.excerpt)),
               "clearance": rec["clearance"] if rec else None, "score": rec["score"] if rec else None} | (
            {"pairs": pair_coverage(qu.q, ret.article_bag(first.article)[0], lambda t: idf(int(ret.index.df.get(t, 0)), ret.index.n_docs))
             if first is not None else None} if phrases else {})


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--max-unsure", type=float, default=8.0)
    ap.add_argument("--phrases", action="store_true", help="also test the adjacent-word condition (see above)")
    args = ap.parse_args()
    encoder = load_encoder(canonical_name(args.model))
    tag = short(encoder.name)
    corpora = {"sample": sample_corpus(), "cmrc": args.shared / "bench" / "cmrc2018-trial" / "corpus", "drcd": args.shared / "bench" / "drcd-dev" / "corpus"}
    qfiles = {"seed": args.shared / "eval" / "seed_dev.jsonl", "cmrc": args.shared / "bench" / "cmrc2018-trial" / "questions.jsonl",
              "drcd": args.shared / "bench" / "drcd-dev" / "questions.jsonl", "ooc": OOC, "every": EVERYDAY}
    rets = {}
    for name, corpus in corpora.items():
        build_index([corpus], args.cache / f"{name}-{tag}", encoder=encoder)
        index = Index.load(args.cache / f"{name}-{tag}")
        # Recorded with no bar at all: no steps and no name conflict's (measured with precision.py and swapped_names.py).
        settings = SearchSettings.for_model(index.model, answer_check=(args.max_unsure, float("-inf"), float("-inf")),
                                              answer_check_steps=(), name_conflict=())
        rets[name] = Retriever(index, encoder=encoder, settings=settings)
    rows = []
    for qs, idx in OWN + NONE:
        own = (qs, idx) in OWN
        questions = load_questions(qfiles[qs])
        cache = args.cache / f"answer-check-{qs}-{idx}-{tag}-{args.max_unsure:g}{'-pairs' if args.phrases else ''}.json"
        rows += cached(cache, lambda: record(rets[idx], questions, qs, idx, own, args.phrases))
        print(f"{qs} -> {idx}: recorded", file=sys.stderr)
    print("U, B: false abstains added (unseen answerable, of those answered now) | unanswerable still answered (unseen, of those answered now)")
    for u, b in [(0, 0), *GRID]:
        cells = []
        for qs, idx in OWN + NONE:
            part = [r for r in rows if r["qs"] == qs and r["idx"] == idx and r["unseen"] and r["answered"]]
            cut = [r for r in part if doubted(r, u, b)]
            if (qs, idx) in OWN:
                cells.append(f"{qs}>{idx} -{len(cut)} ({sum(r['hit1'] for r in cut)} hits)/{len(part)}")
            else:
                cells.append(f"{qs}>{idx} {len(part) - len(cut)}/{len(part)}")
        print(f"U {u:g}, B {b:g}: " + "; ".join(cells))
    print("E: questions with no Chinese, the same counts")
    for e in (-4, -3, -2, -1, 0):
        cells = []
        for qs, idx in OWN + NONE:
            part = [r for r in rows if r["qs"] == qs and r["idx"] == idx and r["unseen"] and r["answered"] and r["score"] is not None and r["clearance"] is None]
            cut = [r for r in part if r["score"] < e]
            if part:
                cells.append(f"{qs}>{idx} " + (f"-{len(cut)} ({sum(r['hit1'] for r in cut)} hits)/{len(part)}" if (qs, idx) in OWN else f"{len(part) - len(cut)}/{len(part)}"))
        print(f"E {e:g}: " + "; ".join(cells))
    calibrated = SearchSettings.for_model(index.model).answer_check[:2]  # (U, B) as newsbot ships them
    near_grid(rows, calibrated)
    if args.phrases:
        phrase_grid(rows, calibrated)


def near_grid(rows: list[dict], calibrated: tuple[float, float]) -> None:
    """Questions refused beyond (U, B) as calibrated when those answered by less than U0 need at
    least B0 (every question answered now; see the module docstring)."""
    u, b = calibrated
    now = [r for r in rows if r["answered"] and not doubted(r, u, b)]
    print(f"U0, B0 on top of U {u:g}, B {b:g}: refused beyond it, answerable (hits) | unanswerable")
    # Near the bar (U0 < U) a higher B0; further from it (U0 > U) a lower one.
    for u0, b0 in [(u0, b0) for u0 in (0.5, 1, 1.5, 2) for b0 in (-1, -0.5, 0, 0.5)] + [(4, -4), (5, -4), (5, -3.5), (6, -4)]:
        cut = [r for r in now if doubted(r, u0, b0)]
        print(f"U0 {u0:g}, B0 {b0:g}: " + "; ".join(
            f"{qs}>{idx} -{sum(1 for r in cut if (r['qs'], r['idx']) == (qs, idx))}"
            + (f" ({sum(r['hit1'] for r in cut if (r['qs'], r['idx']) == (qs, idx))})" if (qs, idx) in OWN else "")
            for qs, idx in OWN + NONE))


def phrase_grid(rows: list[dict], calibrated: tuple[float, float]) -> None:
    """False abstains added and unanswerable questions still answered when the adjacent-word
    condition refuses too (unseen questions answered now; see the module docstring)."""
    u, b = calibrated
    for qs, idx in OWN:
        hits = [r for r in rows if (r["qs"], r["idx"]) == (qs, idx) and r["answered"] and r["hit1"]]
        print(f"{qs} -> {idx}: {sum(r['pairs'] == 0 for r in hits)} of {len(hits)} right first results write none of their "
              f"question's word pairs joined ({sum(r['pairs'] is None for r in hits)} questions have no pair)")
    now = [r for r in rows if r["answered"] and r["unseen"] and not doubted(r, u, b)]
    print(f"P, U2, B2 on top of U {u:g}, B {b:g}: answerable refused beyond it (hits) | unanswerable still answered (out_of_corpus)")
    for p in (0.0, 0.5):
        for u2 in (6, 8):
            for b2 in (-2, -1, 0):
                cut = [r for r in now if r["pairs"] is not None and r["pairs"] <= p and doubted(r, u2, b2)]
                own = [r for r in cut if (r["qs"], r["idx"]) in OWN]
                left = [r for r in now if (r["qs"], r["idx"]) not in OWN and r not in cut]
                print(f"P {p:g}, U2 {u2}, B2 {b2}: " + ", ".join(
                    f"{qs}>{idx} -{sum(1 for r in own if r['idx'] == idx)} ({sum(r['hit1'] for r in own if r['idx'] == idx)})"
                    for qs, idx in OWN) + f" | {len(left)}/{sum(1 for r in now if (r['qs'], r['idx']) not in OWN)} "
                    f"({sum(1 for r in left if r['qs'] == 'ooc')} out_of_corpus)")


if __name__ == "__main__":
    main()
