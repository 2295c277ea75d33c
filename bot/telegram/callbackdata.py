"""Callback data of the inline buttons (encode, decode, the index generation they carry) and the keyboards that hold them."""

from __future__ import annotations

import hashlib
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from . import texts

_CALLBACK_RE = re.compile(r"^n1\|([0-9a-f]{8})\|([mps])\|(\d{1,5})$")


def encode_callback(generation: str, action: str, arg: int) -> str:
    """``n1|<index generation>|<m more, p passage, s sources page>|<number>``: versioned, <= 24 bytes."""
    return f"n1|{generation}|{action}|{arg}"


def decode_callback(data: object) -> tuple[str, str, int] | None:
    """The parts of well-formed callback data, else None (forged, foreign or an old format)."""
    if not isinstance(data, str):
        return None
    m = _CALLBACK_RE.fullmatch(data)  # fullmatch: "$" alone would accept a trailing newline
    return (m.group(1), m.group(2), int(m.group(3))) if m else None


def index_generation(index) -> str:
    """A short id of one build of the index: changes on every rebuild, stable across restarts."""
    return hashlib.sha1(index.generation().encode()).hexdigest()[:8]


def answer_keyboard(generation: str, start: int, end: int, total: int, *, lang: str) -> InlineKeyboardMarkup | None:
    """One "full passage" button per citation shown, and "More" when hits remain (labels in ``lang``)."""
    rows = [[InlineKeyboardButton(texts.FULL_PASSAGE_BUTTON(lang, n=i + 1), callback_data=encode_callback(generation, "p", i))
             for i in range(start, end)]]
    if end < total:
        rows.append([InlineKeyboardButton(texts.MORE_BUTTON(lang), callback_data=encode_callback(generation, "m", end))])
    return InlineKeyboardMarkup([r for r in rows if r]) if any(rows) else None


def sources_keyboard(generation: str, page: int, pages: int, *, lang: str) -> InlineKeyboardMarkup | None:
    """◀ and ▶ around a page of /sources (labels in ``lang``)."""
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(texts.PREV_BUTTON(lang), callback_data=encode_callback(generation, "s", page - 1)))
    if page + 1 < pages:
        row.append(InlineKeyboardButton(texts.NEXT_BUTTON(lang), callback_data=encode_callback(generation, "s", page + 1)))
    return InlineKeyboardMarkup([row]) if row else None
