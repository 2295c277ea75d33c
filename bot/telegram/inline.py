"""Inline mode: ``@yourbot 问题`` in any chat lists up to five answers; choosing one posts the cited excerpt.

Each result is an article: the title, the answering sentence as its description, and as its
message the question, the quote with the answer in bold, and where it comes from (HTML). Inline
queries carry no chat, so they are answered from the default index. Telegram sends a query
while the user types: queries shorter than :data:`MIN_QUERY` only get a hint, and the rest count
against a per-user budget of :data:`.state.INLINE_BUDGET` times ``rate_limit``.
"""

from __future__ import annotations

import functools
import math
import re

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from ...embeddings.errors import IndexNotFound, StoreUnavailable, UsageError
from ...embeddings.types import Hit
from ...embeddings.util import scrub_surrogates
from . import texts
from .render import (
    QUESTION_ECHO_CHARS,
    TITLE_CHARS,
    clip,
    esc,
    highlighted,
    where,
    window,
)
from .questions import timed
from .send import log, with_retries
from .state import Context, Runtime

MAX_RESULTS = 5
MIN_QUERY = 2  # characters: "杭州" is a question worth searching, "杭" is not yet

DESCRIPTION_CHARS = 160
START_PARAMETER = "inline-help"  # the hint button opens a private chat with /start inline-help
_RESULT_ID = re.compile(r"^([0-9a-f]{8}):(\d)$")


def answering_sentence(hit: Hit) -> str:
    """The marked sentence of a hit (the excerpt when nothing is marked), on one line."""
    a, b = hit.highlight
    sentence = hit.excerpt[a:b] if b > a else hit.excerpt
    return clip(sentence.strip().strip("…").strip(), DESCRIPTION_CHARS)


def render_inline_message(question: str, hit: Hit) -> str:
    """What choosing a result posts: the question, the quote with the answer in bold, the source."""
    excerpt, a, b = window(hit.excerpt, *hit.highlight, 600)
    return (
        f"🔎 <i>{esc(clip(question, QUESTION_ECHO_CHARS))}</i>\n\n"
        f"<b>{esc(clip(hit.title, TITLE_CHARS))}</b>\n"
        f"<blockquote>{highlighted(excerpt, a, b)}</blockquote>\n"
        f"📰 <i>{where(hit)}</i>"
    )


def result_id(generation: str, n: int) -> str:
    return f"{generation}:{n}"


def parse_result_id(value: object) -> tuple[str, int] | None:
    """``(generation, n)`` of a result id this bot made, else None (forged or foreign)."""
    m = _RESULT_ID.fullmatch(value) if isinstance(value, str) else None
    return (m.group(1), int(m.group(2))) if m else None


def results_for(question: str, answer, generation: str) -> list[InlineQueryResultArticle]:
    return [
        InlineQueryResultArticle(
            id=result_id(generation, n),
            title=clip(hit.title, TITLE_CHARS),
            description=answering_sentence(hit),
            input_message_content=InputTextMessageContent(
                render_inline_message(question, hit), parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
        )
        for n, hit in enumerate(answer.hits[:MAX_RESULTS])
    ]


async def _answer(query, results: list, *, cache_time: int, personal: bool, hint: str | None = None) -> None:
    button = InlineQueryResultsButton(text=hint, start_parameter=START_PARAMETER) if hint else None
    try:
        await with_retries(lambda: query.answer(results, cache_time=cache_time, is_personal=personal, button=button))
    except BadRequest as e:  # the query is too old (the user typed on): nothing to answer any more
        log.debug("could not answer an inline query: %s", e)


async def on_inline_query(update: Update, context: Context) -> None:
    """Search the default index for the typed question; hints instead of results when there is
    nothing to search yet, the user is over their budget, or nothing answers."""
    rt: Runtime = context.bot_data
    query = update.inline_query
    lang = texts.reader_language(query.from_user)
    question = " ".join(scrub_surrogates(query.query or "").split())
    personal = bool(rt.settings.allowed_users or rt.settings.allowed_chats)  # cached answers must not reach others
    cache = rt.settings.inline_cache_seconds
    if len(question) < MIN_QUERY:
        await _answer(query, [], cache_time=cache, personal=personal, hint=texts.INLINE_HINT(lang))
        return
    if len(question) > rt.settings.max_question:
        await _answer(query, [], cache_time=0, personal=True, hint=texts.INLINE_TOO_LONG(lang, limit=rt.settings.max_question))
        return
    wait = rt.inline_limiter.hit(query.from_user.id)
    if wait:
        await _answer(query, [], cache_time=0, personal=True, hint=texts.INLINE_TOO_MANY(lang, s=max(1, math.ceil(wait))))
        return
    state = rt.state
    if state is None:
        await _answer(query, [], cache_time=0, personal=True, hint=texts.INLINE_NOT_READY(lang))
        return
    try:
        answer = await timed(rt, functools.partial(state.retriever.ask, question, MAX_RESULTS))
    except UsageError:
        await _answer(query, [], cache_time=0, personal=True, hint=texts.INLINE_NOTHING(lang))
        return
    except (StoreUnavailable, IndexNotFound) as e:
        log.warning("inline search failed: %s", e)
        await _answer(query, [], cache_time=0, personal=True, hint=texts.INLINE_UNAVAILABLE(lang))
        return
    rt.inline_queries += 1
    if not answer.answered or not answer.hits:
        await _answer(query, [], cache_time=cache, personal=personal, hint=texts.INLINE_NOTHING(lang))
        return
    await _answer(query, results_for(question, answer, state.generation), cache_time=cache, personal=personal)


async def on_chosen_inline_result(update: Update, context: Context) -> None:
    """A reader posted one of the results (reported when inline feedback is on in @BotFather):
    counted; an id this bot did not make is logged and otherwise ignored."""
    rt: Runtime = context.bot_data
    chosen = update.chosen_inline_result
    parsed = parse_result_id(chosen.result_id)
    if parsed is None or parsed[1] >= MAX_RESULTS:
        log.info("ignoring a chosen inline result this bot did not offer: %r", clip(str(chosen.result_id), 80))
        return
    rt.inline_chosen += 1


async def refuse_inline(query, text: str) -> None:
    """No results, only ``text`` on the button (a user outside the allowlists), never cached."""
    await _answer(query, [], cache_time=0, personal=True, hint=text)
