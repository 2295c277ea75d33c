"""Small helpers shared by the retrieval core and the front ends: surrogate scrubbing, a
question as searched, percentiles, a thread-safe LRU map."""

from __future__ import annotations

import html
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from typing import Callable, Generic, Hashable, Iterable, TypeVar

_V = TypeVar("_V")

_SURROGATES = re.compile("[\ud800-\udfff]")


def scrub_surrogates(text: str) -> str:
    """``text`` with lone surrogates (valid in a Python str, not in UTF-8) replaced by U+FFFD.

    A JSON update may carry "\\ud800", and so may a question typed in a terminal with odd bytes;
    kept, they make the text unprintable and a request that echoes it unencodable.
    """
    return _SURROGATES.sub("\ufffd", text) if text else text


# HTML tags pasted with a question (from a web page or a chat client's formatting): markup, not
# words to look for. Only common tag names, so that "a<b" or "x < 5 > y" stay as they are.
_TAG = re.compile(r"</?(?:a|b|i|u|s|em|strong|span|div|p|br|font|code|pre|script|style|sup|sub|del|ins|mark|small|big"
                  r"|blockquote|h[1-6]|li|ul|ol|table|tr|td|th|img|tg-spoiler)(?:\s[^<>]{0,200})?/?>", re.IGNORECASE)


def searched_text(text: str) -> str:
    """A question as searched: NFC, control characters dropped, HTML tags dropped and entities
    (&amp;) read, spaces collapsed."""
    text = html.unescape(_TAG.sub(" ", text)) if "<" in text or "&" in text else text
    return " ".join("".join(c for c in unicodedata.normalize("NFC", text) if unicodedata.category(c)[0] != "C" or c in "\n\t").split())


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100): a value that was measured; 0 for no values."""
    data = sorted(values)
    if not data:
        return 0.0
    return data[max(0, math.ceil(q / 100 * len(data)) - 1)]


class LRU(Generic[_V]):
    """A bounded least-recently-used map, safe across threads, owned by one :class:`~newsbot.embeddings.search.Retriever`
    (unlike ``functools.lru_cache`` on a method, it keeps no reference to its owner alive)."""

    def __init__(self, maxsize: int):
        self._maxsize = maxsize
        self._data: OrderedDict[Hashable, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], _V]) -> _V:
        """The value for ``key``, made (outside the lock: it may be slow) when missing."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)
        return value
