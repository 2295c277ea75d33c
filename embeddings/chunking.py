"""Sentence-aware chunking for Chinese (and English) text. Pure functions on plain data."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Iterable, NamedTuple

from .types import Article, Passage

# A sentence ends at 。！？；… (or ASCII !?; and ". " in English), and keeps the closing quotes
# and brackets that follow it, plus trailing white space, so that sentences concatenate back
# to the exact paragraph.
_END = re.compile(
    r"(?:[。！？!?；;]+|…+|\.{3,}|(?<=[A-Za-z0-9)\]”\"])\.(?=\s|$))[”’」』\"'）)\]】》]*\s*"
)
# Where an over-long sentence may be cut: after a comma-like mark, when the piece keeps at least
# maximum // SOFT_CUT_DIVISOR characters (else it is cut hard at maximum).
_SOFT = re.compile(r"[，,、：:]\s*")
SOFT_CUT_DIVISOR = 3


@dataclass(frozen=True)
class ChunkSettings:
    """Chunk size in characters: aim for ``target``, never pass ``maximum``."""

    target: int = 160
    maximum: int = 250
    overlap: int = 40  # up to this many characters of trailing sentences are repeated

    def __post_init__(self):
        if not (0 < self.target <= self.maximum):
            raise ValueError(f"the chunk target ({self.target}) must be at least 1 and at most the chunk maximum ({self.maximum})")
        if not (0 <= self.overlap < self.target):
            raise ValueError(f"the chunk overlap ({self.overlap}) must be 0 or more and less than the chunk target ({self.target})")

    def to_dict(self) -> dict:
        return asdict(self)


# Not a sentence end: the period of an initial ("S.G. Tallentyre", "John H. McArthur") or of a
# common abbreviation ("St. John", "Dr. Sun"), names that Chinese text quotes in Latin script.
_ABBREVIATION = re.compile(
    r"(?:(?<![A-Za-z])[A-Z]|(?<![A-Za-z])(?:St|Mt|Mr|Mrs|Ms|Dr|Jr|Sr|Prof|Rev|Gen|Col|Capt|Lt|Sgt|Gov|Sen|Rep|Inc|Ltd|Co|Corp|No|Vol|vs|etc|approx|ca))\.$"
)
# A book, film or song title (《卡拉OK.LIVE！‧台北‧我》) is one name, never cut inside: a sentence
# end found with its 《 still open and its 》 close after is skipped.
_TITLE_CLOSE = 40


def _inside_title(text: str, start: int, end: int) -> bool:
    opened = text.rfind("《", start, end)
    if opened < 0 or text.rfind("》", opened, end) >= 0:
        return False
    close = text.find("》", end, end + _TITLE_CLOSE)
    return close >= 0 and text.find("《", end, close) < 0


# Nor is a !, ? or ; inside brackets that close soon after: a name ("Hey! Say! JUMP" in
# "（包括TOKIO、岚…及Hey! Say! JUMP）"), a list of readings ("（；）"), wiki markup
# ("-{zh-cn:米; zh-tw:公尺}-", "京急逗子线（；）是…"). A bracketed sentence that ends with its bracket
# ("（…尽忠？）") still ends.
_BRACKETS = {"（": "）", "(": ")", "[": "]", "【": "】", "{": "}"}
_BRACKET_CLOSE = 60


def _inside_brackets(text: str, start: int, m: re.Match) -> bool:
    """Is match ``m`` a !, ? or ; inside brackets opened in this sentence (see above)?"""
    if m.group()[0] not in "!?;；":
        return False
    waiting = []
    for ch in text[start : m.start()]:
        if ch in _BRACKETS:
            waiting.append(_BRACKETS[ch])
        elif waiting and ch == waiting[-1]:
            waiting.pop()
    if not waiting:
        return False
    if waiting[-1] in m.group():  # the bracket closes right after: a bracketed list ("（掸语：；）") goes on
        return m.group()[0] in ";；"
    return text.find(waiting[-1], m.end(), m.end() + _BRACKET_CLOSE) >= 0


def _is_end(text: str, start: int, m: re.Match) -> bool:
    """Is match ``m`` of :data:`_END` (in the sentence that began at ``start``) a sentence end?"""
    if m.group().startswith(".") and _ABBREVIATION.search(text, max(start, m.start() - 8), m.start() + 1):
        return False
    return not _inside_title(text, start, m.start()) and not _inside_brackets(text, start, m)


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; ``"".join(result) == text``."""
    out, start = [], 0
    for m in _END.finditer(text):
        if m.end() > start and _is_end(text, start, m):
            out.append(text[start : m.end()])
            start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def _cut_long(sentence: str, maximum: int) -> list[str]:
    """Cut a sentence longer than ``maximum`` at commas, or hard at ``maximum``."""
    pieces: list[str] = []
    rest = sentence
    while len(rest) > maximum:
        cut = 0
        for m in _SOFT.finditer(rest, 0, maximum):
            cut = m.end()
        if cut <= 0 or cut < maximum // SOFT_CUT_DIVISOR:
            cut = maximum
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


class Unit(NamedTuple):
    """A sentence (or a piece of an over-long one): what chunks are made of and excerpts show."""

    paragraph: int  # 1-based paragraph number inside the article
    text: str  # quoted exactly: the units of a paragraph concatenate back to it


def sentence_units(paragraphs: Iterable[str], maximum: int) -> list[Unit]:
    """The units of an article, in order; no unit is longer than ``maximum``."""
    units = []
    for n, para in enumerate(paragraphs, 1):
        for s in split_sentences(para):
            units.extend(Unit(n, piece) for piece in _cut_long(s, maximum))
    return units


def pack(units: list[Unit], settings: ChunkSettings) -> list[tuple[int, int]]:
    """Group units into chunks: returns ``[start, end)`` unit ranges.

    A chunk grows until it reaches ``target`` characters and never passes ``maximum``. The
    next chunk starts with the previous chunk's last sentences when they fit in ``overlap``.
    """
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j, size = i, 0
        while j < len(units) and size < settings.target:
            n = len(units[j][1])
            if size and size + n > settings.maximum:
                break
            size += n
            j += 1
        spans.append((i, j))
        if j >= len(units):
            break
        # Overlap: step back over trailing sentences that fit, but always move forward, and
        # leave room for at least one new sentence (a chunk is never only overlap).
        k, back = j, 0
        room = min(settings.target, settings.maximum - len(units[j][1]))
        while k - 1 > i and back + len(units[k - 1][1]) <= min(settings.overlap, room - 1):
            back += len(units[k - 1][1])
            k -= 1
        i = k
    return spans


def join_units(units: list[Unit]) -> str:
    """Text of consecutive units, with a newline between paragraphs."""
    out, last = [], None
    for n, s in units:
        if last is not None and n != last:
            out.append("\n")
        out.append(s)
        last = n
    return "".join(out).strip()


class Chunks(NamedTuple):
    passages: list[Passage]  # ids count up from 0, article by article
    units: dict[int, list[Unit]]  # each article's units (by Article.id): what Passage.sentences indexes


def chunk_articles(articles: Iterable[Article], settings: ChunkSettings) -> Chunks:
    """Chunk every article, once: each passage records its ``[start, stop)`` range of units."""
    passages: list[Passage] = []
    by_article: dict[int, list[Unit]] = {}
    for art in articles:
        units = by_article[art.id] = sentence_units(art.paragraphs, settings.maximum)
        for a, b in pack(units, settings):
            text = join_units(units[a:b])
            paras = tuple(sorted({n for n, _ in units[a:b]}))
            passages.append(
                Passage(len(passages), art.id, text, art.title, art.source, paras, (a, b))
            )
    return Chunks(passages, by_article)


def context_of(article: Article) -> str:
    """Headline and subtitles: prefixed to each chunk for embedding and BM25."""
    return " ".join((article.title, *article.subtitles))


def embed_text(passage: Passage, context: str) -> str:
    """The text that gets embedded and BM25-indexed: the chunk with its article's headline."""
    return f"{context}\n{passage.text}"
