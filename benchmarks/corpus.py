"""The benchmark corpus: real passages first, then synthetic articles recombined from real sentences.

Everything here is deterministic (``random.Random(0)``), so two runs index the same text.

* **Real part.** The sample newspaper page shipped with newsbot (``embeddings/data/sample_page.txt``)
  and the 256 CMRC 2018 trial passages (``../shared/bench/cmrc2018-trial/corpus``), copied as-is.
* **Synthetic part.** Articles written as ``synth/NNNNN.txt`` files in the same folder, each a
  ``# headline`` followed by paragraphs. An article borrows the headline of a real article
  (with a number appended) and half of its sentences from that article, the other half from
  the whole pool of real sentences, so word statistics stay those of real news text.
* **Stand-in encoder** (:class:`CachedEncoder`). Encoding 100k chunks with USE on 2 cores
  takes ~9 minutes, so the big indexes are built with an encoder that returns the real USE
  vector of a chunk it has seen (the real chunks, encoded once with the real encoder), and for
  a synthetic chunk the re-normalised mean of the real vectors of the real chunks its sentences
  come from, plus small deterministic noise seeded by the text's hash. Its name is the real
  model's, so the indexes are searched with the real encoder (queries are always encoded for
  real). The time it spends is measured and taken out of the indexing time (see run.py).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from newsbot.embeddings.chunking import ChunkSettings, chunk_articles, context_of, embed_text, split_sentences
from newsbot.embeddings.encoders import DEFAULT_MODEL
from newsbot.embeddings.ingest import parse_page
from newsbot.bot.indexes import sample_corpus

ROOT = Path(__file__).resolve().parent.parent
CMRC_DIR = ROOT.parent / "shared" / "bench" / "cmrc2018-trial" / "corpus"
CMRC_QUESTIONS = ROOT.parent / "shared" / "bench" / "cmrc2018-trial" / "questions.jsonl"
SEED_DEV = ROOT.parent / "shared" / "eval" / "seed_dev.jsonl"
SAMPLE_PAGE = sample_corpus() / "sample_page.txt"


def file_chunks(text: str, source: str, settings: ChunkSettings | None = None) -> list[str]:
    """The embedded texts of one file's chunks, exactly as ``build_index`` makes them."""
    settings = settings or ChunkSettings()
    arts = parse_page(text, source)
    passages = chunk_articles(arts, settings).passages
    ctx = {a.id: context_of(a) for a in arts}
    return [embed_text(p, ctx[p.article]) for p in passages]


@dataclass
class Corpus:
    folder: Path
    files: list[Path] = field(default_factory=list)  # real files first, then synthetic ones
    chunks: list[int] = field(default_factory=list)  # chunks of each file
    real_files: int = 0
    real_texts: list[str] = field(default_factory=list)  # embedded texts of the real chunks
    sentence_home: dict[str, int] = field(default_factory=dict)  # real sentence -> real chunk
    seconds: float = 0.0

    def prefix(self, n_chunks: int) -> tuple[list[Path], int]:
        """The shortest prefix of files holding at least ``n_chunks`` chunks, and its chunk count."""
        total = 0
        for i, c in enumerate(self.chunks):
            total += c
            if total >= n_chunks:
                return self.files[: i + 1], total
        raise ValueError(f"the corpus holds only {total} chunks, fewer than {n_chunks}")

    @property
    def total_chunks(self) -> int:
        return sum(self.chunks)


def _real_sources() -> list[Path]:
    files = [SAMPLE_PAGE]
    if CMRC_DIR.is_dir():
        files += sorted(CMRC_DIR.glob("*.txt"))
    return files


def build_corpus(folder: str | Path, min_chunks: int, seed: int = 0) -> Corpus:
    """Write the real files and enough synthetic articles for ``min_chunks`` chunks into ``folder``."""
    t0 = time.perf_counter()
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "real").mkdir(parents=True)
    corpus = Corpus(folder)
    real_articles = []  # (title, [sentences])
    settings = ChunkSettings()
    for src in _real_sources():
        dst = folder / "real" / src.name
        shutil.copyfile(src, dst)
        text = dst.read_text(encoding="utf-8-sig")
        texts = file_chunks(text, dst.name, settings)
        base = len(corpus.real_texts)
        corpus.real_texts.extend(texts)
        for i, t in enumerate(texts):
            for line in t.split("\n")[1:]:
                for s in split_sentences(line):
                    corpus.sentence_home.setdefault(s.strip(), base + i)
        for art in parse_page(text, dst.name):
            sents = [s for para in art.paragraphs for s in split_sentences(para) if len(s.strip()) >= 4]
            if len(sents) >= 3:
                real_articles.append((art.title, sents))
        corpus.files.append(dst)
        corpus.chunks.append(len(texts))
    corpus.real_files = len(corpus.files)

    pool = [s for _t, sents in real_articles for s in sents]
    rng = random.Random(seed)
    total = corpus.total_chunks
    n = 0
    while total < min_chunks:
        n += 1
        title, own = real_articles[rng.randrange(len(real_articles))]
        paragraphs = []
        for _p in range(rng.randint(5, 12)):
            para = []
            for _s in range(rng.randint(2, 5)):
                para.append(rng.choice(own) if rng.random() < 0.5 else rng.choice(pool))
            paragraphs.append("".join(s.strip() for s in para))
        text = f"# {title}（{n}）\n\n" + "\n\n".join(paragraphs) + "\n"
        sub = folder / "synth" / f"{n // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"synth_{n:06d}.txt"
        path.write_text(text, encoding="utf-8")
        c = len(file_chunks(text, path.name, settings))
        corpus.files.append(path)
        corpus.chunks.append(c)
        total += c
    corpus.seconds = time.perf_counter() - t0
    return corpus


def write_extra_file(path: str | Path, corpus: Corpus, target_chunks: int = 50, seed: int = 1) -> int:
    """One new synthetic article of about ``target_chunks`` chunks (for the incremental test)."""
    rng = random.Random(seed)
    pool = [s for i, t in enumerate(corpus.real_texts) for line in t.split("\n")[1:] for s in split_sentences(line) if len(s.strip()) >= 4]
    paragraphs: list[str] = []
    path = Path(path)
    text = ""
    while True:
        paragraphs.append("".join(rng.choice(pool).strip() for _ in range(rng.randint(2, 5))))
        text = "# 新增文章：增量索引测试\n\n" + "\n\n".join(paragraphs) + "\n"
        c = len(file_chunks(text, path.name))
        if c >= target_chunks:
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return c


class CachedEncoder:
    """Stand-in for USE at index time (see the module docstring). Not used for queries.

    ``encode`` returns the real vector of a known text, else the re-normalised mean of the
    real vectors of the real chunks the text's sentences come from, plus noise (σ = ``noise``
    per dimension, seeded by the text's SHA-1). ``seconds`` accumulates the time spent here.
    """

    name = DEFAULT_MODEL

    def __init__(self, texts: Sequence[str], vectors: np.ndarray, sentence_home: dict[str, int], noise: float = 0.02):
        self.dim = int(vectors.shape[1])
        self._vectors = np.asarray(vectors, dtype=np.float32)
        self._known = {t: i for i, t in enumerate(texts)}
        self._home = sentence_home
        self._noise = noise
        self.seconds = 0.0
        self.calls = 0
        self.synthetic = 0

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        t0 = time.perf_counter()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for j, text in enumerate(texts):
            i = self._known.get(text)
            if i is not None:
                out[j] = self._vectors[i]
                continue
            self.synthetic += 1
            homes = [
                self._home[s.strip()]
                for line in text.split("\n")[1:]
                for s in split_sentences(line)
                if s.strip() in self._home
            ]
            digest = hashlib.sha1(text.encode("utf-8")).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            if not homes:
                homes = [int.from_bytes(digest[8:12], "little") % len(self._vectors)]
            v = self._vectors[homes].mean(axis=0) + rng.normal(0.0, self._noise, self.dim).astype(np.float32)
            out[j] = v / (np.linalg.norm(v) or 1.0)
        self.calls += len(texts)
        self.seconds += time.perf_counter() - t0
        return out
