"""Split newspaper pages into articles: ``parse_page``, a pure function over page markup.

Every format ends here: :mod:`.files` reads ``.txt``/``.md`` files as they are and turns the
others (HTML, PDF, Word, scans: :mod:`.formats`) into the same markup first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .types import Article


# Shorter paragraphs may repeat within an article ("郑亚萍说。"); longer repeats are page-layout
# duplicates (a paragraph printed again after a page break) and are dropped.
MIN_DUP_CHARS = 12
MAX_SECTION_CHARS = 60  # a bold line this short is a section heading, not a paragraph
MAX_PLAIN_TITLE_CHARS = 40  # a plain-text file's first line this short (and unpunctuated) is its title

# Characters that close a sentence (and so a paragraph that a page break did not cut).
SENTENCE_END = "。！？!?…；;.」』”’\"'）)》】"

BYLINE = re.compile(
    r"^\s*[（(【\[]?\s*(本报讯|本報訊|本报记者|本報記者|记者|記者|通讯员|通訊員|新华社|新華社|中新社|中新網|中新网|据.{0,12}报道|據.{0,12}報導)"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)(.+?)(\*\*|__)\s*$")
_SPACE = re.compile(r"[ \t\u3000\u00a0]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def normalize_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line.replace("\ufeff", ""))
    line = "".join(c for c in line if c in "\t" or unicodedata.category(c) not in ("Cc", "Cf") or c == "\u200d")
    return _SPACE.sub(" ", line).strip()


@dataclass(frozen=True)
class _Block:
    kind: str  # "heading", "section" or "para"
    text: str
    level: int = 0


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time (no second copy of a big page in memory)."""
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        line = text[start:end]
        if "\r" in line or "\x0b" in line or "\x0c" in line or "\u2028" in line or "\u2029" in line or "\x1c" in line or "\x1d" in line or "\x1e" in line or "\x85" in line:
            yield from line.splitlines()
        else:
            yield line
        start = end + 1


def _blocks(text: str) -> list[_Block]:
    out = []
    for raw in _lines(text):
        line = normalize_line(raw)
        if not line:
            continue
        m = _HEADING.match(line)
        if m:
            title = m.group(2).strip().strip("*").strip()
            if title:
                out.append(_Block("heading", title, len(m.group(1))))
            continue
        m = _BOLD_LINE.match(line)
        if m and len(m.group(2)) <= MAX_SECTION_CHARS:
            out.append(_Block("section", m.group(2).strip()))
            continue
        out.append(_Block("para", line))
    return out


def ends_sentence(text: str) -> bool:
    return bool(text) and text[-1] in SENTENCE_END


def _join(a: str, b: str) -> str:
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return a + " " + b
    if a.endswith("-") and b[:1].isascii():
        return a[:-1] + b
    return a + b


def rejoin_paragraphs(paras: Iterable[str]) -> list[str]:
    """Rejoin paragraphs cut by a page break: a paragraph that ends without sentence-final
    punctuation is joined to the next."""
    joined: list[str] = []
    carry = ""
    for p in paras:
        carry = _join(carry, p) if carry else p
        if ends_sentence(carry):
            joined.append(carry)
            carry = ""
    if carry:
        joined.append(carry)
    return joined


def clean_paragraphs(paras: Iterable[str]) -> list[str]:
    """De-duplicate repeated paragraphs and rejoin paragraphs cut by a page break.

    A paragraph of at least ``MIN_DUP_CHARS`` seen before in the same article (exactly, or
    inside an earlier paragraph once rejoined) is dropped.
    """
    seen: set[str] = set()
    unique = []
    for p in paras:
        if len(p) >= MIN_DUP_CHARS and p in seen:
            continue
        seen.add(p)
        unique.append(p)
    joined = rejoin_paragraphs(unique)
    out: list[str] = []
    for p in joined:
        if len(p) >= MIN_DUP_CHARS and any(p in q for q in out):
            continue
        out.append(p)
    return out


def _title_of(block: list[_Block]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Headline = the highest-level heading (first on a tie); above it kickers, below subtitles."""
    best = min(range(len(block)), key=lambda i: (block[i].level, i))
    return (
        block[best].text,
        tuple(b.text for b in block[:best]),
        tuple(b.text for b in block[best + 1 :]),
    )


def _is_plain_title(text: str) -> bool:
    return len(text) <= MAX_PLAIN_TITLE_CHARS and not ends_sentence(text) and not BYLINE.match(text)


def parse_page(text: str, source: str, start_id: int = 0) -> list[Article]:
    """Split one file's text into articles.

    A run of headings starts an article when a byline (本报讯, 记者…报道, 通讯员…) follows it,
    or, on pages without bylines, when it holds a heading of the page's top level. Other
    heading runs and bold lines are sections inside the current article. A file with no
    headings is one article, titled by its first line when that looks like a title, else by
    the file name.
    """
    blocks = _blocks(text)
    if not blocks:
        return []
    has_bylines = any(b.kind == "para" and BYLINE.match(b.text) for b in blocks)
    levels = [b.level for b in blocks if b.kind == "heading"]
    top = min(levels) if levels else 0

    # Group consecutive headings.
    groups: list[tuple[str, list[_Block]]] = []
    for b in blocks:
        if b.kind == "heading" and groups and groups[-1][0] == "heading":
            groups[-1][1].append(b)
        else:
            groups.append((b.kind, [b]))

    articles: list[dict] = []
    current: dict | None = None
    for i, (kind, items) in enumerate(groups):
        if kind == "heading":
            nxt = groups[i + 1] if i + 1 < len(groups) else None
            followed_by_byline = nxt is not None and nxt[0] == "para" and BYLINE.match(nxt[1][0].text)
            starts = current is None or (
                followed_by_byline if has_bylines else any(b.level == top for b in items)
            )
            if has_bylines and not starts and current is not None and not current["paras"]:
                starts = False  # headings stacked before any text: same article
            if starts:
                title, kicker, subtitles = _title_of(items)
                current = {"title": title, "kicker": kicker, "subtitles": subtitles, "paras": []}
                articles.append(current)
            # else: a section heading inside the current article; not a paragraph.
        elif kind == "section":
            if current is None:
                current = {"title": "", "kicker": (), "subtitles": (), "paras": []}
                articles.append(current)
        else:
            if current is None:
                current = {"title": "", "kicker": (), "subtitles": (), "paras": []}
                articles.append(current)
            current["paras"].append(items[0].text)

    out = []
    stem = Path(source).stem
    for a in articles:
        raw, title = a["paras"], a["title"]
        if not title and len(raw) > 1 and _is_plain_title(raw[0]):
            # A plain-text file's first short line is its title (checked before the page-break
            # rejoin, which would glue the unpunctuated line onto the first paragraph).
            title, raw = raw[0], raw[1:]
        paras = clean_paragraphs(raw)
        if not paras:
            continue
        title = title or _CONTROL.sub("", stem)  # a file name may hold control characters
        m = next((p for p in paras if BYLINE.match(p)), "")
        byline = ""
        if m:
            bm = re.match(r"^(.{0,60}?(报道|報導))\s", m) or re.match(r"^(.{0,30}?(讯|訊|电|電))\s", m)
            byline = bm.group(1) if bm else ""
        out.append(
            Article(
                id=start_id + len(out),
                title=title,
                source=source,
                paragraphs=tuple(paras),
                kicker=tuple(a["kicker"]),
                subtitles=tuple(a["subtitles"]),
                byline=byline,
            )
        )
    return out
