"""Small pure helpers shared by the retrieval core and the front ends: surrogate scrubbing, percentiles."""

from __future__ import annotations

import math
import re
from typing import Iterable

_SURROGATES = re.compile("[\ud800-\udfff]")


def scrub_surrogates(text: str) -> str:
    """``text`` with lone surrogates (valid in a Python str, not in UTF-8) replaced by U+FFFD.

    A JSON update may carry "\\ud800", and so may a question typed in a terminal with odd bytes;
    kept, they make the text unprintable and a request that echoes it unencodable.
    """
    return _SURROGATES.sub("\ufffd", text) if text else text


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100): a value that was measured; 0 for no values."""
    data = sorted(values)
    if not data:
        return 0.0
    return data[max(0, math.ceil(q / 100 * len(data)) - 1)]
