"""Corpus files as text: encoding detection (UTF-8/16/32, GB18030, Big5), streaming, file names."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import NamedTuple

# Files are read as a stream, decoded incrementally, so their size is not limited (the caller
# caps how many characters are kept).
READ_CHUNK = 1 << 20
SNIFF_BYTES = 64 * 1024  # bytes after the first non-ASCII byte used to detect the encoding
NOT_TEXT = ("looks binary (NUL or control bytes), not text: if it is a document or a scan, "
            "give it its real extension (.pdf, .docx, .png …) and index it again")
# A file is binary when its first BINARY_SNIFF_BYTES hold a NUL, or more control bytes (other
# than tab, line feed, form feed, carriage return and escape) than 1 in CONTROL_DIVISOR, and
# more than MIN_CONTROL.
BINARY_SNIFF_BYTES = 8192
_TEXT_CONTROLS = (9, 10, 12, 13, 27)
CONTROL_DIVISOR, MIN_CONTROL = 100, 8
# A damaged file may have a few broken byte sequences (replaced by U+FFFD): at most MIN_BROKEN,
# or 1 character in BROKEN_DIVISOR. More, and it is not text in that encoding.
BROKEN_DIVISOR, MIN_BROKEN = 1000, 3
# Choosing between GB18030 and Big5: the share of common Chinese characters, less this much for
# each unassigned or replaced character.
BAD_CHAR_PENALTY = 0.01

# ~500 of the most frequent simplified and traditional Chinese characters. A right decoding of
# Chinese text is dense in them; a GBK text decoded as Big5 (or the reverse) is not.
_COMMON = set(
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
    "多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还"
    "因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结"
    "解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级"
    "少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领"
    "七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每"
    "目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影"
    "算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往历市克何除消构府称太准精"
    "值号率族维划选标写存候亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁"
    "价严們這個來為時國說會發動與對經實學現長點過後當種開關問體處將麼還進從見們裡讓當樣無於年臺灣記者報導訊"
)


class SkipFile(Exception):
    """Raised by ``read_text`` for a file that is not text; the message names why."""


def _looks_binary(data: bytes) -> bool:
    sample = data[:BINARY_SNIFF_BYTES]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in _TEXT_CONTROLS)
    return control > max(MIN_CONTROL, len(sample) // CONTROL_DIVISOR)


def few_broken(bad: int, chars: int) -> bool:
    """``bad`` replaced byte sequences in ``chars`` characters are a damaged text, not another encoding."""
    return bad <= max(MIN_BROKEN, chars // BROKEN_DIVISOR)


def _chinese_score(text: str) -> float:
    """Share of common Chinese characters among the CJK characters of ``text`` (0..1)."""
    cjk = [c for c in text if "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"]
    if not cjk:
        return 0.0
    return sum(c in _COMMON for c in cjk) / len(cjk)


def _bad_chars(text: str) -> int:
    return sum(1 for c in text if unicodedata.category(c) in ("Co", "Cn", "Cs") or c == "\ufffd")


def _likelihood(text: str) -> float:
    """How likely ``text`` is the right decoding of Chinese bytes (higher is likelier)."""
    return _chinese_score(text) - BAD_CHAR_PENALTY * _bad_chars(text)


def display_name(name: str) -> str:
    """A file name as text that can be stored and shown: each part of the path that is not UTF-8
    (``os.fsdecode``'s surrogate escapes, e.g. a GBK name from an archive made on Chinese Windows)
    is read as GB18030 or Big5 when it decodes as one (the likelier Chinese wins), else its bad
    bytes are shown as ``\\xNN``. UTF-8 names are returned unchanged."""
    if not any("\udc80" <= c <= "\udcff" for c in name):
        return name
    parts = []
    for part in name.split("/"):
        if any("\udc80" <= c <= "\udcff" for c in part):
            raw = part.encode("utf-8", "surrogateescape")
            candidates = []
            for enc in ("gb18030", "big5"):
                try:
                    text = raw.decode(enc)
                except UnicodeDecodeError:
                    continue
                candidates.append((_likelihood(text), enc, text))
            part = max(candidates)[2] if candidates else raw.decode("utf-8", "backslashreplace")
        parts.append(part)
    return "/".join(parts)


_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_HIGH = re.compile(rb"[\x80-\xff]")


def _first_high(data: bytes) -> int:
    m = _HIGH.search(data)
    return m.start() if m else -1


def _sniff(sample: bytes, final: bool) -> tuple[str, str]:
    """``(codec, label)`` for a file starting with ``sample``; raises :class:`SkipFile`.

    ``sample`` may end inside a multi-byte character unless ``final`` (the whole file).
    """
    for bom, enc in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if sample.startswith(bom):
            try:
                codecs.getincrementaldecoder(enc)().decode(sample, final)
            except UnicodeDecodeError as e:
                raise SkipFile(f"starts with a {enc} byte-order mark but is not valid {enc} ({e.reason}); open it in a text editor and save it again as UTF-8")
            return enc, enc.replace("-sig", " with BOM")
    if _looks_binary(sample):
        raise SkipFile(NOT_TEXT)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final)
        return "utf-8", "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = []
    for enc in ("gb18030", "big5"):
        try:
            text = codecs.getincrementaldecoder(enc)().decode(sample, final)
        except UnicodeDecodeError:
            continue
        candidates.append((_likelihood(text), enc))
    if not candidates:
        text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample, final)
        if few_broken(text.count("\ufffd"), len(text)):
            return "utf-8", "utf-8"  # mostly UTF-8 with a few broken bytes: they are replaced
        raise SkipFile("is not UTF-8, UTF-16, GB18030/GBK or Big5 text; open it in a text editor and save it as UTF-8")
    return max(candidates)[1], max(candidates)[1]


def open_regular(f: Path):
    """Open ``f`` for reading without ever blocking (a FIFO named x.txt), or raise SkipFile."""
    fd = os.open(f, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise SkipFile("is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise SkipFile("is not a regular file (a FIFO, socket or device)")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


class Decoded(NamedTuple):
    text: str
    encoding: str  # what was detected, e.g. "utf-8 with BOM", "gb18030"
    sha256: str  # of the whole file's bytes
    truncated: bool  # longer than the cap: only the first ``max_chars`` characters are kept
    bad: int  # byte sequences that did not decode (replaced by U+FFFD)


def read_text(f: Path, max_chars: int) -> Decoded:
    """Read one corpus file as a stream.

    The file is read 1 MiB at a time and decoded incrementally; at most ``max_chars``
    characters are kept (the rest is only hashed), so memory stays bounded whatever the
    file's size. Raises :class:`SkipFile` (not text, empty) or ``OSError`` (unreadable, gone).
    """
    cap = max_chars
    digest = hashlib.sha256()
    parts: list[str] = []
    kept = 0
    bad = 0
    truncated = False
    decoder = None
    label = ""
    pending = b""  # bytes read before the encoding is known
    with open_regular(f) as fh:
        first = True
        while True:
            chunk = fh.read(READ_CHUNK)
            eof = not chunk
            digest.update(chunk)
            if truncated:
                if eof:
                    break
                continue
            if decoder is None:
                pending += chunk
                bom = pending.startswith(_BOMS)
                if first and pending:
                    first = False
                    if not bom and _looks_binary(pending):
                        raise SkipFile(NOT_TEXT)
                m = 0 if bom else _first_high(pending)
                if m < 0 and not eof:
                    if len(pending) >= SNIFF_BYTES:
                        # Pure ASCII so far: it reads the same in every candidate encoding;
                        # keep it and go on sniffing after it.
                        text = pending.decode("ascii")
                        pending = b""
                        if kept + len(text) > cap:
                            text, truncated = text[: cap - kept], True
                        parts.append(text)
                        kept += len(text)
                    continue
                if m >= 0 and not eof and len(pending) - m < SNIFF_BYTES:
                    continue
                codec, label = _sniff(pending, eof)
                decoder = codecs.getincrementaldecoder(codec)(errors="replace")
                chunk, pending = pending, b""
            text = decoder.decode(chunk, eof)
            if text:
                bad += text.count("\ufffd")
                if kept + len(text) > cap:
                    text = text[: cap - kept]
                    truncated = True
                parts.append(text)
                kept += len(text)
            if eof:
                break
    if decoder is None and pending:
        codec, label = _sniff(pending, True)
        parts.append(pending.decode(codec, errors="replace"))
    text = "".join(parts)
    del parts
    if not text.strip():
        raise SkipFile("empty file")
    if not label:
        label = "utf-8"
    return Decoded(text, label, digest.hexdigest(), truncated, bad)
