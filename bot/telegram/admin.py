"""The admins' commands: /stats (usage, latency, index size) and /reindex (rebuild in the background, then swap)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from telegram import Message, Update
from telegram.ext import Application

from ..config import DEFAULT_INDEX
from ..indexes import sample_corpus
from ...embeddings.errors import NewsbotError, UsageError
from ...embeddings.util import percentile
from . import texts
from .chats import chat_state, index_state
from .handlers import is_admin, lang_of, question_of
from .redact import redact
from .render import esc, shown_command
from .send import log, reply, send
from .state import Context, IndexState, Runtime, install_retriever
from .upload import corpus_paths, start_writing


def render_stats(rt: Runtime, lang: str, state: IndexState | None) -> str:
    """Questions served, latency percentiles, the size of ``state``'s index (the chat's), in
    ``lang`` (reads the index folder: run in a thread)."""
    idx = state.retriever.index if state else None
    size = 0
    if idx is not None:
        with contextlib.suppress(OSError):
            folder = idx.target.folder
            size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) if folder else 0
    s, r = list(rt.search_ms), list(rt.reply_ms)
    uptime = int(time.time() - rt.started)
    lines = [
        texts.STATS_HEAD(lang),
        texts.STATS_QUESTIONS(lang, questions=rt.questions, answered=rt.answered),
        texts.STATS_SEARCH(lang, p50=percentile(s, 50), p95=percentile(s, 95)),
        texts.STATS_REPLY(lang, p50=percentile(r, 50), p95=percentile(r, 95)),
    ]
    if idx is not None:
        m = idx.manifest
        lines += [
            texts.STATS_INDEX(lang, articles=len(idx.articles), chunks=len(idx.passages), files=len(m.get("files", {})), mb=size / 1e6),
            texts.STATS_MODEL(lang, model=esc(str(m.get("model"))), generation=state.generation, built=esc(str(m.get("created", "?")))),
        ]
    lines.append(texts.STATS_TAIL(lang, rebuilds=rt.reindexes, hours=uptime // 3600, minutes=uptime % 3600 // 60))
    return "\n".join(lines)


def _rebuild(rt: Runtime, retriever, lang: str, name: str) -> tuple[Any, Any]:
    """Index the corpus again into the current index folder and load it (blocking); problems
    with the settings are told in ``lang``, the language of the admin who asked."""
    from ...embeddings.chunking import ChunkSettings
    from ...embeddings.index import build_index, open_store, read_corpus
    from ...embeddings.search import Retriever

    index = retriever.index
    paths = corpus_paths(rt, index, name, lang)
    if name == DEFAULT_INDEX and not rt.settings.corpus:
        _articles, files, _skipped = read_corpus([sample_corpus()], lambda m: None)
        if not set(files) <= set(index.manifest.get("files", {})):
            raise UsageError(texts.NOT_FROM_SAMPLE(lang, path=index.location, sep=os.pathsep))
    warned: list[str] = []
    report = build_index(
        paths, index.target, settings=ChunkSettings(**index.manifest["chunker"]), encoder=retriever.encoder,
        warn=warned.append, force=True, max_file_chars=rt.settings.max_file_chars,
    )
    for w in warned:
        log.warning("reindex: %s", w)
    new = Retriever(open_store(index.target), encoder=retriever.encoder, settings=retriever.settings)
    new.warm_up()
    return report, new


async def reindex(app: Application, message: Message, lang: str, state: IndexState) -> None:
    """Rebuild in a worker thread, then swap the retriever; report to the admin who asked, in ``lang``."""
    rt: Runtime = app.bot_data
    try:
        await _reindex(app, rt, message, lang, state)
    finally:
        rt.reindexing = False


async def _reindex(app: Application, rt: Runtime, message: Message, lang: str, old_state: IndexState) -> None:
    old = old_state.retriever
    try:
        report, new = await asyncio.to_thread(_rebuild, rt, old, lang, old_state.name)
    except NewsbotError as e:
        await send(app.bot, message.chat_id, texts.REINDEX_FAILED(lang, error=redact(str(e))), reply_to=message.message_id, html_=False)
        return
    except Exception as e:
        log.exception("reindex failed")
        await send(app.bot, message.chat_id, texts.REINDEX_CRASHED(lang, kind=type(e).__name__), reply_to=message.message_id, html_=False)
        return
    state = install_retriever(app, new, old_state.name)
    rt.reindexes += 1
    await send(
        app.bot, message.chat_id,
        texts.REINDEX_DONE(lang, articles=report.articles, passages=report.passages, reused=report.reused,
                           seconds=report.seconds, generation=state.generation),
        reply_to=message.message_id, html_=False,
    )


async def cmd_stats(update: Update, context: Context) -> None:
    """/stats (admins): questions served, latency percentiles, index size."""
    rt = context.bot_data
    lang = lang_of(update)
    if not is_admin(rt, update):
        await reply(update, texts.ADMINS_ONLY(lang))
        return
    _name, state, _problem = await chat_state(rt, update.effective_chat.id if update.effective_chat else None)
    await reply(update, await asyncio.to_thread(render_stats, rt, lang, state), html_=True)


async def cmd_reindex(update: Update, context: Context) -> None:
    """/reindex (admins): rebuild the index in the background; searches go on meanwhile."""
    rt = context.bot_data
    lang = lang_of(update)
    if not is_admin(rt, update):
        await reply(update, texts.ADMINS_ONLY(lang))
        return
    await start_writing(update, context, texts.REINDEX_STARTED(lang), lambda state: reindex(context.application, update.effective_message, lang, state))


async def cmd_use(update: Update, context: Context) -> None:
    """/use NAME (admins): the chat answers from the index NAME of ``[indexes]`` from now on
    (``default``: the default index); /use alone lists the indexes and the chat's own."""
    rt = context.bot_data
    lang = lang_of(update)
    if not is_admin(rt, update):
        await reply(update, texts.ADMINS_ONLY(lang))
        return
    chat = update.effective_chat.id
    wanted = question_of(update.effective_message.text or "", context.bot.username)
    names = ", ".join([DEFAULT_INDEX, *rt.named])
    if not wanted:
        await reply(update, texts.USE_LIST(lang, current=rt.bindings.name_for(chat), names=names))
        return
    if wanted != DEFAULT_INDEX and wanted not in rt.named:
        await reply(update, texts.USE_UNKNOWN(lang, name=shown_command(wanted), names=names), html_=True)
        return
    state, problem = await index_state(rt, wanted)
    if state is None:
        await reply(update, texts.USE_CANNOT_OPEN(lang, name=wanted, why=redact(problem)) if problem else texts.NOT_READY(lang))
        return
    try:
        await asyncio.to_thread(rt.bindings.bind, chat, wanted)
    except OSError as e:
        log.warning("could not save the chat bindings to %s: %s", rt.bindings.path, e)
        await reply(update, texts.USE_NOT_SAVED(lang, why=e.strerror or type(e).__name__))
        return
    await reply(update, texts.USE_DONE(lang, name=wanted, articles=len(state.articles)))
