"""Builds the bot's Application (handlers, request, rate limiter, typed bot_data) and runs it: `newsbot telegram`.

Security: the token comes from the caller (``$TELEGRAM_BOT_TOKEN`` or ``--token-file``, never a
flag value) and is redacted from every log record and every error message the bot prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sys
from pathlib import Path
from urllib.parse import urlparse

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (Application, ApplicationBuilder, CallbackQueryHandler, ChosenInlineResultHandler, CommandHandler, InlineQueryHandler,
                          MessageHandler, TypeHandler, filters)

from ..common import EXIT_OK, EXIT_USAGE
from ..indexes import IndexSpec, NamedIndex, default_index_dir
from ...embeddings.errors import NewsbotError
from . import texts
from .admin import cmd_reindex, cmd_stats, cmd_use
from .chats import Bindings
from .handlers import cmd_ask, cmd_help, cmd_sources, gate, on_button, on_error, on_other, on_text, on_unknown_command
from .inline import on_chosen_inline_result, on_inline_query
from .redact import install_log_redaction, redact
from .send import MessageRateLimiter, RedactingRequest, log
from .state import CONTEXT_TYPES, BotSettings, Runtime, install_retriever
from .upload import URL_ONLY, on_document, on_link_message

DEFAULT_API_ROOT = "https://api.telegram.org"
API_TIMEOUT = 20.0  # seconds to wait for a Bot API answer (the default of `telegram_timeout`); then retry
ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post", "callback_query", "inline_query", "chosen_inline_result"]

MENU_LANGUAGES = (None, "zh")  # the command menu: English for everyone, Chinese for Chinese-speaking users


def commands(lang: str | None, admin: bool = False) -> list[BotCommand]:
    """The command menu Telegram shows, described in ``lang`` (None: the default, English)."""
    listed = texts.PUBLIC_COMMANDS + (texts.ADMIN_COMMANDS if admin else [])
    return [BotCommand(name, description(lang or "en")) for name, description in listed]


async def register_commands(app: Application, admins) -> None:
    """The command menu, in English by default and in Chinese for users whose Telegram is in
    Chinese; admins' private chats also list the admin commands."""
    for lang in MENU_LANGUAGES:
        await app.bot.set_my_commands(commands(lang), language_code=lang)
    for admin in sorted(admins):
        with contextlib.suppress(BadRequest, Forbidden):  # an admin who never talked to the bot
            for lang in MENU_LANGUAGES:
                await app.bot.set_my_commands(commands(lang, admin=True), scope=BotCommandScopeChat(admin), language_code=lang)


async def post_init(app: Application) -> None:
    """Load the index once (building the default one if missing) and register the commands."""
    rt: Runtime = app.bot_data
    retriever = rt.preloaded
    if retriever is None:
        index = rt.index or IndexSpec(default_index_dir(), default=True)
        retriever = await asyncio.to_thread(index.load)
    await asyncio.to_thread(retriever.warm_up)  # a preloaded one too: the first burst must not load the scorer
    install_retriever(app, retriever)
    try:
        await register_commands(app, rt.settings.admins)
    except TelegramError as e:
        log.warning("could not register the command menu: %s", redact(str(e)))
    state = rt.state
    log.info("serving %d articles (index generation %s) as @%s", len(state.articles), state.generation, app.bot.username)


class QuietStartupErrors(logging.Filter):
    """Drops python-telegram-bot's own report of a failed start-up call (getMe, deleteWebhook,
    setWebhook: "Network Retry Loop (Bootstrap …) … Aborting", with a traceback): the error
    reaches :func:`run`, which says what went wrong in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        try:
            return not record.getMessage().startswith("Network Retry Loop (Bootstrap")
        except Exception:  # a malformed record: leave it to the logging machinery
            return True


_QUIET_STARTUP = QuietStartupErrors()


# HTTP connections to the Bot API: answers, edits, callback answers and "typing…" of up to
# SEARCH_THREADS searches in flight, each possibly waiting on flood control, must not queue on each other.
CONNECTION_POOL = 64

def build_application(
    token: str,
    index: IndexSpec | Path | str | None = None,
    *,
    api_root: str | None = None,
    settings: BotSettings | None = None,
    retriever=None,
    timeout: float | None = None,
    indexes: dict[str, NamedIndex] | None = None,
    bindings: Bindings | None = None,
) -> Application:
    """The bot, ready for ``run_polling``/``run_webhook`` (or for a test's own updater).

    ``retriever`` (a loaded :class:`embeddings.search.Retriever`) skips loading the index in
    ``post_init``; otherwise ``index`` (a folder, or an :class:`IndexSpec`; default: the per-user
    default index) is loaded there, as ``newsbot ask`` would. ``timeout`` (default 20 s) bounds
    each Bot API call; a call that times out is retried with backoff (``send.with_retries``), so
    the reply still arrives. ``indexes`` (from :func:`..indexes.named_indexes`) are the indexes
    chats may be bound to, ``bindings`` which chat uses which (default: every chat the default).
    """
    install_log_redaction(token)
    settings = settings or BotSettings()
    if index is not None and not isinstance(index, IndexSpec):
        index = IndexSpec(Path(index).expanduser())
    root = (api_root or DEFAULT_API_ROOT).rstrip("/")
    timeout = max(0.1, API_TIMEOUT if timeout is None else timeout)
    request = RedactingRequest(connection_pool_size=CONNECTION_POOL, connect_timeout=min(10.0, timeout), read_timeout=timeout,
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
        .context_types(CONTEXT_TYPES)
        .post_init(post_init)
        .build()
    )
    app.bot_data.configure(settings, index, retriever, indexes=indexes, bindings=bindings)
    only_messages = filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, gate), group=-1)
    app.add_handler(CommandHandler(["start", "help"], cmd_help, filters=only_messages))
    app.add_handler(CommandHandler("ask", cmd_ask, filters=only_messages))
    app.add_handler(CommandHandler("sources", cmd_sources, filters=only_messages))
    app.add_handler(CommandHandler("stats", cmd_stats, filters=only_messages))
    app.add_handler(CommandHandler("reindex", cmd_reindex, filters=only_messages))
    app.add_handler(CommandHandler("use", cmd_use, filters=only_messages))
    app.add_handler(MessageHandler(only_messages & filters.COMMAND, on_unknown_command))
    app.add_handler(MessageHandler(only_messages & filters.ChatType.PRIVATE & filters.Regex(URL_ONLY), on_link_message))
    app.add_handler(MessageHandler(only_messages & filters.TEXT, on_text))
    app.add_handler(MessageHandler(only_messages & filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(only_messages, on_other))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(InlineQueryHandler(on_inline_query))
    app.add_handler(ChosenInlineResultHandler(on_chosen_inline_result))
    app.add_error_handler(on_error)
    return app


def _err(msg: str) -> None:
    print(f"newsbot: {redact(msg)}", file=sys.stderr)


def run(
    token: str,
    index: IndexSpec | Path | str | None,
    settings: BotSettings,
    *,
    api_root: str | None = None,
    timeout: float | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    listen: str = "127.0.0.1",
    port: int = 8443,
    indexes: dict[str, NamedIndex] | None = None,
    bindings: Bindings | None = None,
) -> int:
    """Build the bot, then long-poll or (with ``webhook_url``) serve a webhook; returns the exit code.

    ``webhook_secret`` (default: a random one per start) is what Telegram must send in
    ``X-Telegram-Bot-Api-Secret-Token``.
    """
    install_log_redaction(token)
    if webhook_url:
        if not webhook_url.lower().startswith("https://"):
            _err(texts.WEBHOOK_NOT_HTTPS.format(url=webhook_url))
            return EXIT_USAGE
        webhook_secret = webhook_secret or secrets.token_urlsafe(32)
        install_log_redaction(webhook_secret)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ptb_log = logging.getLogger("telegram.ext")
    ptb_log.addFilter(_QUIET_STARTUP)
    root = (api_root or DEFAULT_API_ROOT).rstrip("/")
    app = build_application(token, index, api_root=root, settings=settings, timeout=timeout, indexes=indexes, bindings=bindings)
    asyncio.set_event_loop(asyncio.new_event_loop())  # PTB runs (and closes) the current loop
    try:
        if webhook_url:
            app.run_webhook(
                listen=listen, port=port, url_path=urlparse(webhook_url).path.lstrip("/"),
                webhook_url=webhook_url, secret_token=webhook_secret, allowed_updates=ALLOWED_UPDATES,
            )
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except NewsbotError as e:
        _err(str(e))
        return e.exit_code
    except InvalidToken:
        _err(texts.TOKEN_REJECTED)
        return EXIT_USAGE
    except (TimedOut, NetworkError) as e:
        _err(texts.API_UNREACHABLE.format(root=root, error=e))
        return 1
    except TelegramError as e:
        _err(texts.TELEGRAM_ERROR.format(error=e))
        return 1
    finally:
        ptb_log.removeFilter(_QUIET_STARTUP)
    return EXIT_OK
