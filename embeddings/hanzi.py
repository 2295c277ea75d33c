"""Traditional Chinese characters read as Simplified, for cutting words (not for display).

jieba's dictionary is Simplified: on Traditional text it glues and splits words badly (為什 /
麼現 for 為什麼 / 現, 狄托過 for 狄托 / 過世). ``tokenize.py`` therefore cuts the text's
Simplified reading, character by character with OpenCC's table (``data/t2s-characters.json``),
and keeps the text's own characters in each token.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    # JSON, not text: the data folder is also the sample corpus, whose .txt files are articles.
    pairs = json.loads(resources.files(__package__).joinpath("data", "t2s-characters.json").read_text(encoding="utf-8"))["pairs"]
    return {ord(pairs[i]): pairs[i + 1] for i in range(0, len(pairs) - 1, 2)}


def to_simplified(text: str) -> str:
    """``text`` with Traditional characters replaced by Simplified ones (one for one: same length)."""
    return text.translate(_table())
