"""The index folder: the only module that writes to disk.

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
so a failed or killed build leaves the previous index loadable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np

from .chunking import ChunkSettings, Unit, chunk_articles, context_of, embed_text
from .encoders import Encoder, canonical_name, load_encoder
from .errors import CorpusError, IndexCorrupt, IndexLocked, IndexWriteFailed, IndexMismatch, IndexNotFound, UsageError, rebuild_hint
from .ingest import iter_corpus, parse_page
from .printable import printable
from .tokenize import tokenize_many
from .types import Article, Passage

FORMAT_VERSION = 3  # 3: passages record their sentence range; sentences.jsonl where each sentence is
TOKEN_SEP = "\x1f"  # joins one sentence's tokens in sentences.jsonl
MANIFEST = "manifest.json"
# Above this many chunks FAISS uses an inverted-file index (approximate); below, exact inner
# product search. IVF was chosen over HNSW by measurement: at 100k vectors HNSW (M=32) took
# ~110 s to build on 2 cores, IVF ~15 s, and IVF searches in ~1-2 ms scanning 1/8 of its lists.
ANN_THRESHOLD = 50_000
IVF_PROBE_SHARE = 8  # nprobe = nlist / 8

Warn = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass
class BuildReport:
    index_dir: Path
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    articles: int = 0
    passages: int = 0
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    up_to_date: bool = False

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["index_dir"] = str(self.index_dir)
        return d


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


MARKER = ".newsbot-index"  # in every folder newsbot builds: only such folders are ever deleted
_MARKER_TEXT = "This folder was built by `newsbot index`; newsbot may replace or delete it.\n"


def _lock_path(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.newsbot-lock"


def _backups(index_dir: Path) -> list[Path]:
    """Previous indexes left by a swap that was killed (only folders carrying the marker)."""
    return sorted(p for p in index_dir.parent.glob(f".{index_dir.name}.newsbot-old-*") if _has_marker(p))


def _temp_glob(index_dir: Path) -> str:
    return f".{index_dir.name}.newsbot-tmp-*"


@contextlib.contextmanager
def _locked(index_dir: Path):
    """Hold a lock file beside the index folder; a second writer fails clearly."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(index_dir), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLocked(
                f"Another `newsbot index` is writing {index_dir} right now: wait for it to finish, then run again."
            ) from None
        yield
    finally:
        os.close(fd)


def _read_manifest(path: Path) -> dict | None:
    """The folder's manifest if it is a newsbot manifest (a JSON object with our keys), else None."""
    try:
        m = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and "format_version" in m and "model" in m else None


def _has_marker(path: Path) -> bool:
    return not path.is_symlink() and path.is_dir() and (path / MARKER).is_file() and not (path / MARKER).is_symlink()


def _ours(path: Path) -> bool:
    """A folder newsbot may replace or delete: one it built (marker or manifest), or an empty one."""
    if path.is_symlink() or not path.is_dir():
        return False
    return _has_marker(path) or _read_manifest(path) is not None or not any(path.iterdir())


def check_index_dir(index_dir: Path, corpus: Sequence[str | os.PathLike] = ()) -> None:
    """Refuse (exit 2) an index folder that newsbot would have to overwrite without owning it,
    or that overlaps a folder being indexed."""
    where = Path(index_dir)
    if where.exists() or where.is_symlink():
        if not where.is_dir():
            raise UsageError(f"--index-dir {where} is a file, not a folder: choose an empty or new folder.")
        if not _ours(where):
            raise UsageError(
                f"--index-dir {where} holds files that are not a newsbot index, and newsbot replaces its index "
                "folder on every build: nothing was changed. Choose an empty or new folder for --index-dir."
            )
    real = where.resolve()
    for p in corpus:
        source = Path(p).expanduser().resolve()
        if real == source or source in real.parents or real in source.parents:
            relation = "is" if real == source else ("is inside" if source in real.parents else "contains")
            raise UsageError(
                f"--index-dir {where} {relation} the folder being indexed ({p}): the index would overwrite or index "
                "itself. Choose an index folder outside the papers, e.g. --index-dir ~/newsbot-index."
            )


def _recover(index_dir: Path) -> None:
    """Finish or undo a swap that a killed build left half done (caller holds the lock).
    Only folders carrying newsbot's marker are touched."""
    for old in _backups(index_dir):
        if _read_manifest(index_dir) is not None:
            shutil.rmtree(old, ignore_errors=True)
        elif not index_dir.exists():
            os.rename(old, index_dir)
        elif _ours(index_dir):
            shutil.rmtree(index_dir, ignore_errors=True)
            os.rename(old, index_dir)
    for tmp in index_dir.parent.glob(_temp_glob(index_dir)):
        if _has_marker(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def _swap(tmp: Path, index_dir: Path) -> None:
    if not index_dir.exists():
        os.rename(tmp, index_dir)
        return
    if not _has_marker(index_dir):  # an empty folder, or an index built before the marker
        (index_dir / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    old = index_dir.parent / f".{index_dir.name}.newsbot-old-{os.getpid()}"
    os.mkdir(old)  # fails if the name is taken: then nothing has moved yet
    os.rename(index_dir, old)  # replaces the empty folder just made
    os.rename(tmp, index_dir)
    shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False))
            f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def read_corpus(paths: Sequence[str | os.PathLike], warn: Warn) -> tuple[list[Article], dict[str, str], list[str]]:
    """Read and segment every file: ``(articles, {source: sha256}, skipped messages)``."""
    skipped: list[str] = []

    def _warn(msg: str) -> None:
        msg = printable(msg)  # file names may hold control characters; warnings end up in logs
        skipped.append(msg)
        warn(msg)

    articles: list[Article] = []
    files: dict[str, str] = {}
    for cf in iter_corpus(paths, _warn):
        source = cf.source
        n = 2
        while source in files:  # same relative name under two roots
            source = f"{cf.source} ({n})"
            n += 1
        arts = parse_page(cf.text, source, start_id=len(articles))
        if not arts:
            _warn(f"skipped {cf.path}: no text after cleaning")
            continue
        files[source] = cf.sha256
        articles.extend(arts)
    return articles, files, skipped


def unit_offsets(units: list[Unit]) -> list[list[int]]:
    """Where each unit is, as stored in sentences.jsonl: ``[paragraph, start, end]`` in its paragraph."""
    out, pos, para = [], 0, None
    for u in units:
        if u.paragraph != para:
            pos, para = 0, u.paragraph
        out.append([u.paragraph, pos, pos + len(u.text)])
        pos += len(u.text)
    return out


def _settings_dict(model: str, dim: int, settings: ChunkSettings) -> dict:
    return {"format_version": FORMAT_VERSION, "model": model, "dim": dim, "chunker": settings.to_dict()}


def build_index(
    paths: Sequence[str | os.PathLike],
    index_dir: str | os.PathLike,
    model: str | None = None,
    settings: ChunkSettings | None = None,
    *,
    encoder: Encoder | None = None,
    warn: Warn = lambda m: None,
    progress: Progress | None = None,
    force: bool = False,
) -> BuildReport:
    """Index the ``.txt``/``.md`` files under ``paths`` into ``index_dir``, atomically.

    Embeddings of chunks whose embedded text is unchanged are taken from the previous index.
    An unchanged corpus with unchanged settings is not rebuilt at all.
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir).expanduser().absolute()
    if index_dir.is_symlink():
        index_dir = index_dir.resolve()  # replace the folder the link points to, keep the link
    check_index_dir(index_dir, paths)  # before any work: refuse a folder that is not ours
    settings = settings or ChunkSettings()
    model = encoder.name if encoder is not None else canonical_name(model)
    report = BuildReport(index_dir)
    articles, files, report.skipped = read_corpus(paths, warn)
    report.files, report.articles = len(files), len(articles)
    if not articles:
        raise CorpusError(
            "No text to index in " + ", ".join(map(str, paths)) + ": give .txt or .md files (UTF-8, UTF-16, GB18030 or Big5)."
        )

    with _locked(index_dir):
        _recover(index_dir)
        check_index_dir(index_dir)  # again under the lock: the folder may have changed meanwhile
        previous = _load_previous(index_dir, model)
        if previous is not None and not force:
            m = previous["manifest"]
            if m.get("files") == files and m.get("chunker") == settings.to_dict() and m.get("model") == model:
                report.up_to_date = True
                report.passages = m.get("passages", 0)
                report.reused = report.passages
                report.seconds = time.perf_counter() - t0
                return report

        chunks = chunk_articles(articles, settings)
        passages = chunks.passages
        contexts = {a.id: context_of(a) for a in articles}
        texts = [embed_text(p, contexts[p.article]) for p in passages]
        hashes = [_sha1(t) for t in texts]
        cache = previous["cache"] if previous else {}
        todo = [i for i, h in enumerate(hashes) if h not in cache]
        dim = previous["manifest"]["dim"] if previous and not todo else None
        vectors_new = None
        if todo:
            enc = encoder or load_encoder(model)
            dim = enc.dim
            vectors_new = np.zeros((len(todo), dim), dtype=np.float32)
            step = 256
            for s in range(0, len(todo), step):
                batch = [texts[i] for i in todo[s : s + step]]
                vectors_new[s : s + len(batch)] = enc.encode(batch)
                if progress:
                    progress(min(s + step, len(todo)), len(todo))
        vectors = np.zeros((len(passages), dim), dtype=np.float32)
        if todo:
            vectors[todo] = vectors_new
        for i, h in enumerate(hashes):
            if h in cache:
                vectors[i] = cache[h]
        report.embedded, report.reused = len(todo), len(passages) - len(todo)
        report.passages = len(passages)

        # Tokenise each sentence once (or take it from the previous index when its article is
        # unchanged); a chunk's BM25 tokens are its headline's plus its sentences'.
        old_tokens = previous["sentences"] if previous else {}
        keys = {a.id: _sha1(f"{settings.maximum}\n" + "\n".join(a.paragraphs)) for a in articles}
        units = chunks.units
        todo_articles = [a for a in articles if len(old_tokens.get(keys[a.id]) or ()) != len(units[a.id])]
        todo_texts = [u.text for a in todo_articles for u in units[a.id]]
        todo_texts += [contexts[a.id] for a in articles]
        fresh = iter(tokenize_many(todo_texts))
        unit_tokens = {a.id: old_tokens.get(keys[a.id]) for a in articles}
        for a in todo_articles:
            unit_tokens[a.id] = [TOKEN_SEP.join(next(fresh)) for _ in units[a.id]]
        context_tokens = {a.id: next(fresh) for a in articles}
        sentence_rows = [{"h": keys[a.id], "t": unit_tokens[a.id], "u": unit_offsets(units[a.id])} for a in articles]
        tokens = []
        for p in passages:  # in id order: BM25 document i is passage i
            lo, hi = p.sentences
            toks = list(context_tokens[p.article])
            for joined in unit_tokens[p.article][lo:hi]:
                if joined:
                    toks.extend(joined.split(TOKEN_SEP))
            tokens.append(toks)
        tmp = index_dir.parent / _temp_glob(index_dir).replace("*", str(os.getpid()))
        try:
            if _has_marker(tmp):
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
            (tmp / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
            kind = "ivf" if len(passages) > ANN_THRESHOLD else "flat"
            _write_files(tmp, articles, passages, hashes, vectors, tokens, kind)
            _write_jsonl(tmp / "sentences.jsonl", sentence_rows)
            manifest = _settings_dict(model, int(dim), settings) | {
                "index_type": f"{kind}-ip",
                "faiss": _faiss_params(len(passages)) if kind == "ivf" else {},
                "passages": len(passages),
                "articles": len(articles),
                "files": files,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "build_seconds": round(time.perf_counter() - t0, 3),
            }
            _write_json(tmp / MANIFEST, manifest)  # written last: its presence marks a whole index
            _fsync_dir(tmp)
            _swap(tmp, index_dir)
            _fsync_dir(index_dir.parent)
        except BaseException as e:
            if _has_marker(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(e, (OSError, RuntimeError)):  # faiss reports a failed write as RuntimeError
                why = e.strerror if isinstance(e, OSError) and e.strerror else str(e).strip().splitlines()[-1][:200]
                raise IndexWriteFailed(
                    f"Cannot write the index at {index_dir}: {why}. The previous index there is unchanged; "
                    "free some space (or choose another --index-dir) and run `newsbot index` again."
                ) from None
            raise
    report.seconds = time.perf_counter() - t0
    return report


def _faiss_params(n: int) -> dict:
    nlist = max(1, min(n // 39, int(4 * n**0.5)))  # FAISS wants >= 39 training points a list
    return {"nlist": nlist, "nprobe": max(1, min(nlist, max(32, nlist // IVF_PROBE_SHARE)))}


def make_faiss(vectors: np.ndarray, kind: str):
    """A FAISS inner-product index over ``vectors``: exact (``flat``) or inverted-file (``ivf``)."""
    import faiss

    d = vectors.shape[1]
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building uses every core; searching sets 1
    try:
        return _make_faiss(faiss, vectors, kind, d)
    finally:
        faiss.omp_set_num_threads(before)


def _make_faiss(faiss, vectors: np.ndarray, kind: str, d: int):
    if kind == "ivf":
        params = _faiss_params(len(vectors))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, params["nlist"], faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(len(vectors), min(len(vectors), params["nlist"] * 64), replace=False)]
        index.train(sample)
        index.add(vectors)
        index.nprobe = params["nprobe"]
        index.make_direct_map()  # reconstruct() by id, for scoring BM25's candidates densely
    else:
        index = faiss.IndexFlatIP(d)
        index.add(vectors)
    return index


def _write_files(folder: Path, articles, passages, hashes, vectors, tokens, kind: str = "flat") -> None:
    # Imported here: faiss and bm25s load native code; only building and searching need them.
    import bm25s
    import faiss

    _write_jsonl(folder / "articles.jsonl", (a.to_dict() for a in articles))
    _write_jsonl(folder / "passages.jsonl", (p.to_dict() for p in passages))
    _write_json(folder / "hashes.json", hashes)
    faiss.write_index(make_faiss(vectors, kind), str(folder / "dense.faiss"))
    df = Counter()
    for toks in tokens:
        df.update(set(toks))
    _write_json(folder / "df.json", {"n_docs": len(tokens), "df": df})
    retriever = bm25s.BM25(k1=1.2, b=0.75)
    retriever.index([t or [""] for t in tokens], show_progress=False)
    retriever.save(str(folder / "bm25"), show_progress=False)


def _load_previous(index_dir: Path, model: str) -> dict | None:
    """The old index's manifest and its vectors by text hash, if it can be reused at all."""
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            return {"manifest": manifest, "cache": {}, "sentences": {}}
        sentences = {}
        with contextlib.suppress(OSError, ValueError, KeyError):
            sentences = {row["h"]: row["t"] for row in _read_jsonl(index_dir / "sentences.jsonl")}
        if manifest.get("model") != model:
            return {"manifest": manifest, "cache": {}, "sentences": sentences}
        import faiss

        hashes = json.loads((index_dir / "hashes.json").read_text(encoding="utf-8"))
        index = faiss.read_index(str(index_dir / "dense.faiss"))
        if hasattr(index, "make_direct_map"):
            index.make_direct_map()
        if index.ntotal != len(hashes):
            return {"manifest": manifest, "cache": {}, "sentences": sentences}
        vecs = index.reconstruct_n(0, index.ntotal)
        return {"manifest": manifest, "cache": dict(zip(hashes, vecs)), "sentences": sentences}
    except Exception:
        return None


class _Lines:
    """The lines of a file, memory-mapped: read one at a time, kept out of the heap."""

    def __init__(self, path: Path):
        import mmap

        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        starts = [0]
        pos = self._map.find(b"\n") if size else -1
        while pos != -1:
            starts.append(pos + 1)
            pos = self._map.find(b"\n", pos + 1)
        if starts[-1] == size:
            starts.pop()
        self._starts = np.asarray(starts + [size], dtype=np.int64)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i: int) -> str:
        a, b = int(self._starts[i]), int(self._starts[i + 1])
        return self._map[a:b].decode("utf-8").rstrip("\n")


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


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _manifest_problems(m: dict) -> list[str]:
    """What a loaded manifest lacks for search to run (types and ranges, not the files)."""
    out = []
    if not isinstance(m.get("model"), str) or not m.get("model"):
        out.append("no model name")
    if not _is_count(m.get("dim")) or not m.get("dim"):
        out.append("no vector dimension")
    if not _is_count(m.get("passages")):
        out.append("no passage count")
    if not isinstance(m.get("files"), dict):
        out.append("no file list")
    try:
        ChunkSettings(**m["chunker"])
    except Exception:
        out.append("no valid chunker settings")
    return out


def _passage_problems(articles: list[Article], passages: list[Passage]) -> list[str]:
    """Ids in order, every passage pointing at an article that exists, at its paragraphs and at a
    range of its sentences (checked against sentences.jsonl when the article is read)."""
    if any(a.id != i for i, a in enumerate(articles)):
        return ["article ids are out of order"]
    if any(p.id != i for i, p in enumerate(passages)):
        return ["passage ids are out of order"]
    for p in passages:
        if not (_is_count(p.article) and p.article < len(articles)):
            return [f"passage {p.id} points at article {p.article!r}, which does not exist"]
        n = len(articles[p.article].paragraphs)
        if not p.paragraphs or not all(_is_count(x) and 1 <= x <= n for x in p.paragraphs):
            return [f"passage {p.id} cites paragraphs {list(p.paragraphs)} of an article with {n}"]
        if not (len(p.sentences) == 2 and all(map(_is_count, p.sentences)) and p.sentences[0] < p.sentences[1]):
            return [f"passage {p.id} has no valid sentence range ({list(p.sentences)})"]
    return []


class ArticleSentences(NamedTuple):
    units: list[Unit]  # the article's sentence units, as chunked when the index was built
    tokens: list[list[str]]  # the jieba tokens of each unit


class Index:
    """A loaded index folder: articles, passages, FAISS, BM25 and token statistics."""

    def __init__(self, path: Path, manifest: dict, articles: list[Article], passages: list[Passage], dense, bm25, df: dict, n_docs: int, sentences: "_Lines"):
        self.path = path
        self.manifest = manifest
        self.articles = articles
        self.passages = passages
        self.dense = dense
        self.bm25 = bm25
        self.df = df
        self.n_docs = n_docs
        self._sentences = sentences
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
                _is_count(n) and 1 <= n <= len(paragraphs) and _is_count(a) and _is_count(b) and a < b <= len(paragraphs[n - 1])
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
    def dim(self) -> int:
        return int(self.manifest["dim"])

    @classmethod
    def load(cls, index_dir: str | os.PathLike, model: str | None = None) -> "Index":
        """Load and check an index; ``model``, when given, must be the one it was built with."""
        path = Path(index_dir).expanduser().absolute()
        if not (path / MANIFEST).exists():
            old = [p for p in _backups(path) if (p / MANIFEST).exists()]
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
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexMismatch(
                f"The index at {path} has format version {version}; this newsbot reads version {FORMAT_VERSION}. {rebuild_hint(path)}"
            )
        bad = _manifest_problems(manifest)
        if bad:
            raise IndexCorrupt(f"The manifest of the index at {path} is damaged: {'; '.join(bad)}. {rebuild_hint(path)}")
        if model is not None and canonical_name(model) != manifest.get("model"):
            raise IndexMismatch(
                f"The index at {path} was built with model {manifest.get('model')!r}, not {canonical_name(model)!r}. "
                f"Search it without --model, or rebuild it with the new model: `newsbot index PATH... --index-dir {path} --model {model}`."
            )
        try:
            import faiss  # native code: imported only where an index is read or written

            articles = [Article(**{**a, "paragraphs": tuple(a["paragraphs"]), "kicker": tuple(a["kicker"]), "subtitles": tuple(a["subtitles"])}) for a in _read_jsonl(path / "articles.jsonl")]
            passages = [Passage(**{**p, "paragraphs": tuple(p["paragraphs"]), "sentences": tuple(p["sentences"])}) for p in _read_jsonl(path / "passages.jsonl")]
            dense = faiss.read_index(str(path / "dense.faiss"))
            if hasattr(dense, "nprobe") and manifest.get("faiss"):
                dense.nprobe = int(manifest["faiss"]["nprobe"])
                dense.make_direct_map()
            bm25 = BM25Index(path / "bm25", mmap=len(passages) > ANN_THRESHOLD)
            stats = json.loads((path / "df.json").read_text(encoding="utf-8"))
            sentence_lines = _Lines(path / "sentences.jsonl")
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
        if not (isinstance(stats, dict) and isinstance(stats.get("df"), dict) and _is_count(stats.get("n_docs"))):
            problems.append("df.json is not {\"n_docs\": N, \"df\": {...}}")
        problems += _passage_problems(articles, passages)
        if not problems and not bm25.mmapped:
            problems += bm25.problems()  # a memory-mapped (large) index is checked as it is read
        if problems:
            raise IndexCorrupt(f"The index at {path} is inconsistent: {'; '.join(problems[:3])}. {rebuild_hint(path)}")
        return cls(path, manifest, articles, passages, dense, bm25, stats["df"], stats["n_docs"], sentence_lines)

