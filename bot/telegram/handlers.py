"""The update handlers: thin, they decide whether a message is addressed to the bot, then render and send.

Retrieval runs off the event loop (:func:`asyncio.to_thread`), at most ``SEARCH_THREADS`` at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time

from telegram import LinkPreviewOptions, Message, MessageEntity, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop

from ...embeddings.errors import IndexNotFound, NewsbotError, StoreUnavailable, UsageError
from ...embeddings.types import Answer
from ...embeddings.util import scrub_surrogates
from . import texts
from .callbackdata import answer_keyboard, decode_callback, sources_keyboard
from .redact import redact
from .render import read_answer_header, render_answer_page, render_help, render_passage, render_sources, shown_command
from .send import answer_query, log, reply, send, typing, with_retries
from .chats import chat_state
from .inline import refuse_inline
from .questions import previous_answer, search, search_again, search_followup
from .state import Context, IndexState, Runtime, Shown, install_retriever



# -- who a message is for ----------------------------------------------------------------------


def lang_of(update: object) -> str:
    """The language to answer an update in: that of the user who sent it or pressed the button
    ("zh" or "en"; "en" when there is no user, as for channel posts)."""
    return texts.reader_language(update.effective_user if isinstance(update, Update) else None)


def is_admin(rt: Runtime, update: Update) -> bool:
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


async def chat_index(update: Update, context: Context) -> IndexState | None:
    """The loaded index of the update's chat; None (after telling the chat why) when it cannot
    be used: still loading, or bound to an index that cannot be opened."""
    rt = context.bot_data
    chat = update.effective_chat.id if update.effective_chat else None
    name, state, problem = await chat_state(rt, chat)
    if state is not None:
        return await follow_rebuilds(context.application, rt, state) or state
    lang = lang_of(update)
    text = texts.CHAT_INDEX_UNAVAILABLE(lang, name=name, why=redact(problem)) if problem else texts.NOT_READY(lang)
    if update.callback_query:
        await answer_query(update.callback_query, text, alert=True)
    else:
        await reply(update, text)
    return None


async def _send_answer_page(bot, rt: Runtime, chat_id: int, reply_to: int, question: str, answer: Answer, generation: str, start: int,
                            lang: str, searched: str = "") -> Message:
    text, end = render_answer_page(question, answer, start, rt.settings.results, lang=lang)
    msg = await send(bot, chat_id, text, reply_to=reply_to, markup=answer_keyboard(generation, start, end, len(answer.hits), lang=lang))
    rt.remember(chat_id, msg.message_id, Shown(question, answer, generation, start, end, lang=lang, searched=searched))
    return msg


async def answer_question(update: Update, context: Context, question: str) -> None:
    """Check length and rate, search off the event loop, reply with cited excerpts and buttons."""
    rt = context.bot_data
    message = update.effective_message
    lang = lang_of(update)
    t0 = time.perf_counter()
    question = scrub_surrogates(question).strip()
    if not question:
        await reply(update, texts.EMPTY_QUESTION(lang))
        return
    if len(question) > rt.settings.max_question:
        await reply(
            update,
            texts.TOO_LONG(lang, n=len(question), limit=rt.settings.max_question),
        )
        return
    user = update.effective_user.id if update.effective_user else message.chat_id
    wait = rt.limiter.hit(user)
    if wait:
        seconds = max(1, math.ceil(wait))
        await reply(update, texts.TOO_MANY(lang, s=seconds))
        return
    state = await chat_index(update, context)
    if state is None:
        return
    try:
        async with typing(context.bot, message.chat_id):
            previous = await previous_answer(rt, state, context.bot.id, message, lang)
            searched = ""
            if previous is not None:
                followup = await search_followup(rt, state, previous, question)
                answer, searched = followup.answer, followup.query
            else:
                answer = await search(rt, state, question)
    except UsageError as e:
        await reply(update, texts.CANNOT_ANSWER(lang, error=e))
        return
    except (StoreUnavailable, IndexNotFound) as e:  # Milvus is down, or the build we serve was dropped
        log.warning("search failed: %s", redact(str(e)))
        rt.followed[state.name] = float("-inf")  # look for a newer build before the next question
        await reply(update, texts.UNAVAILABLE(lang))
        return
    rt.questions += 1
    if not answer.answered or not answer.hits:
        await reply(update, texts.NOT_FOUND(lang))
    else:
        rt.answered += 1
        await _send_answer_page(context.bot, rt, message.chat_id, message.message_id, question, answer, state.generation, 0, lang, searched)
    rt.reply_ms.append((time.perf_counter() - t0) * 1000)


# -- handlers --------------------------------------------------------------------------------


async def gate(update: Update, context: Context) -> None:
    """Stop updates from outside the allowlists: polite refusal in private, silence in groups."""
    rt = context.bot_data
    user = update.effective_user.id if update.effective_user else None
    chat = update.effective_chat.id if update.effective_chat else None
    if rt.settings.allows(user, chat):
        return
    log.info("ignoring an update from user %s in chat %s (not in the allowlists)", user, chat)
    if update.inline_query:
        await refuse_inline(update.inline_query, texts.REFUSED(lang_of(update)))
    elif update.callback_query:
        await answer_query(update.callback_query, texts.REFUSED(lang_of(update)), alert=True)
    elif update.message and _private(update):
        await reply(update, texts.REFUSED(lang_of(update)))
    raise ApplicationHandlerStop


async def cmd_help(update: Update, context: Context) -> None:
    """/start and /help: what the bot knows and how to ask."""
    _name, state, _problem = await chat_state(context.bot_data, update.effective_chat.id if update.effective_chat else None)
    articles = state.articles if state else []
    await reply(update, render_help(articles, context.bot.username, is_admin(context.bot_data, update), lang=lang_of(update)), html_=True)


async def cmd_ask(update: Update, context: Context) -> None:
    """/ask QUESTION (also /ask@bot QUESTION in groups)."""
    await answer_question(update, context, question_of(update.effective_message.text or "", context.bot.username))


async def on_text(update: Update, context: Context) -> None:
    """Private text is a question; in groups only mentions of the bot and replies to it are.
    A reply to one of the bot's answers is a follow-up on it. An excerpt a reader posted through
    inline mode (``via_bot`` this bot) is not a question."""
    message = update.effective_message
    if message.via_bot is not None and message.via_bot.id == context.bot.id:
        return
    if _private(update):
        await answer_question(update, context, _strip_mention(message.text, context.bot.username))
    elif _replies_to_bot(message, context.bot.id) or _mentions_bot(message, context.bot.id, context.bot.username):
        await answer_question(update, context, _strip_mention(message.text, context.bot.username))


async def on_other(update: Update, context: Context) -> None:
    """Stickers, photos, empty text: a hint in private chats, silence in groups."""
    if _private(update):
        await reply(update, texts.NOT_TEXT(lang_of(update)))


async def on_unknown_command(update: Update, context: Context) -> None:
    """Unknown /command: a hint in private, and in groups only when addressed to this bot."""
    command = (update.effective_message.text or "").split(maxsplit=1)[0]
    name, _, target = command.partition("@")
    if target and target.lower() != (context.bot.username or "").lower():
        return  # for another bot
    if not _private(update) and not target:
        return
    name = shown_command(name) or "/"
    await reply(update, texts.UNKNOWN_COMMAND(lang_of(update), name=name), html_=True)


async def cmd_sources(update: Update, context: Context) -> None:
    """/sources: the indexed articles, paginated with inline buttons."""
    state = await chat_index(update, context)
    lang = lang_of(update)
    if state is None:
        return
    text, page, pages = render_sources(state.articles, 0, lang=lang)
    await reply(update, text, html_=True, markup=sources_keyboard(state.generation, page, pages, lang=lang))


def _charge(rt: Runtime, query) -> int:
    """Count a button press that sends a message (or searches again) against the user's rate
    limit, the one questions count against: 0 when it may go ahead, else whole seconds to wait."""
    wait = rt.limiter.hit(query.from_user.id)
    return max(1, math.ceil(wait)) if wait else 0


async def _too_fast(query, seconds: int, lang: str) -> None:
    """A short alert instead of the message: the press sends nothing."""
    await answer_query(query, texts.BUTTON_TOO_FAST(lang, s=seconds), alert=True)


async def on_button(update: Update, context: Context) -> None:
    """Inline buttons: more results, a citation's full passage, a page of /sources.

    📄 and More send a message, and a press on an answer the bot no longer remembers searches
    again: each counts once against the user's rate limit, as a question does.  What the bot
    says or sends is in the language of whoever pressed.
    """
    query = update.callback_query
    rt = context.bot_data
    lang = lang_of(update)
    parsed = decode_callback(query.data)
    if parsed is None:
        await answer_query(query, texts.BUTTON_FORGED(lang))
        return
    generation, action, arg = parsed
    chat = query.message.chat.id if query.message is not None else None  # None: a message posted inline
    _name, state, _problem = await chat_state(rt, chat)
    if state is None or generation != state.generation:
        await answer_query(query, texts.BUTTON_STALE(lang))
        return
    message = query.message
    if not isinstance(message, Message):  # too old for Telegram to show us
        await answer_query(query, texts.BUTTON_EXPIRED(lang))
        return
    if action == "s":
        await _sources_page(query, message, state, arg, lang)
        return
    shown = rt.shown.get((message.chat_id, message.message_id))
    charged = False
    if shown is None:  # searching again costs what a question costs
        if wait := _charge(rt, query):
            await _too_fast(query, wait, lang)
            return
        charged = True
        shown = await _recover_shown(context, rt, state, message, lang)
    if shown is None or shown.generation != state.generation:
        await answer_query(query, texts.BUTTON_EXPIRED(lang))
        return
    hits = shown.answer.hits
    if action == "p":
        if not 0 <= arg < len(hits):
            await answer_query(query, texts.BUTTON_FORGED(lang))
            return
        if not charged and (wait := _charge(rt, query)):
            await _too_fast(query, wait, lang)
            return
        await answer_query(query, texts.FULL_PASSAGE_SENT(lang, n=arg + 1))
        await send(context.bot, message.chat_id, render_passage(hits[arg], arg + 1), reply_to=message.message_id)
        return
    if arg != shown.end or not 0 < arg < len(hits):  # "m": only the next page of this message
        await answer_query(query, texts.BUTTON_FORGED(lang))
        return
    if shown.more_sent:
        await answer_query(query)
        return
    if not charged and (wait := _charge(rt, query)):
        await _too_fast(query, wait, lang)
        return
    shown.more_sent = True
    await answer_query(query, texts.MORE_SENT(lang))
    reply_to = message.reply_to_message.message_id if message.reply_to_message else message.message_id
    try:
        await _send_answer_page(context.bot, rt, message.chat_id, reply_to, shown.question, shown.answer, state.generation, arg, lang,
                                shown.searched)
    except BaseException:
        shown.more_sent = False  # let the user press again
        raise
    # The old message keeps only its passage buttons, labelled in the language it was sent in.
    keyboard = answer_keyboard(state.generation, shown.start, shown.end, shown.end, lang=shown.lang)
    with contextlib.suppress(BadRequest):
        await with_retries(lambda: message.edit_reply_markup(keyboard))


async def _sources_page(query, message: Message, state: IndexState, page: int, lang: str) -> None:
    text, page, pages = render_sources(state.articles, page, lang=lang)
    await answer_query(query)
    try:
        await with_retries(
            lambda: message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=sources_keyboard(state.generation, page, pages, lang=lang),
                                      link_preview_options=LinkPreviewOptions(is_disabled=True))
        )
    except BadRequest as e:
        if "not modified" not in str(e).lower():
            raise


async def _recover_shown(context, rt: Runtime, state: IndexState, message: Message, lang: str) -> Shown | None:
    """After a restart (or cache eviction): search again for the question the answer replied to.
    The answer's header tells which hits it shows and its language (else ``lang``, the presser's)."""
    replied = message.reply_to_message
    if replied is None or not replied.text or message.from_user is None or message.from_user.id != context.bot.id:
        return None
    question = question_of(replied.text, context.bot.username)
    answer = await search_again(rt, state, question)
    if answer is None:
        return None
    _text, end = render_answer_page(question, answer, 0, rt.settings.results, lang=lang)
    start = 0
    if header := read_answer_header(message.text or ""):  # a "More" page: which hits it shows is written in its header
        start, end, lang = header
    shown = Shown(question, answer, state.generation, start, min(end, len(answer.hits)), lang=lang)
    rt.remember(message.chat_id, message.message_id, shown)
    return shown


async def follow_rebuilds(app, rt: Runtime, state: IndexState):
    """The index may be rebuilt by `newsbot index` in another process (a folder) or on another
    machine (Milvus): at most every ``refresh_seconds``, ask the store and serve the new build
    when there is one."""
    refresh = getattr(state.retriever.index, "refresh", None)
    now = time.monotonic()
    last = rt.followed.setdefault(state.name, now)
    if refresh is None or now - last < rt.settings.refresh_seconds or rt.reindexing:
        return None
    rt.followed[state.name] = now
    try:
        fresh = await asyncio.to_thread(refresh)
    except (StoreUnavailable, IndexNotFound):
        return None  # the search says so
    except NewsbotError as e:  # rebuilt with another model, or damaged: keep serving the build loaded
        log.warning("the index %r was rebuilt but cannot be served: %s", state.name, redact(str(e)))
        return None
    if fresh is None:
        return None
    from ...embeddings.search import Retriever

    old = state.retriever
    new = Retriever(fresh, encoder=old.encoder, settings=old.settings)
    await asyncio.to_thread(new.warm_up)
    log.info("following a rebuild of the shared index %r: %s", state.name, fresh.generation())
    return install_retriever(app, new, state.name)


async def on_error(update: object, context: Context) -> None:
    """Log the exception with the token scrubbed, and apologise to the user."""
    err = context.error
    log.error("error while handling an update: %s", redact(f"{type(err).__name__}: {err}"), exc_info=err)
    if not isinstance(update, Update) or update.effective_chat is None or update.effective_chat.type == ChatType.CHANNEL:
        return
    apology = texts.APOLOGY(lang_of(update))
    if update.callback_query:  # a no-op when the query was answered already
        with contextlib.suppress(TelegramError):
            await answer_query(update.callback_query, apology)
    message = update.effective_message
    try:
        await send(update.get_bot(), update.effective_chat.id, apology, reply_to=message.message_id if message else None, html_=False)
    except TelegramError as e:
        log.warning("could not send the apology: %s", redact(str(e)))
