"""Fit the weights that choose the answering sentence (embeddings/choose.py), with cross-validation.

    python benchmarks/fit_choice.py [--model M] [--cache DIR] [--shared DIR] [--features F,F,...]
                                    [--trees embeddings/data/choice-trees-use.json]

For each question of CMRC 2018 trial and DRCD dev, the rank-1 hit's candidate sentences and
their features are recorded (``choose.RECORD``); a sentence is right when it holds an answer.
A conditional logit (softmax over a question's candidates) is fitted on one set and judged on
the other (both ways), then fitted on both: the weights to put in ``calibration.py``. "choice"
is the share of questions (whose candidates hold an answer at all) where the top-scored
sentence holds one.

``--trees FILE``: also fit the tree model (scikit-learn's HistGradientBoostingClassifier on
``choose.DESIGN``: each feature and its gap to the question's best), judged the same ways (one
set -> the other, and 5-fold across both), then fitted on both and written to FILE for
``SearchSettings.choice_trees`` (``embeddings/trees.py`` evaluates it without scikit-learn).
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

import numpy as np

from newsbot.embeddings import choose, trees
from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import load_questions
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.search import Retriever

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from precision import cached, parser, short  # noqa: E402


def collect(retriever, questions, cache: Path):
    """Per question whose rank-1 hit's candidates hold an answer: their features and labels."""

    def rows():
        for qu in questions:
            choose.RECORD = []
            ans = retriever.ask(qu.q, k=1)
            rec = choose.RECORD[0] if choose.RECORD else None
            choose.RECORD = None
            if not ans.answered or rec is None or (qu.source and ans.hits[0].source != qu.source):
                continue
            labels = [int(any(unicodedata.normalize("NFC", a) in t for a in qu.a)) for t in rec["texts"]]
            if any(labels):
                yield {"feats": rec["feats"], "labels": labels, "old": rec["units"].index(rec["old"]) if rec["old"] in rec["units"] else -1}

    return cached(cache, rows)


def accuracy(rows, w) -> float:
    ok = 0
    for r in rows:
        f = np.array(r["feats"], np.float32)
        ok += r["labels"][int(np.argmax(f @ w))]
    return ok / max(1, len(rows))


def fit_softmax(rows, cols, width: int, l2=0.01, steps=400, lr=0.5):
    """Conditional logit by gradient ascent: one weight per column (``cols`` free, column 0
    starts at 1, the rest at 0); each row is a question's candidates and their 0/1 labels."""
    w = np.zeros(width, np.float64)
    mask = np.zeros(width)
    mask[cols] = 1
    w[0] = 1.0
    data = [(np.array(r["feats"], np.float64), np.array(r["labels"], np.float64)) for r in rows]
    for _ in range(steps):
        g = np.zeros(width)
        for f, y in data:
            s = f @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            pos = y / y.sum()
            g += f.T @ (pos - p)
        g = g / len(data) - l2 * w
        w += lr * g * mask
    return w


def fit(rows, cols):
    """A weight per column of choose.FEATURES."""
    return fit_softmax(rows, cols, len(choose.FEATURES))


TREE_PARAMS = {"max_depth": 3, "max_iter": 150, "learning_rate": 0.05, "l2_regularization": 1.0, "random_state": 0}


def _feats(r, cols):
    """A question's recorded features, the columns not in ``cols`` zeroed (as at run time, where
    a feature the model does not use is not computed)."""
    f = np.array(r["feats"], np.float32)
    f[:, [i for i in range(f.shape[1]) if i not in cols]] = 0.0
    return f


def fit_trees(rows, cols):
    """The tree model fitted on ``rows`` (features ``cols`` only), as newsbot's own :class:`trees.Trees`."""
    from sklearn.ensemble import HistGradientBoostingClassifier  # a benchmark dependency only

    X = np.concatenate([choose.design(_feats(r, cols)) for r in rows])
    y = np.concatenate([r["labels"] for r in rows])
    model = HistGradientBoostingClassifier(**TREE_PARAMS).fit(X, y)
    data = trees.from_sklearn(model, choose.DESIGN)
    ours = trees.from_dict(data)
    assert np.allclose(trees.predict(ours, X), model.decision_function(X)), "the exported trees disagree with scikit-learn"
    return ours, data


def tree_accuracy(rows, model, cols) -> float:
    ok = 0
    for r in rows:
        s = trees.predict(model, choose.design(_feats(r, cols)))
        ok += r["labels"][int(np.argmax(s))]
    return ok / max(1, len(rows))


def report_trees(data: dict, cols: list[int], out: Path) -> None:
    names = list(data)
    if len(names) == 2:
        for a, b in (names, names[::-1]):
            m, _ = fit_trees(data[a], cols)
            print(f"trees fitted on {a}: {a} {tree_accuracy(data[a], m, cols):.4f}, {b} {tree_accuracy(data[b], m, cols):.4f}")
    folds = {n: np.random.default_rng(0).integers(0, 5, len(data[n])) for n in names}
    right = dict.fromkeys(names, 0.0)
    for k in range(5):
        m, _ = fit_trees([r for n in names for r, f in zip(data[n], folds[n]) if f != k], cols)
        for n in names:
            held = [r for r, f in zip(data[n], folds[n]) if f == k]
            right[n] += tree_accuracy(held, m, cols) * len(held)
    print("trees, 5-fold across " + " and ".join(names) + ": " + " ".join(f"{n} {right[n] / len(data[n]):.4f}" for n in names))
    m, js = fit_trees([r for n in names for r in data[n]], cols)
    out.write_text(json.dumps(js, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"trees fitted on all -> {out}: " + " ".join(f"{n} {tree_accuracy(data[n], m, cols):.4f}" for n in names))


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--features", default=",".join(choose.FEATURES))
    ap.add_argument("--sets", default="cmrc,drcd")
    ap.add_argument("--trees", type=Path, help="also fit the tree model and write it here")
    args = ap.parse_args()
    encoder = load_encoder(canonical_name(args.model))
    tag = short(encoder.name)
    bench = {"cmrc": args.shared / "bench" / "cmrc2018-trial", "drcd": args.shared / "bench" / "drcd-dev"}
    data = {}
    for name in args.sets.split(","):
        out = args.cache / f"{name}-{tag}"
        build_index([bench[name] / "corpus"], out, encoder=encoder)
        r = Retriever(Index.load(out), encoder=encoder)
        data[name] = collect(r, load_questions(bench[name] / "questions.jsonl"), args.cache / f"choice-{name}-{tag}.json")
        print(f"{name}: {len(data[name])} questions with an answering candidate", file=sys.stderr)
    cols = [choose.FEATURES.index(f) for f in args.features.split(",")]
    base = np.array([choose.DEFAULT_WEIGHTS[f] for f in choose.FEATURES])
    names = list(data)
    for name in names:
        old = sum(r["labels"][r["old"]] for r in data[name] if r["old"] >= 0) / len(data[name])
        print(f"{name}: lexical choice {old:.4f} (default weights {accuracy(data[name], base):.4f})")
    if len(names) == 2:
        for a, b in (names, names[::-1]):
            w = fit(data[a], cols)
            print(f"fit on {a}: {dict(zip(choose.FEATURES, np.round(w, 3)))} -> {a} {accuracy(data[a], w):.4f}, {b} {accuracy(data[b], w):.4f}")
    w = fit([r for n in names for r in data[n]], cols)
    print("fit on all:", json.dumps(dict(zip(choose.FEATURES, [round(float(x), 3) for x in w]))),
          " ".join(f"{n} {accuracy(data[n], w):.4f}" for n in names))
    if args.trees:
        report_trees(data, cols, args.trees)


if __name__ == "__main__":
    main()
