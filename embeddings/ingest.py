"""Read corpus files and split newspaper pages into articles.

A pure function (``parse_page``), a streaming reader (``read_text``) and one generator over
the file system (``iter_corpus``). A file that cannot be read is reported through ``warn`` and
skipped; nothing here raises for bad input.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .types import Article

SUFFIXES = (".txt", ".md", ".markdown", ".text")
# Files are read as a stream (1 MiB at a time, decoded incrementally), so their size is not
# limited; what one file may contribute to the index is: at most this many characters
# (``$NEWSBOT_MAX_FILE_CHARS``), the rest is left out with a warning naming the file.
MAX_FILE_CHARS = 2_000_000
READ_CHUNK = 1 << 20
SNIFF_BYTES = 64 * 1024  # bytes after the first non-ASCII byte used to detect the encoding


def max_file_chars() -> int:
    """The per-file character cap: ``$NEWSBOT_MAX_FILE_CHARS`` when set to a positive number."""
    value = os.environ.get("NEWSBOT_MAX_FILE_CHARS", "").strip()
    try:
        n = int(value) if value else MAX_FILE_CHARS
    except ValueError:
        return MAX_FILE_CHARS
    return n if n > 0 else MAX_FILE_CHARS

# Shorter paragraphs may repeat within an article ("郑亚萍说。"); longer repeats are page-layout
# duplicates (a paragraph printed again after a page break) and are dropped.
MIN_DUP_CHARS = 12

# Characters that close a sentence (and so a paragraph that a page break did not cut).
SENTENCE_END = "。！？!?…；;.」』”’\"'）)》】"

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

BYLINE = re.compile(
    r"^\s*[（(【\[]?\s*(本报讯|本報訊|本报记者|本報記者|记者|記者|通讯员|通訊員|新华社|新華社|中新社|中新網|中新网|据.{0,12}报道|據.{0,12}報導)"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)(.+?)(\*\*|__)\s*$")
_SPACE = re.compile(r"[ \t\u3000\u00a0]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class SkipFile(Exception):
    """Raised by ``read_text`` for a file that is not text; the message names why."""


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return control > max(8, len(sample) // 100)


def _chinese_score(text: str) -> float:
    """Share of common Chinese characters among the CJK characters of ``text`` (0..1)."""
    cjk = [c for c in text if "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"]
    if not cjk:
        return 0.0
    return sum(c in _COMMON for c in cjk) / len(cjk)


def _bad_chars(text: str) -> int:
    return sum(1 for c in text if unicodedata.category(c) in ("Co", "Cn", "Cs") or c == "\ufffd")


def normalize_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line.replace("\ufeff", ""))
    line = "".join(c for c in line if c in "\t" or unicodedata.category(c) not in ("Cc", "Cf") or c == "\u200d")
    return _SPACE.sub(" ", line).strip()


@dataclass(frozen=True)
class _Block:
    kind: str  # "heading", "section" or "para"
    text: str
    level: int = 0


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time (no second copy of a big page in memory)."""
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        line = text[start:end]
        if "\r" in line or "\x0b" in line or "\x0c" in line or "\u2028" in line or "\u2029" in line or "\x1c" in line or "\x1d" in line or "\x1e" in line or "\x85" in line:
            yield from line.splitlines()
        else:
            yield line
        start = end + 1


def _blocks(text: str) -> list[_Block]:
    out = []
    for raw in _lines(text):
        line = normalize_line(raw)
        if not line:
            continue
        m = _HEADING.match(line)
        if m:
            title = m.group(2).strip().strip("*").strip()
            if title:
                out.append(_Block("heading", title, len(m.group(1))))
            continue
        m = _BOLD_LINE.match(line)
        if m and len(m.group(2)) <= 60:
            out.append(_Block("section", m.group(2).strip()))
            continue
        out.append(_Block("para", line))
    return out


def ends_sentence(text: str) -> bool:
    return bool(text) and text[-1] in SENTENCE_END


def _join(a: str, b: str) -> str:
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return a + " " + b
    if a.endswith("-") and b[:1].isascii():
        return a[:-1] + b
    return a + b


def rejoin_paragraphs(paras: Iterable[str]) -> list[str]:
    """Rejoin paragraphs cut by a page break: a paragraph that ends without sentence-final
    punctuation is joined to the next."""
    joined: list[str] = []
    carry = ""
    for p in paras:
        carry = _join(carry, p) if carry else p
        if ends_sentence(carry):
            joined.append(carry)
            carry = ""
    if carry:
        joined.append(carry)
    return joined


def clean_paragraphs(paras: Iterable[str]) -> list[str]:
    """De-duplicate repeated paragraphs and rejoin paragraphs cut by a page break.

    A paragraph of at least ``MIN_DUP_CHARS`` seen before in the same article (exactly, or
    inside an earlier paragraph once rejoined) is dropped.
    """
    seen: set[str] = set()
    unique = []
    for p in paras:
        if len(p) >= MIN_DUP_CHARS and p in seen:
            continue
        seen.add(p)
        unique.append(p)
    joined = rejoin_paragraphs(unique)
    out: list[str] = []
    for p in joined:
        if len(p) >= MIN_DUP_CHARS and any(p in q for q in out):
            continue
        out.append(p)
    return out


def _title_of(block: list[_Block]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Headline = the highest-level heading (first on a tie); above it kickers, below subtitles."""
    best = min(range(len(block)), key=lambda i: (block[i].level, i))
    return (
        block[best].text,
        tuple(b.text for b in block[:best]),
        tuple(b.text for b in block[best + 1 :]),
    )


def _is_plain_title(text: str) -> bool:
    return len(text) <= 40 and not ends_sentence(text) and not BYLINE.match(text)


def parse_page(text: str, source: str, start_id: int = 0) -> list[Article]:
    """Split one file's text into articles.

    A run of headings starts an article when a byline (本报讯, 记者…报道, 通讯员…) follows it,
    or, on pages without bylines, when it holds a heading of the page's top level. Other
    heading runs and bold lines are sections inside the current article. A file with no
    headings is one article, titled by its first line when that looks like a title, else by
    the file name.
    """
    blocks = _blocks(text)
    if not blocks:
        return []
    has_bylines = any(b.kind == "para" and BYLINE.match(b.text) for b in blocks)
    levels = [b.level for b in blocks if b.kind == "heading"]
    top = min(levels) if levels else 0

    # Group consecutive headings.
    groups: list[tuple[str, list[_Block]]] = []
    for b in blocks:
        if b.kind == "heading" and groups and groups[-1][0] == "heading":
            groups[-1][1].append(b)
        else:
            groups.append((b.kind, [b]))

    articles: list[dict] = []
    current: dict | None = None
    for i, (kind, items) in enumerate(groups):
        if kind == "heading":
            nxt = groups[i + 1] if i + 1 < len(groups) else None
            followed_by_byline = nxt is not None and nxt[0] == "para" and BYLINE.match(nxt[1][0].text)
            starts = current is None or (
                followed_by_byline if has_bylines else any(b.level == top for b in items)
            )
            if has_bylines and not starts and current is not None and not current["paras"]:
                starts = False  # headings stacked before any text: same article
            if starts:
                title, kicker, subtitles = _title_of(items)
                current = {"title": title, "kicker": kicker, "subtitles": subtitles, "paras": []}
                articles.append(current)
            # else: a section heading inside the current article; not a paragraph.
        elif kind == "section":
            if current is None:
                current = {"title": "", "kicker": (), "subtitles": (), "paras": []}
                articles.append(current)
        else:
            if current is None:
                current = {"title": "", "kicker": (), "subtitles": (), "paras": []}
                articles.append(current)
            current["paras"].append(items[0].text)

    out = []
    stem = Path(source).stem
    for a in articles:
        raw, title = a["paras"], a["title"]
        if not title and len(raw) > 1 and _is_plain_title(raw[0]):
            # A plain-text file's first short line is its title (checked before the page-break
            # rejoin, which would glue the unpunctuated line onto the first paragraph).
            title, raw = raw[0], raw[1:]
        paras = clean_paragraphs(raw)
        if not paras:
            continue
        title = title or _CONTROL.sub("", stem)  # a file name may hold control characters
        m = next((p for p in paras if BYLINE.match(p)), "")
        byline = ""
        if m:
            bm = re.match(r"^(.{0,60}?(报道|報導))\s", m) or re.match(r"^(.{0,30}?(讯|訊|电|電))\s", m)
            byline = bm.group(1) if bm else ""
        out.append(
            Article(
                id=start_id + len(out),
                title=title,
                source=source,
                paragraphs=tuple(paras),
                kicker=tuple(a["kicker"]),
                subtitles=tuple(a["subtitles"]),
                byline=byline,
            )
        )
    return out


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
                candidates.append((_chinese_score(text) - 0.01 * _bad_chars(text), enc, text))
            part = max(candidates)[2] if candidates else raw.decode("utf-8", "backslashreplace")
        parts.append(part)
    return "/".join(parts)


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    source: str  # name shown in citations: relative to the root it was found under
    sha256: str
    text: str
    encoding: str
    truncated: bool = False  # the file was longer than the per-file character cap


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
                raise SkipFile(f"starts with a {enc} byte-order mark but is not valid {enc} ({e.reason})")
            return enc, enc.replace("-sig", " with BOM")
    if _looks_binary(sample):
        raise SkipFile("looks binary (NUL or control bytes), not text")
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
        candidates.append((_chinese_score(text) - 0.01 * _bad_chars(text), enc))
    if not candidates:
        text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample, final)
        if text.count("\ufffd") <= max(3, len(text) // 1000):
            return "utf-8", "utf-8"  # mostly UTF-8 with a few broken bytes: they are replaced
        raise SkipFile("is not UTF-8, UTF-16, GB18030/GBK or Big5 text")
    return max(candidates)[1], max(candidates)[1]


def _open_regular(f: Path):
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


def read_text(f: Path, max_chars: int | None = None) -> tuple[str, str, str, bool, int]:
    """Read one corpus file as a stream: ``(text, encoding, sha256, truncated, bad bytes)``.

    The file is read 1 MiB at a time and decoded incrementally; at most ``max_chars``
    characters are kept (the rest is only hashed), so memory stays bounded whatever the
    file's size. Raises :class:`SkipFile` (not text, empty) or ``OSError`` (unreadable, gone).
    """
    cap = max_file_chars() if max_chars is None else max_chars
    digest = hashlib.sha256()
    parts: list[str] = []
    kept = 0
    bad = 0
    truncated = False
    decoder = None
    label = ""
    pending = b""  # bytes read before the encoding is known
    with _open_regular(f) as fh:
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
                    if not bom and _looks_binary(pending[:8192]):
                        raise SkipFile("looks binary (NUL or control bytes), not text")
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
    return text, label, digest.hexdigest(), truncated, bad


def _walk(root: Path, warn: Callable[[str], None]) -> Iterator[Path]:
    seen_dirs: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=lambda e: warn(f"skipped {e.filename}: {e.strerror}")):
        try:
            st = os.stat(dirpath)
        except OSError as e:
            warn(f"skipped {dirpath}: {e.strerror}")
            dirnames[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            warn(f"skipped {dirpath}: symlink loop")
            dirnames[:] = []
            continue
        seen_dirs.add(key)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            yield Path(dirpath) / name


def iter_corpus(
    paths: Iterable[str | os.PathLike], warn: Callable[[str], None], max_chars: int | None = None
) -> Iterator[CorpusFile]:
    """Yield every readable text file under ``paths``; ``warn`` hears about each skipped one.

    Files are streamed (bounded memory); a file over ``max_chars`` characters (default
    ``$NEWSBOT_MAX_FILE_CHARS`` or 2,000,000) is cut there with a warning naming it. Files that
    vanish, change type or cannot be read between listing and reading are skipped with a warning.
    """
    cap = max_file_chars() if max_chars is None else max_chars
    for p in paths:
        root = Path(p)
        try:
            is_dir = root.is_dir()
            exists = is_dir or root.exists()
        except OSError as e:  # e.g. a name too long, a symlink loop
            warn(f"skipped {root}: {e.strerror or e}")
            continue
        if not exists:
            kind = "broken symlink" if root.is_symlink() else "no such file or folder"
            warn(f"skipped {root}: {kind}")
            continue
        if is_dir:
            files = ((f, f.relative_to(root).as_posix()) for f in _walk(root, warn))
        else:
            files = iter([(root, root.name)])
        for f, source in files:
            if f.suffix.lower() not in SUFFIXES:
                if is_dir:
                    continue
                warn(f"skipped {f}: not a .txt or .md file")
                continue
            try:
                text, enc, sha, truncated, bad = read_text(f, cap)
            except SkipFile as e:
                warn(f"skipped {f}: {e}")
                continue
            except FileNotFoundError:
                kind = "broken symlink" if f.is_symlink() else "it vanished while indexing"
                warn(f"skipped {f}: {kind}")
                continue
            except (OSError, ValueError) as e:
                warn(f"skipped {f}: {getattr(e, 'strerror', None) or e}")
                continue
            if bad:
                # A few broken byte sequences (a damaged file): keep the text, mark them; a file
                # mostly undecodable is not text at all.
                if bad > max(3, len(text) // 1000):
                    warn(f"skipped {f}: {bad} invalid byte sequences in {enc}: not text, or a mix of encodings")
                    continue
                enc = f"{enc} ({bad} invalid byte sequence(s) replaced)"
                warn(f"{f}: {enc}")
            if truncated:
                warn(f"{f}: longer than {cap:,} characters; only the first {cap:,} are indexed (set NEWSBOT_MAX_FILE_CHARS to change)")
            yield CorpusFile(f, display_name(source), sha, text, enc, truncated)
