"""One knowledge base per chat: which index a chat uses, and the indexes the bot has loaded.

A chat uses, in this order: the index an admin chose there with ``/use NAME`` (kept in
``chat_bindings_file``, so it survives restarts), the static ``[chats]`` mapping of newsbot.toml,
else the default index. Named indexes (``[indexes]``) are loaded on first use, sharing the
default index's encoder when they were built with the same model; one that cannot be opened is
reported to the chat and tried again after :data:`RETRY_SECONDS`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from ..config import DEFAULT_INDEX

log = logging.getLogger("newsbot.telegram")

BINDINGS_VERSION = 1
RETRY_SECONDS = 30.0  # before trying again to open an index that failed


def bindings_file(cfg) -> Path:
    """``chat_bindings_file``, else ``chat-indexes.json`` in the per-user data folder."""
    if cfg.get("chat_bindings_file"):
        return Path(cfg["chat_bindings_file"])
    from platformdirs import user_data_dir  # imported here: only the bot needs it

    return Path(user_data_dir("newsbot")) / "chat-indexes.json"


class Bindings:
    """Chat id → index name: the admins' ``/use`` choices over the static ``[chats]`` mapping.

    The file is JSON (``{"version": 1, "chats": {"-100…": "union"}}``) written atomically; an
    unreadable file is left where it is (renamed aside with ``.unreadable`` before the first new
    binding is written) and the bot starts with the static mapping only.
    """

    def __init__(self, static: Mapping[int, str] | None = None, path: Path | None = None):
        self.static = dict(static or {})
        self.path = path
        self.chosen: dict[int, str] = {}
        self._lock = threading.Lock()
        self._unreadable = False
        if path is not None:
            self.chosen = self._read(path)

    def _read(self, path: Path) -> dict[int, str]:
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as e:
            log.warning("cannot read the chat bindings %s (%s): using the static [chats] mapping only", path, e.strerror or e)
            self._unreadable = True
            return {}
        try:
            data = json.loads(raw)
            chats = data["chats"] if isinstance(data, dict) and data.get("version") == BINDINGS_VERSION else None
            if not isinstance(chats, dict):
                raise TypeError("not a newsbot chat bindings file")
            return {int(k): str(v) for k, v in chats.items() if isinstance(v, str)}
        except (ValueError, KeyError, TypeError) as e:
            log.warning("the chat bindings file %s is unreadable (%s): using the static [chats] mapping only", path, e)
            self._unreadable = True
            return {}

    def name_for(self, chat_id: int | None) -> str:
        if chat_id is None:
            return DEFAULT_INDEX
        return self.chosen.get(chat_id) or self.static.get(chat_id) or DEFAULT_INDEX

    def bind(self, chat_id: int, name: str) -> None:
        """Remember ``name`` for ``chat_id`` (also ``default``, which overrides a static binding)."""
        with self._lock:
            chosen = {**self.chosen, chat_id: name}
            if self.path is not None:
                self._write(chosen)
            self.chosen = chosen

    def _write(self, chosen: dict[int, str]) -> None:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._unreadable and path.exists():  # not ours to overwrite: keep it aside
            os.replace(path, path.with_name(path.name + ".unreadable"))
            self._unreadable = False
        body = json.dumps({"version": BINDINGS_VERSION, "chats": {str(k): v for k, v in sorted(chosen.items())}}, ensure_ascii=False, indent=1)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class Unopened:
    """An index that failed to open: the reason, and when to try again."""

    def __init__(self, reason: str, now: float | None = None):
        self.reason = reason
        self.at = time.monotonic() if now is None else now

    def expired(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) - self.at >= RETRY_SECONDS


def open_named(spec, default_retriever):
    """A warmed-up retriever over ``spec`` (blocking: run in a thread), sharing the default
    retriever's encoder when the index was built with the same model."""
    from ...embeddings.index import open_store
    from ...embeddings.search import Retriever
    from ..indexes import tuned

    store = open_store(spec.target, model=spec.model)
    shared = default_retriever is not None and store.model == default_retriever.index.model
    retriever = tuned(Retriever(store, encoder=default_retriever.encoder if shared else None, model=spec.model), spec)
    retriever.warm_up()
    return retriever


async def chat_state(rt, chat_id: int | None):
    """``(name, state, problem)`` for a chat: the index it uses, loaded (opening a named index on
    first use), or why it cannot be used now. ``state`` is None with no problem while the
    default index is still loading."""
    name = rt.bindings.name_for(chat_id)
    state, problem = await index_state(rt, name)
    return name, state, problem


async def index_state(rt, name: str):
    """``(state, problem)`` of the index ``name``, opening a named index on first use."""
    import asyncio

    from ...embeddings.errors import NewsbotError

    if name == DEFAULT_INDEX:
        return rt.state, None
    if name not in rt.named:
        return None, f"the settings name no index {name!r} any more"
    lock = rt.opening.setdefault(name, asyncio.Lock())
    async with lock:  # one load per index, however many questions wait for it
        if (state := rt.states.get(name)) is not None:
            return state, None
        failed = rt.unopened.get(name)
        if failed is not None and not failed.expired():
            return None, failed.reason
        default = rt.state.retriever if rt.state is not None else None
        try:
            retriever = await asyncio.to_thread(open_named, rt.named[name].spec, default)
        except NewsbotError as e:
            reason = str(e)
        except Exception as e:  # a broken index must not take the chat's questions down with it
            log.exception("opening the index %r failed", name)
            reason = f"{type(e).__name__} (see the bot's log)"
        else:
            rt.unopened.pop(name, None)
            state = rt.install(retriever, name)
            log.info("opened the index %r: %d articles", name, len(state.articles))
            return state, None
        log.warning("the index %r cannot be opened: %s", name, reason)
        rt.unopened[name] = Unopened(reason)
        return None, reason
