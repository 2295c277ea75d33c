"""Talking to the Bot API: sending with retries, the redacting HTTP request, the message rate limiter, "typing…"."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import warnings
from typing import Awaitable, Callable, TypeVar

from telegram import LinkPreviewOptions, Message, ReplyParameters, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter
from telegram.request import HTTPXRequest

from ...embeddings.util import scrub_surrogates
from .redact import redact_error

log = logging.getLogger("newsbot.telegram")

RETRY_ATTEMPTS = 4
RETRY_BASE_DELAY = 0.5  # seconds; doubled after each network error
RETRY_MAX_WAIT = 30.0  # longest flood-control wait a reply will sit through
TYPING_RENEWAL = 4.0  # seconds; Telegram shows "typing…" for about 5 s

T = TypeVar("T")


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


class RedactingRequest(HTTPXRequest):
    """HTTPXRequest whose errors never carry the token, whatever the server answers."""

    async def post(self, *args, **kwargs):
        try:
            return await super().post(*args, **kwargs)
        except Exception as e:
            redact_error(e)
            raise

    async def retrieve(self, *args, **kwargs):
        try:
            return await super().retrieve(*args, **kwargs)
        except Exception as e:
            redact_error(e)
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


async def send(bot, chat_id: int, text: str, *, reply_to: int | None = None, markup=None, html_: bool = True) -> Message:
    """Send a message (HTML by default) as a reply when possible, retrying transient failures."""
    reply_parameters = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    text = scrub_surrogates(text)
    return await with_retries(
        lambda: bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML if html_ else None,
            reply_parameters=reply_parameters,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
    )


async def reply(update: Update, text: str, *, html_: bool = False, markup=None) -> Message | None:
    """Answer the update's message in its chat, as a reply to it."""
    msg = update.effective_message
    if msg is None:
        return None
    return await send(update.get_bot(), msg.chat_id, text, reply_to=msg.message_id, markup=markup, html_=html_)


async def answer_query(query, text: str | None = None, alert: bool = False) -> None:
    """answerCallbackQuery, ignoring queries that are already too old to answer."""
    try:
        await with_retries(lambda: query.answer(text, show_alert=alert))
    except BadRequest as e:
        log.debug("could not answer a callback query: %s", e)


@contextlib.asynccontextmanager
async def typing(bot, chat_id: int):
    """Show "typing…" in the chat while the block runs (renewed every ``TYPING_RENEWAL`` seconds)."""
    done = asyncio.Event()

    async def action() -> None:
        with contextlib.suppress(TelegramError):
            await bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def renew() -> None:
        while True:
            try:
                await asyncio.wait_for(done.wait(), timeout=TYPING_RENEWAL)
                return  # the block is over
            except TimeoutError:
                await action()

    first = asyncio.create_task(action())  # runs alongside the search, not before it
    renewal = asyncio.create_task(renew())
    try:
        yield
    finally:
        # Stopped, not cancelled: a request cut off mid-flight may still reach Telegram after the answer
        # (and the server sees a lost connection); one in flight is let finish instead.
        done.set()
        await asyncio.gather(first, renewal)  # so "typing…" never arrives after the answer
