"""The Telegram front end: `newsbot telegram` (python-telegram-bot 22, long polling or webhook).

The handlers are thin: they decide whether a message is addressed to the bot, then call the
pure helpers below (rendering, callback data, rate limiting) and run retrieval off the event
loop with :func:`asyncio.to_thread`.  Everything a chat shows comes from the corpus or from
users, so every piece of it goes through :func:`html.escape` before it is sent as HTML.

Security: the token is read from ``$TELEGRAM_BOT_TOKEN`` or ``--token-file`` (never a flag
value), and is redacted from every log record and every error message the bot prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import datetime as dtm
import hashlib
import html
import json
import logging
import math
import os
import re
import secrets
import stat
import sys
import time
import unicodedata
import warnings
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Sequence, TypeVar
from urllib.parse import urlparse

from telegram import (BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup,
                      LinkPreviewOptions, Message, MessageEntity, ReplyParameters, Update)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import (BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter,
                            TelegramError, TimedOut)
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, ApplicationHandlerStop,
                          CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler,
                          TypeHandler, filters)
from telegram.request import HTTPXRequest

from .cli import load_retriever
from .render import format_paragraphs
from ..embeddings.errors import NewsbotError, UsageError
from ..embeddings.types import Answer, Hit

log = logging.getLogger("newsbot.telegram")

DEFAULT_API_ROOT = "https://api.telegram.org"
MAX_MESSAGE = 4096  # Telegram's limit, in UTF-16 code units
MAX_PAGES = 4  # "More" pages per answer: one search asks for results * MAX_PAGES hits
SOURCES_PER_PAGE = 5
ANSWER_CACHE_SIZE = 1000
RETRY_ATTEMPTS = 4
RETRY_BASE_DELAY = 0.5  # seconds; doubled after each network error
RETRY_MAX_WAIT = 30.0  # longest flood-control wait a reply will sit through
SEARCH_THREADS = max(1, min(4, os.cpu_count() or 1))  # searches run at once (the rest queue)
API_TIMEOUT = 20.0  # seconds to wait for a Bot API answer (NEWSBOT_TELEGRAM_TIMEOUT); then retry
ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post", "callback_query"]
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

T = TypeVar("T")

# -- texts (Chinese first, then English) ----------------------------------------------------

NOT_FOUND = "没有找到相关内容 / No relevant passage found."
REFUSED = "抱歉，你没有使用这个机器人的权限。/ Sorry, you are not allowed to use this bot."
ADMINS_ONLY = "抱歉，这个命令仅限管理员使用。/ Sorry, this command is for admins only."
APOLOGY = "抱歉，出了点问题，请稍后再试。/ Sorry, something went wrong; please try again."
NOT_TEXT = "请用文字提问。/ Please send your question as text. (/help)"
EMPTY_QUESTION = "请在命令后写上问题，例如 / Write your question after the command, e.g.:\n/ask 杭州电信工会和哪家医院合作？"
BUTTON_FORGED = "无法识别这个按钮。/ Unknown button."
BUTTON_STALE = "索引已更新，这个按钮已过期，请重新提问。/ The index was rebuilt; this button has expired, please ask again."
BUTTON_EXPIRED = "这条回答已过期，请重新提问。/ This answer has expired; please ask again."
NOT_READY = "索引还在加载，请稍候。/ The index is still loading; please try again in a moment."
BUTTON_TOO_FAST = "操作太频繁了，请 {s} 秒后再按。/ Too many requests: please wait {s} s, then press again."


# -- configuration ---------------------------------------------------------------------------


def _ids(name: str, value: str) -> frozenset[int]:
    out = set()
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.add(int(part))
        except ValueError:
            raise UsageError(f"{name} must be comma-separated numeric Telegram ids; {part!r} is not one.") from None
    return frozenset(out)


def _positive(name: str, value: str | None, default: int, minimum: int = 1) -> int:
    if value is None or not value.strip():
        return default
    try:
        n = int(value)
    except ValueError:
        raise UsageError(f"{name} must be a whole number, not {value!r}.") from None
    if n < minimum:
        raise UsageError(f"{name} must be at least {minimum}, not {n}.")
    return n


@dataclass(frozen=True)
class BotSettings:
    """What the bot allows and how much it shows; read from ``NEWSBOT_*`` variables."""

    allowed_users: frozenset[int] = frozenset()  # NEWSBOT_ALLOWED_USERS; empty: everyone
    allowed_chats: frozenset[int] = frozenset()  # NEWSBOT_ALLOWED_CHATS; empty: everyone
    admins: frozenset[int] = frozenset()  # NEWSBOT_ADMINS: may /stats and /reindex
    rate_limit: int = 10  # NEWSBOT_RATE_LIMIT: questions and 📄/More presses per minute per user; 0 = no limit
    max_question: int = 500  # NEWSBOT_MAX_QUESTION: characters
    results: int = 3  # NEWSBOT_RESULTS: citations per answer page
    corpus: tuple[str, ...] = ()  # NEWSBOT_CORPUS: what /reindex indexes; empty: the sample page

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "BotSettings":
        """Read the settings; a malformed value raises :class:`UsageError` naming the variable."""
        env = os.environ if environ is None else environ
        return cls(
            allowed_users=_ids("NEWSBOT_ALLOWED_USERS", env.get("NEWSBOT_ALLOWED_USERS", "")),
            allowed_chats=_ids("NEWSBOT_ALLOWED_CHATS", env.get("NEWSBOT_ALLOWED_CHATS", "")),
            admins=_ids("NEWSBOT_ADMINS", env.get("NEWSBOT_ADMINS", "")),
            rate_limit=_positive("NEWSBOT_RATE_LIMIT", env.get("NEWSBOT_RATE_LIMIT"), 10, minimum=0),
            max_question=_positive("NEWSBOT_MAX_QUESTION", env.get("NEWSBOT_MAX_QUESTION"), 500),
            results=min(_positive("NEWSBOT_RESULTS", env.get("NEWSBOT_RESULTS"), 3), 10),
            corpus=tuple(p for p in env.get("NEWSBOT_CORPUS", "").split(os.pathsep) if p.strip()),
        )

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        """Admins always; otherwise everyone when no allowlist is set, else listed users or chats."""
        if user_id is not None and user_id in self.admins:
            return True
        if not self.allowed_users and not self.allowed_chats:
            return True
        return (user_id is not None and user_id in self.allowed_users) or (chat_id is not None and chat_id in self.allowed_chats)


# -- token hygiene ---------------------------------------------------------------------------

_SECRETS: set[str] = set()
_SECRETS_RE: re.Pattern | None = None
_factory_installed = False


def redact(text: str) -> str:
    """``text`` with every registered secret (the bot token) replaced by ``[REDACTED]``.

    Case-insensitive: python-telegram-bot capitalizes error descriptions, which lower-cases a
    token echoed by the server; a lower-cased token still gives most of it away.
    """
    if _SECRETS_RE is None:
        return text
    return _SECRETS_RE.sub("[REDACTED]", text)


class RedactTokenFilter(logging.Filter):
    """Rewrites a record so that neither its message nor its traceback contains a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _SECRETS:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the logging machinery
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(secret: str) -> None:
    """Redact ``secret`` from every log record of the process, whichever logger or handler.

    A filter on a logger sees only that logger's own records, and a filter on a handler only
    that handler's; so :class:`RedactTokenFilter` runs in the log record factory, which every
    record passes through, including those of handlers added later (pytest's caplog).
    """
    global _factory_installed, _SECRETS_RE
    if secret and secret not in _SECRETS:
        _SECRETS.add(secret)
        # the whole secret, and a token's secret half alone (after the bot id and colon)
        parts = _SECRETS | {x.partition(":")[2] for x in _SECRETS if len(x.partition(":")[2]) >= 8}
        _SECRETS_RE = re.compile("|".join(map(re.escape, sorted(parts, key=len, reverse=True))), re.IGNORECASE)
    for name in ("httpx", "httpcore"):  # httpx logs every request URL, and URLs hold the token
        logging.getLogger(name).setLevel(logging.WARNING)
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()
    scrub = RedactTokenFilter()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        scrub.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def read_token(token_file: Path | None) -> tuple[str | None, str | None]:
    """``(token, None)``, or ``(None, problem)``: ``--token-file`` wins over ``$TELEGRAM_BOT_TOKEN``.

    Like ssh with a private key, a token file that other users may read is refused.
    """
    mode = 0
    if token_file is not None:
        try:
            with open(Path(token_file).expanduser(), "rb") as f:
                mode = os.fstat(f.fileno()).st_mode
                token = f.read(4096).decode("utf-8", errors="replace").strip()
        except OSError as e:
            return None, f"cannot read the token file {token_file}: {e.strerror or e}."
        where = f"the token file {token_file}"
    else:
        token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
        where = "$TELEGRAM_BOT_TOKEN"
    if not token:
        return None, (
            "no Telegram bot token: set TELEGRAM_BOT_TOKEN or pass --token-file FILE "
            "(create a bot and get its token from @BotFather in Telegram)."
        )
    if not _TOKEN_RE.match(token):
        return None, f"{where} does not hold a bot token (expected digits, a colon, then letters, digits, _ or -)."
    if token_file is not None and os.name == "posix" and mode & 0o077:
        return None, (
            f"the token file {token_file} can be read by other users (permissions {stat.filemode(mode)}): "
            f"run `chmod 600 {token_file}` so that only you can read it, then start the bot again."
        )
    return token, None


# -- sending with retries --------------------------------------------------------------------


def _retry_after_seconds(err: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 deprecates the int form of retry_after
        warnings.simplefilter("ignore")
        value = err.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def with_retries(call: Callable[[], Awaitable[T]], attempts: int = RETRY_ATTEMPTS) -> T:
    """Await ``call()``; retry flood control (RetryAfter), timeouts and network errors with backoff.

    Bad requests, forbidden chats and invalid tokens are not retried: repeating cannot help.
    """
    delay = RETRY_BASE_DELAY
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except (BadRequest, Forbidden, InvalidToken):  # BadRequest is a NetworkError subclass
            raise
        except RetryAfter as e:
            wait = _retry_after_seconds(e) + 0.1
            if attempt == attempts or wait > RETRY_MAX_WAIT:
                raise
            log.info("flood control: retrying in %.1f s", wait)
        except (TimedOut, NetworkError) as e:
            if attempt == attempts:
                raise
            wait, delay = delay, delay * 2
            log.info("%s while sending; retry %d in %.1f s", type(e).__name__, attempt, wait)
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")


# -- rendering (pure) ------------------------------------------------------------------------


_SURROGATES = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    """``text`` with lone surrogates (valid in a Python str, not in UTF-8) replaced by U+FFFD.

    A JSON update may carry "\\ud800"; echoed back, it would make the request unencodable.
    """
    return _SURROGATES.sub("\ufffd", text) if text else text


def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def clip(text: str, n: int) -> str:
    """``text`` on one line, cut to ``n`` characters with "…"."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: max(n - 1, 0)] + "…"


def window(text: str, a: int, b: int, n: int) -> tuple[str, int, int]:
    """At most ``n`` characters of ``text`` around ``[a, b)``, "…" where cut; the span moved along."""
    if len(text) <= n:
        return text, a, b
    room = max(n - 2, 1)
    if b - a >= room:
        start = a
    else:
        start = max(0, min(a - (room - (b - a)) // 2, len(text) - room))
    if start == 0:  # one "…" only: one more character of text
        end = min(len(text), n - 1)
    else:
        end = min(len(text), start + room)
        if end == len(text):
            start = max(1, len(text) - (n - 1))
    pre = "…" if start > 0 else ""
    post = "…" if end < len(text) else ""
    shift = len(pre) - start
    na, nb = max(a + shift, len(pre)), min(b + shift, len(pre) + end - start)
    return pre + text[start:end] + post, na, max(na, nb)


def highlighted(text: str, a: int, b: int, tag: str = "b") -> str:
    """``text`` escaped, with ``text[a:b]`` wrapped in ``<tag>`` (no tag when the span is empty)."""
    a, b = max(0, min(a, len(text))), max(0, min(b, len(text)))
    if a >= b:
        return esc(text)
    return f"{esc(text[:a])}<{tag}>{esc(text[a:b])}</{tag}>{esc(text[b:])}"


def shown_command(name: str, n: int = 32) -> str:
    """What a user typed as a command, fit to echo: printable characters only (no control,
    format or bidi characters), at most ``n`` of them with "…", HTML-escaped."""
    name = "".join(ch for ch in scrub(name) if unicodedata.category(ch)[0] not in "CZ")
    return esc(clip(name, n))


def where(hit: Hit) -> str:
    return f"{clip(hit.source, 200)} {format_paragraphs(hit.paragraphs)}" if hit.paragraphs else clip(hit.source, 200)


def render_hit(hit: Hit, number: int) -> str:
    """One citation: bold title, the excerpt as a quote with the answer in bold, source and ¶."""
    excerpt, a, b = window(hit.excerpt, *hit.highlight, 600)  # excerpts are <= 300 chars; a guard
    return (
        f"<b>{number}. {esc(clip(hit.title, 200))}</b>\n"
        f"<blockquote>{highlighted(excerpt, a, b)}</blockquote>\n"
        f"📰 <i>{esc(where(hit))}</i>"
    )


def _answer_header(question: str, start: int, end: int, total: int) -> str:
    return f"🔎 <i>{esc(clip(question, 80))}</i>\n结果 {start + 1}–{end} / 共 {total} 条 · results {start + 1}–{end} of {total}"


def render_answer_page(question: str, answer: Answer, start: int, per_page: int) -> tuple[str, int]:
    """The message for hits ``start..``: up to ``per_page`` citations, cut at citation boundaries
    so it stays within 4096 characters.  Returns the HTML and the index after the last hit shown."""
    hits = answer.hits
    total = len(hits)
    start = max(0, min(start, total - 1))
    blocks: list[str] = []
    budget = MAX_MESSAGE - tg_len(_answer_header(question, start, min(start + per_page, total), total)) - 2
    used = 0
    for i in range(start, min(start + per_page, total)):
        block = render_hit(hits[i], i + 1)
        cost = tg_len(block) + (2 if blocks else 0)
        if blocks and used + cost > budget:
            break
        blocks.append(block)
        used += cost
    end = start + len(blocks)
    text = _answer_header(question, start, end, total) + "\n\n" + "\n\n".join(blocks)
    return text, end


def render_passage(hit: Hit, number: int) -> str:
    """The full passage of a citation (trimmed around the answer to fit), the answer in bold."""
    head = f"<b>{number}. {esc(clip(hit.title, 200))}</b>\n📰 <i>{esc(where(hit))}</i>\n\n"
    text = hit.text or hit.excerpt
    a0, b0 = hit.highlight
    sentence = hit.excerpt[a0:b0].strip().strip("…").strip()
    at = text.find(sentence) if sentence else -1
    a, b = (at, at + len(sentence)) if at >= 0 else (0, 0)
    budget = MAX_MESSAGE - tg_len(head)
    n = len(text)
    while True:
        shown, sa, sb = window(text, a, b, n)
        body = highlighted(shown, sa, sb)
        if tg_len(body) <= budget or n <= 1:
            return head + body
        n = max(1, min(n - 1, int(n * budget / tg_len(body)) - 2))


def render_sources(articles: Sequence, page: int, per_page: int = SOURCES_PER_PAGE) -> tuple[str, int, int]:
    """One page of the article list; returns ``(html, page, pages)`` with ``page`` clamped."""
    files = len({a.source for a in articles})
    pages = max(1, math.ceil(len(articles) / per_page))
    page = max(0, min(page, pages - 1))
    lines = [
        f"📚 <b>已收录 {len(articles)} 篇文章，来自 {files} 个文件</b>\n"
        f"{len(articles)} articles from {files} source file{'s' if files != 1 else ''} · 第 {page + 1}/{pages} 页 · page {page + 1} of {pages}"
    ]
    for i, art in enumerate(articles[page * per_page : (page + 1) * per_page], page * per_page + 1):
        lines.append(f"{i}. <b>{esc(clip(art.title, 150))}</b>\n    📰 <i>{esc(clip(art.source, 150))}</i> · {len(art.paragraphs)} ¶")
    return "\n\n".join(lines), page, pages


def render_help(articles: Sequence, username: str, admin: bool) -> str:
    """/start and /help: what the bot knows and how to ask it, in Chinese and English."""
    files = len({a.source for a in articles})
    bot = f"@{username}" if username else "@bot"
    text = (
        "<b>📰 新闻问答 · News Q&amp;A</b>\n"
        f"我读过 <b>{len(articles)}</b> 篇报纸文章（来自 {files} 个文件），回答时会引用原文并注明出处。\n"
        f"I have read {len(articles)} newspaper articles from {files} source file{'s' if files != 1 else ''}; "
        "I answer with quoted excerpts and where they come from.\n\n"
        "<b>怎么问 · How to ask</b>\n"
        "• 私聊：直接发送问题。/ Private chat: just send your question.\n"
        f"• 群组：<code>/ask 问题</code>、提到 {esc(bot)}，或回复我的消息。/ Groups: <code>/ask QUESTION</code>, "
        f"mention {esc(bot)}, or reply to one of my messages.\n"
        "例如 / e.g.: <code>/ask 杭州电信工会和哪家医院合作？</code>\n\n"
        "<b>命令 · Commands</b>\n"
        "/ask — 提问 / ask a question\n"
        "/sources — 已收录的文章 / the indexed articles\n"
        "/help — 帮助 / this help"
    )
    if admin:
        text += "\n/stats — 运行统计 / usage and index statistics\n/reindex — 重建索引 / rebuild the index"
    return text


# -- callback data ---------------------------------------------------------------------------

_CALLBACK_RE = re.compile(r"^n1\|([0-9a-f]{8})\|([mps])\|(\d{1,5})$")


def encode_callback(generation: str, action: str, arg: int) -> str:
    """``n1|<index generation>|<m more, p passage, s sources page>|<number>``: versioned, <= 24 bytes."""
    return f"n1|{generation}|{action}|{arg}"


def decode_callback(data: object) -> tuple[str, str, int] | None:
    """The parts of well-formed callback data, else None (forged, foreign or an old format)."""
    if not isinstance(data, str):
        return None
    m = _CALLBACK_RE.fullmatch(data)  # fullmatch: "$" alone would accept a trailing newline
    return (m.group(1), m.group(2), int(m.group(3))) if m else None


def index_generation(index) -> str:
    """A short id of one build of the index: changes on every rebuild, stable across restarts."""
    h = hashlib.sha1(json.dumps(index.manifest, sort_keys=True, default=str).encode())
    with contextlib.suppress(OSError, TypeError):
        h.update(str((Path(index.path) / "manifest.json").stat().st_mtime_ns).encode())
    return h.hexdigest()[:8]


def answer_keyboard(generation: str, start: int, end: int, total: int) -> InlineKeyboardMarkup | None:
    """One "full passage" button per citation shown, and "More" when hits remain."""
    rows = [[InlineKeyboardButton(f"📄 全文 {i + 1}", callback_data=encode_callback(generation, "p", i)) for i in range(start, end)]]
    if end < total:
        rows.append([InlineKeyboardButton("更多 / More ▸", callback_data=encode_callback(generation, "m", end))])
    return InlineKeyboardMarkup([r for r in rows if r]) if any(rows) else None


def sources_keyboard(generation: str, page: int, pages: int) -> InlineKeyboardMarkup | None:
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◀ 上一页 / Prev", callback_data=encode_callback(generation, "s", page - 1)))
    if page + 1 < pages:
        row.append(InlineKeyboardButton("下一页 / Next ▶", callback_data=encode_callback(generation, "s", page + 1)))
    return InlineKeyboardMarkup([row]) if row else None


# -- runtime state ---------------------------------------------------------------------------


class RateLimiter:
    """At most ``per_minute`` events per key in any sliding 60 s; 0 means no limit."""

    def __init__(self, per_minute: int, period: float = 60.0):
        self.per_minute, self.period = per_minute, period
        self._events: dict[int, deque[float]] = {}

    def hit(self, key: int, now: float | None = None) -> float:
        """Record an event and return 0, or return the seconds to wait (recording nothing)."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        q = self._events.setdefault(key, deque())
        while q and now - q[0] >= self.period:
            q.popleft()
        if len(q) >= self.per_minute:
            return self.period - (now - q[0])
        q.append(now)
        if len(self._events) > 10_000:  # forget idle users
            for k in [k for k, v in self._events.items() if not v or now - v[-1] >= self.period]:
                del self._events[k]
        return 0.0


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); 0 for no values."""
    data = sorted(values)
    if not data:
        return 0.0
    return data[max(0, math.ceil(q / 100 * len(data)) - 1)]


@dataclass(frozen=True)
class IndexState:
    """The loaded index and its generation id, swapped as one object by /reindex."""

    retriever: Any
    generation: str
    loaded_at: float = field(default_factory=time.time)

    @property
    def articles(self) -> list:
        return self.retriever.index.articles


@dataclass
class Shown:
    """An answer message the bot sent: which question, which answer, which hits it shows."""

    question: str
    answer: Answer
    generation: str
    start: int
    end: int
    more_sent: bool = False


class Runtime:
    """Per-application state kept in ``bot_data["newsbot"]``."""

    def __init__(self, settings: BotSettings, index_dir: Path | None):
        self.settings = settings
        self.index_dir = index_dir
        self.state: IndexState | None = None
        self.limiter = RateLimiter(settings.rate_limit)
        self.shown: OrderedDict[tuple[int, int], Shown] = OrderedDict()
        self.started = time.time()
        self.questions = 0
        self.answered = 0
        self.search_ms: deque[float] = deque(maxlen=2000)
        self.reply_ms: deque[float] = deque(maxlen=2000)
        self.reindexes = 0
        self.reindex_task: asyncio.Task | None = None
        self.reindexing = False  # set before the first await of /reindex, cleared when the rebuild ends
        # Searches are CPU-bound (numpy, FAISS): more at once than cores only thrashes them.
        self.search_slots = asyncio.Semaphore(SEARCH_THREADS)

    def remember(self, chat_id: int, message_id: int, shown: Shown) -> None:
        self.shown[(chat_id, message_id)] = shown
        self.shown.move_to_end((chat_id, message_id))
        while len(self.shown) > ANSWER_CACHE_SIZE:
            self.shown.popitem(last=False)


def install_retriever(app: Application, retriever) -> IndexState:
    """Make ``retriever`` the one searches use, atomically (one assignment each)."""
    state = IndexState(retriever, index_generation(retriever.index))
    _rt(app.bot_data).state = state
    app.bot_data["retriever"] = retriever
    return state


def _rt(bot_data: dict) -> Runtime:
    return bot_data["newsbot"]


# -- small helpers used by the handlers -----------------------------------------------------


def _is_admin(rt: Runtime, update: Update) -> bool:
    return update.effective_user is not None and update.effective_user.id in rt.settings.admins


def _private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def _strip_mention(text: str, username: str) -> str:
    if username:
        text = re.sub(rf"@{re.escape(username)}(?![A-Za-z0-9_])", " ", text, flags=re.IGNORECASE)
    return text.strip()


def _mentions_bot(message: Message, bot_id: int, username: str) -> bool:
    for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if entity.type == MessageEntity.MENTION and username and value.lower() == f"@{username.lower()}":
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return True
    return False


def _replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


def question_of(text: str, username: str) -> str:
    """The question in a message text: without a leading /command and without @bot mentions."""
    text = text.strip()
    if text.startswith("/"):
        parts = text.split(maxsplit=1)
        text = parts[1] if len(parts) > 1 else ""
    return _strip_mention(text, username)


async def _send(bot, chat_id: int, text: str, *, reply_to: int | None = None, markup=None, html_: bool = True) -> Message:
    """Send a message (HTML by default) as a reply when possible, retrying transient failures."""
    reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    text = scrub(text)
    return await with_retries(
        lambda: bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML if html_ else None,
            reply_parameters=reply,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
    )


async def _reply(update: Update, text: str, *, html_: bool = False, markup=None) -> Message | None:
    msg = update.effective_message
    if msg is None:
        return None
    return await _send(update.get_bot(), msg.chat_id, text, reply_to=msg.message_id, markup=markup, html_=html_)


async def _answer_query(query, text: str | None = None, alert: bool = False) -> None:
    """answerCallbackQuery, ignoring queries that are already too old to answer."""
    try:
        await with_retries(lambda: query.answer(text, show_alert=alert))
    except BadRequest as e:
        log.debug("could not answer a callback query: %s", e)


@contextlib.asynccontextmanager
async def _typing(bot, chat_id: int):
    """Show "typing…" in the chat while the block runs (renewed every 4 s)."""

    async def action() -> None:
        with contextlib.suppress(TelegramError):
            await bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def renew() -> None:
        while True:
            await asyncio.sleep(4)
            await action()

    first = asyncio.create_task(action())  # runs alongside the search, not before it
    renewal = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewal
        await first  # so "typing…" never arrives after the answer


def _state_or_none(context: ContextTypes.DEFAULT_TYPE) -> IndexState | None:
    return _rt(context.bot_data).state


async def _search(rt: Runtime, state: IndexState, question: str) -> Answer:
    t0 = time.perf_counter()
    # Pages of results are cut from one search; the reader pages on with "More", so keep weak tail results.
    async with rt.search_slots:
        answer = await asyncio.to_thread(functools.partial(state.retriever.ask, question, rt.settings.results * MAX_PAGES, trim=False))
    rt.search_ms.append((time.perf_counter() - t0) * 1000)
    return answer


async def _send_answer_page(bot, rt: Runtime, chat_id: int, reply_to: int, question: str, answer: Answer, generation: str, start: int) -> Message:
    text, end = render_answer_page(question, answer, start, rt.settings.results)
    msg = await _send(bot, chat_id, text, reply_to=reply_to, markup=answer_keyboard(generation, start, end, len(answer.hits)))
    rt.remember(chat_id, msg.message_id, Shown(question, answer, generation, start, end))
    return msg


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Check length and rate, search off the event loop, reply with cited excerpts and buttons."""
    rt = _rt(context.bot_data)
    message = update.effective_message
    t0 = time.perf_counter()
    question = scrub(question).strip()
    if not question:
        await _reply(update, EMPTY_QUESTION)
        return
    if len(question) > rt.settings.max_question:
        await _reply(
            update,
            f"问题太长（{len(question)} 字），请控制在 {rt.settings.max_question} 字以内。/ "
            f"Your question is {len(question)} characters long; please keep it under {rt.settings.max_question}.",
        )
        return
    user = update.effective_user.id if update.effective_user else message.chat_id
    wait = rt.limiter.hit(user)
    if wait:
        seconds = max(1, math.ceil(wait))
        await _reply(update, f"提问太频繁了，请 {seconds} 秒后再试。/ Too many questions: please try again in {seconds} s.")
        return
    state = rt.state
    if state is None:
        await _reply(update, NOT_READY)
        return
    try:
        async with _typing(context.bot, message.chat_id):
            answer = await _search(rt, state, question)
    except UsageError as e:
        await _reply(update, f"无法回答这个问题。/ {e}")
        return
    rt.questions += 1
    if not answer.answered or not answer.hits:
        await _reply(update, NOT_FOUND)
    else:
        rt.answered += 1
        await _send_answer_page(context.bot, rt, message.chat_id, message.message_id, question, answer, state.generation, 0)
    rt.reply_ms.append((time.perf_counter() - t0) * 1000)


# -- handlers --------------------------------------------------------------------------------


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop updates from outside the allowlists: polite refusal in private, silence in groups."""
    rt = _rt(context.bot_data)
    user = update.effective_user.id if update.effective_user else None
    chat = update.effective_chat.id if update.effective_chat else None
    if rt.settings.allows(user, chat):
        return
    log.info("ignoring an update from user %s in chat %s (not in the allowlists)", user, chat)
    if update.callback_query:
        await _answer_query(update.callback_query, REFUSED, alert=True)
    elif update.message and _private(update):
        await _reply(update, REFUSED)
    raise ApplicationHandlerStop


async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot knows and how to ask."""
    state = _state_or_none(context)
    articles = state.articles if state else []
    await _reply(update, render_help(articles, context.bot.username, _is_admin(_rt(context.bot_data), update)), html_=True)


async def cmd_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask QUESTION (also /ask@bot QUESTION in groups)."""
    await answer_question(update, context, question_of(update.effective_message.text or "", context.bot.username))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Private text is a question; in groups only mentions of the bot and replies to it are."""
    message = update.effective_message
    if _private(update):
        await answer_question(update, context, _strip_mention(message.text, context.bot.username))
    elif _replies_to_bot(message, context.bot.id) or _mentions_bot(message, context.bot.id, context.bot.username):
        await answer_question(update, context, _strip_mention(message.text, context.bot.username))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, empty text: a hint in private chats, silence in groups."""
    if _private(update):
        await _reply(update, NOT_TEXT)


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Unknown /command: a hint in private, and in groups only when addressed to this bot."""
    command = (update.effective_message.text or "").split(maxsplit=1)[0]
    name, _, target = command.partition("@")
    if target and target.lower() != (context.bot.username or "").lower():
        return  # for another bot
    if not _private(update) and not target:
        return
    name = shown_command(name) or "/"
    await _reply(update, f"未知命令 {name}。发送 /help 查看用法。/ Unknown command {name}: send /help to see what I can do.", html_=True)


async def cmd_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: the indexed articles, paginated with inline buttons."""
    state = _state_or_none(context)
    if state is None:
        await _reply(update, NOT_READY)
        return
    text, page, pages = render_sources(state.articles, 0)
    await _reply(update, text, html_=True, markup=sources_keyboard(state.generation, page, pages))


async def cmd_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): questions served, latency percentiles, index size."""
    rt = _rt(context.bot_data)
    if not _is_admin(rt, update):
        await _reply(update, ADMINS_ONLY)
        return
    await _reply(update, await asyncio.to_thread(render_stats, rt), html_=True)


async def cmd_reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): rebuild the index in the background; searches go on meanwhile."""
    rt = _rt(context.bot_data)
    if not _is_admin(rt, update):
        await _reply(update, ADMINS_ONLY)
        return
    if rt.state is None:
        await _reply(update, NOT_READY)
        return
    if rt.reindexing:
        await _reply(update, "索引正在重建中。/ A rebuild is already running.")
        return
    rt.reindexing = True  # check and set with no await between: a second /reindex sees it
    try:
        await _reply(update, "正在后台重建索引，期间照常回答问题。/ Rebuilding the index in the background; questions are still answered meanwhile.")
        rt.reindex_task = context.application.create_task(reindex(context.application, update.effective_message), update=update)
    except BaseException:
        rt.reindexing = False
        raise


def _charge(rt: Runtime, query) -> int:
    """Count a button press that sends a message (or searches again) against the user's rate
    limit, the one questions count against: 0 when it may go ahead, else whole seconds to wait."""
    wait = rt.limiter.hit(query.from_user.id)
    return max(1, math.ceil(wait)) if wait else 0


async def _too_fast(query, seconds: int) -> None:
    """A short alert instead of the message: the press sends nothing."""
    await _answer_query(query, BUTTON_TOO_FAST.format(s=seconds), alert=True)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline buttons: more results, a citation's full passage, a page of /sources.

    📄 and More send a message, and a press on an answer the bot no longer remembers searches
    again: each counts once against the user's rate limit, as a question does.
    """
    query = update.callback_query
    rt = _rt(context.bot_data)
    parsed = decode_callback(query.data)
    if parsed is None:
        await _answer_query(query, BUTTON_FORGED)
        return
    generation, action, arg = parsed
    state = rt.state
    if state is None or generation != state.generation:
        await _answer_query(query, BUTTON_STALE)
        return
    message = query.message
    if not isinstance(message, Message):  # too old for Telegram to show us
        await _answer_query(query, BUTTON_EXPIRED)
        return
    if action == "s":
        await _sources_page(query, message, state, arg)
        return
    shown = rt.shown.get((message.chat_id, message.message_id))
    charged = False
    if shown is None:  # searching again costs what a question costs
        if wait := _charge(rt, query):
            await _too_fast(query, wait)
            return
        charged = True
        shown = await _recover_shown(context, rt, state, message)
    if shown is None or shown.generation != state.generation:
        await _answer_query(query, BUTTON_EXPIRED)
        return
    hits = shown.answer.hits
    if action == "p":
        if not 0 <= arg < len(hits):
            await _answer_query(query, BUTTON_FORGED)
            return
        if not charged and (wait := _charge(rt, query)):
            await _too_fast(query, wait)
            return
        await _answer_query(query, f"全文 {arg + 1} / Full passage {arg + 1}")
        await _send(context.bot, message.chat_id, render_passage(hits[arg], arg + 1), reply_to=message.message_id)
        return
    if arg != shown.end or not 0 < arg < len(hits):  # "m": only the next page of this message
        await _answer_query(query, BUTTON_FORGED)
        return
    if shown.more_sent:
        await _answer_query(query)
        return
    if not charged and (wait := _charge(rt, query)):
        await _too_fast(query, wait)
        return
    shown.more_sent = True
    await _answer_query(query, "更多结果 / More results")
    reply_to = message.reply_to_message.message_id if message.reply_to_message else message.message_id
    try:
        await _send_answer_page(context.bot, rt, message.chat_id, reply_to, shown.question, shown.answer, state.generation, arg)
    except BaseException:
        shown.more_sent = False  # let the user press again
        raise
    with contextlib.suppress(BadRequest):  # the old message keeps only its passage buttons
        await with_retries(lambda: message.edit_reply_markup(answer_keyboard(state.generation, shown.start, shown.end, shown.end)))


async def _sources_page(query, message: Message, state: IndexState, page: int) -> None:
    text, page, pages = render_sources(state.articles, page)
    await _answer_query(query)
    try:
        await with_retries(
            lambda: message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=sources_keyboard(state.generation, page, pages),
                                      link_preview_options=LinkPreviewOptions(is_disabled=True))
        )
    except BadRequest as e:
        if "not modified" not in str(e).lower():
            raise


async def _recover_shown(context, rt: Runtime, state: IndexState, message: Message) -> Shown | None:
    """After a restart (or cache eviction): search again for the question the answer replied to."""
    replied = message.reply_to_message
    if replied is None or not replied.text or message.from_user is None or message.from_user.id != context.bot.id:
        return None
    question = question_of(replied.text, context.bot.username)
    if not question or len(question) > rt.settings.max_question:
        return None
    try:
        answer = await _search(rt, state, question)
    except UsageError:
        return None
    if not answer.answered or not answer.hits:
        return None
    _text, end = render_answer_page(question, answer, 0, rt.settings.results)
    start = 0
    m = re.search(r"results (\d+)–(\d+) of", (message.text or "").split("\n\n", 1)[0])
    if m:  # a "More" page: which hits it shows is written in its header
        start, end = int(m.group(1)) - 1, int(m.group(2))
    shown = Shown(question, answer, state.generation, start, min(end, len(answer.hits)))
    rt.remember(message.chat_id, message.message_id, shown)
    return shown


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception with the token scrubbed, and apologise to the user."""
    err = context.error
    log.error("error while handling an update: %s", redact(f"{type(err).__name__}: {err}"), exc_info=err)
    if not isinstance(update, Update) or update.effective_chat is None or update.effective_chat.type == ChatType.CHANNEL:
        return
    if update.callback_query:  # a no-op when the query was answered already
        with contextlib.suppress(TelegramError):
            await _answer_query(update.callback_query, APOLOGY)
    message = update.effective_message
    try:
        await _send(update.get_bot(), update.effective_chat.id, APOLOGY, reply_to=message.message_id if message else None, html_=False)
    except TelegramError as e:
        log.warning("could not send the apology: %s", redact(str(e)))


# -- admin work ------------------------------------------------------------------------------


def render_stats(rt: Runtime) -> str:
    """Questions served, latency percentiles, index size (reads the index folder: run in a thread)."""
    state = rt.state
    idx = state.retriever.index if state else None
    size = 0
    if idx is not None:
        with contextlib.suppress(OSError):
            size = sum(f.stat().st_size for f in Path(idx.path).rglob("*") if f.is_file())
    s, r = list(rt.search_ms), list(rt.reply_ms)
    uptime = int(time.time() - rt.started)
    lines = [
        "<b>📊 统计 · Stats</b>",
        f"问题 / questions served: {rt.questions} (answered {rt.answered})",
        f"检索延迟 / search latency: p50 {percentile(s, 50):.0f} ms · p95 {percentile(s, 95):.0f} ms",
        f"回复延迟 / reply latency: p50 {percentile(r, 50):.0f} ms · p95 {percentile(r, 95):.0f} ms",
    ]
    if idx is not None:
        m = idx.manifest
        lines += [
            f"索引 / index: {len(idx.articles)} articles · {len(idx.passages)} chunks · {len(m.get('files', {}))} files · {size / 1e6:.1f} MB",
            f"模型 / model: <code>{esc(str(m.get('model')))}</code> · generation <code>{state.generation}</code> · built {esc(str(m.get('created', '?')))}",
        ]
    lines.append(f"重建 / rebuilds: {rt.reindexes} · uptime {uptime // 3600}h{uptime % 3600 // 60:02d}m")
    return "\n".join(lines)


def _rebuild(rt: Runtime, retriever) -> tuple[Any, Any]:
    """Index the corpus again into the current index folder and load it (blocking)."""
    from ..embeddings.chunking import ChunkSettings
    from ..embeddings.index import Index, build_index, read_corpus
    from ..embeddings.search import Retriever, sample_corpus

    index = retriever.index
    paths = list(rt.settings.corpus)
    if not paths:
        sample = sample_corpus()
        _articles, files, _skipped = read_corpus([sample], lambda m: None)
        if set(files) != set(index.manifest.get("files", {})):
            raise UsageError(
                f"The index at {index.path} was not built from the sample page: set NEWSBOT_CORPUS to the folders "
                f"it was built from ({os.pathsep}-separated) so that /reindex can rebuild it."
            )
        paths = [sample]
    warned: list[str] = []
    report = build_index(
        paths, index.path, settings=ChunkSettings(**index.manifest["chunker"]), encoder=retriever.encoder,
        warn=warned.append, force=True,
    )
    for w in warned:
        log.warning("reindex: %s", w)
    new = Retriever(Index.load(index.path), encoder=retriever.encoder, settings=retriever.settings)
    new.warm_up()
    return report, new


async def reindex(app: Application, message: Message) -> None:
    """Rebuild in a worker thread, then swap the retriever; report to the admin who asked."""
    rt = _rt(app.bot_data)
    try:
        await _reindex(app, rt, message)
    finally:
        rt.reindexing = False


async def _reindex(app: Application, rt: Runtime, message: Message) -> None:
    old = rt.state.retriever
    try:
        report, new = await asyncio.to_thread(_rebuild, rt, old)
    except NewsbotError as e:
        await _send(app.bot, message.chat_id, f"重建失败。/ Rebuild failed: {redact(str(e))}", reply_to=message.message_id, html_=False)
        return
    except Exception as e:
        log.exception("reindex failed")
        await _send(app.bot, message.chat_id, f"重建失败。/ Rebuild failed ({type(e).__name__}); see the log.", reply_to=message.message_id, html_=False)
        return
    state = install_retriever(app, new)
    rt.reindexes += 1
    await _send(
        app.bot, message.chat_id,
        f"✅ 索引已更新 / Index rebuilt: {report.articles} articles, {report.passages} chunks "
        f"({report.reused} embeddings re-used) in {report.seconds:.1f} s · generation {state.generation}.",
        reply_to=message.message_id, html_=False,
    )


# -- application -----------------------------------------------------------------------------

PUBLIC_COMMANDS = [
    BotCommand("ask", "提问 / ask a question"),
    BotCommand("sources", "已收录的文章 / indexed articles"),
    BotCommand("help", "帮助 / help"),
    BotCommand("start", "开始 / start"),
]
ADMIN_COMMANDS = [BotCommand("stats", "运行统计 / statistics"), BotCommand("reindex", "重建索引 / rebuild the index")]


async def post_init(app: Application) -> None:
    """Load the index once (building the default one if missing) and register the commands."""
    rt = _rt(app.bot_data)
    retriever = app.bot_data.get("retriever")
    if retriever is None:
        retriever = await asyncio.to_thread(load_retriever, rt.index_dir)
        await asyncio.to_thread(retriever.warm_up)
    install_retriever(app, retriever)
    try:
        await app.bot.set_my_commands(PUBLIC_COMMANDS)
        for admin in sorted(rt.settings.admins):
            with contextlib.suppress(BadRequest, Forbidden):  # an admin who never talked to the bot
                await app.bot.set_my_commands(PUBLIC_COMMANDS + ADMIN_COMMANDS, scope=BotCommandScopeChat(admin))
    except TelegramError as e:
        log.warning("could not register the command menu: %s", redact(str(e)))
    state = rt.state
    log.info("serving %d articles (index generation %s) as @%s", len(state.articles), state.generation, app.bot.username)


def _redact_error(err: BaseException) -> None:
    """Scrub secrets from an exception (and its causes) in place: a server or proxy may echo
    the request URL, which holds the token, in its error description."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(getattr(err, "message", None), str):
            with contextlib.suppress(AttributeError):
                err.message = redact(err.message)
        err.args = tuple(redact(a) if isinstance(a, str) else a for a in err.args)
        err = err.__cause__ or err.__context__


class RedactingRequest(HTTPXRequest):
    """HTTPXRequest whose errors never carry the token, whatever the server answers."""

    async def post(self, *args, **kwargs):
        try:
            return await super().post(*args, **kwargs)
        except Exception as e:
            _redact_error(e)
            raise

    async def retrieve(self, *args, **kwargs):
        try:
            return await super().retrieve(*args, **kwargs)
        except Exception as e:
            _redact_error(e)
            raise


class MessageRateLimiter(AIORateLimiter):
    """PTB's limiter (Telegram's 30 messages/s, 20 a minute per group), for messages only.

    "typing…" and callback answers are not messages: queued behind a burst of answers they
    would double the wait of every answer, so they skip the queue (a 429 on them is ignored).
    """

    UNLIMITED = frozenset({"sendChatAction", "answerCallbackQuery"})

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint in self.UNLIMITED:
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


def build_application(
    token: str,
    index_dir: Path | str | None = None,
    *,
    api_root: str | None = None,
    settings: BotSettings | None = None,
    retriever=None,
    timeout: float | None = None,
) -> Application:
    """The bot, ready for ``run_polling``/``run_webhook`` (or for a test's own updater).

    ``retriever`` (a loaded :class:`embeddings.search.Retriever`) skips loading the index in
    ``post_init``; otherwise ``index_dir`` is loaded there, as ``newsbot ask`` would.
    ``timeout`` (default ``$NEWSBOT_TELEGRAM_TIMEOUT`` or 20 s) bounds each Bot API call; a call
    that times out is retried with backoff (:func:`with_retries`), so the reply still arrives.
    """
    install_log_redaction(token)
    settings = settings or BotSettings.from_env()
    root = (api_root or os.environ.get("NEWSBOT_TELEGRAM_API_URL") or DEFAULT_API_ROOT).rstrip("/")
    if timeout is None:
        try:
            timeout = float(os.environ.get("NEWSBOT_TELEGRAM_TIMEOUT") or API_TIMEOUT)
        except ValueError:
            raise UsageError("NEWSBOT_TELEGRAM_TIMEOUT must be a number of seconds.") from None
    timeout = max(0.1, timeout)
    request = RedactingRequest(connection_pool_size=64, connect_timeout=min(10.0, timeout), read_timeout=timeout,
                           write_timeout=timeout, pool_timeout=10.0)
    updates_request = RedactingRequest(connection_pool_size=2, connect_timeout=10.0, read_timeout=10.0, write_timeout=10.0, pool_timeout=10.0)
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(root + "/bot")
        .base_file_url(root + "/file/bot")
        .request(request)
        .get_updates_request(updates_request)
        .rate_limiter(MessageRateLimiter(max_retries=1))
        .concurrent_updates(True)
        .post_init(post_init)
        .build()
    )
    app.bot_data["newsbot"] = Runtime(settings, Path(index_dir) if index_dir is not None else None)
    app.bot_data["retriever"] = retriever
    only_messages = filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, gate), group=-1)
    app.add_handler(CommandHandler(["start", "help"], cmd_help, filters=only_messages))
    app.add_handler(CommandHandler("ask", cmd_ask, filters=only_messages))
    app.add_handler(CommandHandler("sources", cmd_sources, filters=only_messages))
    app.add_handler(CommandHandler("stats", cmd_stats, filters=only_messages))
    app.add_handler(CommandHandler("reindex", cmd_reindex, filters=only_messages))
    app.add_handler(MessageHandler(only_messages & filters.COMMAND, on_unknown_command))
    app.add_handler(MessageHandler(only_messages & filters.TEXT, on_text))
    app.add_handler(MessageHandler(only_messages, on_other))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_error_handler(on_error)
    return app


# -- entry point -----------------------------------------------------------------------------


def _err(msg: str) -> None:
    print(f"newsbot: {redact(msg)}", file=sys.stderr)


def run(args) -> int:
    """`newsbot telegram`: read the token, build the bot, then long-poll or serve a webhook."""
    token, problem = read_token(getattr(args, "token_file", None))
    if token is None:
        _err(problem)
        return 2
    install_log_redaction(token)
    try:
        settings = BotSettings.from_env()
    except UsageError as e:
        _err(str(e))
        return e.exit_code
    webhook_url = getattr(args, "webhook_url", None)
    secret = None
    if webhook_url:
        if not webhook_url.lower().startswith("https://"):
            _err(f"--webhook-url must be an https:// URL (Telegram only delivers to HTTPS), not {webhook_url!r}.")
            return 2
        secret = os.environ.get("NEWSBOT_WEBHOOK_SECRET") or secrets.token_urlsafe(32)
        if not _SECRET_RE.match(secret):
            _err("NEWSBOT_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -.")
            return 2
        install_log_redaction(secret)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = (os.environ.get("NEWSBOT_TELEGRAM_API_URL") or DEFAULT_API_ROOT).rstrip("/")
    app = build_application(token, getattr(args, "index_dir", None), settings=settings)
    asyncio.set_event_loop(asyncio.new_event_loop())  # PTB runs (and closes) the current loop
    try:
        if webhook_url:
            app.run_webhook(
                listen=args.listen, port=args.port, url_path=urlparse(webhook_url).path.lstrip("/"),
                webhook_url=webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
            )
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except NewsbotError as e:
        _err(str(e))
        return e.exit_code
    except InvalidToken:
        _err("Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN or --token-file (@BotFather shows the token, or issues a new one).")
        return 2
    except (TimedOut, NetworkError) as e:
        _err(f"cannot talk to the Telegram Bot API at {root}: {e}. Check the network (and NEWSBOT_TELEGRAM_API_URL).")
        return 1
    except TelegramError as e:
        _err(f"Telegram error: {e}")
        return 1
    return 0
