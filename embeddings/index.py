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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from .bm25 import BM25Index, write_bm25
from .chunking import ChunkSettings, Unit, chunk_articles, context_of, embed_text
from .dense import ANN_THRESHOLD, faiss_params, index_kind, make_faiss
from .encoders import Encoder, canonical_name, load_encoder
from .errors import CorpusError, IndexCorrupt, IndexWriteFailed, IndexMismatch, IndexNotFound, rebuild_hint
from .folder import (
    MANIFEST,
    Lines,
    backups,
    check_index_dir,
    discard,
    fsync_dir,
    locked,
    read_jsonl,
    recover,
    start_temp,
    swap,
    temp_dir,
    write_json,
    write_jsonl,
)
from .files import iter_corpus
from .formats import READERS_VERSION, TEXT_SUFFIXES
from .ingest import parse_page
from .printable import printable
from .tokenize import tokenize_many
from .types import Article, Passage

FORMAT_VERSION = 3  # 3: passages record their sentence range; sentences.jsonl where each sentence is
TOKEN_SEP = "\x1f"  # joins one sentence's tokens in sentences.jsonl
EMBED_BATCH = 256  # chunks per encoder call while building (progress is reported after each)
MMAP_ABOVE = ANN_THRESHOLD  # passages: a larger index's BM25 arrays are memory-mapped, not read
MAX_REASON_CHARS = 200  # of a failed write's error, in the message
MAX_PROBLEMS_SHOWN = 3  # inconsistencies named in the message about a damaged index

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


class Corpus(NamedTuple):
    articles: list[Article]
    files: dict[str, str]  # source name -> sha256 of the file
    skipped: list[str]  # a message for each file left out


def read_corpus(
    paths: Sequence[str | os.PathLike], warn: Warn, max_file_chars: int | None = None, reuse: Mapping[str, tuple[Article, ...]] | None = None
) -> Corpus:
    """Read and segment every file, each up to ``max_file_chars`` characters (default
    ``files.MAX_FILE_CHARS``); ``reuse``: see :func:`.files.iter_corpus`."""
    skipped: list[str] = []

    def _warn(msg: str) -> None:
        msg = printable(msg)  # file names may hold control characters; warnings end up in logs
        skipped.append(msg)
        warn(msg)

    articles: list[Article] = []
    files: dict[str, str] = {}
    for cf in iter_corpus(paths, _warn, max_file_chars, reuse):
        source = cf.source
        n = 2
        while source in files:  # same relative name under two roots
            source = f"{cf.source} ({n})"
            n += 1
        if cf.reused:
            arts = [replace(a, id=len(articles) + i, source=source) for i, a in enumerate(cf.reused)]
        else:
            arts = []
            for page in cf.page_list():
                for a in parse_page(page.text, source, start_id=len(articles) + len(arts)):
                    arts.append(replace(a, **{k: v for k, v in page.meta.__dict__.items() if v}))
        if not arts:
            _warn(f"skipped {cf.path}: no text after cleaning")
            continue
        files[source] = cf.sha256
        articles.extend(arts)
    return Corpus(articles, files, skipped)


def reusable_articles(index_dir: Path) -> dict[str, tuple[Article, ...]]:
    """sha256 of a non-text file's bytes -> the articles the index at ``index_dir`` parsed from it,
    while the readers are the same version (re-parsing a PDF or OCR-ing a scan is slow)."""
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("readers") != READERS_VERSION or manifest.get("format_version") != FORMAT_VERSION:
            return {}
        files = {src: sha for src, sha in manifest["files"].items() if not src.lower().endswith(TEXT_SUFFIXES)}
        if not files:
            return {}
        by_source: dict[str, list[Article]] = {}
        for a in read_jsonl(index_dir / "articles.jsonl"):
            if a.get("source") in files:
                by_source.setdefault(a["source"], []).append(_article(a))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # no index yet, or one that cannot be read: parse everything
    return {files[src]: tuple(arts) for src, arts in by_source.items()}


def _article(row: dict) -> Article:
    return Article(**{**row, "paragraphs": tuple(row["paragraphs"]), "kicker": tuple(row["kicker"]), "subtitles": tuple(row["subtitles"])})


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
    max_file_chars: int | None = None,
) -> BuildReport:
    """Index the files under ``paths`` (text, HTML, PDF, Word, scans; and ``http(s)://`` pages) into ``index_dir``, atomically.

    A file contributes at most ``max_file_chars`` characters (default ``files.MAX_FILE_CHARS``).

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
    articles, files, report.skipped = read_corpus(paths, warn, max_file_chars, reusable_articles(index_dir))
    report.files, report.articles = len(files), len(articles)
    if not articles:
        raise CorpusError(
            "No text to index in " + ", ".join(map(str, paths)) + ": give newspaper files (.txt, .md, .html, .pdf, .docx, or scanned .png/.jpg with the OCR extra), or folders of them."
        )

    with locked(index_dir):
        recover(index_dir)
        check_index_dir(index_dir)  # again under the lock: the folder may have changed meanwhile
        previous = _load_previous(index_dir, model)
        if previous is not None and not force:
            m = previous.manifest
            same_readers = m.get("readers") == READERS_VERSION or all(s.lower().endswith(TEXT_SUFFIXES) for s in files)
            if m.get("files") == files and m.get("chunker") == settings.to_dict() and m.get("model") == model and same_readers:
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
        cache = previous.vectors if previous else {}
        todo = [i for i, h in enumerate(hashes) if h not in cache]
        dim = previous.manifest["dim"] if previous and not todo else None
        vectors_new = None
        if todo:
            enc = encoder or load_encoder(model)
            dim = enc.dim
            vectors_new = np.zeros((len(todo), dim), dtype=np.float32)
            step = EMBED_BATCH
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
        old_tokens = previous.tokens if previous else {}
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
        tmp = temp_dir(index_dir)
        try:
            start_temp(tmp)
            kind = index_kind(len(passages))
            _write_files(tmp, articles, passages, hashes, vectors, tokens, kind)
            write_jsonl(tmp / "sentences.jsonl", sentence_rows)
            manifest = _settings_dict(model, int(dim), settings) | {
                "index_type": f"{kind}-ip",
                "faiss": faiss_params(len(passages)) if kind == "ivf" else {},
                "passages": len(passages),
                "articles": len(articles),
                "files": files,
                "readers": READERS_VERSION,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
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
    report.seconds = time.perf_counter() - t0
    return report


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


class Previous(NamedTuple):
    """What a build may reuse of the index it replaces."""

    manifest: dict
    vectors: dict  # sha1 of a chunk's embedded text -> its vector (same model only)
    tokens: dict  # article key (see build_index) -> its units' joined tokens (same format only)


def _load_previous(index_dir: Path, model: str) -> Previous | None:
    """The old index's manifest and its vectors by text hash, if it can be reused at all."""
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            return Previous(manifest, {}, {})
        sentences = {}
        with contextlib.suppress(OSError, ValueError, KeyError):
            sentences = {row["h"]: row["t"] for row in read_jsonl(index_dir / "sentences.jsonl")}
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

    def __init__(self, path: Path, manifest: dict, articles: list[Article], passages: list[Passage], dense, bm25, df: dict, n_docs: int, sentences: "Lines"):
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

            articles = [_article(a) for a in read_jsonl(path / "articles.jsonl")]
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
        if not (isinstance(stats, dict) and isinstance(stats.get("df"), dict) and _is_count(stats.get("n_docs"))):
            problems.append("df.json is not {\"n_docs\": N, \"df\": {...}}")
        problems += _passage_problems(articles, passages)
        if not problems and not bm25.mmapped:
            problems += bm25.problems()  # a memory-mapped (large) index is checked as it is read
        if problems:
            raise IndexCorrupt(f"The index at {path} is inconsistent: {'; '.join(problems[:MAX_PROBLEMS_SHOWN])}. {rebuild_hint(path)}")
        return cls(path, manifest, articles, passages, dense, bm25, stats["df"], stats["n_docs"], sentence_lines)

