"""The small frozen types passed end to end, from ingest to the CLI's ``--json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import NamedTuple


@dataclass(frozen=True)
class Article:
    """One article of a newspaper page, after page-break rejoin and de-duplication."""

    id: int
    title: str
    source: str  # file name relative to the indexed root
    paragraphs: tuple[str, ...]  # paragraph n is paragraphs[n - 1]
    kicker: tuple[str, ...] = ()  # heading lines above the headline
    subtitles: tuple[str, ...] = ()  # heading lines below the headline
    byline: str = ""
    # What the file says about it (formats.Meta), empty when it does not say: publication date
    # (ISO), newspaper page / 版次 as printed, section / 版名, the URL it was published at or
    # fetched from, and the page of the PDF (or scan) it was read from.
    date: str = ""
    page: str = ""
    section: str = ""
    url: str = ""
    pdf_page: int = 0

    def to_dict(self) -> dict:
        return _shallow(self)


@dataclass(frozen=True)
class Passage:
    """A chunk: what BM25 and FAISS index. Row i of FAISS is passage i is BM25 doc i."""

    id: int
    article: int  # Article.id
    text: str  # the chunk's own text, sentences quoted exactly
    title: str
    source: str
    paragraphs: tuple[int, ...]  # 1-based paragraph numbers inside the article
    sentences: tuple[int, int]  # [start, stop) of its sentence units within the article (chunking.Unit)

    def to_dict(self) -> dict:
        return _shallow(self)


def _shallow(obj) -> dict:
    """Field name → value, for flat records (``asdict`` deep-copies recursively: written for every
    article and passage on each build, it was a tenth of an incremental add's time)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


@dataclass(frozen=True)
class Hit:
    """One cited answer: a merged run of passages and the excerpt a reader sees."""

    rank: int
    score: float
    title: str
    source: str
    paragraphs: tuple[int, ...]  # the paragraphs the excerpt quotes, ascending
    excerpt: str  # at most 300 characters, quoted from ``text``, trimmed with "…"
    highlight: tuple[int, int]  # [start, end) of the answering sentence(s) inside ``excerpt``
    text: str  # the full passage: the whole quoted paragraph(s), joined by newlines
    article: int = 0
    passages: tuple[int, ...] = field(default=())
    # Where to find the original, from the article (see Article): shown in citations when known.
    date: str = ""
    page: str = ""
    url: str = ""
    pdf_page: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["paragraphs"] = list(self.paragraphs)
        d["highlight"] = list(self.highlight)
        d["passages"] = list(self.passages)
        return d


class Evidence(NamedTuple):
    """How well the best passage supports an answer (what abstention decides on)."""

    dense: float  # best dense cosine of any passage
    coverage: float  # IDF-weighted share of the question's words found in the first hit


@dataclass(frozen=True)
class Answer:
    """What ``ask`` returns: the hits, or ``answered=False`` when nothing relevant was found."""

    query: str
    answered: bool
    hits: tuple[Hit, ...]
    reason: str = ""  # why nothing was answered, for people
    evidence: Evidence = Evidence(0.0, 0.0)

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "answered": self.answered,
            "results": [h.to_dict() for h in self.hits],
        }
