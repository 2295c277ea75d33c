"""The Milvus store: one index that bot processes on several machines share.

* :func:`write` stores a :class:`.store.Built` as new collections and then moves the alias
  (``--collection``) onto them: readers see the old index until the new one is whole; the
  previous build's collections are dropped after the switch (layout: :mod:`.milvus_schema`).
* :func:`previous` is what an incremental build may reuse (vectors by text hash, tokens).
* :class:`MilvusIndex` is the :class:`.store.Store` search uses: the metadata (articles,
  passages, sentences, df) in memory, vectors and BM25 in Milvus; ``refresh()`` follows a
  rebuild made elsewhere.

The URI is a Milvus server (``http://HOST:19530``: Milvus standalone or cluster, or
``milvus-lite server``) or a local ``.db`` file (Milvus Lite inside this process). pymilvus is
imported only when a Milvus store is used (``pip install "newsbot-cite[milvus]"``). Every
pymilvus or gRPC error surfaces as :class:`MilvusUnavailable` (exit code 3), whose message says
what to do; calls have short timeouts, so an unreachable server fails in seconds
(:mod:`.milvus_conn`).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

from . import milvus_schema as ms
from .build import TOKEN_SEP, article_from_row, reusable
from .chunking import Unit
from .errors import IndexCorrupt, IndexWriteFailed
from .checks import check_manifest, is_count, passage_problems
from . import milvus_conn as conn
from .milvus_conn import (  # the errors, connect and the timeouts are public here too
    CALL_TIMEOUT,
    CONNECT_TIMEOUT,
    WRITE_TIMEOUT,
    IndexReplaced,
    MilvusIndexNotFound,
    MilvusNotInstalled,
    MilvusUnavailable,
    check_target,
    connect,
    count_rows,
    fetch_vectors,
    ensure_loaded,
    is_milvus_error,
    not_found,
    pymilvus_module,
    read_meta,
    released,
    rebuild_hint,
    resolve,
    translated,
)
from .store import ArticleSentences, Built, Lexical, Previous, Target
from .types import Passage

__all__ = [
    "write", "previous", "MilvusIndex", "connect", "spread", "unreturned",
    "MilvusUnavailable", "MilvusNotInstalled", "MilvusIndexNotFound", "IndexReplaced",
    "CONNECT_TIMEOUT", "CALL_TIMEOUT", "WRITE_TIMEOUT", "LEXICAL_STATS_K",
]

INSERT_BATCH = 1_000  # chunks per insert
MAX_LIMIT = 16_384  # Milvus's largest search limit
# BM25 hits fetched per question for the score's mean and spread over the collection (see
# :func:`spread`): exact when fewer passages match (always in a collection this small).
LEXICAL_STATS_K = 1_000


# -- writing ---------------------------------------------------------------------------------


def _blobs(built: Built) -> dict:
    df: dict[str, int] = {}
    for toks in built.tokens:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    return {
        "manifest": built.manifest,
        "articles": [a.to_dict() for a in built.articles],
        "passages": [p.to_dict() for p in built.passages],
        "hashes": list(built.hashes),
        "df": {"n_docs": len(built.tokens), "df": df},
        "sentences": list(built.sentence_rows),
    }


def write(built: Built, uri: str, collection: str, *, client=None) -> None:
    """Store ``built`` as the index ``collection`` at ``uri``: new collections, then the alias
    moved onto them, then older builds dropped (:func:`_drop_old`: the one just replaced stays
    until the next write). A failed write leaves the alias, and so the index readers see, unchanged."""
    check_target(uri, collection)
    n = len(built.passages)
    vectors = np.asarray(built.vectors, dtype=np.float32)
    if not (vectors.ndim == 2 and len(vectors) == len(built.texts) == len(built.hashes) == len(built.tokens) == n):
        raise ValueError("built: passages, texts, hashes, tokens and vectors differ in length")
    pm = pymilvus_module()
    client = client or connect(uri)
    generation = ms.new_generation()
    chunks = ms.chunks_name(collection, generation)
    meta = ms.meta_name(chunks)
    try:
        with translated(uri):
            old = resolve(client, collection)
            if old is None and client.has_collection(collection, timeout=CALL_TIMEOUT):
                raise IndexWriteFailed(
                    f"Milvus at {uri} has a collection named {collection!r} that is not a newsbot index (newsbot names its index with an alias): "
                    "choose another --collection."
                )
            schema, index = ms.chunk_schema(pm, client, vectors.shape[1], n)
            client.create_collection(chunks, schema=schema, index_params=index, consistency_level="Strong", timeout=WRITE_TIMEOUT)
            for s in range(0, n, INSERT_BATCH):
                rows = [
                    {"id": i, "vector": vectors[i], "text": ms.bm25_text(built.texts[i]), "article": int(built.passages[i].article)}
                    for i in range(s, min(s + INSERT_BATCH, n))
                ]
                client.insert(chunks, rows, timeout=WRITE_TIMEOUT)
            schema, index = ms.meta_schema(pm, client)
            client.create_collection(meta, schema=schema, index_params=index, consistency_level="Strong", timeout=WRITE_TIMEOUT)
            rows = ms.meta_rows(_blobs(built), {"generation": chunks, "passages": n, "dim": int(vectors.shape[1])})
            for s in range(0, len(rows), conn.META_BATCH):  # the contents row last
                client.insert(meta, rows[s : s + conn.META_BATCH], timeout=WRITE_TIMEOUT)
            for name in (chunks, meta):
                client.flush(name, timeout=WRITE_TIMEOUT)
                client.load_collection(name, timeout=WRITE_TIMEOUT)
            count = count_rows(client, chunks)
            if count != n:
                raise IndexWriteFailed(f"Milvus at {uri} holds {count} of the {n} chunks written to {chunks}; the index is unchanged. Run `newsbot index` again.")
            _switch(client, collection, chunks, old)
    except BaseException:
        _drop_unless_current(client, collection, (chunks, meta))
        raise
    with translated(uri):
        _drop_old(client, collection, generation, old)


def _switch(client, alias: str, chunks: str, old: str | None) -> None:
    if old is None:
        try:
            client.create_alias(chunks, alias, timeout=CALL_TIMEOUT)
            return
        except Exception as e:  # another build created it meanwhile: move it
            if not (is_milvus_error(e) and resolve(client, alias)):
                raise
    client.alter_alias(chunks, alias, timeout=CALL_TIMEOUT)


def _drop_old(client, collection: str, generation: str, old: str | None) -> None:
    """Drop the builds before the one the alias pointed at until now, and builds of this alias
    that never became current (a crash mid-write), older than ours: only collections named and
    shaped as ours that no alias points at. The build just replaced (``old``) stays until the
    next build: bots on other machines still search it until they follow the switch (within
    ``refresh_seconds``), and a question must not fail in between. A concurrent build started
    after ours is left alone."""
    for name in client.list_collections(timeout=CALL_TIMEOUT):
        mine = ms.ours(collection, name)
        if mine is None:
            continue
        chunks = name[: -len(ms.META_SUFFIX)] if mine[1] else name
        if not mine[0] < generation or chunks == old:
            continue
        try:
            info = client.describe_collection(name, timeout=CALL_TIMEOUT)
        except Exception as e:
            if is_milvus_error(e) and not_found(e):
                continue  # dropped meanwhile
            raise
        fields = {f["name"] for f in info.get("fields", ())}
        if info.get("aliases") or fields != (ms.META_FIELDS if mine[1] else ms.CHUNK_FIELDS):
            continue
        client.drop_collection(name, timeout=WRITE_TIMEOUT)


def _drop_unless_current(client, collection: str, names) -> None:
    """After a failed write, drop what it made, unless the alias points at it after all (a
    switch that timed out but happened). When Milvus cannot tell, leave them to the next write."""
    try:
        if resolve(client, collection) == names[0]:
            return
        for name in names:
            if client.has_collection(name, timeout=CALL_TIMEOUT):
                client.drop_collection(name, timeout=CALL_TIMEOUT)
    except Exception:
        pass


def previous(uri: str, collection: str, model: str, *, client=None) -> Previous | None:
    """What a build into ``collection`` may reuse: the current manifest, its vectors by text hash
    (same model only), its tokens by article key and its articles. None when there is no index
    or it cannot be read; :class:`MilvusUnavailable` when Milvus cannot be reached."""
    check_target(uri, collection)
    client = client or connect(uri)
    with translated(uri):
        physical = resolve(client, collection)
        if physical is None:
            return None
        try:
            ensure_loaded(client, physical, ms.meta_name(physical))
            data = read_meta(client, ms.meta_name(physical), ("manifest", "articles", "hashes", "sentences"))
            manifest = data["manifest"]
            vectors_ok, tokens_ok = reusable(manifest)
            if not vectors_ok:
                return Previous(manifest, {}, {})
            tokens = {row["h"]: row["t"] for row in data["sentences"]} if tokens_ok else {}
            articles = tuple(article_from_row(a) for a in data["articles"])
            if manifest.get("model") != model:
                return Previous(manifest, {}, tokens, articles)
            hashes = data["hashes"]
            vecs = fetch_vectors(client, physical, np.arange(len(hashes)), int(manifest["dim"]))
            return Previous(manifest, dict(zip(hashes, vecs)), tokens, articles)
        except (IndexCorrupt, ValueError, KeyError, TypeError, AttributeError):
            return None


def spread(scores: np.ndarray, size: int, tail: float = 0.0) -> tuple[float, float]:
    """Mean and standard deviation of the BM25 score over all ``size`` passages, from the best
    ``scores`` (descending) Milvus returned: ``tail`` more passages have a score below the last
    one returned, taken as spread evenly between 0 and it; the rest score 0. Exact when every
    passage with a score was returned (``tail`` 0)."""
    if size <= 0:
        return 0.0, 0.0
    s = np.asarray(scores, dtype=np.float64)
    low = float(s[-1]) if tail > 0 and s.size else 0.0
    mean = (float(s.sum()) + tail * low / 2) / size
    square = (float((s * s).sum()) + tail * low * low / 3) / size
    return mean, float(np.sqrt(max(square - mean * mean, 0.0)))


def unreturned(terms: list[str], df: dict, n_docs: int, returned: int) -> float:
    """How many passages hold one of ``terms`` (our tokens) beyond the ``returned`` ones, from their
    document frequencies, taking the terms as independent."""
    if n_docs <= 0:
        return 0.0
    none = 1.0
    for t in set(terms):
        none *= 1.0 - min(int(df.get(t, 0)), n_docs) / n_docs
    return max(n_docs * (1.0 - none) - returned, 0.0)


class MilvusIndex:
    """A loaded Milvus index (:class:`.store.Store`): metadata in memory, searches in Milvus."""

    def __init__(self, client, uri: str, collection: str, physical: str, data: dict, parsed: tuple, size: int, model_arg: str | None):
        self.client = client
        self.uri = uri
        self.collection = collection
        self.physical = physical
        self.location = f"collection {collection!r} at {uri}"
        self.target = Target(milvus=uri, collection=collection)
        self.manifest = data["manifest"]
        self.articles, self.passages = parsed
        self.df = data["df"]["df"]
        self.n_docs = data["df"]["n_docs"]
        self._sentence_rows = data["sentences"]
        self._size = size
        self._model_arg = model_arg
        self._dense_params = ms.dense_index(size)[1]
        self._samples: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self.stats_k = LEXICAL_STATS_K  # BM25 hits per question for the score statistics
        self._units = [0] * len(self.articles)  # units per article: where its last passage stops
        for p in self.passages:
            self._units[p.article] = max(self._units[p.article], p.sentences[1])

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(cls, uri: str, collection: str, model: str | None = None, *, client=None) -> "MilvusIndex":
        """Load and check the index ``collection`` at ``uri``; ``model``, when given, must be the
        one it was built with."""
        check_target(uri, collection)
        client = client or connect(uri)
        for attempt in range(2):  # a rebuild may drop the build we resolved before we read it
            with translated(uri):
                physical = resolve(client, collection)
                if physical is None:
                    raise MilvusIndexNotFound(uri, collection)
                try:
                    ensure_loaded(client, physical, ms.meta_name(physical))
                    data = read_meta(client, ms.meta_name(physical))
                    size = count_rows(client, physical)
                    info = client.describe_collection(physical, timeout=CALL_TIMEOUT)
                    break
                except IndexCorrupt as e:
                    if attempt == 0 and resolve(client, collection) != physical:
                        continue
                    raise IndexCorrupt(f"The index {collection!r} in Milvus at {uri} is damaged: {e}. {rebuild_hint(uri, collection)}") from None
                except Exception as e:
                    if attempt == 0 and is_milvus_error(e) and not_found(e):
                        continue
                    raise
        dim = next((f.get("params", {}).get("dim") for f in info.get("fields", ()) if f["name"] == "vector"), None)
        parsed = cls._check(uri, collection, model, data, size, dim)
        return cls(client, uri, collection, physical, data, parsed, size, model)

    @staticmethod
    def _check(uri: str, collection: str, model: str | None, data: dict, size: int, dim) -> tuple[list, list]:
        """What :meth:`.index.Index.load` checks, for the metadata read from Milvus: (articles, passages)."""
        where = f"The index {collection!r} in Milvus at {uri}"
        hint = rebuild_hint(uri, collection)
        manifest = data["manifest"]
        check_manifest(manifest, model, where, hint, f"--milvus {uri} --collection {collection}")
        try:
            articles = [article_from_row(a) for a in data["articles"]]
            passages = [Passage(**{**p, "paragraphs": tuple(p["paragraphs"]), "sentences": tuple(p["sentences"])}) for p in data["passages"]]
        except (TypeError, KeyError, ValueError) as e:
            raise IndexCorrupt(f"{where} is damaged ({type(e).__name__}: {e}). {hint}") from None
        n, stats = len(passages), data["df"]
        problems = []
        if manifest["passages"] != n:
            problems.append(f"manifest says {manifest['passages']} passages, the metadata has {n}")
        if size != n:
            problems.append(f"Milvus has {size} chunks for {n} passages")
        if dim is not None and int(dim) != manifest["dim"]:
            problems.append(f"vector dimension {dim} is not the manifest's {manifest['dim']}")
        if not isinstance(data["sentences"], list) or len(data["sentences"]) != len(articles):
            problems.append(f"{len(data['sentences'])} sentence rows for {len(articles)} articles")
        if not (isinstance(stats, dict) and isinstance(stats.get("df"), dict) and is_count(stats.get("n_docs"))):
            problems.append('df is not {"n_docs": N, "df": {...}}')
        problems += passage_problems(articles, passages)
        if problems:
            raise IndexCorrupt(f"{where} is inconsistent: {'; '.join(problems[:3])}. {hint}")
        return articles, passages

    def refresh(self) -> "MilvusIndex | None":
        """The index anew when the alias points at another build than this one (someone rebuilt
        it, maybe on another machine), else None."""
        with translated(self.uri):
            physical = resolve(self.client, self.collection)
        if physical is None or physical == self.physical:
            return None
        return type(self).open(self.uri, self.collection, self._model_arg, client=self.client)

    def close(self) -> None:
        self.client.close()

    # -- Store -----------------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    @property
    def size(self) -> int:
        return self._size

    def generation(self) -> str:
        return self.physical

    @contextmanager
    def _calls(self):
        gone = IndexReplaced(
            f"The index {self.collection!r} in Milvus at {self.uri} was rebuilt while in use (its build {self.physical} is gone): ask again."
        )
        with translated(self.uri, gone):
            yield

    def _retrying(self, call):
        """``call()``, again once after loading the collections when the server held them
        released (it restarted): searches recover by themselves when Milvus is back."""
        try:
            with self._calls():
                return call()
        except MilvusUnavailable as e:
            if not released(e):
                raise
        with self._calls():
            ensure_loaded(self.client, self.physical, ms.meta_name(self.physical))
            return call()

    def _search(self, data, field: str, limit: int, params: dict, expr: str = "") -> tuple[np.ndarray, np.ndarray]:
        res = self._retrying(lambda: self.client.search(
            self.physical, data=[data], anns_field=field, limit=limit, filter=expr, output_fields=["id"], search_params=params, timeout=CALL_TIMEOUT
        ))
        hits = res[0] if res else []
        ids = np.fromiter((int(h["id"]) for h in hits), dtype=np.int64, count=len(hits))
        dist = np.fromiter((float(h["distance"]) for h in hits), dtype=np.float32, count=len(hits))
        return ids, dist

    def dense_search(self, q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(n, self._size, MAX_LIMIT)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self._search(np.asarray(q, dtype=np.float32).ravel().tolist(), "vector", k, self._dense_params)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        return self._retrying(lambda: fetch_vectors(self.client, self.physical, ids, self.dim))

    def sample(self, n: int) -> np.ndarray:
        with self._lock:
            if n not in self._samples:
                ids = np.unique(np.linspace(0, max(self._size - 1, 0), num=min(self._size, n)).astype(np.int64))
                self._samples[n] = self.vectors(ids) if self._size else np.zeros((0, self.dim), np.float32)
            return self._samples[n]

    def _bm25(self, text: str, limit: int, expr: str = "") -> tuple[np.ndarray, np.ndarray]:
        ids, dist = self._search(text, "sparse", limit, {"metric_type": "BM25"}, expr)
        # Milvus Lite returns -score, Milvus the score (BM25 is >= 0); on the local store's scale
        return ids, (np.abs(dist) * ms.BM25_SCALE).astype(np.float32)

    def lexical(self, terms: list[str], text: str, n: int) -> Lexical:
        """Milvus's BM25 of the question ``text`` (Milvus analyses it with jieba, as tokenize.py
        does, and drops the same stop words). The mean and spread come from the best ``stats_k``
        hits, and when there are more passages with a score, from an estimate of how many from
        the ``terms``' document frequencies (:func:`spread`, :func:`unreturned`): Milvus returns
        top hits only. ``scores`` asks Milvus for the ids not among the hits."""
        text = ms.bm25_text(text)
        k = min(self._size, max(n, self.stats_k), MAX_LIMIT)
        if k <= 0 or not text.strip():
            return Lexical(np.zeros(0, np.int64), 0.0, 0.0, lambda ids: np.zeros(len(ids), np.float32))
        ids, scores = self._bm25(text, k)
        complete = len(ids) < k or k >= self._size  # every passage with a score was returned
        tail = 0.0 if complete else unreturned(terms, self.df, self.n_docs, len(ids))
        mean, std = spread(scores, self._size, tail)
        known = dict(zip(ids.tolist(), scores.tolist()))

        def score_of(want: np.ndarray) -> np.ndarray:
            want = np.asarray(want, dtype=np.int64).ravel()
            missing = [] if complete else sorted({int(i) for i in want} - known.keys())
            for s in range(0, len(missing), conn.ID_BATCH):
                batch = missing[s : s + conn.ID_BATCH]
                got_ids, got = self._bm25(text, len(batch), f"id in {batch}")
                known.update(dict.fromkeys(batch, 0.0))
                known.update(zip(got_ids.tolist(), got.tolist()))
            return np.array([known.get(int(i), 0.0) for i in want], dtype=np.float32)

        return Lexical(ids[:n], mean, std, score_of)

    def sentences(self, article: int) -> ArticleSentences:
        """The units of ``article`` and their tokens, as :meth:`.index.Index.sentences`."""
        paragraphs = self.articles[article].paragraphs
        try:
            row = self._sentence_rows[article]
            where, joined = row["u"], row["t"]
            ok = len(where) == len(joined) == self._units[article] and all(
                is_count(n) and 1 <= n <= len(paragraphs) and is_count(a) and is_count(b) and a < b <= len(paragraphs[n - 1]) for n, a, b in where
            )
        except (ValueError, KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            raise IndexCorrupt(
                f"The index {self.collection!r} in Milvus at {self.uri} is damaged: its sentences of article {article} do not match the article. "
                + rebuild_hint(self.uri, self.collection)
            )
        units = [Unit(n, paragraphs[n - 1][a:b]) for n, a, b in where]
        return ArticleSentences(units, [t.split(TOKEN_SEP) if t else [] for t in joined])
