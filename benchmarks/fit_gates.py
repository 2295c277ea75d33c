"""Fit the refusal weights (embeddings/refusal.py) and the later-result weights
(embeddings/plausible.py) with cross-validation across the CMRC and DRCD indexes.

    python benchmarks/fit_gates.py [--model M] [--cache DIR] [--shared DIR] [--drcd-limit N]

Records, at the default settings but with every gate open, the rank-1 evidence of
* answerable questions: CMRC trial → CMRC index, DRCD dev → DRCD index, seed_dev → sample;
* unanswerable ones: DRCD dev → CMRC index, CMRC trial → DRCD index (other articles, same
  style: the hard case), ``data/everyday_zh.jsonl`` → every index (197 everyday questions, on
  health, money, travel, food, school, gadgets…, written for this fit: none of them is in
  out_of_corpus.jsonl, which stays held out), out_of_corpus → every index, seed_dev → CMRC and DRCD;
and of each later result (ranks 2-5) of the answerable questions. A logistic model is fitted
on one index's questions and judged on the other's (both ways; the everyday questions split
between the two sides, so none is judged by a fit that saw it), with the threshold set so that
each index refuses at most ``--max-extra-abstain`` of its answerable questions beyond those the
thresholds already refuse, and seed_dev none, then lowered by ``--margin`` (log-odds) so that
the last question kept is not kept by a hair; then fitted on both (out_of_corpus held out).
Prints the weights to put in calibration.py.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from newsbot.embeddings import plausible, refusal
from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import load_questions
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.metrics import is_hit
from newsbot.bot.indexes import sample_corpus
from newsbot.embeddings.search import Retriever, SearchSettings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from precision import OOC, parser, short  # noqa: E402

EVERYDAY = HERE / "data" / "everyday_zh.jsonl"


# (questions, index, answerable): what is asked of which index.
PLAN = [("cmrc", "cmrc", True), ("drcd", "drcd", True), ("seed", "sample", True),
        ("drcd", "cmrc", False), ("cmrc", "drcd", False), ("ooc", "cmrc", False), ("ooc", "drcd", False),
        ("ooc", "sample", False), ("seed", "cmrc", False), ("seed", "drcd", False),
        ("every", "cmrc", False), ("every", "drcd", False), ("every", "sample", False)]


def gate_retrievers(args) -> tuple[dict[str, Retriever], dict[str, list], str]:
    """The CMRC, DRCD and sample indexes (built in ``args.cache`` if missing) with every gate open,
    the question sets by short name, and the encoder's short name."""
    encoder = load_encoder(canonical_name(args.model))
    cm, dr = args.shared / "bench" / "cmrc2018-trial", args.shared / "bench" / "drcd-dev"
    rets = {}
    for name, corpus in (("cmrc", cm / "corpus"), ("drcd", dr / "corpus"), ("sample", sample_corpus())):
        out = args.cache / f"{name}-{short(encoder.name)}"
        build_index([corpus], out, encoder=encoder)
        index = Index.load(out)
        # Questions as typed (other_script_margin None): the weights are fitted on crossed questions in
        # the other index's script, as they were before the search rewrote them (script.py).
        rets[name] = Retriever(index, encoder=encoder, settings=SearchSettings.for_model(index.model, min_relative=-1e9, other_script_margin=None))
        rets[name].settings = replace(rets[name].settings, refusal=(), later=())
    qs = {"cmrc": load_questions(cm / "questions.jsonl"), "drcd": load_questions(dr / "questions.jsonl"),
          "seed": load_questions(args.shared / "eval" / "seed_dev.jsonl"), "ooc": load_questions(OOC), "every": load_questions(EVERYDAY)}
    return rets, qs, short(encoder.name)


def collect(retriever, questions, answerable: bool, cache: Path):
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    rows = []
    for qu in questions:
        if qu.abstain and answerable:
            continue
        refusal.RECORD, plausible.RECORD = [], []
        ans = retriever.ask(qu.q, k=5)
        rec, later = refusal.RECORD, plausible.RECORD
        refusal.RECORD = plausible.RECORD = None
        if not rec:
            continue
        row = {"q": qu.q, "answerable": answerable, "feats": rec[0], "old_answered": ans.answered}
        if answerable and ans.hits:
            row["hit1"] = is_hit(qu, ans.hits[0].source, ans.hits[0].excerpt)
            row["later"] = [
                f | {"is_hit": is_hit(qu, f["source"], f["excerpt"]), "on_source": qu.source is None or f["source"] == qu.source}
                for f in later
            ]
            for f in row["later"]:
                f.pop("excerpt")
        rows.append(row)
    cache.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return rows


def fit_logistic(X, y, l2=1e-3, steps=4000, lr=1.0):
    """Class-balanced logistic regression (column 0 is the bias). Columns are standardised for
    the fit (a cosine that lives in [0.8, 0.95] needs a large weight) and the weights mapped back."""
    mu = X[:, 1:].mean(axis=0)
    sd = X[:, 1:].std(axis=0)
    sd[sd < 1e-9] = 1.0
    Z = X.copy()
    Z[:, 1:] = (X[:, 1:] - mu) / sd
    w = np.zeros(X.shape[1])
    sw = np.where(y == 1, 0.5 / max(1, y.sum()), 0.5 / max(1, (1 - y).sum()))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(Z @ w)))
        g = Z.T @ ((y - p) * sw) - l2 * np.r_[0.0, w[1:]]
        w += lr * g
    out = w.copy()
    out[1:] = w[1:] / sd
    out[0] = w[0] - float((w[1:] * mu / sd).sum())
    return out


def set_bias(w, own, max_extra, margin):
    """Lower the bias until each of ``own`` (answerable questions of one index: features, and whether
    the thresholds answer them) loses at most ``max_extra`` of its questions to the gate beyond
    those the thresholds refuse (0 for a set of under 1 / max_extra questions), then by ``margin``."""
    cut = np.inf
    for X, passed in own:
        s = np.sort(X[passed] @ w)
        k = int(np.floor(max_extra * len(passed)))
        if len(s):
            cut = min(cut, s[min(k, len(s) - 1)])
    w = w.copy()
    w[0] -= cut - 1e-6 - margin
    return w


def report(X, y, w, passed):
    """False abstains and false answers of the thresholds (``passed``: what they answer) and
    weights ``w`` together (``w`` None: the thresholds alone)."""
    answered = passed & ((X @ w > 0) if w is not None else True)
    fa = int((~answered & (y == 1)).sum())
    fans = int((answered & (y == 0)).sum())
    return f"false abstains {fa}/{int(y.sum())} ({fa / max(1, y.sum()):.2%}), false answers {fans}/{int((1 - y).sum())} ({fans / max(1, (1 - y).sum()):.2%})"


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--drcd-limit", type=int, default=1200, help="DRCD questions asked of the CMRC index")
    ap.add_argument("--max-extra-abstain", type=float, default=0.001)
    ap.add_argument("--margin", type=float, default=0.5)
    ap.add_argument("--features", default=",".join(refusal.FEATURES))
    args = ap.parse_args()
    rets, qs, tag = gate_retrievers(args)
    data = {}
    for q, idx, ok in PLAN:
        questions = qs[q][: args.drcd_limit] if (q, idx) == ("drcd", "cmrc") else qs[q]
        data[(q, idx)] = collect(rets[idx], questions, ok, args.cache / f"gates-{q}-{idx}-{tag}.json")
        print(f"{q} -> {idx}: {len(data[(q, idx)])} rows", file=sys.stderr)

    feats = args.features.split(",")

    def matrix(keys, part=None):
        """Chinese questions' features, labels and whether the thresholds answer them; ``part``
        0 / 1: only the even / odd everyday questions."""
        rows = [r for k in keys for i, r in enumerate(data[k]) if r["feats"]["chinese"]
                and (part is None or k[0] != "every" or i % 2 == part)]
        X = np.array([[r["feats"][f] for f in feats] for r in rows], np.float64).reshape(-1, len(feats))
        y = np.array([1 if r["answerable"] else 0 for r in rows], np.float64)
        old = np.array([r["old_answered"] for r in rows], bool)
        return X, y, old

    def fit(keys, own, part=None):
        X, y, passed = matrix(keys, part)
        w = fit_logistic(X[passed], y[passed])  # what the thresholds refuse, the gate never sees
        return set_bias(w, [matrix([k])[::2] for k in own], args.max_extra_abstain, args.margin)

    side = {"cmrc": [("cmrc", "cmrc"), ("drcd", "cmrc"), ("every", "cmrc")],
            "drcd": [("drcd", "drcd"), ("cmrc", "drcd"), ("every", "drcd")]}
    held = {"cmrc": [("ooc", "cmrc"), ("seed", "cmrc")], "drcd": [("ooc", "drcd"), ("seed", "drcd")]}
    for (a, pa), (b, pb) in ((("cmrc", 0), ("drcd", 1)), (("drcd", 1), ("cmrc", 0))):
        w = fit(side[a], [(a, a)], pa)
        print(f"fit on the {a} index (even everyday questions: {pa == 0}): {dict(zip(feats, np.round(w, 3)))}")
        for k in side[b] + held[b]:
            Xk, yk, passed = matrix([k], pb if k[0] == "every" else None)
            print(f"   judged on {k[0]} -> {k[1]}: {report(Xk, yk, w, passed)}; thresholds alone {report(Xk, yk, None, passed)}")
    # The final fit: both indexes' own, crossed and everyday questions; out_of_corpus stays out of
    # it (seed_dev only bounds the bias), so its figures below (and in precision.py) are held out.
    w = fit(side["cmrc"] + side["drcd"], [("cmrc", "cmrc"), ("drcd", "drcd"), ("seed", "sample")])
    print("refusal fit on CMRC+DRCD:", json.dumps(dict(zip(feats, [round(float(x), 3) for x in w]))))
    for k in data:
        Xk, yk, passed = matrix([k])
        if len(yk):
            print(f"   {k[0]} -> {k[1]}: {report(Xk, yk, w, passed)}")
    fit_later(data)


def later_matrix(rows, feats):
    X, y, need = [], [], []
    for r in rows:
        for f in r.get("later", []):
            X.append([f[k] for k in feats])
            y.append(1 if (f["is_hit"] or f["on_source"]) else 0)
            need.append(1 if (f["is_hit"] and not r.get("hit1")) else 0)  # the answer a reader needs
    return np.array(X, np.float64), np.array(y, np.float64), np.array(need, bool)


def fit_later(data, max_lost=0.01):
    """Later results: keep when useful (quotes the answer, or the question's own source)."""
    feats = list(plausible.FEATURES)
    sides = {"cmrc": [("cmrc", "cmrc")], "drcd": [("drcd", "drcd")]}
    for a, b in (("cmrc", "drcd"), ("drcd", "cmrc")):
        Xa, ya, na = later_matrix([r for k in sides[a] for r in data[k]], feats)
        Xb, yb, nb = later_matrix([r for k in sides[b] for r in data[k]], feats)
        w = fit_logistic(Xa, ya)
        # threshold: lose at most max_lost of the needed later hits on the training side
        s = Xa[na] @ w
        w[0] -= (np.sort(s)[int(max_lost * len(s))] if len(s) else 0.0) - 1e-6
        for name, X, y, nd in ((a, Xa, ya, na), (b, Xb, yb, nb)):
            keep = X @ w > 0
            print(f"   later fit on {a}, judged on {name}: kept {keep.mean():.2%} of later results; "
                  f"useless dropped {(~keep & (y == 0)).sum()}/{int((y == 0).sum())}; needed hits lost {(~keep & nd).sum()}/{int(nd.sum())}")
    X, y, nd = later_matrix([r for k in ("cmrc", "drcd") for r in data[(k, k)]], feats)
    w = fit_logistic(X, y)
    s = X[nd] @ w
    w[0] -= (np.sort(s)[int(max_lost * len(s))] if len(s) else 0.0) - 1e-6
    print("later fit on all:", json.dumps(dict(zip(feats, [round(float(x), 3) for x in w]))))


if __name__ == "__main__":
    main()
