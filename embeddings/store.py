"""Where an index lives, as search sees it: one interface, two implementations.

* :class:`.index.Index`: a folder (FAISS + bm25s + JSON lines), the default;
* :class:`.milvus.MilvusIndex`: a Milvus collection (Milvus Lite file or server, Milvus
  standalone or cluster), for archives and bot fleets past one machine.

Search (:class:`.search.Retriever`), the CLI and the bot use only what :class:`Store` declares;
building produces one :class:`Built` that each store writes its own way. Where to build or
read is a :class:`Target`: a folder, or a Milvus URI and collection name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple, Protocol

import numpy as np

from .chunking import Unit
from .types import Article, Passage


class ArticleSentences(NamedTuple):
    units: list[Unit]  # the article's sentence units, as chunked when the index was built
    tokens: list[list[str]]  # the jieba tokens of each unit


class Lexical(NamedTuple):
    """A keyword (BM25) search: the best ids, the score's spread over the whole collection
    (for z-score fusion), and the exact score of any ids."""

    top: np.ndarray  # int64 ids of the best ``n``, best first
    mean: float
    std: float
    scores: Callable[[np.ndarray], np.ndarray]  # ids -> float32 BM25 scores


class Built(NamedTuple):
    """An index as built, before it is written (by :func:`.index.build_index`)."""

    manifest: dict  # format_version, model, dim, chunker, files, readers, passages, articles, created, …
    articles: list[Article]
    passages: list[Passage]
    texts: list[str]  # what was embedded for each passage: headline context + the chunk
    hashes: list[str]  # sha1 of each embedded text (the embedding cache key)
    vectors: np.ndarray  # float32, (passages, dim), L2-normalised
    tokens: list[list[str]]  # the BM25 tokens of each passage (jieba; headline context + sentences)
    sentence_rows: list[dict]  # per article: {"h": key, "t": joined tokens per unit, "u": [paragraph, start, end] per unit}


class Previous(NamedTuple):
    """What a build may reuse of the index it replaces."""

    manifest: dict
    vectors: dict  # sha1 of a chunk's embedded text -> its vector (same model only)
    tokens: dict  # article key (see build_index) -> its units' joined tokens (same format only)
    articles: tuple[Article, ...] = ()  # what it parsed (PDFs and scans are not parsed again)


class Store(Protocol):
    """A loaded index, wherever it lives."""

    location: str  # for messages: a folder, or "COLLECTION at URI"
    manifest: dict
    articles: list[Article]
    passages: list[Passage]
    df: dict  # term -> passages holding it (our jieba tokens)
    n_docs: int

    @property
    def model(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def size(self) -> int:  # vectors searchable
        ...

    def sentences(self, article: int) -> ArticleSentences: ...

    def lexical(self, terms: list[str], text: str, n: int) -> Lexical: ...

    def dense_search(self, q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:  # (ids, cosines), best first
        ...

    def vectors(self, ids: np.ndarray) -> np.ndarray: ...

    def sample(self, n: int) -> np.ndarray:  # n vectors evenly spaced over the collection
        ...

    def generation(self) -> str:  # changes whenever the index is rebuilt
        ...


class Target(NamedTuple):
    """Where an index is built and read: ``folder``, or ``milvus`` (a URI) and ``collection``."""

    folder: Path | None = None
    milvus: str | None = None
    collection: str = "newsbot"

    @property
    def is_milvus(self) -> bool:
        return self.milvus is not None

    def __str__(self) -> str:
        return f"collection {self.collection!r} at {self.milvus}" if self.is_milvus else str(self.folder)
