"""Paging through results ("more"), shared by `newsbot chat` (:more) and the Telegram bot's More button."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from ..embeddings.types import Hit


def next_page(hits: Sequence[Hit], shown: Sequence[Hit], per_page: int | None = None) -> list[Hit]:
    """The page after the hits ``shown``: at most ``per_page`` of ``hits``, numbered on from
    ``len(shown) + 1``.

    ``hits`` is either the search ``shown`` came from (they begin it: the page goes on from there)
    or a new, longer search for the same question, whose order may differ: then every hit not
    shown yet is new. One passage can be cited twice with different excerpts (another matching
    sentence), so a hit counts as shown when the same excerpt of the same passages was.
    """
    if list(hits[: len(shown)]) == list(shown):
        fresh = list(hits[len(shown):])
    else:
        seen = {(h.article, h.passages, h.excerpt) for h in shown}
        fresh = []
        for h in hits:
            key = (h.article, h.passages, h.excerpt)
            if key not in seen:
                seen.add(key)
                fresh.append(h)
    if per_page is not None:
        fresh = fresh[:per_page]
    return [dataclasses.replace(h, rank=len(shown) + i + 1) for i, h in enumerate(fresh)]
