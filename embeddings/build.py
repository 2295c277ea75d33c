"""Building an index, whatever store it goes to: corpus → articles → chunks → vectors and tokens.

``read_corpus`` reads and segments the files; ``prepare`` chunks, embeds (only chunks whose
embedded text the previous index lacks) and tokenises (only articles that changed), giving one
:class:`.store.Built`. The store writes it: :func:`.index.build_index` to a folder, or to Milvus
(:mod:`.milvus`).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from .chunking import ChunkSettings, Unit, chunk_articles, context_of, embed_text
from .encoders import Encoder, load_encoder
from .files import iter_corpus
from .formats import READERS_VERSION, TEXT_SUFFIXES
from .ingest import parse_page
from .printable import printable
from .store import Built, Previous
from .tokenize import tokenize_many
from .types import Article

FORMAT_VERSION = 5  # 4: tokens include the character pairs of words jieba does not know; 5: Traditional text cut as its Simplified reading (hanzi.py)
# Older formats whose chunks and vectors are still valid (4 -> 5 changed only the tokens): a
# rebuild from one of them embeds nothing again, it only tokenises.
SAME_VECTORS = frozenset({4})
# 3: passages record their sentence range; sentences.jsonl where each sentence is
TOKEN_SEP = "\x1f"  # joins one sentence's tokens in sentences.jsonl
EMBED_BATCH = 256  # chunks per encoder call while building (progress is reported after each)

Warn = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass
class BuildReport:
    index_dir: Path | str
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


def sha1(text: str) -> str:
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
            _warn(f"skipped {cf.path}: no article text left after cleaning (only headings, captions or page furniture?); check that it holds an article")
            continue
        files[source] = cf.sha256
        articles.extend(arts)
    return Corpus(articles, files, skipped)


def reusable_articles(manifest: dict | None, articles: Sequence[Article]) -> dict[str, tuple[Article, ...]]:
    """sha256 of a non-text file's bytes -> the articles a previous build parsed from it, while
    the readers are the same version (re-parsing a PDF or OCR-ing a scan is slow)."""
    try:
        if not manifest or manifest.get("readers") != READERS_VERSION or manifest.get("format_version") != FORMAT_VERSION:
            return {}
        files = {src: sha for src, sha in manifest["files"].items() if not src.lower().endswith(TEXT_SUFFIXES)}
    except (AttributeError, KeyError, TypeError):
        return {}
    by_source: dict[str, list[Article]] = {}
    for a in articles:
        if a.source in files:
            by_source.setdefault(a.source, []).append(a)
    return {files[src]: tuple(arts) for src, arts in by_source.items()}


def article_from_row(row: dict) -> Article:
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


def reusable(manifest: dict) -> tuple[bool, bool]:
    """Whether a build may reuse a previous index's (vectors, tokens), by its format: both from
    this format, the vectors alone from one in ``SAME_VECTORS``."""
    version = manifest.get("format_version")
    return version == FORMAT_VERSION or version in SAME_VECTORS, version == FORMAT_VERSION


def up_to_date(previous: Previous | None, corpus: Corpus, settings: ChunkSettings, model: str) -> bool:
    """The previous index was built from these very files, with these settings and model."""
    if previous is None:
        return False
    m = previous.manifest
    same_readers = m.get("readers") == READERS_VERSION or all(s.lower().endswith(TEXT_SUFFIXES) for s in corpus.files)
    same_format = m.get("format_version") == FORMAT_VERSION  # an older format is rebuilt, not reported up to date
    return same_format and m.get("files") == corpus.files and m.get("chunker") == settings.to_dict() and m.get("model") == model and same_readers


def prepare(
    corpus: Corpus, model: str, settings: ChunkSettings, previous: Previous | None, *, encoder: Encoder | None = None, progress: Progress | None = None
) -> tuple[Built, int]:
    """Chunk, embed and tokenise ``corpus``; returns the built index and how many chunks were embedded."""
    articles = corpus.articles
    chunks = chunk_articles(articles, settings)
    passages = chunks.passages
    contexts = {a.id: context_of(a) for a in articles}
    texts = [embed_text(p, contexts[p.article]) for p in passages]
    hashes = [sha1(t) for t in texts]
    cache = previous.vectors if previous else {}
    todo = [i for i, h in enumerate(hashes) if h not in cache]
    dim = previous.manifest["dim"] if previous and not todo else None
    vectors_new = None
    if todo:
        enc = encoder or load_encoder(model)
        dim = enc.dim
        vectors_new = np.zeros((len(todo), dim), dtype=np.float32)
        for s in range(0, len(todo), EMBED_BATCH):
            batch = [texts[i] for i in todo[s : s + EMBED_BATCH]]
            vectors_new[s : s + len(batch)] = enc.encode(batch)
            if progress:
                progress(min(s + EMBED_BATCH, len(todo)), len(todo))
    vectors = np.zeros((len(passages), dim), dtype=np.float32)
    if todo:
        vectors[todo] = vectors_new
    for i, h in enumerate(hashes):
        if h in cache:
            vectors[i] = cache[h]

    # Tokenise each sentence once (or take it from the previous index when its article is
    # unchanged); a chunk's BM25 tokens are its headline's plus its sentences'.
    old_tokens = previous.tokens if previous else {}
    keys = {a.id: sha1(f"{settings.maximum}\n" + "\n".join(a.paragraphs)) for a in articles}
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
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": model,
        "dim": int(dim),
        "chunker": settings.to_dict(),
        "passages": len(passages),
        "articles": len(articles),
        "files": corpus.files,
        "readers": READERS_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return Built(manifest, articles, passages, texts, hashes, vectors, tokens, sentence_rows), len(todo)


def no_text(paths: Sequence) -> str:
    return ("No text to index in " + ", ".join(map(str, paths))
            + ": give newspaper files (.txt, .md, .html, .pdf, .docx, or scanned .png/.jpg with the OCR extra), or folders of them.")
