"""The bot's settings and runtime state: allowlists, the loaded index, answers shown, rate limits, counters.

:class:`Runtime` is python-telegram-bot's ``bot_data``, typed (``ContextTypes(bot_data=Runtime)``,
as in PTB's ``contexttypesbot`` example): handlers read ``context.bot_data.settings``, not a dict key.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from ..config import DEFAULT_INDEX, Config
from .chats import Bindings, Unopened
from ...embeddings.types import Answer
from .callbackdata import index_generation

if TYPE_CHECKING:
    from telegram.ext import Application

    from ..indexes import IndexSpec, NamedIndex

ANSWER_CACHE_SIZE = 1000  # answer messages remembered for their buttons
SEARCH_THREADS = max(1, min(4, os.cpu_count() or 1))  # searches run at once (the rest queue)
MAX_RESULTS = 10  # citations on one answer page, whatever `results` says
INLINE_BUDGET = 3  # inline queries per minute per user, as a multiple of rate_limit (typing sends several)


@dataclass(frozen=True)
class BotSettings:
    """What the bot allows and how much it shows (from the loaded :class:`~newsbot.bot.config.Config`)."""

    allowed_users: frozenset[int] = frozenset()  # empty: everyone
    allowed_chats: frozenset[int] = frozenset()  # empty: everyone
    admins: frozenset[int] = frozenset()  # may /stats and /reindex
    rate_limit: int = 10  # questions and 📄/More presses per minute per user; 0 = no limit
    max_question: int = 500  # characters
    results: int = 3  # citations per answer page
    corpus: tuple[str, ...] = ()  # what /reindex indexes; empty: the sample page
    max_file_chars: int | None = None  # characters indexed per file by /reindex (None: the core's default)
    uploads_dir: str | None = None  # where admins' documents and links are kept (None: beside the index)
    max_upload_mb: int = 20
    refresh_seconds: float = 30.0  # a shared (Milvus) index is checked for rebuilds elsewhere this often
    inline_cache_seconds: int = 60  # how long Telegram may cache an inline answer

    @classmethod
    def from_config(cls, cfg: Config) -> "BotSettings":
        return cls(
            allowed_users=frozenset(cfg["allowed_users"]),
            allowed_chats=frozenset(cfg["allowed_chats"]),
            admins=frozenset(cfg["admins"]),
            rate_limit=cfg["rate_limit"],
            max_question=cfg["max_question"],
            results=min(cfg["results"], MAX_RESULTS),
            corpus=tuple(cfg["corpus"]),
            max_file_chars=cfg.get("max_file_chars") if cfg.configured("max_file_chars") else None,
            uploads_dir=cfg.get("uploads_dir"),
            max_upload_mb=cfg["max_upload_mb"],
            inline_cache_seconds=cfg["inline_cache_seconds"],
            refresh_seconds=cfg["refresh_seconds"],
        )

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        """Admins always; otherwise everyone when no allowlist is set, else listed users or chats."""
        if user_id is not None and user_id in self.admins:
            return True
        if not self.allowed_users and not self.allowed_chats:
            return True
        return (user_id is not None and user_id in self.allowed_users) or (chat_id is not None and chat_id in self.allowed_chats)


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


@dataclass(frozen=True)
class IndexState:
    """The loaded index and its generation id, swapped as one object by /reindex."""

    retriever: Any
    generation: str
    name: str = DEFAULT_INDEX  # "default", or the name in [indexes]
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
    lang: str = "en"  # of its header and buttons
    searched: str = ""  # a resolved follow-up's words (with the names it points back to): what a follow-up of this answer carries


class Runtime:
    """Per-application state: the typed ``bot_data`` of the Application (see :data:`CONTEXT_TYPES`).

    PTB creates it with no arguments; :func:`~newsbot.bot.telegram.app.build_application` then
    calls :meth:`configure`.
    """

    def __init__(self) -> None:
        self.settings = BotSettings()
        self.index: IndexSpec | None = None  # loaded in post_init unless a retriever was given
        self.preloaded: Any = None  # a retriever given to build_application
        self.states: dict[str, IndexState] = {}  # loaded indexes by name; "default" is loaded in post_init
        self.named: dict[str, NamedIndex] = {}  # the indexes chats may be bound to ([indexes]), default aside
        self.bindings = Bindings()
        self.unopened: dict[str, Unopened] = {}  # named indexes that failed to open, tried again later
        self.opening: dict[str, asyncio.Lock] = {}
        self.limiter = RateLimiter(self.settings.rate_limit)
        self.inline_limiter = RateLimiter(self.settings.rate_limit * INLINE_BUDGET)
        self.inline_queries = 0
        self.inline_chosen = 0
        self.shown: OrderedDict[tuple[int, int], Shown] = OrderedDict()
        self.started = time.time()
        self.questions = 0
        self.answered = 0
        self.search_ms: deque[float] = deque(maxlen=2000)
        self.reply_ms: deque[float] = deque(maxlen=2000)
        self.reindexes = 0
        self.reindex_task: asyncio.Task | None = None
        self.reindexing = False  # set before the first await of /reindex, cleared when the rebuild ends
        self.followed: dict[str, float] = {}  # per index: when a shared one was last checked for a rebuild elsewhere
        # Searches are CPU-bound (numpy, FAISS): more at once than cores only thrashes them.
        self.search_slots = asyncio.Semaphore(SEARCH_THREADS)

    def configure(self, settings: BotSettings, index: IndexSpec | None, retriever: Any = None, *,
                  indexes: dict[str, NamedIndex] | None = None, bindings: Bindings | None = None) -> None:
        self.settings = settings
        self.index = index
        self.preloaded = retriever
        self.limiter = RateLimiter(settings.rate_limit)
        self.inline_limiter = RateLimiter(settings.rate_limit * INLINE_BUDGET)
        self.named = {name: ix for name, ix in (indexes or {}).items() if name != DEFAULT_INDEX}
        self.bindings = bindings or Bindings()

    @property
    def state(self) -> IndexState | None:
        """The default index (the one inline queries and unbound chats use)."""
        return self.states.get(DEFAULT_INDEX)

    def install(self, retriever, name: str = DEFAULT_INDEX) -> IndexState:
        """Make ``retriever`` the one searches of index ``name`` use, atomically (one assignment)."""
        state = IndexState(retriever, index_generation(retriever.index), name)
        self.states[name] = state
        return state

    @property
    def retriever(self) -> Any:
        """The retriever searches use now (the preloaded one before ``post_init``)."""
        return self.state.retriever if self.state is not None else self.preloaded

    def remember(self, chat_id: int, message_id: int, shown: Shown) -> None:
        self.shown[(chat_id, message_id)] = shown
        self.shown.move_to_end((chat_id, message_id))
        while len(self.shown) > ANSWER_CACHE_SIZE:
            self.shown.popitem(last=False)


CONTEXT_TYPES = ContextTypes(bot_data=Runtime)
Context = CallbackContext[ExtBot[None], dict, dict, Runtime]  # what handlers receive: context.bot_data is a Runtime


def install_retriever(app: Application, retriever, name: str = DEFAULT_INDEX) -> IndexState:
    """:meth:`Runtime.install` on the application's ``bot_data``."""
    return app.bot_data.install(retriever, name)
