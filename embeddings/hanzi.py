"""Traditional Chinese characters read as Simplified, for cutting words (not for display).

jieba's dictionary is Simplified: on Traditional text it glues and splits words badly (為什 /
麼現 for 為什麼 / 現, 狄托過 for 狄托 / 過世). ``tokenize.py`` therefore cuts the text's
Simplified reading, character by character with OpenCC's table (``data/t2s-characters.json``),
and keeps the text's own characters in each token.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from importlib import resources

log = logging.getLogger(__name__)
TABLE = "t2s-characters.json"  # JSON, not text: the data folder is also the sample corpus, whose .txt files are articles


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    """The character table; empty (text cut as it is written) when the file cannot be read,
    reported once: a search must not fail for it."""
    try:
        pairs = json.loads(resources.files(__package__).joinpath("data", TABLE).read_text(encoding="utf-8"))["pairs"]
        if not isinstance(pairs, str) or len(pairs) % 2:
            raise ValueError("its pairs are not a string of character pairs")
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("The character table %s could not be read (%s); Traditional text is cut as written. Reinstall newsbot to restore it.", TABLE, e)
        return {}
    return {ord(pairs[i]): pairs[i + 1] for i in range(0, len(pairs), 2)}


def to_simplified(text: str) -> str:
    """``text`` with Traditional characters replaced by Simplified ones (one for one: same length)."""
    return text.translate(_table())
