"""The index: building it from a corpus and loading it for search (its folder's layout below).

Layout of an index folder (row i of FAISS = passage i = BM25 document i)::

    manifest.json      format version, model name and dimension, chunker settings, file hashes
    articles.jsonl     one Article a line
    passages.jsonl     one Passage a line
    hashes.json        sha1 of each passage's embedded text (the embedding cache key)
    sentences.jsonl    per article: where each sentence unit is in its paragraph, and its jieba
                       tokens (excerpts; build cache); Passage.sentences indexes these units
    dense.faiss        FAISS inner-product index over L2-normalised vectors
    df.json            document frequency of each BM25 token (for excerpts and abstention)
    bm25/              bm25s index over jieba tokens

A build writes a sibling temporary folder and swaps it in with two renames under a lock file,
so a failed or killed build leaves the previous index loadable (see :mod:`.folder`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from .bm25 import BM25Index, write_bm25
from .chunking import ChunkSettings, Unit
from .dense import ANN_THRESHOLD, faiss_params, index_kind, make_faiss
from .fusion import top_n
from .encoders import Encoder, canonical_name
from .errors import CorpusError, IndexCorrupt, IndexWriteFailed, IndexNotFound, rebuild_hint
from .folder import (
    MANIFEST,
    Lines,
    backups,
    check_index_dir,
    discard,
    fsync_dir,
    locked,
    read_jsonl,
    read_manifest,
    recover,
    start_temp,
    swap,
    temp_dir,
    write_json,
    write_jsonl,
)
from .build import (
    TOKEN_SEP,
    BuildReport,
    Progress,
    Warn,
    article_from_row,
    no_text,
    prepare,
    read_corpus,
    reusable,
    reusable_articles,
    up_to_date,
)
from .checks import check_manifest, is_count, passage_problems
from .store import ArticleSentences, Built, Lexical, Previous, Target
from .types import Article, Passage

MMAP_ABOVE = ANN_THRESHOLD  # passages: a larger index's BM25 arrays are memory-mapped, not read
MAX_REASON_CHARS = 200  # of a failed write's error, in the message
MAX_PROBLEMS_SHOWN = 3  # inconsistencies named in the message about a damaged index



def build_index(
    paths: Sequence[str | os.PathLike],
    index_dir: str | os.PathLike | Target,
    model: str | None = None,
    settings: ChunkSettings | None = None,
    *,
    encoder: Encoder | None = None,
    warn: Warn = lambda m: None,
    progress: Progress | None = None,
    force: bool = False,
    max_file_chars: int | None = None,
) -> BuildReport:
    """Index the files under ``paths`` (text, HTML, PDF, Word, scans; and ``http(s)://`` pages)
    into ``index_dir`` (a folder, or a :class:`.store.Target`: a folder or a Milvus collection),
    atomically: readers see the old index until the new one is whole.

    A file contributes at most ``max_file_chars`` characters (default ``files.MAX_FILE_CHARS``).
    Embeddings of chunks whose embedded text is unchanged are taken from the previous index, and
    a PDF or scan whose bytes are unchanged is not read again. An unchanged corpus with
    unchanged settings is not rebuilt at all.
    """
    target = index_dir if isinstance(index_dir, Target) else Target(folder=Path(index_dir))
    settings = settings or ChunkSettings()
    model = encoder.name if encoder is not None else canonical_name(model)
    if target.is_milvus:
        return _build_milvus(paths, target, model, settings, encoder=encoder, warn=warn, progress=progress, force=force, max_file_chars=max_file_chars)
    t0 = time.perf_counter()
    index_dir = Path(target.folder).expanduser().absolute()
    if index_dir.is_symlink():
        index_dir = index_dir.resolve()  # replace the folder the link points to, keep the link
    check_index_dir(index_dir, paths)  # before any work: refuse a folder that is not ours
    report = BuildReport(index_dir)
    corpus = read_corpus(paths, warn, max_file_chars, _reusable_in(index_dir))
    report.files, report.articles, report.skipped = len(corpus.files), len(corpus.articles), corpus.skipped
    if not corpus.articles:
        raise CorpusError(no_text(paths))

    with locked(index_dir):
        recover(index_dir)
        check_index_dir(index_dir)  # again under the lock: the folder may have changed meanwhile
        previous = _load_previous(index_dir, model)
        if not force and up_to_date(previous, corpus, settings, model):
            return _unchanged(report, previous, t0)
        built, report.embedded = prepare(corpus, model, settings, previous, encoder=encoder, progress=progress)
        report.passages = len(built.passages)
        report.reused = report.passages - report.embedded
        _write_folder(index_dir, built, t0)
    report.seconds = time.perf_counter() - t0
    return report


def _unchanged(report: BuildReport, previous: Previous, t0: float) -> BuildReport:
    report.up_to_date = True
    report.passages = report.reused = previous.manifest.get("passages", 0)
    report.seconds = time.perf_counter() - t0
    return report


def _build_milvus(paths, target: Target, model: str, settings: ChunkSettings, *, encoder, warn, progress, force, max_file_chars) -> BuildReport:
    """The same build into a Milvus collection (:mod:`.milvus`: new collections, then the alias switched)."""
    from . import milvus  # pymilvus: imported only when a Milvus store is used

    t0 = time.perf_counter()
    report = BuildReport(str(target))
    # One client for the whole build: a Milvus Lite .db file is served by this process, once.
    client = milvus.connect(target.milvus)
    previous = milvus.previous(target.milvus, target.collection, model, client=client)
    corpus = read_corpus(paths, warn, max_file_chars, reusable_articles(previous.manifest, previous.articles) if previous else None)
    report.files, report.articles, report.skipped = len(corpus.files), len(corpus.articles), corpus.skipped
    if not corpus.articles:
        raise CorpusError(no_text(paths))
    if not force and up_to_date(previous, corpus, settings, model):
        return _unchanged(report, previous, t0)
    built, report.embedded = prepare(corpus, model, settings, previous, encoder=encoder, progress=progress)
    report.passages = len(built.passages)
    report.reused = report.passages - report.embedded
    milvus.write(built._replace(manifest=built.manifest | {"build_seconds": round(time.perf_counter() - t0, 3)}), target.milvus, target.collection, client=client)
    report.seconds = time.perf_counter() - t0
    return report


def _write_folder(index_dir: Path, built: Built, t0: float) -> None:
    """Write ``built`` into a temporary sibling of ``index_dir`` and swap it in (under the caller's lock)."""
    tmp = temp_dir(index_dir)
    try:
        start_temp(tmp)
        kind = index_kind(len(built.passages))
        _write_files(tmp, built.articles, built.passages, built.hashes, built.vectors, built.tokens, kind)
        write_jsonl(tmp / "sentences.jsonl", built.sentence_rows)
        manifest = built.manifest | {
            "index_type": f"{kind}-ip",
            "faiss": faiss_params(len(built.passages)) if kind == "ivf" else {},
            "build_seconds": round(time.perf_counter() - t0, 3),
        }
        write_json(tmp / MANIFEST, manifest)  # written last: its presence marks a whole index
        fsync_dir(tmp)
        swap(tmp, index_dir)
        fsync_dir(index_dir.parent)
    except BaseException as e:
        discard(tmp)
        if isinstance(e, (OSError, RuntimeError)):  # faiss reports a failed write as RuntimeError
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e).strip().splitlines()[-1][:MAX_REASON_CHARS]
            raise IndexWriteFailed(
                f"Cannot write the index at {index_dir}: {why}. The previous index there is unchanged; "
                "free some space (or choose another --index-dir) and run `newsbot index` again."
            ) from None
        raise


def _reusable_in(index_dir: Path) -> dict[str, tuple[Article, ...]]:
    """:func:`.build.reusable_articles` of the index in ``index_dir``, if there is one."""
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        return reusable_articles(manifest, [article_from_row(a) for a in read_jsonl(index_dir / "articles.jsonl")])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # no index yet, or one that cannot be read: parse everything


def _write_files(folder: Path, articles, passages, hashes, vectors, tokens, kind: str = "flat") -> None:
    import faiss  # native code: imported only where an index is read or written

    write_jsonl(folder / "articles.jsonl", (a.to_dict() for a in articles))
    write_jsonl(folder / "passages.jsonl", (p.to_dict() for p in passages))
    write_json(folder / "hashes.json", hashes)
    faiss.write_index(make_faiss(vectors, kind), str(folder / "dense.faiss"))
    df = Counter()
    for toks in tokens:
        df.update(set(toks))
    write_json(folder / "df.json", {"n_docs": len(tokens), "df": df})
    write_bm25(folder / "bm25", tokens)


def _load_previous(index_dir: Path, model: str) -> Previous | None:
    """The old index's manifest and its vectors by text hash, if it can be reused at all."""
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        vectors_ok, tokens_ok = reusable(manifest)
        if not vectors_ok:
            return Previous(manifest, {}, {})
        sentences = {}  # the tokens of each article's sentences
        with contextlib.suppress(OSError, ValueError, KeyError):
            sentences = {row["h"]: row["t"] for row in read_jsonl(index_dir / "sentences.jsonl")} if tokens_ok else {}
        if manifest.get("model") != model:
            return Previous(manifest, {}, sentences)
        import faiss

        hashes = json.loads((index_dir / "hashes.json").read_text(encoding="utf-8"))
        index = faiss.read_index(str(index_dir / "dense.faiss"))
        if hasattr(index, "make_direct_map"):
            index.make_direct_map()
        if index.ntotal != len(hashes):
            return Previous(manifest, {}, sentences)
        vecs = index.reconstruct_n(0, index.ntotal)
        return Previous(manifest, dict(zip(hashes, vecs)), sentences)
    except Exception:
        return None


class Index:
    """A loaded index folder: articles, passages, FAISS, BM25 and token statistics (a :class:`.store.Store`)."""

    def __init__(self, path: Path, manifest: dict, articles: list[Article], passages: list[Passage], dense, bm25, df: dict, n_docs: int, sentences: "Lines"):
        self.path = path
        self.location = str(path)
        self.target = Target(folder=path)
        self.manifest = manifest
        self.articles = articles
        self.passages = passages
        self.dense = dense
        self.bm25 = bm25
        self.df = df
        self.n_docs = n_docs
        self._sentences = sentences
        self.asked = path  # the folder asked for (``path`` may be the previous build, mid-swap)
        self._units = [0] * len(articles)  # units per article: where its last passage stops
        for p in passages:
            self._units[p.article] = max(self._units[p.article], p.sentences[1])

    def sentences(self, article: int) -> ArticleSentences:
        """The units of ``article`` and their tokens, read on demand from sentences.jsonl."""
        paragraphs = self.articles[article].paragraphs
        try:
            row = json.loads(self._sentences[article])
            where, joined = row["u"], row["t"]
            ok = len(where) == len(joined) == self._units[article] and all(
                is_count(n) and 1 <= n <= len(paragraphs) and is_count(a) and is_count(b) and a < b <= len(paragraphs[n - 1])
                for n, a, b in where
            )
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise IndexCorrupt(
                f"The index at {self.path} is damaged: its sentences of article {article} do not match the article. {rebuild_hint(self.path)}"
            )
        units = [Unit(n, paragraphs[n - 1][a:b]) for n, a, b in where]
        return ArticleSentences(units, [t.split(TOKEN_SEP) if t else [] for t in joined])

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def size(self) -> int:
        return int(self.dense.ntotal)

    def lexical(self, terms: list[str], text: str, n: int) -> Lexical:
        """BM25 over every passage (bm25s): the best ``n``, and exact statistics."""
        known = [t for t in terms if t in self.bm25.vocab_dict]
        scores = self.bm25.get_scores(known).astype(np.float32) if known else np.zeros(len(self.passages), np.float32)
        top = top_n(scores, n) if np.any(scores) else np.zeros(0, np.int64)
        return Lexical(top, float(scores.mean()) if scores.size else 0.0, float(scores.std()) if scores.size else 0.0, lambda ids: scores[ids])

    def dense_search(self, q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(n, self.dense.ntotal)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        dist, ids = self.dense.search(q[None, :].astype(np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), dist[0][keep]

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        return self.dense.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def sample(self, n: int) -> np.ndarray:
        d = self.dense
        ids = np.unique(np.linspace(0, max(d.ntotal - 1, 0), num=min(d.ntotal, n)).astype(np.int64))
        return d.reconstruct_batch(ids) if d.ntotal else np.zeros((0, d.d), np.float32)

    def refresh(self) -> "Index | None":
        """The index anew when its folder was rebuilt since this one was loaded (by `newsbot index`,
        maybe in another process), else None: one small file read, for servers that follow
        rebuilds. The model must stay the one this index was built with (IndexMismatch)."""
        current = read_manifest(self.asked)
        if current is None or current == self.manifest:
            return None
        return Index.load(self.asked, model=self.manifest["model"])

    def generation(self) -> str:
        """Changes whenever the folder is rebuilt (the manifest's time and content)."""
        h = hashlib.sha1(json.dumps(self.manifest, sort_keys=True, default=str).encode())
        with contextlib.suppress(OSError):
            h.update(str((Path(self.path) / MANIFEST).stat().st_mtime_ns).encode())
        return h.hexdigest()[:8]

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    @classmethod
    def load(cls, index_dir: str | os.PathLike, model: str | None = None) -> "Index":
        """Load and check an index; ``model``, when given, must be the one it was built with."""
        path = asked = Path(index_dir).expanduser().absolute()
        if not (path / MANIFEST).exists():
            old = [p for p in backups(path) if (p / MANIFEST).exists()]
            if old:
                path = old[-1]  # a build was killed mid-swap: the previous index is still whole
            elif path.exists() and any(path.iterdir()):
                raise IndexCorrupt(f"{path} has no {MANIFEST}: it is not a newsbot index, or a build was interrupted. {rebuild_hint(path)}")
            else:
                raise IndexNotFound(path)
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise IndexCorrupt(f"The manifest of the index at {path} cannot be read ({e}). {rebuild_hint(path)}") from None
        if not isinstance(manifest, dict):
            raise IndexCorrupt(f"The manifest of the index at {path} is not a JSON object. {rebuild_hint(path)}")
        check_manifest(manifest, model, f"The index at {path}", rebuild_hint(path), f"--index-dir {path}")
        try:
            import faiss  # native code: imported only where an index is read or written

            articles = [article_from_row(a) for a in read_jsonl(path / "articles.jsonl")]
            passages = [Passage(**{**p, "paragraphs": tuple(p["paragraphs"]), "sentences": tuple(p["sentences"])}) for p in read_jsonl(path / "passages.jsonl")]
            dense = faiss.read_index(str(path / "dense.faiss"))
            if hasattr(dense, "nprobe") and manifest.get("faiss"):
                dense.nprobe = int(manifest["faiss"]["nprobe"])
                dense.make_direct_map()
            bm25 = BM25Index(path / "bm25", mmap=len(passages) > MMAP_ABOVE)
            stats = json.loads((path / "df.json").read_text(encoding="utf-8"))
            sentence_lines = Lines(path / "sentences.jsonl")
        except Exception as e:
            raise IndexCorrupt(f"The index at {path} is damaged ({type(e).__name__}: {e}). {rebuild_hint(path)}") from None
        n = len(passages)
        problems = []
        if manifest["passages"] != n:
            problems.append(f"manifest says {manifest['passages']} passages, passages.jsonl has {n}")
        if dense.ntotal != n:
            problems.append(f"FAISS has {dense.ntotal} vectors for {n} passages")
        if dense.d != manifest["dim"]:
            problems.append(f"FAISS dimension {dense.d} is not the manifest's {manifest['dim']}")
        if bm25.num_docs != n:
            problems.append(f"BM25 has {bm25.num_docs} documents for {n} passages")
        if len(sentence_lines) != len(articles):
            problems.append(f"sentences.jsonl has {len(sentence_lines)} rows for {len(articles)} articles")
        if not (isinstance(stats, dict) and isinstance(stats.get("df"), dict) and is_count(stats.get("n_docs"))):
            problems.append("df.json is not {\"n_docs\": N, \"df\": {...}}")
        problems += passage_problems(articles, passages)
        if not problems and not bm25.mmapped:
            problems += bm25.problems()  # a memory-mapped (large) index is checked as it is read
        if problems:
            raise IndexCorrupt(f"The index at {path} is inconsistent: {'; '.join(problems[:MAX_PROBLEMS_SHOWN])}. {rebuild_hint(path)}")
        index = cls(path, manifest, articles, passages, dense, bm25, stats["df"], stats["n_docs"], sentence_lines)
        index.asked = asked
        return index


def open_store(where: str | os.PathLike | Target, model: str | None = None):
    """The index in a folder (:class:`Index`) or a Milvus collection (:class:`.milvus.MilvusIndex`)."""
    if isinstance(where, Target) and where.is_milvus:
        from .milvus import MilvusIndex  # pymilvus: imported only when a Milvus store is used

        return MilvusIndex.open(where.milvus, where.collection, model=model)
    return Index.load(where.folder if isinstance(where, Target) else where, model=model)
