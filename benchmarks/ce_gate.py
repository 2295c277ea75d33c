"""The cross-encoder's score as one more feature of the refusal weights: does it refuse what the
lexical evidence lets through, at the budget the shipped weights keep? An experiment toward
out_of_corpus.jsonl; nothing in newsbot uses it.

    python benchmarks/fit_gates.py --cache DIR                                 # the gate's rows
    python benchmarks/cross_encoder.py --cache DIR --swapped --joint --save DIR2  # the scorer
    python benchmarks/ce_gate.py --cache DIR --scorer DIR2/scorer-joint.pt

Each Chinese question that fit_gates.py recorded is asked again at the same settings and its
rank-1 excerpt scored by the joint scorer (cross_encoder.py's ``joint``). Only the questions that
scorer was not fitted on take part: CMRC and DRCD questions of hash share 0.5 and over, the odd
everyday questions, out_of_corpus and seed_dev. The refusal weights are fitted with and without
the score on one index's own, crossed and everyday questions (everyday: index 1 mod 4) and judged
on the other index's (3 mod 4), with the bias set as fit_gates.py sets it. Then the score as a
second bar behind the shipped weights, only for the questions they answer by a small margin.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

from newsbot.embeddings.encoders import canonical_name
from newsbot.embeddings.search import SearchSettings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cross_encoder as ce  # noqa: E402
from fit_gates import PLAN, fit_logistic, gate_retrievers, set_bias  # noqa: E402
from precision import cached, parser, short  # noqa: E402

LEXICAL = ["bias", "dense", "coverage", "art_cov", "key_found", "gram_cov", "unknown", "title_cov", "spec"]
SIDES = {"cmrc": [("cmrc", "cmrc"), ("drcd", "cmrc"), ("every", "cmrc")], "drcd": [("drcd", "drcd"), ("cmrc", "drcd"), ("every", "drcd")]}
HELD = {"cmrc": [("ooc", "cmrc"), ("seed", "cmrc")], "drcd": [("ooc", "drcd"), ("seed", "drcd")]}


def excerpts(rets, gates: dict, cache: Path) -> list[dict]:
    """Rows {key, q, text}: each recorded Chinese question's rank-1 excerpt, the marked sentence
    and 30 characters either side (as the scorer was trained on)."""

    def rows():
        for (q, idx), recorded in gates.items():
            for r in recorded:
                if r["feats"]["chinese"] and (ans := rets[idx].ask(r["q"], k=5, abstain=False)).hits:
                    yield {"key": f"{q}>{idx}", "q": r["q"], "text": ce.window(ans.hits[0].excerpt, ans.hits[0].highlight)}

    return cached(cache, rows)


def score(rows: list[dict], scorer_file: Path, frozen: int) -> dict[tuple[str, str], float]:
    model = ce.E5Numpy()
    f = model.file
    layers = [ce.Layer(ly, f.H, f.NH, f.eps) for ly in model.layers]
    scorer = ce.Scorer(layers[frozen:])
    scorer.load_state_dict(torch.load(scorer_file))
    s = ce.scores(scorer, ce.frozen_states(model, layers[:frozen], rows))
    return {(r["key"], r["q"]): float(v) for r, v in zip(rows, s)}


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--scorer", type=Path, required=True, help="cross_encoder.py --joint --save DIR's scorer-joint.pt")
    ap.add_argument("--frozen", type=int, default=6, help="as the scorer was trained")
    ap.add_argument("--max-extra-abstain", type=float, default=0.001)
    ap.add_argument("--margin", type=float, default=0.5)
    args = ap.parse_args()
    tag = short(canonical_name(args.model))
    files = {(q, idx): args.cache / f"gates-{q}-{idx}-{tag}.json" for q, idx, _ in PLAN}
    if missing := [str(f) for f in files.values() if not f.exists()]:
        sys.exit(f"No gate rows in {args.cache} ({missing[0]}): run python benchmarks/fit_gates.py --cache {args.cache} first.")
    if not args.scorer.is_file():
        sys.exit(f"No scorer at {args.scorer}: run python benchmarks/cross_encoder.py --cache {args.cache} --swapped --joint --save DIR first.")
    gates = {key: json.loads(f.read_text(encoding="utf-8")) for key, f in files.items()}
    rets, qs, _ = gate_retrievers(args)
    rows = excerpts(rets, gates, args.cache / f"ce-gate-excerpts-{tag}.json")
    scored = cached(args.cache / f"ce-gate-scores-{tag}-{zlib.crc32(args.scorer.read_bytes()):08x}.json",
                    lambda: ({"key": k, "q": q, "score": v} for (k, q), v in score(rows, args.scorer, args.frozen).items()))
    ce_score = {(r["key"], r["q"]): r["score"] for r in scored}
    everyday = {qu.q: i for i, qu in enumerate(qs["every"])}

    def unseen(q: str, r: dict, part: int | None) -> bool:
        """Not fitted on by the scorer; ``part``: the everyday questions of that index mod 4 only."""
        if q == "every":
            return everyday[r["q"]] % 2 == 1 and (part is None or everyday[r["q"]] % 4 == part)
        return q not in ("cmrc", "drcd") or ce.hash_share(r["q"]) >= 0.5

    def matrix(key, feats, part=None):
        rs = [r for r in gates[key] if r["feats"]["chinese"] and unseen(key[0], r, part)]
        X = np.array([[ce_score.get((f"{key[0]}>{key[1]}", r["q"]), -10.0) if f == "ce" else r["feats"][f] for f in feats] for r in rs])
        return X.reshape(-1, len(feats)), np.array([float(r["answerable"]) for r in rs]), np.array([r["old_answered"] for r in rs], bool), [r["q"] for r in rs]

    for feats in (LEXICAL, LEXICAL + ["ce"]):
        print("features:", ", ".join(feats[1:]))
        for a, pa, b, pb in (("cmrc", 1, "drcd", 3), ("drcd", 3, "cmrc", 1)):
            parts = [matrix(k, feats, pa) for k in SIDES[a]]
            w = fit_logistic(np.vstack([X[p] for X, _, p, _ in parts]), np.concatenate([y[p] for _, y, p, _ in parts]))
            X, _, passed, _ = matrix((a, a), feats)
            w = set_bias(w, [(X, passed)], args.max_extra_abstain, args.margin)
            print(f"   fitted on the {a} side: " + ", ".join(f"{f} {v:.2f}" for f, v in zip(feats, w)))
            for k in SIDES[b] + HELD[b]:
                X, y, passed, asked = matrix(k, feats, pb)
                answered = passed & (X @ w > 0)
                if y.sum():
                    print(f"      {k[0]} -> {k[1]}: false abstains {int((~answered & (y == 1)).sum())}/{int(y.sum())}")
                else:
                    named = f": {', '.join(asked[i] for i in np.flatnonzero(answered))}" if k[0] == "ooc" else ""
                    print(f"      {k[0]} -> {k[1]}: false answers {int(answered.sum())}/{len(y)}{named}")

    # A second bar, only where the shipped weights are unsure: refuse when they clear the bar by
    # less than ``unsure`` log-odds and the scorer's score is below ``bar``.
    shipped = dict(SearchSettings.for_model(canonical_name(args.model)).refusal)
    keys = [("cmrc", "cmrc"), ("drcd", "drcd"), ("seed", "sample"), ("ooc", "cmrc"), ("ooc", "drcd"),
            ("every", "cmrc"), ("every", "drcd"), ("drcd", "cmrc"), ("cmrc", "drcd")]
    print("a second bar where the shipped weights are unsure (their score, the scorer's score):")
    for unsure, bar in ((0, 0), (2, -2), (3, -2), (3, -1), (5, -2), (5, -1)):
        out = []
        for k in keys:
            X, y, passed, _ = matrix(k, list(shipped) + ["ce"])
            lexical, second = X[:, :-1] @ np.array(list(shipped.values())), X[:, -1]
            answered = passed & (lexical > 0) & ~((lexical < unsure) & (second < bar))
            hit = np.array([bool(r.get("hit1")) for r in gates[k] if r["feats"]["chinese"] and unseen(k[0], r, None)])
            out.append(f"{k[0]} -> {k[1]} " + (f"refused {int((~answered).sum())}/{len(y)} ({int((~answered & hit).sum())} hits)" if y.sum()
                                                  else f"answered {int(answered.sum())}/{len(y)}"))
        print(f"   below {unsure} and under {bar}: " + "; ".join(out))


if __name__ == "__main__":
    main()
