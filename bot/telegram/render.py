"""HTML rendering of what the bot sends: answers, full passages, the source list and the help (pure functions).

Everything a chat shows comes from the corpus or from users, so every piece of it goes through
:func:`html.escape` before it is sent as HTML; a message is cut at citation boundaries to stay
within Telegram's 4096 characters.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from typing import Sequence

from ..paging import next_page
from ..render import where_parts
from ...embeddings.types import Answer, Hit
from ...embeddings.util import scrub_surrogates
from . import texts

MAX_MESSAGE = 4096  # Telegram's limit, in UTF-16 code units
SOURCES_PER_PAGE = 5


def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def esc(text: str) -> str:
    return html.escape(text, quote=False)


# How much of a title, file name or echoed question a message shows: a long title or path from a
# corpus must not crowd the quote out of Telegram's 4,096-unit message.
TITLE_CHARS = 200
SOURCE_LIST_CHARS = 150  # per line of /sources, which lists several articles in one message
QUESTION_ECHO_CHARS = 80


def clip(text: str, n: int) -> str:
    """``text`` on one line, cut to ``n`` characters with "…"."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: max(n - 1, 0)] + "…"


def window(text: str, a: int, b: int, n: int) -> tuple[str, int, int]:
    """At most ``n`` characters of ``text`` around ``[a, b)``, "…" where cut; the span moved along."""
    if len(text) <= n:
        return text, a, b
    room = max(n - 2, 1)
    if b - a >= room:
        start = a
    else:
        start = max(0, min(a - (room - (b - a)) // 2, len(text) - room))
    if start == 0:  # one "…" only: one more character of text
        end = min(len(text), n - 1)
    else:
        end = min(len(text), start + room)
        if end == len(text):
            start = max(1, len(text) - (n - 1))
    pre = "…" if start > 0 else ""
    post = "…" if end < len(text) else ""
    shift = len(pre) - start
    na, nb = max(a + shift, len(pre)), min(b + shift, len(pre) + end - start)
    return pre + text[start:end] + post, na, max(na, nb)


def highlighted(text: str, a: int, b: int, tag: str = "b") -> str:
    """``text`` escaped, with ``text[a:b]`` wrapped in ``<tag>`` (no tag when the span is empty)."""
    a, b = max(0, min(a, len(text))), max(0, min(b, len(text)))
    if a >= b:
        return esc(text)
    return f"{esc(text[:a])}<{tag}>{esc(text[a:b])}</{tag}>{esc(text[b:])}"


def shown_command(name: str, n: int = 32) -> str:
    """What a user typed as a command, fit to echo: printable characters only (no control,
    format or bidi characters), at most ``n`` of them with "…", HTML-escaped."""
    name = "".join(ch for ch in scrub_surrogates(name) if unicodedata.category(ch)[0] not in "CZ")
    return esc(clip(name, n))


# A link Telegram accepts in <a href>: http(s), no spaces or quotes, not absurdly long.
_LINK = re.compile(r"^https?://[^\s\"'<>]{1,2000}$", re.I)


def where(hit: Hit) -> str:
    """``2023-03-15 · 第3版 · sample_page.pdf p.1 ¶2`` as HTML: the file is a link to the
    article's URL when it has one."""
    before, source = where_parts(hit)
    parts = [esc(clip(x, TITLE_CHARS)) for x in before]
    shown = esc(clip(source, TITLE_CHARS))
    if hit.url and _LINK.match(hit.url):
        shown = f'<a href="{html.escape(hit.url, quote=True)}">{shown}</a>'
    return " · ".join([*parts, shown])


def render_hit(hit: Hit, number: int, expandable: bool = False) -> str:
    """One citation: bold title, the excerpt as a quote with the answer in bold, source and ¶.
    ``expandable``: the quote is folded to a few lines until tapped (later citations, so that a
    reply stays short on a phone)."""
    excerpt, a, b = window(hit.excerpt, *hit.highlight, 600)  # excerpts are <= 300 chars; a guard
    quote = "<blockquote expandable>" if expandable else "<blockquote>"
    return (
        f"<b>{number}. {esc(clip(hit.title, TITLE_CHARS))}</b>\n"
        f"{quote}{highlighted(excerpt, a, b)}</blockquote>\n"
        f"📰 <i>{where(hit)}</i>"
    )


def _answer_header(question: str, start: int, end: int, total: int, lang: str) -> str:
    return texts.ANSWER_HEADER(lang, question=esc(clip(question, QUESTION_ECHO_CHARS)), first=start + 1, last=end, total=total)


def _counts_pattern(template: str) -> re.Pattern:
    """The last line of an answer header (``Results {first}–{last} of {total}``) as a regex."""
    line = template.rsplit("\n", 1)[-1]
    parts = re.split(r"(\{\w+\})", line)
    body = "".join(rf"(?P<{p[1:-1]}>\d+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(body + r"\s*$", re.IGNORECASE)  # search(): the old bilingual line ended in English


_HEADER_COUNTS = {lang: _counts_pattern(getattr(texts.ANSWER_HEADER, lang)) for lang in texts.Text._fields}


def read_answer_header(text: str) -> tuple[int, int, str] | None:
    """Which hits an answer message shows, read back from its plain text (after a restart):
    ``(start, end, lang)`` from the header's counts line (in either language), or None."""
    header = (text or "").split("\n\n", 1)[0]
    if "\n" not in header:
        return None
    line = header.rsplit("\n", 1)[1]  # not the echoed question (one line, above)
    for lang, pattern in _HEADER_COUNTS.items():
        if m := pattern.search(line):
            first, last = int(m.group("first")), int(m.group("last"))
            return (first - 1, last, lang) if 1 <= first <= last else None
    return None


def render_answer_page(question: str, answer: Answer, start: int, per_page: int, *, lang: str) -> tuple[str, int]:
    """The message for hits ``start..``: up to ``per_page`` citations, cut at citation boundaries
    so it stays within 4096 characters.  Returns the HTML and the index after the last hit shown.
    ``lang`` ("zh"/"en") is the language of the header; the citations are the corpus's own words."""
    hits = answer.hits
    total = len(hits)
    start = max(0, min(start, total - 1))
    page = next_page(hits, hits[:start], per_page)
    blocks: list[str] = []
    budget = MAX_MESSAGE - tg_len(_answer_header(question, start, start + len(page), total, lang)) - 2
    used = 0
    for hit in page:
        block = render_hit(hit, hit.rank, expandable=bool(blocks))  # the first citation in full
        cost = tg_len(block) + (2 if blocks else 0)
        if blocks and used + cost > budget:
            break
        blocks.append(block)
        used += cost
    end = start + len(blocks)
    text = _answer_header(question, start, end, total, lang) + "\n\n" + "\n\n".join(blocks)
    return text, end


def render_passage(hit: Hit, number: int) -> str:
    """The full passage of a citation (trimmed around the answer to fit), the answer in bold."""
    head = f"<b>{number}. {esc(clip(hit.title, TITLE_CHARS))}</b>\n📰 <i>{where(hit)}</i>\n\n"
    text = hit.text or hit.excerpt
    a0, b0 = hit.highlight
    sentence = hit.excerpt[a0:b0].strip().strip("…").strip()
    at = text.find(sentence) if sentence else -1
    a, b = (at, at + len(sentence)) if at >= 0 else (0, 0)
    budget = MAX_MESSAGE - tg_len(head)
    n = len(text)
    while True:
        shown, sa, sb = window(text, a, b, n)
        body = highlighted(shown, sa, sb)
        if tg_len(body) <= budget or n <= 1:
            return head + body
        n = max(1, min(n - 1, int(n * budget / tg_len(body)) - 2))


def render_sources(articles: Sequence, page: int, per_page: int = SOURCES_PER_PAGE, *, lang: str) -> tuple[str, int, int]:
    """One page of the article list, its header in ``lang``; returns ``(html, page, pages)`` with ``page`` clamped."""
    files = len({a.source for a in articles})
    pages = max(1, math.ceil(len(articles) / per_page))
    page = max(0, min(page, pages - 1))
    lines = [texts.SOURCES_HEADER(lang, articles=len(articles), a=_plural(len(articles)), files=files, s=_plural(files),
                                  page=page + 1, pages=pages)]
    for i, art in enumerate(articles[page * per_page : (page + 1) * per_page], page * per_page + 1):
        lines.append(f"{i}. <b>{esc(clip(art.title, SOURCE_LIST_CHARS))}</b>\n    📰 <i>{_article_where(art)}</i> · {len(art.paragraphs)} ¶")
    return "\n\n".join(lines), page, pages


def _article_where(art) -> str:
    page = f" p.{art.pdf_page}" if art.pdf_page else ""
    parts = [esc(x) for x in (art.date, art.page) if x] + [esc(clip(art.source + page, SOURCE_LIST_CHARS))]
    if art.url and _LINK.match(art.url):
        parts[-1] = f'<a href="{html.escape(art.url, quote=True)}">{parts[-1]}</a>'
    return " · ".join(parts)


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


def render_help(articles: Sequence, username: str, admin: bool, *, lang: str) -> str:
    """/start and /help: what the bot knows and how to ask it, in ``lang``."""
    files = len({a.source for a in articles})
    bot = f"@{username}" if username else "@bot"
    text = texts.HELP(lang, articles=len(articles), a=_plural(len(articles)), files=files, s=_plural(files), bot=esc(bot))
    return text + texts.HELP_ADMIN(lang) if admin else text
