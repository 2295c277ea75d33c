"""A PDF page's text in reading order, as page markup, from its character boxes (pure; no I/O).

Coordinates are PDF points with y growing downward (pdfplumber's ``top``/``bottom``).

* :func:`fragments`: characters -> line fragments; a gap wider than ``SPLIT_GAP_EM`` ems (a
  column gutter) ends a fragment.
* :func:`reading_order`: a recursive XY-cut. A region is first cut above each headline that
  follows a full-width blank band (stacked articles stay whole). Then the best vertical gutter
  (an x-interval that body text leaves empty, with text beside text across it) is found: if no
  fragment crosses it, the region splits into columns, read left to right; if a headline crosses
  it (or sits alone above columns on both sides of it), the headline and the lines stacked on it
  (kicker, subtitle) are cut out top to bottom, and each part is cut again.
* :func:`markup`: leaves -> ``#`` headings (by size: the largest ``#``), ``**section**`` lines
  (bold or larger short lines inside a column), and one paragraph per line: a paragraph goes on
  across rows and columns until a first-line indent, a gap wider than the line spacing, or a
  short row ending a sentence.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from typing import NamedTuple, Sequence

from ..ingest import BYLINE, MAX_SECTION_CHARS, ends_sentence

HEADING_RATIO = 1.15  # a line this much bigger than the body size is a heading
SPLIT_GAP_EM = 0.9  # a gap this wide (in ems) between two characters of a line ends a fragment
MIN_GUTTER_EM = 0.8  # the narrowest column gutter, in body ems
_BOLD = re.compile(r"bold|black|heavy|semibold|demi|hei|黑|[,+-]b$", re.I)


class Box(NamedTuple):
    """A character, a line fragment (characters with no gutter-wide gap) or a row of fragments."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool = False

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2


Char = Frag = Box


class Leaf(NamedTuple):
    frags: list[Frag]  # top to bottom
    column: bool  # inside a column (an x-cut above it), not spanning the region
    lo: float = 0.0  # the x-range of the column (between its gutters) or region it came from
    hi: float = 0.0


def is_bold(fontname: str) -> bool:
    return bool(_BOLD.search(fontname.split("+")[-1]))


def _latin(c: str) -> bool:
    return c.isascii() and c.isalnum()


def join_text(a: str, b: str) -> str:
    """Join two lines of one paragraph: CJK directly, Latin words with a space, de-hyphenated."""
    if not a or not b:
        return a + b
    if a[-1] == " " or b[0] == " ":
        return a.rstrip() + " " + b.lstrip()
    if a[-1] == "-" and len(a) > 1 and a[-2].isascii() and a[-2].isalpha() and b[0].isascii() and b[0].islower():
        return a[:-1] + b
    tail = a[-2] if a[-1] in ",.;:!?)\"'" and len(a) > 1 else a[-1]
    if _latin(tail) and _latin(b[0]):
        latin_text = sum(c.isascii() for c in a[-40:]) > 20
        if tail.isalpha() or b[0].isalpha() or latin_text:
            return a + " " + b
    return a + b


def _frag(chars: list[Char]) -> Frag:
    text, prev = "", None
    for c in chars:
        if c.text.isspace():
            text += " "
            continue
        if prev is not None and not text.endswith(" "):
            gap, em = c.x0 - prev.x1, max(c.size, prev.size)
            if gap > 0.5 * em or (gap > 0.15 * em and prev.text[-1].isascii() and c.text[0].isascii()):
                text += " "
        text += c.text
        prev = c
    ink = [c for c in chars if not c.text.isspace()]
    size = Counter(round(c.size, 1) for c in ink).most_common(1)[0][0]
    lead = re.sub(r" +", " ", text).lstrip()
    return Frag(lead, ink[0].x0, ink[-1].x1, min(c.top for c in ink), max(c.bottom for c in ink),
                size, 2 * sum(c.bold for c in ink) >= len(ink))


def fragments(chars: Sequence[Char]) -> list[Frag]:
    """Characters -> line fragments, top to bottom, left to right (a gutter splits a line)."""
    rows: list[tuple[float, list[Char]]] = []
    for c in sorted(chars, key=lambda c: ((c.top + c.bottom) / 2, c.x0)):
        mid = (c.top + c.bottom) / 2
        if rows and abs(mid - rows[-1][0]) <= 0.35 * max(c.size, 1.0):
            rows[-1][1].append(c)
        else:
            rows.append((mid, [c]))
    out = []
    for _, row in rows:
        row.sort(key=lambda c: c.x0)
        run: list[Char] = []
        last = None
        for c in row:
            if last is not None and c.x0 - last.x1 > SPLIT_GAP_EM * max(c.size, last.size):
                out.append(_frag(run))
                run, last = [], None
            run.append(c)
            last = c if not c.text.isspace() else last
        if any(not c.text.isspace() for c in run):
            out.append(_frag(run))
    return out


def body_size(frags: Sequence[Frag]) -> float:
    """The most common font size, by characters (0 for no text)."""
    sizes = Counter()
    for f in frags:
        sizes[round(f.size * 2) / 2] += len(f.text.strip())
    return sizes.most_common(1)[0][0] if sizes else 0.0


def heading_levels(frags: Sequence[Frag], body: float) -> dict[float, int]:
    """Heading sizes (rounded to 0.5 pt) -> markup level: the largest 1, the next 2, … (at most 5)."""
    sizes = sorted({round(f.size * 2) / 2 for f in frags if f.size >= body * HEADING_RATIO}, reverse=True)
    return {s: min(i + 1, 5) for i, s in enumerate(sizes)}


def _overlap_y(a: Frag, b: Frag) -> bool:
    return a.top < b.bottom and b.top < a.bottom


def _gaps(spans: list[tuple[float, float]], allowed: int, min_width: float) -> list[tuple[float, float]]:
    """x-intervals between spans that at most ``allowed`` spans cover, at least ``min_width`` wide."""
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    gaps, depth, start = [], 0, None
    for x, d in events:
        depth += d
        if depth <= allowed and start is None and d < 0:
            start = x
        elif depth > allowed and start is not None:
            if x - start >= min_width:
                gaps.append((start, x))
            start = None
    return gaps


def _best_gutter(fs: list[Frag], body: float):
    """(crossing fragments, x0, x1) of the gutter to cut at, or None: an x-interval that body-size
    text leaves empty (but for ~5% of it, which crosses it), with text beside text across it."""
    sel = [f for f in fs if f.size < body * HEADING_RATIO]
    if len(sel) < 2:
        return None
    gaps, min_width = [], MIN_GUTTER_EM * body
    for c0, c1 in _gaps([(f.x0, f.x1) for f in sel], len(sel) // 20, min_width):
        # Within a candidate, the gutters are where nothing but the crossing text is.
        inside = [(f.x0, f.x1) for f in sel if not (f.x0 < c0 and f.x1 > c1)]
        gaps += _gaps(inside + [(c0 - 1, c0), (c1, c1 + 1)], 0, min_width)
    best = None
    for g0, g1 in gaps:
        left = [f for f in sel if f.x1 <= g0 + 0.5]
        right = [f for f in sel if f.x0 >= g1 - 0.5]
        if not any(_overlap_y(f, r) for f in left for r in right):  # text beside text across it
            continue
        crossing = [f for f in fs if f.x0 < g0 - 0.5 and f.x1 > g1 + 0.5] + _blocking_heads(fs, g0, g1, body)
        key = (len(crossing), -(g1 - g0))
        if best is None or key < best[0]:
            best = (key, crossing, g0, g1)
    return None if best is None else best[1:]


def _blocking_heads(fs: list[Frag], g0: float, g1: float, body: float) -> list[Frag]:
    """Headings on one side of a gutter with nothing beside them across it and text on both
    sides just below: a short headline centred over three columns spans them all."""
    out = []
    for h in fs:
        if h.size < body * HEADING_RATIO or (h.x0 < g0 and h.x1 > g1):
            continue
        left = h.x1 <= g0 + 0.5
        across = [f for f in fs if (f.x0 >= g1 - 0.5 if left else f.x1 <= g0 + 0.5)]
        below = lambda side: any(h.bottom < f.top <= h.bottom + 3 * h.size for f in side)
        if not any(_overlap_y(h, f) for f in across) and below(across) and below(
            [f for f in fs if f is not h and (f.x1 <= g0 + 0.5 if left else f.x0 >= g1 - 0.5)]
        ):
            out.append(h)
    return out


def _spanners(fs: list[Frag], crossing: list[Frag], body: float) -> set[int]:
    """The crossing fragments, and the headings stacked on a crossing heading (kicker, subtitle)."""
    span = {id(f) for f in crossing}
    heads = [f for f in crossing if f.size >= body * HEADING_RATIO]
    grew = True
    while grew and heads:
        grew = False
        for f in fs:
            if id(f) in span:
                continue
            for h in heads:
                near = min(abs(f.top - h.bottom), abs(h.top - f.bottom)) < 0.8 * max(h.size, f.size)
                aligned = abs(f.cx - h.cx) < 2 * f.size or abs(f.x0 - h.x0) < f.size
                if near and aligned and (f.size >= body * HEADING_RATIO or len(f.text) <= MAX_SECTION_CHARS):
                    span.add(id(f))
                    heads.append(f)
                    grew = True
                    break
    return span


def _article_starts(fs: list[Frag], body: float) -> list[int]:
    """Where a headline follows a full-width blank band (fs sorted by top): a new block starts.
    Cutting there first keeps a wide article's columns together above narrower ones."""
    starts, bottom = [], None
    for i, f in enumerate(fs):
        if bottom is not None and f.top - bottom >= max(body, 0.8 * f.size):
            row = itertools.takewhile(lambda g: g.top <= f.top + 0.5 * f.size, fs[i:])
            if any(g.size >= body * HEADING_RATIO for g in row):
                starts.append(i)
        bottom = f.bottom if bottom is None else max(bottom, f.bottom)
    return starts


def reading_order(frags: Sequence[Frag], body: float) -> list[Leaf]:
    """Recursive XY-cut into leaves in reading order (see the module docstring)."""
    out: list[Leaf] = []

    def visit(fs: list[Frag], column: bool, depth: int, lo: float, hi: float) -> None:
        fs = sorted(fs, key=lambda f: (f.top, f.x0))
        starts = _article_starts(fs, body) if depth < 40 else []
        if starts:
            for a, b in zip([0] + starts, starts + [len(fs)]):
                visit(fs[a:b], column, depth + 1, lo, hi)
            return
        cut = _best_gutter(fs, body) if depth < 40 and len(fs) > 1 else None
        if cut is None:
            out.append(Leaf(fs, column, lo, hi))
            return
        crossing, g0, g1 = cut
        if not crossing:
            mid = (g0 + g1) / 2
            left, right = [f for f in fs if f.cx < mid], [f for f in fs if f.cx >= mid]
            visit(left, True, depth + 1, lo, max(f.x1 for f in left))
            visit(right, True, depth + 1, min(f.x0 for f in right), hi)
            return
        span = _spanners(fs, crossing, body)
        runs: list[tuple[bool, list[Frag]]] = []
        for f in fs:
            kind = id(f) in span
            if runs and runs[-1][0] == kind:
                runs[-1][1].append(f)
            else:
                runs.append((kind, [f]))
        if len(runs) == 1:
            out.append(Leaf(fs, column, lo, hi))
            return
        for spanning, run in runs:  # a headline across columns is not in a column
            visit(run, column and not spanning, depth + 1, lo, hi)

    visit(list(frags), False, 0, min((f.x0 for f in frags), default=0.0), max((f.x1 for f in frags), default=0.0))
    return out


def row_groups(frags: Sequence[Frag]) -> list[list[Frag]]:
    """Fragments grouped into rows (overlapping vertically by half a line), top to bottom."""
    groups: list[list[Frag]] = []
    for f in sorted(frags, key=lambda f: (f.top, f.x0)):
        if groups:
            top, bottom = min(g.top for g in groups[-1]), max(g.bottom for g in groups[-1])
            if min(f.bottom, bottom) - max(f.top, top) > 0.5 * min(f.bottom - f.top, bottom - top):
                groups[-1].append(f)
                continue
        groups.append([f])
    for g in groups:
        g.sort(key=lambda f: f.x0)
    return groups


def rows_of(frags: Sequence[Frag]) -> list[Box]:
    """Fragments -> text rows, top to bottom (fragments side by side joined with a space)."""
    return [Box(" ".join(f.text.strip() for f in g) + (" " if g[-1].text.endswith(" ") else ""), g[0].x0, g[-1].x1,
                min(f.top for f in g), max(f.bottom for f in g), max(f.size for f in g), all(f.bold for f in g))
            for g in row_groups(frags)]


def _classify(rows: list[Box], leaf: Leaf, body: float, levels: dict[float, int]) -> list[tuple[str, int]]:
    """Each row: ("h", level) heading, ("s", 0) section line, or ("p", 0) paragraph text. A
    section is a short row, well narrower than its column (not a row of a bold lead paragraph)."""
    kinds, column = [], leaf.column
    width = max((r.x1 for r in rows), default=0.0) - min((r.x0 for r in rows), default=0.0)
    width = max(width, leaf.hi - leaf.lo) if column else width
    for r in rows:
        text = r.text.strip()
        short = len(text) <= MAX_SECTION_CHARS and not BYLINE.match(text) and r.x1 - r.x0 < 0.8 * width
        if r.size >= body * HEADING_RATIO and not column:
            kinds.append(("h", levels.get(round(r.size * 2) / 2, 1)))
        elif short and (r.size >= body * HEADING_RATIO or r.bold) and not ends_sentence(text):
            kinds.append(("s", 0))
        else:
            kinds.append(("p", 0))
    if column or not rows:
        return kinds
    # A short line stacked on a headline (kicker above, subtitle below) is a heading too.
    low = min(max(levels.values(), default=0) + 1, 6)
    for i, r in enumerate(rows):
        text = r.text.strip()
        if kinds[i][0] == "h" or ends_sentence(text) or BYLINE.match(text) or r.x1 - r.x0 > 0.7 * width:
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(rows) and kinds[j][0] == "h":
                h = rows[j]
                near = min(abs(r.top - h.bottom), abs(h.top - r.bottom)) < h.size
                if near and (abs((r.x0 + r.x1) / 2 - (h.x0 + h.x1) / 2) < 2 * r.size or abs(r.x0 - h.x0) < r.size):
                    kinds[i] = ("h", low)
                    break
    return kinds


def markup(frags: Sequence[Frag], body: float, levels: dict[float, int]) -> list[str]:
    """The page as markup lines: ``#`` headings, ``**section**`` lines, one paragraph per line.

    A paragraph continues across rows (and from one column into the next) unless the row is
    indented, follows a vertical gap wider than the line spacing, or follows a short row that
    ends a sentence. Consecutive heading rows of one size are one (wrapped) headline."""
    lines: list[str] = []
    para: str | None = None
    short_end = False
    last_head: tuple[int, Box, int] | None = None  # (level, row, leaf) of the heading just written
    for li, leaf in enumerate(reading_order(frags, body)):
        rows = rows_of(leaf.frags)
        kinds = _classify(rows, leaf, body, levels)
        text_rows = [r for r, k in zip(rows, kinds) if k[0] == "p"]
        right = max((r.x1 for r in text_rows), default=0.0)
        full = [r.x0 for r in text_rows if r.x1 >= right - r.size]
        left = min(full or [r.x0 for r in text_rows] or [0.0])
        if leaf.column:  # a column's edges are its gutters (its rows may all be indented or short)
            left, right = min(left, leaf.lo), max(right, leaf.hi)
        gaps = [b.top - a.bottom for a, b in zip(text_rows, text_rows[1:])]
        usual = statistics.median(gaps) if gaps else 0.0
        prev: Box | None = None
        for row, (kind, level) in zip(rows, kinds):
            text = row.text.strip()
            if kind != "p":
                if para is not None:
                    lines.append(para)
                    para = None
                short_end = False
                if kind == "s":
                    lines.append(f"**{text}**")
                elif last_head and last_head[0] == level and last_head[2] == li and row.top - last_head[1].bottom < 0.6 * row.size:
                    lines[-1] = join_text(lines[-1], row.text)  # a headline set in two lines
                else:
                    lines.append("#" * level + " " + row.text)
                last_head = (level, row, li) if kind == "h" else None
                prev = row
                continue
            last_head = None
            # A row indented like the full row before it, which did not end a sentence, goes on
            # (a hanging indent: list items, block quotes).
            hanging = prev is not None and prev.x1 >= right - 2 * row.size and not ends_sentence(prev.text.strip()) \
                and (abs(row.x0 - prev.x0) < 0.5 or (para or " ")[0] in "•●○■□◆◇▪▶►")
            indent = row.x0 - left > 0.8 * row.size and not hanging
            gap = prev is not None and row.top - prev.bottom > usual + 0.6 * row.size
            if para is None or indent or gap or short_end:
                if para is not None:
                    lines.append(para)
                para = row.text
            else:
                para = join_text(para, row.text)
            short_end = row.x1 < right - 2 * row.size and ends_sentence(text)
            prev = row
    if para is not None:
        lines.append(para)
    return [re.sub(r"\s+", " ", line).strip() for line in lines]
