"""Download one web address for indexing: bounded in time, size and redirects, no retries.

``fetch`` returns the bytes and the content type; :func:`suffix_for` maps the type to the file
suffix whose reader in :mod:`.formats` reads it (a link may lead to a PDF as well as a page), and
:func:`saved_page` turns a fetched HTML page into the file to keep, with the address (and the
server's charset) written in the page the way a browser saving it does, so the HTML reader finds
them. Every failure is a :class:`FetchError` whose message says what went wrong and what to do.
"""

from __future__ import annotations

import re
import time
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from . import __version__
from .errors import NewsbotError

TIMEOUT = 20.0  # seconds for the whole download (each network wait is bounded by it too)
MAX_BYTES = 50 * 1024 * 1024  # a newspaper page PDF is a few MB, a whole issue some tens
MAX_REDIRECTS = 5
USER_AGENT = f"newsbot/{__version__} (question answering over newspaper articles; fetches one page when asked)"

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# content type -> suffix of the reader for it (READERS in formats/__init__.py; .txt is read as text)
SUFFIXES = {
    "text/html": ".html",
    "application/xhtml+xml": ".xhtml",
    "application/pdf": ".pdf",
    DOCX_TYPE: ".docx",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "text/plain": ".txt",
}
_UNTYPED = {"", "application/octet-stream", "binary/octet-stream", "application/download", "application/x-download"}
# first bytes -> content type, for servers that send files untyped
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
)


class FetchError(NewsbotError):
    """A web address could not be fetched; ``str(err)`` says why and what to do instead."""

    def __init__(self, url: str, problem: str, fix: str):
        super().__init__(f"Cannot fetch {url}: {problem}. {fix}.")
        self.url = url


class Fetched(NamedTuple):
    url: str  # the final address, after redirects
    content_type: str  # e.g. "text/html", "application/pdf" (no parameters)
    data: bytes
    encoding: str  # the charset the server named ("gbk"), or "" when it named none


_SAVE_INSTEAD = "Open it in a browser, save it (Ctrl+S) and index the saved file"
_OR_SAVE = "try again later, or open it in a browser, save it (Ctrl+S) and index the saved file"


def fetch(url: str, *, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS) -> Fetched:
    """GET ``url`` (http or https only), following at most ``max_redirects`` redirects.

    Raises :class:`FetchError` when the address is not http(s), the server answers an error, the
    whole download takes longer than ``timeout`` seconds, the body is larger than ``max_bytes``
    (refused from Content-Length when given, else reading stops at the cap), or the content is
    not something newsbot reads (HTML, PDF, DOCX, an image or plain text).
    """
    import httpx

    url = url.strip()
    _check_scheme(url)
    deadline = time.monotonic() + timeout

    def in_time(response) -> None:  # called for each response, redirects included
        if time.monotonic() > deadline:
            raise _slow(url, timeout)

    try:
        with httpx.Client(
            follow_redirects=True, max_redirects=max_redirects, timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT}, event_hooks={"response": [in_time]},
        ) as client, client.stream("GET", url) as response:
            _check_status(url, response.status_code, response.reason_phrase)
            mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if mime not in SUFFIXES and mime not in _UNTYPED:
                raise FetchError(url, f"not a web page, PDF, Word file or image newsbot reads: {mime}",
                                 "Link to the article page or its PDF instead")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise _too_large(url, max_bytes)
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise _too_large(url, max_bytes)
                if time.monotonic() > deadline:
                    raise _slow(url, timeout)
            final, charset = str(response.url), response.charset_encoding or ""
    except httpx.TooManyRedirects:
        raise FetchError(url, f"more than {max_redirects} redirects (the link loops, or leads to a login page)", _SAVE_INSTEAD) from None
    except httpx.TimeoutException:
        raise _slow(url, timeout) from None
    except httpx.UnsupportedProtocol:
        raise FetchError(url, "redirected to an address that is not http:// or https://", _SAVE_INSTEAD) from None
    except httpx.ConnectError as e:
        raise FetchError(url, f"could not connect to {urlsplit(url).hostname} ({e})", "Check the address and the network connection") from None
    except httpx.HTTPError as e:  # the connection broke, a malformed answer
        raise FetchError(url, f"the download failed ({type(e).__name__}: {e})", "Try again later") from None
    except (httpx.InvalidURL, UnicodeError, ValueError) as e:  # a host name IDNA cannot encode, a bad port
        raise FetchError(url, f"not a valid web address ({e})", "Copy the address again from the browser's address bar") from None
    mime = mime if mime not in _UNTYPED else sniff_type(bytes(data))
    if not mime:
        raise FetchError(url, "the server did not say what the file is, and it is not HTML, PDF or an image", "Link to the article page or its PDF instead")
    return Fetched(final, mime, bytes(data), charset)


def _check_scheme(url: str) -> None:
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError as e:  # "Invalid IPv6 URL", a port that is not a number
        raise FetchError(url, f"not a valid web address ({e})", "Copy the address again from the browser's address bar") from None
    if not ok:
        raise FetchError(url, "only http:// and https:// web addresses are fetched",
                         "Give the page's web address, or index a file on this computer by its path")


def _slow(url: str, timeout: float) -> FetchError:
    return FetchError(url, f"took longer than {timeout:g} s", "The site is slow or unreachable: " + _OR_SAVE)


def _check_status(url: str, status: int, reason: str) -> None:
    if status < 400:
        return
    if status in (401, 403, 407, 451):
        fix = "The page needs a login or refuses robots: open it in a browser, save it (Ctrl+S) and index the saved file"
    elif status in (404, 410):
        fix = "There is no such page: check the link (copy it again from the browser's address bar)"
    else:
        fix = "The site is busy or broken: " + _OR_SAVE
    raise FetchError(url, f"the server answered {status} {reason}".rstrip(), fix)


def _too_large(url: str, max_bytes: int) -> FetchError:
    size = f"{max_bytes / 1048576:g} MB" if max_bytes >= 1048576 else f"{max_bytes / 1024:g} KB"
    return FetchError(url, f"larger than {size}", "Download it in a browser and index the file")


def sniff_type(data: bytes) -> str:
    """The content type of an untyped download from its first bytes, or "" when unknown."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"PK\x03\x04") and b"word/" in data[:65536]:
        return DOCX_TYPE
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<meta", b"<!--")):
        return "text/html"
    return ""


def suffix_for(content_type: str) -> str:
    """The file suffix whose reader reads ``content_type`` (".html", ".pdf", ".docx", ".png",
    ".jpg", …), or "" when newsbot reads no such content. Parameters (``; charset=…``) are ignored."""
    return SUFFIXES.get(content_type.split(";")[0].strip().lower(), "")


def saved_page(fetched: Fetched) -> bytes:
    """The bytes to store for a fetched page: HTML gets the browser's ``<!-- saved from url=… -->``
    comment (the HTML reader's address of last resort, after canonical and og:url) and, when the
    server named a charset, a ``<meta charset>`` ahead of the page's own (the server's word wins,
    as in a browser). Other content is returned unchanged."""
    if suffix_for(fetched.content_type) not in (".html", ".xhtml"):
        return fetched.data
    data, bom = fetched.data, b""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data  # UTF-16: ASCII bytes put in front would break it
    if data.startswith(b"\xef\xbb\xbf"):
        data, bom = data[3:], data[:3]
    url = quote(fetched.url, safe=":/?#[]@!$&'()*+,;=%~")  # ASCII, and no ">" to end the comment
    head = f"<!-- saved from url=({len(url):04d}){url} -->\n"
    if re.fullmatch(r"[\w.:-]{1,40}", fetched.encoding) and not bom:
        head += f'<meta charset="{fetched.encoding}">\n'
    return bom + head.encode("ascii") + data
