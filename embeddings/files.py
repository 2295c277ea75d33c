"""The corpus on disk (and on the web): every file under the given paths, read as page text.

One generator, ``iter_corpus``: text files are streamed through :mod:`.decode`; HTML, PDF,
Word and scanned pages go through their reader in :mod:`.formats`; ``http(s)://`` inputs are
fetched (:mod:`.fetch`) and read by content type. A file that cannot be read is reported
through ``warn``, naming it and why, and skipped; nothing here raises for bad input.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from .decode import SkipFile, open_regular, display_name, few_broken, read_text
from .formats import MAX_FILE_BYTES, READERS, TEXT_SUFFIXES, Meta, Page, reader_for
from .types import Article

Warn = Callable[[str], None]
# Text files are read as a stream (1 MiB at a time, decoded incrementally), so their size is
# not limited; what one file may contribute to the index is: at most this many characters
# (``max_chars``; the default), the rest is left out with a warning naming the file.
MAX_FILE_CHARS = 2_000_000
URL = re.compile(r"^https?://", re.I)
KNOWN = ", ".join(sorted({*TEXT_SUFFIXES, *READERS}))


@dataclass(frozen=True)
class CorpusFile:
    path: Path | str  # a URL for a fetched page
    source: str  # name shown in citations: relative to the root it was found under, or the URL
    sha256: str  # of the file's bytes
    text: str = ""  # a text file's text (pages is empty then)
    encoding: str = ""
    truncated: bool = False  # the file was longer than the per-file character cap
    pages: tuple[Page, ...] = ()  # what a format reader made of any other file
    reused: tuple[Article, ...] = ()  # articles the previous build parsed from the same bytes

    def page_list(self) -> list[Page]:
        return list(self.pages) if self.pages else [Page(self.text)]


def _walk(root: Path, warn: Warn) -> Iterator[Path]:
    seen_dirs: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=lambda e: warn(f"skipped {e.filename}: {e.strerror}")):
        try:
            st = os.stat(dirpath)
        except OSError as e:
            warn(f"skipped {dirpath}: {e.strerror}")
            dirnames[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            warn(f"skipped {dirpath}: symlink loop (the folder it leads to is read once already; nothing is missed)")
            dirnames[:] = []
            continue
        seen_dirs.add(key)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            yield Path(dirpath) / name


def cap_pages(pages: list[Page], cap: int) -> tuple[list[Page], bool]:
    """At most ``cap`` characters of page text, cut at the page where the cap falls."""
    out, kept = [], 0
    for p in pages:
        if kept + len(p.text) > cap:
            out.append(p._replace(text=p.text[: cap - kept]))
            return out, True
        out.append(p)
        kept += len(p.text)
    return out, False


def read_pages(name: str, data: bytes, warn: Warn, meta: Meta = Meta()) -> list[Page]:
    """What the format reader for ``name``'s suffix makes of ``data``; ``meta`` fills what it leaves empty.

    Raises SkipFile with the reason; a reader's own crash on a hostile file is a SkipFile too.
    """
    read = reader_for(name)
    if read is None:
        raise SkipFile(f"not a supported file type (newsbot reads {KNOWN})")
    try:
        pages = read(Path(name), data, warn)
    except SkipFile:
        raise
    except (MemoryError, RecursionError) as e:
        raise SkipFile(f"too complex to read ({type(e).__name__}); open it and save or export it again (e.g. as PDF), then index that") from None
    except Exception as e:  # a parser library failing on a damaged file: skip it, never crash the build
        raise SkipFile(f"could not be read as {Path(name).suffix.lower() or 'this type'} ({type(e).__name__}: {str(e)[:200]}); "
                       "it may be damaged: open it and save it again, then index it again") from None
    if meta != Meta():
        pages = [p._replace(meta=replace(p.meta, **{k: v for k, v in meta.__dict__.items() if v and not getattr(p.meta, k)})) for p in pages]
    return pages


def _read_bytes(f: Path) -> bytes:
    with open_regular(f) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise SkipFile(f"larger than {MAX_FILE_BYTES // 2**20} MB ({size / 2**20:.0f} MB); split it or index its text")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SkipFile(f"larger than {MAX_FILE_BYTES // 2**20} MB; split it or index its text")
    if not data:
        raise SkipFile("empty file")
    return data


def _format_file(f: Path, source: str, warn: Warn, cap: int, reuse: Mapping[str, tuple[Article, ...]]) -> CorpusFile:
    data = _read_bytes(f)
    sha = hashlib.sha256(data).hexdigest()
    if sha in reuse:
        return CorpusFile(f, source, sha, reused=reuse[sha])
    pages, truncated = cap_pages(read_pages(f.name, data, lambda m: warn(f"{f}: {m}")), cap)
    if not any(p.text.strip() for p in pages):
        raise SkipFile("no text found in it")
    return CorpusFile(f, source, sha, truncated=truncated, pages=tuple(pages))


def _text_file(f: Path, source: str, warn: Warn, cap: int) -> CorpusFile | None:
    text, enc, sha, truncated, bad = read_text(f, cap)
    if bad:
        # A few broken byte sequences (a damaged file): keep the text, mark them; a file
        # mostly undecodable is not text at all.
        if not few_broken(bad, len(text)):
            raise SkipFile(f"{bad} invalid byte sequences in {enc}: not text, or a mix of encodings; save it again as UTF-8 text")
        enc = f"{enc} ({bad} invalid byte sequence(s) replaced)"
        warn(f"{f}: {enc}")
    return CorpusFile(f, source, sha, text, enc, truncated)


def _url(url: str, warn: Warn, cap: int, reuse: Mapping[str, tuple[Article, ...]]) -> CorpusFile:
    from .fetch import fetch, saved_page, suffix_for  # httpx: imported only when a URL is indexed

    got = fetch(url)
    sha = hashlib.sha256(got.data).hexdigest()
    if sha in reuse:
        return CorpusFile(url, display_name(url), sha, reused=reuse[sha])
    suffix = suffix_for(got.content_type)
    if not suffix:
        raise SkipFile(f"not a page or document newsbot reads ({got.content_type or 'no content type'}); link to the article's own page or its PDF instead")
    name = "page" + suffix
    pages, truncated = cap_pages(read_pages(name, saved_page(got), lambda m: warn(f"{url}: {m}"), Meta(url=got.url)), cap)
    if not any(p.text.strip() for p in pages):
        raise SkipFile("no text found in it")
    return CorpusFile(url, display_name(url), sha, truncated=truncated, pages=tuple(pages))


def iter_corpus(
    paths: Iterable[str | os.PathLike],
    warn: Warn,
    max_chars: int | None = None,
    reuse: Mapping[str, tuple[Article, ...]] | None = None,
) -> Iterator[CorpusFile]:
    """Yield every readable file under ``paths`` (and every ``http(s)://`` page among them);
    ``warn`` hears about each skipped one.

    Text files are streamed (bounded memory); a file over ``max_chars`` characters (default
    ``MAX_FILE_CHARS``) is cut there with a warning naming it. ``reuse`` maps the sha256 of a
    non-text file's bytes to the articles a previous build parsed from it (PDF layout and OCR
    are slow): such a file is not parsed again. Files that vanish, change type or cannot be
    read between listing and reading are skipped with a warning.
    """
    cap = MAX_FILE_CHARS if max_chars is None else max_chars
    reuse = reuse or {}

    def _capped(cf: CorpusFile, where) -> CorpusFile:
        if cf.truncated:
            warn(f"{where}: longer than {cap:,} characters; only the first {cap:,} are indexed (set max_file_chars in newsbot.toml or NEWSBOT_MAX_FILE_CHARS to change)")
        return cf

    for p in paths:
        if isinstance(p, str) and URL.match(p):
            from .fetch import FetchError  # httpx: imported only when a URL is indexed

            try:
                yield _capped(_url(p, warn, cap, reuse), p)
            except (SkipFile, FetchError) as e:
                warn(f"skipped {p}: {e}")
            continue
        root = Path(p)
        try:
            is_dir = root.is_dir()
            exists = is_dir or root.exists()
        except OSError as e:  # e.g. a name too long, a symlink loop
            warn(f"skipped {root}: {e.strerror or e}")
            continue
        if not exists:
            kind = "broken symlink" if root.is_symlink() else "no such file or folder (check the spelling of the path)"
            warn(f"skipped {root}: {kind}")
            continue
        if is_dir:
            files = ((f, f.relative_to(root).as_posix()) for f in _walk(root, warn))
        else:
            files = iter([(root, root.name)])
        for f, source in files:
            suffix = f.suffix.lower()
            if suffix not in TEXT_SUFFIXES and suffix not in READERS:
                if not is_dir:
                    warn(f"skipped {f}: not a file type newsbot reads ({KNOWN})")
                continue
            try:
                if suffix in TEXT_SUFFIXES:
                    cf = _text_file(f, display_name(source), warn, cap)
                else:
                    cf = _format_file(f, display_name(source), warn, cap, reuse)
            except SkipFile as e:
                warn(f"skipped {f}: {e}")
                continue
            except FileNotFoundError:
                kind = "broken symlink" if f.is_symlink() else "it vanished while indexing"
                warn(f"skipped {f}: {kind}")
                continue
            except (OSError, ValueError) as e:
                warn(f"skipped {f}: {getattr(e, 'strerror', None) or e}")
                continue
            yield _capped(cf, f)
