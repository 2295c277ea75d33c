"""Running the real bot against the fake Bot API server, shared by the Telegram test files."""

from __future__ import annotations

import contextlib

from newsbot.bot.telegram.app import ALLOWED_UPDATES, build_application
from newsbot.bot.telegram.state import BotSettings
from tgserver import FakeBotAPI

ADMIN = 4242


@contextlib.asynccontextmanager
async def running(api: FakeBotAPI, retriever, settings: BotSettings | None = None, **kw):
    """The real Application, long polling the fake server, for the duration of the block."""
    settings = settings or BotSettings(admins=frozenset({ADMIN}))
    app = build_application(api.token, api_root=api.root, settings=settings, retriever=retriever, **kw)
    async with app:
        await app.post_init(app)  # run_polling would call it; here the test drives the updater
        await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()  # waits for every update being handled


def failed_calls(api: FakeBotAPI) -> list[dict]:
    """The bot's Bot API calls that the server refused (long polling aside).

    "typing…" is cosmetic: under a burst its request may time out client-side, and the server then logs a
    lost connection. That is the client giving up, not a refusal, so it is left out; answers never are.
    """
    return [c for c in api.calls() if not c["ok"] and c["method"] != "getUpdates"
            and not (c["method"] == "sendChatAction" and "Connection lost" in c.get("error", ""))]


def buttons(msg: dict) -> list[tuple[str, str]]:
    """``(text, callback_data)`` of each inline button of ``msg``."""
    return [(b["text"], b["callback_data"]) for row in msg.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def button(msg: dict, prefix: str) -> str:
    """The callback data of the button whose text starts with ``prefix``."""
    return next(data for text, data in buttons(msg) if text.startswith(prefix))
