"""Prove tests/tgserver.py against the real python-telegram-bot stack over localhost HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import textwrap
import time

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler,
                          ContextTypes, MessageHandler, filters)
from telegram.request import HTTPXRequest
from tgserver import (BOT_USERNAME, DEFAULT_CHANNEL_ID, DEFAULT_GROUP_ID,  # noqa: E402
                      DEFAULT_TOKEN, DEFAULT_USER_ID, FakeBotAPIThread)

USER = DEFAULT_USER_ID




def build_app(root: str, token: str = DEFAULT_TOKEN) -> Application:
    return (ApplicationBuilder().token(token).base_url(root + "/bot")
            .base_file_url(root + "/file/bot").build())


@contextlib.asynccontextmanager
async def polling(app: Application):
    """Run the application's real updater (long polling over HTTP) for the block."""
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


# --------------------------------------------------------------------------- handlers
async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    kinds = ",".join(e.type for e in update.message.entities)
    await update.message.reply_html(f"<b>Welcome</b> &lt;{kinds}&gt;")


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("One", callback_data="pick:1"),
                                      InlineKeyboardButton("Two", callback_data="pick:2")]])
    await update.message.reply_text("Pick one", reply_markup=keyboard)


async def picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer(f"got {query.data}")
    await query.edit_message_text(f"You picked {query.data.split(':')[1]}")


# --------------------------------------------------------------------------- tests
@pytest.mark.asyncio
async def test_echo_and_command_round_trip(api):
    app = build_app(api.root)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with polling(app):
        injected = await api.send_user_message("hello")
        await api.send_user_message("/start")
        await api.send_user_message(f"/start@{BOT_USERNAME}", chat_type="group")
        private = await api.wait_for_messages(USER, 2, timeout=5)
        group = await api.wait_for_messages(DEFAULT_GROUP_ID, 1, timeout=5)

    assert injected["chat"] == {"id": USER, "type": "private", "first_name": "Alice",
                                "username": "alice"}
    echo_msg, welcome = sorted(private, key=lambda m: m["text"].lower())
    assert echo_msg["text"] == "echo: hello"
    assert echo_msg["from"]["username"] == BOT_USERNAME and echo_msg["from"]["is_bot"]
    assert isinstance(echo_msg["date"], int) and abs(echo_msg["date"] - time.time()) < 60
    assert [m["message_id"] for m in sorted(private, key=lambda m: m["message_id"])] == [3, 4]
    assert welcome["text"] == "Welcome <bot_command>"
    assert welcome["entities"] == [{"type": "bold", "offset": 0, "length": 7}]
    assert group[0]["chat"]["type"] == "group" and group[0]["text"] == "Welcome <bot_command>"
    assert api.calls("getMe") and api.calls("deleteWebhook")
    assert api.pending_updates() == []  # the updater confirmed everything via offset


@pytest.mark.asyncio
async def test_message_length_counts_visible_utf16(api):
    async with build_app(api.root) as app:
        bot = app.bot
        await bot.send_message(USER, "x" * 4096)
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(USER, "x" * 4097)
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(USER, "😀" * 2049)  # 2049 chars, 4098 UTF-16 units
        long_markup = "<b>" + "y" * 4000 + "</b><i>" + "z" * 96 + "</i>"
        msg = await bot.send_message(USER, long_markup, parse_mode=ParseMode.HTML)
        assert len(msg.text) == 4096 and [e.type for e in msg.entities] == ["bold", "italic"]
    assert api.calls("sendMessage")[1]["error"] == "Bad Request: message is too long"


@pytest.mark.asyncio
async def test_html_parsing_and_empty_text(api):
    async with build_app(api.root) as app:
        bot = app.bot
        for bad in ("<b>unclosed", "<b>x</i>", "<div>x</div>", "a < b", "Tom & Jerry",
                    "<span>x</span>", "</b>"):
            with pytest.raises(BadRequest, match="Can't parse entities"):
                await bot.send_message(USER, bad, parse_mode=ParseMode.HTML)
        await bot.send_message(USER, "Tom & Jerry <3")  # no parse_mode: taken verbatim
        msg = await bot.send_message(
            USER, '<b>Hi</b> &amp; <a href="https://example.org/?a=1&amp;b=2">link</a> '
                  '<span class="tg-spoiler">s</span> <pre><code class="language-py">x</code></pre>'
                  " &#x27;q&#39; <blockquote expandable>bq</blockquote>",
            parse_mode=ParseMode.HTML)
        assert msg.text == "Hi & link s x 'q' bq"
        assert [(e.type, e.offset, e.length) for e in msg.entities] == [
            ("bold", 0, 2), ("text_link", 5, 4), ("spoiler", 10, 1), ("pre", 12, 1),
            ("expandable_blockquote", 18, 2)]
        assert msg.entities[1].url == "https://example.org/?a=1&b=2"
        assert msg.entities[3].language == "py"
        for empty, mode in (("", None), ("   \n ", None), ("<b> </b>", ParseMode.HTML)):
            with pytest.raises(BadRequest, match="Message text is empty"):
                await bot.send_message(USER, empty, parse_mode=mode)
    errors = [c["error"] for c in api.calls("sendMessage") if not c["ok"]]
    assert errors[0] == ("Bad Request: can't parse entities: Can't find end tag corresponding "
                         'to start tag "b"')
    assert errors[2] == ("Bad Request: can't parse entities: Unsupported start tag \"div\" at "
                         "byte offset 0")


@pytest.mark.asyncio
async def test_edits_and_keyboard_validation(api):
    async with build_app(api.root) as app:
        bot = app.bot
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("new", chat_id=USER, message_id=99)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
        msg = await bot.send_message(USER, "<b>v1</b>", parse_mode="HTML", reply_markup=keyboard)
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("<b>v1</b>", USER, msg.message_id, parse_mode="HTML",
                                        reply_markup=keyboard)
        await bot.edit_message_text("v1", USER, msg.message_id, reply_markup=keyboard)
        await bot.edit_message_reply_markup(USER, msg.message_id)  # drop the keyboard
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(USER, msg.message_id)
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(USER, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("b", callback_data="é" * 33)]]))  # 66 bytes
        await bot.send_message(USER, "ok", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("b", callback_data="d" * 64)]]))
        user_msg = await api.send_user_message("mine")
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("hijack", USER, user_msg["message_id"])
        reply = await bot.send_message(USER, "re", reply_to_message_id=user_msg["message_id"])
        assert reply.reply_to_message.text == "mine"
        assert await bot.delete_message(USER, reply.message_id)
    current = api.sent(USER)
    assert [m["text"] for m in current] == ["v1", "ok"]
    assert "reply_markup" not in current[0] and isinstance(current[0]["edit_date"], int)


@pytest.mark.asyncio
async def test_long_polling_blocks_then_returns_early(api):
    async with build_app(api.root) as app:
        bot = app.bot
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert time.monotonic() - started >= 0.9  # it waited for its timeout

        # A long poll returns as soon as an update arrives, long before its timeout: the
        # wait_for below only guards against a poll that sleeps the whole 30 s.
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.3)
        assert not poll.done()
        await api.send_user_message("wake up")
        updates = await asyncio.wait_for(poll, 20)
        assert [u.message.text for u in updates] == ["wake up"]

        await api.send_user_message("second")  # unconfirmed updates are delivered again
        again = await bot.get_updates(timeout=0)
        assert [u.message.text for u in again] == ["wake up", "second"]
        assert len(await bot.get_updates(offset=again[0].update_id + 1, limit=5)) == 1
        assert await bot.get_updates(offset=again[-1].update_id + 1) == ()
        assert api.pending_updates() == []


@pytest.mark.asyncio
async def test_button_press_reaches_callback_handler(api):
    app = build_app(api.root)
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(picked, pattern=r"^pick:"))
    async with polling(app):
        await api.send_user_message("/menu")
        [menu_msg] = await api.wait_for_messages(USER, 1, timeout=5)
        assert menu_msg["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "pick:2"
        with pytest.raises(ValueError):
            await api.press_button(menu_msg, "pick:3")
        query = await api.press_button(menu_msg, "pick:2")
        await api.wait_for(lambda: api.sent(USER)[0]["text"] == "You picked 2", timeout=5)
    assert query["from"]["id"] == USER and query["data"] == "pick:2" and query["chat_instance"]
    [answer] = api.callback_answers()
    assert answer["callback_query_id"] == query["id"] and answer["text"] == "got pick:2"
    async with build_app(api.root) as app:  # a query can be answered only once
        with pytest.raises(BadRequest, match="Query is too old"):
            await app.bot.answer_callback_query(query["id"])


@pytest.mark.asyncio
async def test_fault_injection(api):
    async with build_app(api.root) as app:
        bot = app.bot
        api.fail_next("sendMessage", status=429, retry_after=7)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "hi")
        assert "Retry in 7 seconds" in str(caught.value)
        api.fail_next("sendmessage", status=500, times=2)
        for _ in range(2):
            with pytest.raises(NetworkError):
                await bot.send_message(USER, "hi")
        api.delay_next("sendMessage", 0.3)
        started = time.monotonic()
        await bot.send_message(USER, "finally")
        assert time.monotonic() - started >= 0.3
    assert [m["text"] for m in api.sent()] == ["finally"]
    first = api.calls("sendMessage")[0]
    assert (first["ok"], first["error_code"], first["error"]) == (
        False, 429, "Too Many Requests: retry after 7")
    async with aiohttp.ClientSession() as http:
        api.fail_next("getMe", status=429, retry_after=3)
        async with http.get(f"{api.root}/bot{DEFAULT_TOKEN}/getMe") as resp:
            assert resp.status == 429 and await resp.json() == {
                "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3}}


@pytest.mark.asyncio
async def test_http_shapes_token_and_encodings(api):
    url = f"{api.root}/bot{DEFAULT_TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.root}/bot1:wrong/getMe") as resp:
            assert resp.status == 401 and await resp.json() == {
                "ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{url}/sendPigeon", json={}) as resp:
            assert resp.status == 404 and await resp.json() == {
                "ok": False, "error_code": 404, "description": "Not Found: method not found"}
        async with http.get(f"{url}/GETME") as resp:
            me = (await resp.json())["result"]
            assert me["is_bot"] and me["username"] == BOT_USERNAME and me["can_join_groups"]
        async with http.post(f"{url}/sendMessage", json={"chat_id": USER, "text": "json"}) as r:
            assert (await r.json())["result"]["text"] == "json"
        async with http.get(f"{url}/sendMessage", params={"chat_id": USER, "text": "0"}) as r:
            assert (await r.json())["result"]["text"] == "0"
        form = aiohttp.FormData()
        form.add_field("chat_id", str(USER))
        form.add_field("text", "multi")
        form.add_field("reply_markup", '{"inline_keyboard":[[{"text":"t","callback_data":"c"}]]}')
        form.add_field("doc", b"bytes", filename="a.txt")
        async with http.post(f"{url}/sendMessage", data=form) as r:
            assert (await r.json())["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "t"
        async with http.post(f"{url}/sendMessage", data={"chat_id": USER, "text": ""}) as r:
            assert r.status == 400 and await r.json() == {
                "ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
    request = HTTPXRequest()
    bot = Bot("42:nope", base_url=api.root + "/bot", request=request)
    try:
        with pytest.raises(InvalidToken):
            await bot.get_me()
    finally:
        await request.shutdown()


@pytest.mark.asyncio
async def test_other_update_kinds_commands_and_actions(api):
    seen: list[str] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        if update.edited_message:
            seen.append(f"edited:{msg.text}")
        elif update.channel_post:
            seen.append(f"channel:{msg.text}:{msg.sender_chat.id}")
        elif msg.sticker:
            seen.append(f"sticker:{msg.sticker.emoji}")
        elif msg.photo:
            seen.append(f"photo:{msg.caption}:{len(msg.photo)}")
        else:
            seen.append("mention:" + ",".join(e.type for e in msg.entities))
        await context.bot.send_chat_action(msg.chat_id, "typing")

    app = build_app(api.root)
    app.add_handler(MessageHandler(filters.ALL, record))
    async with polling(app):
        original = await api.send_user_message("hi @newsbot_test_bot", chat_type="supergroup")
        await api.send_edited_message(original, "hi again")
        await api.send_channel_post("breaking")
        await api.send_sticker(emoji="🔥")
        await api.send_photo(caption="look", user_id=7, first_name="Bob")
        await api.wait_for(lambda: len(api.chat_actions()) == 5, timeout=5)
        bot = app.bot
        await bot.set_my_commands([("start", "Start"), ("news", "Latest news")])
        assert [c.command for c in await bot.get_my_commands()] == ["start", "news"]
        assert await bot.get_my_commands(language_code="de") == ()
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([("Bad-Cmd", "x")])
        await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
    assert seen == ["mention:mention", "edited:hi again", f"channel:breaking:{DEFAULT_CHANNEL_ID}",
                    "sticker:🔥", "photo:look:3"]
    assert [a["chat_id"] for a in api.chat_actions()][-1] == 7
    assert api.get_message(7, 1)["from"]["first_name"] == "Bob"


@pytest.mark.asyncio
async def test_thread_variant_serves_a_bot_in_another_loop():
    with FakeBotAPIThread() as server:
        app = build_app(server.root)
        app.add_handler(MessageHandler(filters.TEXT, echo))
        async with polling(app):
            server.send_user_message("cross-loop")  # sync, thread-safe
            sent = await asyncio.to_thread(server.wait_for_messages, USER, 1, 5)
            assert sent[0]["text"] == "echo: cross-loop"
            server.send_user_message("again")
            # the async waiter of the underlying server works from this (foreign) loop too
            await server.api.wait_for(lambda: len(server.sent(USER)) == 2, timeout=5)


BOT_SCRIPT = textwrap.dedent("""
    import sys
    from telegram.ext import ApplicationBuilder, MessageHandler, filters

    async def echo(update, context):
        await update.effective_message.reply_text("subprocess echo: " + update.effective_message.text)

    root, token = sys.argv[1], sys.argv[2]
    app = (ApplicationBuilder().token(token).base_url(root + "/bot")
           .base_file_url(root + "/file/bot").build())
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0, timeout=1)
""")


def test_thread_variant_serves_a_bot_in_a_subprocess():
    with FakeBotAPIThread() as server:
        server.send_user_message("queued before the bot starts")
        proc = subprocess.Popen([sys.executable, "-c", BOT_SCRIPT, server.root, server.token],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        first = second = None
        try:
            first = server.wait_for_messages(USER, 1, timeout=15)
            server.send_user_message("ping", user_id=555, username="bob")
            second = server.wait_for_messages(555, 1, timeout=5)
        except TimeoutError:
            pass
        finally:
            proc.terminate()
            try:
                output, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate()
        assert first and second, output.decode(errors="replace")
        assert first[0]["text"] == "subprocess echo: queued before the bot starts"
        assert second[0]["chat"] == {"id": 555, "type": "private", "first_name": "User 555",
                                     "username": "bob"}
