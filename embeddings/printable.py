"""Text from data (file names, titles, article text, questions) made safe for a terminal or a log line.

A file name or an article can hold ESC/OSC sequences (``\\x1b]0;title\\x07``, ``\\x1b[2J``), BEL,
CR, backspace, C1 controls or line breaks; written raw they would retitle or clear the
terminal, or forge lines (a citation ``[9] …``, a log record). ``printable`` shows each such
character as a visible escape (``\\x1b``, ``\\n``) and changes nothing else; ``json_dumps`` is
``json.dumps`` with the controls it leaves raw (C1, DEL, U+2028/2029) escaped too.
"""

from __future__ import annotations

import json
import re

# C0 controls, DEL, C1 controls, lone surrogates (undecodable bytes of a file name), the Unicode
# line/paragraph separators and the bidirectional overrides/isolates that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029]")  # what json.dumps(ensure_ascii=False) leaves as is


def _escape(m: re.Match) -> str:
    c = m.group()
    n = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    if 0xDC80 <= n <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogate escape)
        return f"\\x{n - 0xDC00:02x}"
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def printable(text, lines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\n``, ``\\u202e``).

    ``lines=True`` keeps newlines and tabs, for text that is several lines by design (an excerpt,
    a message of ours); otherwise the result is one line.
    """
    return (_UNSAFE_KEEP_LINES if lines else _UNSAFE).sub(_escape, str(text))


def json_dumps(obj) -> str:
    """``json.dumps(obj, ensure_ascii=False)``, the same JSON, with no raw C1 control or line separator."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(obj, ensure_ascii=False))
