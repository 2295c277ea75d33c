"""Admins add articles while the bot runs: a document (any format newsbot reads) or a link.

The file is kept in the uploads folder (``uploads_dir``; by default beside the index), the index
is updated incrementally (only new chunks are embedded) in a worker thread, and the new index
replaces the old one in one assignment: questions are answered throughout. A document whose
bytes are already indexed is recognised by its SHA-256 and not added twice; one that yields no
article is removed again (newsbot deletes only what it created) and the admin hears why.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application

from ..config import DEFAULT_INDEX
from ..indexes import sample_corpus
from ...embeddings.errors import NewsbotError, UsageError
from ...embeddings.formats import supported
from . import texts
from .chats import chat_state
from .handlers import chat_index, is_admin, lang_of
from .redact import redact
from .render import clip
from .send import log, reply, send
from .state import Context, IndexState, Runtime, install_retriever

MAX_NAME_CHARS = 120  # of a kept file's name
MAX_TITLES_SHOWN = 5  # article titles listed in the reply
URL_ONLY = re.compile(r"^\s*(https?://\S+)\s*$", re.I)
_UNSAFE = re.compile(r"[\\/:*?\"<>|\x00-\x1f\x7f]+")


class Added(NamedTuple):
    name: str  # the file's name in the uploads folder (its source in citations)
    titles: list[str]
    paragraphs: int
    retriever: Any  # the retriever over the updated index
    warnings: list[str]


class NotAdded(Exception):
    """Why a document was not added, for the admin (already indexed, unreadable, …): a
    :class:`~.texts.Text` and its values, told in the admin's language by :meth:`say`; a value
    that is a Text too is filled in from the same values.  ``str()`` is the English, for logs."""

    def __init__(self, text: texts.Text, **values: Any):
        self.text, self.values = text, values
        super().__init__(self.say("en"))

    def say(self, lang: str) -> str:
        values = self.values
        return self.text(lang, **{k: v(lang, **values) if isinstance(v, texts.Text) else v for k, v in values.items()})


def uploads_dir(rt: Runtime, index, name: str = DEFAULT_INDEX) -> Path:
    """For the default index ``uploads_dir`` when set; else beside the index folder
    (``<index>-uploads``), else for a Milvus collection ``uploads/<collection>`` in the per-user
    data folder."""
    if rt.settings.uploads_dir and name == DEFAULT_INDEX:
        return Path(rt.settings.uploads_dir).expanduser()
    folder = index.target.folder
    if folder is not None:
        folder = Path(folder)
        return folder.parent / f"{folder.name}-uploads"
    from platformdirs import user_data_dir

    return Path(user_data_dir("newsbot")) / "uploads" / index.target.collection


def corpus_paths(rt: Runtime, index, name: str = DEFAULT_INDEX, lang: str = "en") -> list:
    """What the index ``name`` is built from: for the default index the ``corpus`` setting (else
    the sample page), for a named one its ``corpus`` in ``[indexes]``; plus the uploads folder
    when it exists. A named index without a corpus cannot be rebuilt: that would drop its
    articles (UsageError, in ``lang``)."""
    if name == DEFAULT_INDEX:
        paths: list = list(rt.settings.corpus) or [sample_corpus()]
    else:
        paths = list(rt.named[name].corpus) if name in rt.named else []
        if not paths:
            raise UsageError(texts.NO_CORPUS(lang, name=name))
    up = uploads_dir(rt, index, name)
    if up.is_dir() and not any(str(up) == str(p) for p in paths):
        paths.append(up)
    return paths


def safe_name(name: str, fallback: str = "document") -> str:
    """A file name for the uploads folder: no folders, no control or reserved characters."""
    name = unicodedata.normalize("NFC", os.path.basename(name.replace("\\", "/")))
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, suffix = os.path.splitext(name)
    return (stem[: MAX_NAME_CHARS] or fallback) + suffix.lower()


def _free_path(folder: Path, name: str) -> Path:
    stem, suffix = os.path.splitext(name)
    path, n = folder / name, 2
    while path.exists():
        path, n = folder / f"{stem} ({n}){suffix}", n + 1
    return path


def indexed_as(index, data: bytes) -> str | None:
    """The source name under which these exact bytes are already indexed, if they are."""
    sha = hashlib.sha256(data).hexdigest()
    return next((src for src, h in index.manifest.get("files", {}).items() if h == sha), None)


def add_document(rt: Runtime, retriever, name: str, data: bytes, index_name: str = DEFAULT_INDEX) -> Added:
    """Keep ``data`` as ``name`` in the uploads folder and update the index (blocking: run in a thread)."""
    from ...embeddings.chunking import ChunkSettings
    from ...embeddings.index import build_index, open_store
    from ...embeddings.search import Retriever

    index = retriever.index
    known = indexed_as(index, data)
    if known:
        raise NotAdded(texts.ALREADY_INDEXED, source=clip(known, MAX_NAME_CHARS))
    paths = corpus_paths(rt, index, index_name)  # before anything is written: a named index may have no corpus
    folder = uploads_dir(rt, index, index_name)
    folder.mkdir(parents=True, exist_ok=True)
    path = _free_path(folder, safe_name(name))
    tmp = folder / f".{path.name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, path)
    warned: list[str] = []
    try:
        if folder not in paths:
            paths.append(folder)
        build_index(
            paths, index.target, settings=ChunkSettings(**index.manifest["chunker"]), encoder=retriever.encoder,
            warn=warned.append, max_file_chars=rt.settings.max_file_chars,
        )
        new = Retriever(open_store(index.target), encoder=retriever.encoder, settings=retriever.settings)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    mine = [a for a in new.index.articles if a.source == path.name]
    if not mine:
        path.unlink(missing_ok=True)  # ours, and nothing came of it: /reindex would only warn about it again
        why = next((redact(w.replace(str(path), path.name)) for w in warned if path.name in w), texts.NO_ARTICLES)
        raise NotAdded(texts.NOT_ADDED, name=clip(name, MAX_NAME_CHARS), why=why)
    new.warm_up()
    for w in warned:
        log.warning("upload: %s", w)
    return Added(path.name, [a.title for a in mine], sum(len(a.paragraphs) for a in mine), new, warned)


def add_link(rt: Runtime, retriever, url: str, index_name: str = DEFAULT_INDEX) -> Added:
    """Fetch ``url`` and add it like a document; an HTML page keeps its address in the browsers'
    ``saved from url`` comment, so that its citations link to it."""
    from ...embeddings.fetch import FetchError, fetch, saved_page, suffix_for

    try:
        got = fetch(url)
    except FetchError as e:
        raise NotAdded(texts.LINK_FAILED, url=clip(url, MAX_NAME_CHARS), why=str(e)) from None
    suffix = suffix_for(got.content_type)
    if not suffix:
        raise NotAdded(texts.LINK_FAILED, url=clip(url, MAX_NAME_CHARS), why=texts.NOT_A_PAGE, content_type=got.content_type)
    parts = urlsplit(got.url)
    slug = re.sub(r"[^\w.-]+", "_", f"{parts.hostname or 'page'}{parts.path}").strip("_.")[:80]
    slug = os.path.splitext(slug)[0] if slug.lower().endswith(suffix) else slug
    data = saved_page(got) if suffix in (".html", ".xhtml") else got.data
    return add_document(rt, retriever, slug + suffix, data, index_name)


async def _run_add(app: Application, rt: Runtime, chat_id: int, reply_to: int, work, lang: str, state: IndexState) -> None:
    """Run ``work(retriever, index name)`` in a thread on the chat's index, install the new
    retriever, tell the admin (in ``lang``)."""
    try:
        corpus_paths(rt, state.retriever.index, state.name, lang)  # a named index without corpus: say so in the admin's language
        added: Added = await asyncio.to_thread(work, state.retriever, state.name)
    except NotAdded as e:
        await send(app.bot, chat_id, e.say(lang), reply_to=reply_to, html_=False)
        return
    except UsageError as e:  # a named index without a corpus: the message says what to set
        await send(app.bot, chat_id, redact(str(e)), reply_to=reply_to, html_=False)
        return
    except NewsbotError as e:
        await send(app.bot, chat_id, texts.ADD_FAILED(lang, error=redact(str(e))), reply_to=reply_to, html_=False)
        return
    except Exception as e:
        log.exception("adding a document failed")
        await send(app.bot, chat_id, texts.REINDEX_CRASHED(lang, kind=type(e).__name__), reply_to=reply_to, html_=False)
        return
    finally:
        rt.reindexing = False
    state = install_retriever(app, added.retriever, state.name)
    rt.reindexes += 1
    titles = "\n".join(f"• {clip(t, MAX_NAME_CHARS)}" for t in added.titles[:MAX_TITLES_SHOWN])
    more = len(added.titles) - MAX_TITLES_SHOWN
    if more > 0:
        titles += "\n" + texts.ADDED_MORE(lang, n=more)
    await send(
        app.bot, chat_id,
        texts.ADDED(lang, name=added.name, articles=len(added.titles), paragraphs=added.paragraphs, titles=titles, generation=state.generation),
        reply_to=reply_to, html_=False,
    )


async def start_writing(update: Update, context: Context, started: str, job) -> None:
    """One writer at a time (/reindex, uploads): refuse while the chat's index is loading or
    another write runs; else say ``started`` and run the coroutine ``job(state)`` (the chat's
    index) as a task, which clears ``rt.reindexing`` when it ends.  ``started`` is in the
    sender's language already."""
    rt = context.bot_data
    state = await chat_index(update, context)
    if state is None:
        return
    if rt.reindexing:
        await reply(update, texts.REINDEX_RUNNING(lang_of(update)))
        return
    rt.reindexing = True  # check and set with no await between: a second writer sees it
    try:
        await reply(update, started)
        rt.reindex_task = context.application.create_task(job(state), update=update)
    except BaseException:
        rt.reindexing = False
        raise


async def _start(update: Update, context: Context, what: str, work) -> None:
    message = update.effective_message
    lang = lang_of(update)
    await start_writing(update, context, texts.ADDING(lang, name=clip(what, MAX_NAME_CHARS)),
                        lambda state: _run_add(context.application, context.bot_data, message.chat_id, message.message_id, work, lang, state))


async def on_document(update: Update, context: Context) -> None:
    """A document: admins' supported files are added to the index; everyone else is told no
    (in groups, only admins hear back: other members share files with each other)."""
    rt = context.bot_data
    lang = lang_of(update)
    doc = update.effective_message.document
    private = update.effective_chat.type == "private"
    if not is_admin(rt, update):
        if private:
            await reply(update, texts.ADD_ADMINS_ONLY(lang))
        return
    name = doc.file_name or "document"
    if not supported(name):
        await reply(update, texts.UNSUPPORTED_FILE(lang, name=clip(name, MAX_NAME_CHARS)))
        return
    limit = rt.settings.max_upload_mb
    if doc.file_size and doc.file_size > limit * 1024 * 1024:
        await reply(update, texts.FILE_TOO_BIG(lang, name=clip(name, MAX_NAME_CHARS), mb=doc.file_size / 2**20, limit=limit))
        return
    try:
        data = bytes(await (await context.bot.get_file(doc.file_id)).download_as_bytearray())
    except Exception as e:  # Telegram refused the file (too big for the Bot API, gone)
        log.warning("download of %s failed: %s", name, e)
        await reply(update, texts.DOWNLOAD_FAILED(lang, name=clip(name, MAX_NAME_CHARS)))
        return
    if len(data) > limit * 1024 * 1024:
        await reply(update, texts.FILE_TOO_BIG(lang, name=clip(name, MAX_NAME_CHARS), mb=len(data) / 2**20, limit=limit))
        return
    _index, state, _problem = await chat_state(rt, update.effective_chat.id)
    known = state and indexed_as(state.retriever.index, data)
    if known:
        await reply(update, texts.ALREADY_INDEXED(lang, source=clip(known, MAX_NAME_CHARS)))
        return
    await _start(update, context, name, lambda retriever, index_name: add_document(rt, retriever, name, data, index_name))


async def on_link_message(update: Update, context: Context) -> None:
    """A private message that is nothing but one link: admins' pages are fetched and added."""
    rt = context.bot_data
    if not is_admin(rt, update):
        await reply(update, texts.ADD_ADMINS_ONLY(lang_of(update)))
        return
    url = URL_ONLY.match(update.effective_message.text).group(1)
    await _start(update, context, url, lambda retriever, index_name: add_link(rt, retriever, url, index_name))
