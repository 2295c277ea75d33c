"""Files of every supported format, turned into page text plus what the file says about it.

A reader turns one file into ``Page``s: text in the markup :func:`..ingest.parse_page` reads
(``#`` heading lines, one paragraph per line) and the :class:`Meta` the file gives (date,
版次, URL, PDF page). Segmentation into articles, paragraph repair, dedupe and chunking are
shared by every format; adding a format is one module here with a ``read`` function and
one line in ``READERS``.

A reader's contract::

    def read(path: Path, data: bytes, warn: Callable[[str], None]) -> list[Page]

``data`` is the whole file (at most ``MAX_FILE_BYTES``). A file the reader cannot use raises
:class:`SkipFile` with a reason a person can act on ("encrypted PDF: …", "OCR is not installed:
pip install 'newsbot-cite[ocr]'"); ``warn`` hears about what was read only in part. Readers
import their libraries inside ``read`` (they are heavy, and a text-only index never needs them).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

from ..decode import SkipFile

__all__ = ["Meta", "Page", "SkipFile", "READERS", "TEXT_SUFFIXES", "reader_for", "supported", "MAX_FILE_BYTES"]

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")  # read as a stream by ..decode
# suffix -> module in this package whose ``read`` turns such a file into pages
READERS = {
    ".html": "html", ".htm": "html", ".xhtml": "html", ".shtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".tif": "image", ".tiff": "image", ".webp": "image", ".bmp": "image",
}
# A non-text file larger than this is skipped with a warning (a newspaper page PDF is a few MB;
# a scan at 300 dpi some tens).
MAX_FILE_BYTES = 200 * 1024 * 1024
# Bumped when a reader's output changes: an index keeps re-using the articles it parsed from an
# unchanged PDF, image or page (OCR is slow) only while this is the same.
READERS_VERSION = 1


@dataclass(frozen=True)
class Meta:
    """What a file says about an article; empty when it does not say."""

    date: str = ""  # publication date, ISO (YYYY-MM-DD)
    page: str = ""  # the newspaper page / 版次 as printed ("第3版", "A03")
    section: str = ""  # 版名 / section ("要闻", "工会")
    url: str = ""  # where the article was published or fetched from
    pdf_page: int = 0  # 1-based page of the PDF (or multi-page scan) it was read from


class Page(NamedTuple):
    text: str  # the markup parse_page reads: "# headline" lines, one paragraph per line
    meta: Meta = Meta()


Reader = Callable[[Path, bytes, Callable[[str], None]], list[Page]]


def supported(path: Path | str) -> bool:
    suffix = Path(path).suffix.lower()
    return suffix in TEXT_SUFFIXES or suffix in READERS


def reader_for(path: Path | str) -> Reader | None:
    """The ``read`` function for ``path``'s suffix (imported on first use), or None for text files."""
    name = READERS.get(Path(path).suffix.lower())
    if name is None:
        return None
    return importlib.import_module(f".{name}", __name__).read
