"""The peer: the retrieval most Chinese RAG bots ship, configured as Langchain-Chatchat does it.

LangChain's ``EnsembleRetriever`` (weighted reciprocal-rank fusion, weights 0.5/0.5) over

* a ``BM25Retriever`` (rank_bm25's BM25Okapi) with ``preprocess_func=jieba.lcut_for_search``, and
* a ``FAISS`` vector store (``normalize_L2=True``, L2 distance: cosine order) searched through
  ``as_retriever(search_kwargs={"k": k})``,

built over exactly newsbot's chunks: the same embedded text (headline + chunk) and the same
vectors (read back from the newsbot index's FAISS file, i.e. the same USE encoder), and queried
through the same USE encoder wrapped as a LangChain ``Embeddings``.

The peer has no excerpt step and never abstains: a result's "excerpt" is its chunk's text cut
to 300 characters, and its source is the chunk's source file. It marks no answer either; for
highlight@1 it is given the mark a simple RAG front end would add: the sentence of the excerpt
sharing most character bigrams with the question.

    pip install "langchain-core==1.8.3" "langchain-community==0.4.2" "langchain-classic==1.0.8" "rank_bm25==0.2.2"
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from newsbot.embeddings.chunking import context_of, embed_text, split_sentences
from newsbot.embeddings.excerpt import MAX_EXCERPT, char_ngrams, query_grams
from newsbot.embeddings.index import Index
from newsbot.embeddings.types import Answer, Hit

warnings.filterwarnings("ignore", category=DeprecationWarning)


def _lc():
    # Imported here: only the peer benchmark needs LangChain.
    import jieba
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings

    return jieba, EnsembleRetriever, BM25Retriever, FAISS, DistanceStrategy, Document, Embeddings


def make_embeddings(encoder):
    """Wrap a newsbot encoder (``encode(texts) -> normalised float32 rows``) as LangChain Embeddings."""
    Embeddings = _lc()[6]

    class NewsbotEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return encoder.encode(list(texts)).tolist()

        def embed_query(self, text: str) -> list[float]:
            return encoder.encode([text])[0].tolist()

    return NewsbotEmbeddings()


class Peer:
    """EnsembleRetriever(BM25 + FAISS, 0.5/0.5) over a newsbot index's chunks."""

    def __init__(self, index: Index, encoder, k: int = 10, vectors: np.ndarray | None = None):
        jieba, EnsembleRetriever, BM25Retriever, FAISS, DistanceStrategy, Document, _E = _lc()
        import logging

        jieba.setLogLevel(logging.WARNING)
        self.index = index
        self.k = k
        arts = {a.id: a for a in index.articles}
        texts = [embed_text(p, context_of(arts[p.article])) for p in index.passages]
        metas = [{"pid": p.id} for p in index.passages]
        if vectors is None:
            vectors = index.dense.reconstruct_n(0, index.dense.ntotal)
        self.embeddings = make_embeddings(encoder)
        self.bm25 = BM25Retriever.from_texts(texts, metadatas=metas, preprocess_func=jieba.lcut_for_search)
        self.bm25.k = k
        self.store = FAISS.from_embeddings(
            list(zip(texts, (v for v in np.asarray(vectors, dtype=np.float32)))),
            self.embeddings,
            metadatas=metas,
            normalize_L2=True,  # as Chatchat: L2 distance over normalised vectors (= cosine order)
        )
        self.dense = self.store.as_retriever(search_kwargs={"k": k})
        self.ensemble = EnsembleRetriever(retrievers=[self.bm25, self.dense], weights=[0.5, 0.5])

    def search(self, query: str) -> list[int]:
        """Passage ids, best first (up to 2k: the union of both retrievers' top k)."""
        return [d.metadata["pid"] for d in self.ensemble.invoke(query)]

    def ask(self, query: str, k: int = 10) -> Answer:
        """An :class:`Answer` for ``embeddings.evaluate.evaluate``: chunk text as the excerpt."""
        hits = []
        for rank, pid in enumerate(self.search(query)[:k], 1):
            p = self.index.passages[pid]
            excerpt = p.text[:MAX_EXCERPT]
            hits.append(
                Hit(rank=rank, score=0.0, title=p.title, source=p.source, paragraphs=tuple(p.paragraphs),
                    excerpt=excerpt, highlight=mark(query, excerpt), text=p.text, article=p.article, passages=(pid,))
            )
        return Answer(query, bool(hits), tuple(hits))


def mark(query: str, excerpt: str) -> tuple[int, int]:
    """``[start, end)`` of the excerpt's sentence sharing most character bigrams with the query
    (the first on ties)."""
    grams = query_grams(query)
    best, span, pos = -1, (0, 0), 0
    for sentence in split_sentences(excerpt):
        start = excerpt.find(sentence, pos)
        if start < 0:
            continue
        pos = start + len(sentence)
        n = len(grams & char_ngrams(sentence))
        if n > best:
            best, span = n, (start, pos)
    return span


def build_peer(index: Index, encoder, k: int = 10) -> Peer:
    return Peer(index, encoder, k=k)


__all__: Sequence[str] = ["Peer", "build_peer", "make_embeddings"]
