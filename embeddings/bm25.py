"""BM25 over jieba tokens: written with bm25s at build time, read without it at question time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import IndexCorrupt, rebuild_hint

# Okapi BM25's textbook term-saturation and length-normalisation values, not tuned on our data
# (bm25s's own default k1 is 1.5). Changing them changes every score: rebuild the index.
K1, B = 1.2, 0.75


def write_bm25(folder: Path, tokens: list[list[str]]) -> None:
    """Index one token list per document with bm25s into ``folder``."""
    import bm25s  # imported here: only building needs it (and scipy)

    retriever = bm25s.BM25(k1=K1, b=B)
    retriever.index([t or [""] for t in tokens], show_progress=False)
    retriever.save(str(folder), show_progress=False)


class BM25Index:
    """Query side of the bm25s index folder, read without importing bm25s or scipy.

    bm25s stores each token's precomputed per-document BM25 scores as a CSC matrix
    (``data``/``indices``/``indptr``); a question's score is the sum of its tokens' columns.
    Reading the arrays directly keeps ~0.35 s of imports off `newsbot ask`'s cold start, and
    ``mmap`` keeps a large index out of memory until it is touched.
    """

    SUPPORTED = ("lucene", "robertson", "atire")  # methods without a non-occurrence term

    def __init__(self, folder: Path, mmap: bool = False):
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        if params.get("method") not in self.SUPPORTED:
            raise ValueError(f"unsupported BM25 method {params.get('method')!r}")
        mode = "r" if mmap else None
        self.mmapped = mmap
        self.index_dir = folder.parent
        self.data = np.load(folder / "data.csc.index.npy", mmap_mode=mode, allow_pickle=False)
        self.indices = np.load(folder / "indices.csc.index.npy", mmap_mode=mode, allow_pickle=False)
        self.indptr = np.load(folder / "indptr.csc.index.npy", mmap_mode=mode, allow_pickle=False)
        self.vocab_dict: dict[str, int] = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        self.num_docs = int(params["num_docs"])
        if not isinstance(self.vocab_dict, dict) or not all(isinstance(v, int) for v in self.vocab_dict.values()):
            raise ValueError("the BM25 vocabulary is not a map of tokens to ids")
        if any(a.ndim != 1 for a in (self.data, self.indices, self.indptr)) or not (
            np.issubdtype(self.indices.dtype, np.integer) and np.issubdtype(self.indptr.dtype, np.integer)
        ):
            raise ValueError("the BM25 arrays have the wrong shape or type")
        # bm25s appends an empty token to the vocabulary that has no column of its own.
        if len(self.indptr) - 1 not in (len(self.vocab_dict), len(self.vocab_dict) - 1) or len(self.data) != len(self.indices) or (len(self.indptr) and self.indptr[-1] != len(self.data)):
            raise ValueError("BM25 arrays do not match its vocabulary")

    def problems(self) -> list[str]:
        """Out-of-range ids: one pass over the arrays (done on load for in-memory indexes)."""
        ip, ix = self.indptr, self.indices
        if len(ip) and (ip[0] != 0 or np.any(np.diff(ip) < 0)):
            return ["BM25 column offsets are not increasing"]
        if len(ix) and (int(ix.min()) < 0 or int(ix.max()) >= self.num_docs):
            return [f"BM25 refers to documents outside 0..{self.num_docs - 1}"]
        return []

    def get_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for ``tokens`` (repeated tokens count again, as in bm25s)."""
        scores = np.zeros(self.num_docs, dtype=np.float32)
        for t in tokens:
            tid = self.vocab_dict.get(t)
            if tid is None or not 0 <= tid < len(self.indptr) - 1:
                continue
            a, b = int(self.indptr[tid]), int(self.indptr[tid + 1])
            docs = self.indices[a:b]
            if self.mmapped and len(docs) and (a > b or int(docs.min()) < 0 or int(docs.max()) >= self.num_docs):
                raise IndexCorrupt(f"The BM25 index refers to documents that do not exist. {rebuild_hint(self.index_dir)}")
            scores[docs] += self.data[a:b]  # a document appears once per column
        return scores
