"""Answers for people: rich on a terminal, plain text when piped or when ``NO_COLOR`` is set.

Plain format (stable; scripts and tests rely on it)::

    [1] title · source ¶1-2
        excerpt with the **answering sentence** marked

Corpus text is never interpreted as rich markup: everything goes through ``rich.text.Text``.
Nothing from the data reaches the terminal raw: titles, file names and text go through
:func:`printable` (control characters shown as ``\x1b``, ``\n``; a file name cannot add a line).
"""

from __future__ import annotations

import os
import sys
from typing import IO, Iterable

from ..embeddings.printable import json_dumps, printable  # noqa: F401  (the output edge's helpers)

NOTHING = "Nothing relevant found in the indexed articles. (没有找到相关内容。)"
NOTHING_HINT = "Try other words or a shorter question; `newsbot sources` lists what is indexed."

TITLE_STYLE = "bold"
WHERE_STYLE = "dim"
HIGHLIGHT_STYLE = "bold yellow"


def use_color(stream: IO | None = None) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set or ``TERM=dumb``."""
    stream = sys.stdout if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def format_paragraphs(paras) -> str:
    """``¶3``, ``¶1-2``, ``¶5-6, 11, 15``: the paragraphs an excerpt quotes, runs compressed."""
    paras = sorted(set(paras))
    if not paras:
        return ""
    runs: list[list[int]] = []
    for p in paras:
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return "¶" + ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def where_parts(hit) -> tuple[list[str], str]:
    """A citation's facts before the file (date, 版次) and the file with its PDF page and ¶:
    ``(["2023-03-15", "第3版"], "sample_page.pdf p.1 ¶2")``. Raw text: callers escape it."""
    before = [x for x in (getattr(hit, "date", ""), getattr(hit, "page", "")) if x]
    page = getattr(hit, "pdf_page", 0)
    source = hit.source + (f" p.{page}" if page else "")
    return before, f"{source} {format_paragraphs(hit.paragraphs)}".rstrip()


def where(hit) -> str:
    """``2023-03-15 · 第3版 · sample_page.pdf p.1 ¶2``, and the URL when it is not the source."""
    before, source = where_parts(hit)
    url = getattr(hit, "url", "")
    after = [url] if url and url != hit.source else []
    return " · ".join(printable(x) for x in [*before, source, *after])


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


# -- plain text -------------------------------------------------------------------------------


def plain_hit(hit) -> str:
    """``[n] title · source ¶p`` then the indented excerpt, the answering sentence in ``**``."""
    a, b = hit.highlight
    ex = hit.excerpt
    body = printable(ex[:a], True) + "**" + printable(ex[a:b], True) + "**" + printable(ex[b:], True) if b > a else printable(ex, True)
    return f"[{hit.rank}] {printable(hit.title)} · {where(hit)}\n{_indent(body)}"


def plain_answer(answer, hint: bool = False) -> str:
    if not answer.answered:
        return NOTHING + (f"\n{NOTHING_HINT}" if hint else "")
    return "\n\n".join(plain_hit(h) for h in answer.hits)


def plain_full(hit) -> str:
    return f"[{hit.rank}] {printable(hit.title)} · {where(hit)}\n{_indent(printable(hit.text, True))}"


def _row_where(r: dict) -> str:
    page = f" p.{r['pdf_page']}" if r.get("pdf_page") else ""
    return " · ".join(printable(x) for x in [r.get("date", ""), r.get("page", ""), r["source"] + page] if x)


def plain_sources(rows: list[dict]) -> str:
    return "\n".join(f"{i:>3}. {printable(r['title'])} · {_row_where(r)} ({r['paragraphs']} paragraphs, {r['chunks']} chunks)" for i, r in enumerate(rows, 1))


# -- rich -----------------------------------------------------------------------------------


def console(stream: IO | None = None, color: bool | None = None, **kw):
    from rich.console import Console

    stream = sys.stdout if stream is None else stream
    color = use_color(stream) if color is None else color
    return Console(file=stream, force_terminal=color, no_color=not color, highlight=False, emoji=False, markup=False, **kw)


def rich_head(hit):
    from rich.text import Text

    head = Text()
    head.append(f"[{hit.rank}] ", style=TITLE_STYLE)
    head.append(printable(hit.title), style=TITLE_STYLE)
    head.append(f" · {where(hit)}", style=WHERE_STYLE)
    return head


def rich_hit(hit, full: bool = False):
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    if full:
        body = Text(printable(hit.text, True))
    else:
        a, b = hit.highlight
        ex = hit.excerpt
        body = Text(printable(ex[:a], True))
        body.append(printable(ex[a:b], True), style=HIGHLIGHT_STYLE)
        body.append(printable(ex[b:], True))
    return Group(rich_head(hit), Padding(body, (0, 0, 0, 4)))


def print_hits(hits: Iterable, stream: IO | None = None, color: bool | None = None, full: bool = False) -> None:
    stream = sys.stdout if stream is None else stream
    color = use_color(stream) if color is None else color
    hits = list(hits)
    if not color:
        print("\n\n".join(plain_full(h) if full else plain_hit(h) for h in hits), file=stream, flush=True)
        return
    con = console(stream, color=True)
    for i, h in enumerate(hits):
        if i:
            con.print()
        con.print(rich_hit(h, full=full))
    stream.flush()


def print_answer(answer, stream: IO | None = None, color: bool | None = None, hint: bool = True) -> None:
    """Print an answer: rich on a terminal, else the plain format."""
    stream = sys.stdout if stream is None else stream
    color = use_color(stream) if color is None else color
    if answer.answered:
        print_hits(answer.hits, stream, color)
        return
    if not color:
        print(plain_answer(answer, hint=hint), file=stream, flush=True)
        return
    from rich.text import Text

    con = console(stream, color=True)
    con.print(Text(NOTHING, style="bold"))
    if hint:
        con.print(Text(NOTHING_HINT, style=WHERE_STYLE))


def print_sources(rows: list[dict], stream: IO | None = None, color: bool | None = None) -> None:
    stream = sys.stdout if stream is None else stream
    color = use_color(stream) if color is None else color
    if not color:
        if rows:
            print(plain_sources(rows), file=stream, flush=True)
        return
    from rich.text import Text

    con = console(stream, color=True)
    for i, r in enumerate(rows, 1):
        line = Text(f"{i:>3}. ")
        line.append(printable(r["title"]), style=TITLE_STYLE)
        line.append(f" · {_row_where(r)} ({r['paragraphs']} paragraphs, {r['chunks']} chunks)", style=WHERE_STYLE)
        con.print(line)
