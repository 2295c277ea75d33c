"""Searching for a chat's question off the event loop: plain questions, and follow-ups.

A follow-up is a reply to one of the bot's answers ("他是哪里人？"): it is resolved against that
answer (:func:`newsbot.embeddings.followup.ask_followup`: the cited article first, the earlier
question's key terms filling in what the follow-up leaves out, else a normal search). The
earlier answer is the one the bot remembers for that message; after a restart, the question
echoed in the answer's header is searched again to find it.
"""

from __future__ import annotations

import asyncio
import functools
import time

from telegram import Message

from ...embeddings.errors import IndexNotFound, StoreUnavailable, UsageError
from ...embeddings.types import Answer
from .render import QUESTION_ECHO_CHARS
from .state import IndexState, Runtime, Shown

MAX_PAGES = 4  # "More" pages per answer: one search asks for results * MAX_PAGES hits
ECHO_MARK = "🔎 "  # how an answer's header starts, before the echoed question


async def timed(rt: Runtime, call):
    """``call()`` in a worker thread, timed for /stats."""
    t0 = time.perf_counter()
    async with rt.search_slots:  # searches are CPU-bound: at most SEARCH_THREADS at once
        result = await asyncio.to_thread(call)
    rt.search_ms.append((time.perf_counter() - t0) * 1000)
    return result


async def search(rt: Runtime, state: IndexState, question: str) -> Answer:
    """Pages of results are cut from one search; the reader pages on with "More", so weak tail
    results are kept (``trim=False``)."""
    return await timed(rt, functools.partial(state.retriever.ask, question, rt.settings.results * MAX_PAGES, trim=False))


async def search_followup(rt: Runtime, state: IndexState, previous: Shown, question: str):
    """A :class:`~newsbot.embeddings.followup.FollowUp`: ``previous`` is the answer replied to (a
    follow-up of a follow-up carries the words its own resolution searched)."""
    from ...embeddings.followup import ask_followup

    call = functools.partial(ask_followup, state.retriever, previous.searched or previous.question, previous.answer.hits, question,
                             rt.settings.results * MAX_PAGES, trim=False)
    return await timed(rt, call)


def echoed_question(text: str | None) -> str | None:
    """The question an answer message echoes in its first line, unless it was cut short."""
    first = (text or "").split("\n", 1)[0]
    if not first.startswith(ECHO_MARK):
        return None
    question = first[len(ECHO_MARK):].strip()
    if not question or (question.endswith("…") and len(question) >= QUESTION_ECHO_CHARS):
        return None
    return question


async def previous_answer(rt: Runtime, state: IndexState, bot_id: int, message: Message, lang: str) -> Shown | None:
    """The answer of the bot's that ``message`` replies to, if it replies to one."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
        return None
    shown = rt.shown.get((message.chat_id, replied.message_id))
    if shown is not None and shown.generation == state.generation:
        return shown
    question = echoed_question(replied.text)
    answer = await search_again(rt, state, question)
    return Shown(question, answer, state.generation, 0, 0, lang=lang) if answer else None


async def search_again(rt: Runtime, state: IndexState, question: str | None) -> Answer | None:
    """The answer to a question read back from an old message (after a restart), or None when
    there is none to give (no question, too long, refused, or the index unavailable)."""
    if not question or len(question) > rt.settings.max_question:
        return None
    try:
        answer = await search(rt, state, question)
    except (UsageError, StoreUnavailable, IndexNotFound):
        return None
    return answer if answer.answered and answer.hits else None
