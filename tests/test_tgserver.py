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
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest
from tgserver import (
    BOT_USERNAME,
    DEFAULT_CHANNEL_ID,
    DEFAULT_GROUP_ID,
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    QUERY_ID_INVALID,
    FakeBotAPI,
    FakeBotAPIThread,
)

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


# --------------------------------------------------------------------------- inline mode
def _article(result_id: str, html: str, **extra) -> dict:
    return {"type": "article", "id": result_id, "title": f"Title {result_id}",
            "input_message_content": {"message_text": html, "parse_mode": "HTML"}, **extra}


async def _answer_raw(api, query_id: str, results, **params) -> tuple[int, dict]:
    """answerInlineQuery as a raw JSON POST (to send what PTB's classes would refuse)."""
    body = {"inline_query_id": query_id, "results": results, **params}
    url = f"{api.root}/bot{DEFAULT_TOKEN}/answerInlineQuery"
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as resp:
        return resp.status, await resp.json()


KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more")]])


@pytest.mark.asyncio
async def test_inline_query_answer_choose_and_edit_through_ptb(api):
    seen: list[str] = []

    async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        seen.append(f"inline:{query.query}:{query.offset}:{query.chat_type}:"
                    f"{query.from_user.language_code}")
        await query.answer(
            [InlineQueryResultArticle(
                "a1", "First", InputTextMessageContent(
                    "<b>Hangzhou</b> &amp; more", parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True)),
                description="the answer", url="https://example.org/a1",
                thumbnail_url="https://example.org/t.jpg", thumbnail_width=64,
                thumbnail_height=64),
             InlineQueryResultArticle("a2", "Second", InputTextMessageContent("plain text"),
                                      reply_markup=KEYBOARD)],
            cache_time=5, is_personal=True, next_offset="10",
            button=InlineQueryResultsButton("Open the bot", start_parameter="inline-help"))

    async def on_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chosen = update.chosen_inline_result
        seen.append(f"chosen:{chosen.result_id}:{chosen.query}:{chosen.inline_message_id}")
        if chosen.inline_message_id:  # (without reply_markup an edit drops the keyboard)
            assert await context.bot.edit_message_text(
                "edited <i>inline</i>", inline_message_id=chosen.inline_message_id,
                parse_mode=ParseMode.HTML, reply_markup=KEYBOARD) is True

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        seen.append(f"message:{msg.chat.type}:{msg.via_bot and msg.via_bot.username}:{msg.text}")

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        seen.append(f"button:{query.data}:{query.inline_message_id}:{query.message}")
        await query.answer()

    app = build_app(api.root)
    app.add_handler(InlineQueryHandler(on_inline))
    app.add_handler(ChosenInlineResultHandler(on_chosen))
    app.add_handler(MessageHandler(filters.TEXT, on_message))
    app.add_handler(CallbackQueryHandler(on_button))
    api.set_language(USER, "zh-hans")
    async with polling(app):
        assert (await app.bot.get_me()).supports_inline_queries
        query = await api.send_inline_query("hangzhou", offset="5")
        assert query["chat_type"] == "sender" and query["offset"] == "5"
        assert query["from"]["language_code"] == "zh-hans"
        [answer] = await api.wait_for(lambda: api.inline_answers(query["id"]), timeout=5)
        assert answer["query"] == "hangzhou" and answer["inline_query_id"] == query["id"]
        assert (answer["cache_time"], answer["is_personal"], answer["next_offset"]) == (5, True, "10")
        assert answer["button"] == {"text": "Open the bot", "start_parameter": "inline-help"}
        first, second = answer["results"]
        assert second["reply_markup"] == KEYBOARD.to_dict()
        assert first["description"] == "the answer" and first["thumbnail_width"] == 64
        assert first["input_message_content"]["message_text"] == "<b>Hangzhou</b> &amp; more"
        with pytest.raises(ValueError, match="offered no result"):
            await api.choose_inline_result(query, "a3")

        # picked in the user's private chat with the bot: the bot gets the message too
        posted = await api.choose_inline_result(query, "a1")
        assert posted["text"] == "Hangzhou & more"
        assert posted["entities"] == [{"type": "bold", "offset": 0, "length": 8}]
        assert posted["from"]["id"] == USER and posted["via_bot"]["username"] == BOT_USERNAME
        assert "reply_markup" not in posted
        assert api.chat_messages(USER) == [posted] and api.sent(USER) == []

        # picked in a group, with a keyboard: an inline_message_id the bot edits through
        in_group = await api.choose_inline_result(query, "a2", chat_type="group")
        assert in_group["chat"]["id"] == DEFAULT_GROUP_ID and in_group["text"] == "plain text"
        await api.wait_for(lambda: api.get_message(DEFAULT_GROUP_ID, in_group["message_id"])
                           ["text"] == "edited inline", timeout=5)
        edited = api.chat_messages(DEFAULT_GROUP_ID)[0]
        assert edited["entities"] == [{"type": "italic", "offset": 7, "length": 6}]
        assert edited["reply_markup"] == in_group["reply_markup"] == KEYBOARD.to_dict()
        press = await api.press_button(edited, "more")
        assert "message" not in press and press["inline_message_id"]

        # not delivered where the bot is not
        await api.choose_inline_result(query, "a1", chat_id=-4242, chat_type="group",
                                       deliver=False)
        # a forged result: pushed as is
        forged = await api.send_chosen_inline_result("../../etc/passwd", "hangzhou", user_id=9)
        assert forged == {"result_id": "../../etc/passwd", "query": "hangzhou",
                          "from": forged["from"]} and forged["from"]["id"] == 9
        await api.wait_for(lambda: len(seen) == 8, timeout=5)
        # answering again: Telegram takes one answer per query
        with pytest.raises(BadRequest, match="Query is too old"):
            await app.bot.answer_inline_query(query["id"], [])

    assert seen == [
        "inline:hangzhou:5:sender:zh-hans",
        "message:private:newsbot_test_bot:Hangzhou & more",
        "chosen:a1:hangzhou:None",
        "message:group:newsbot_test_bot:plain text",
        f"chosen:a2:hangzhou:{press['inline_message_id']}",
        f"button:more:{press['inline_message_id']}:None",
        "chosen:a1:hangzhou:None",
        "chosen:../../etc/passwd:hangzhou:None",
    ]
    assert api.chat_messages(-4242)[0]["text"] == "Hangzhou & more"
    assert len(api.inline_answers()) == 1
    assert api.calls("answerInlineQuery")[-1]["error"] == "Bad Request: " + QUERY_ID_INVALID


BAD = "Bad Request: "
PARSE = BAD + "can't parse inline query result: "


@pytest.mark.asyncio
async def test_answer_inline_query_is_validated_like_telegram(api):
    ok = _article("ok", "<b>fine</b>")
    cases = [  # (results, extra parameters, Telegram's description)
        ("nope", {}, BAD + "can't parse JSON encoded inline query results: Unexpected symbol"),
        ({"a": 1}, {}, BAD + "expected an Array of inline query results"),
        ([_article(str(n), "x") for n in range(51)], {}, BAD + "too many inline query results specified"),
        (["x"], {}, PARSE + "Inline query result must be an object"),
        ([{"id": "1", "title": "t"}], {}, PARSE + 'Can\'t find field "type"'),
        ([{"type": "article", "id": "1", "input_message_content": {"message_text": "x"}}], {},
         PARSE + 'Can\'t find field "title"'),
        ([{"type": "article", "id": "1", "title": "t"}], {}, PARSE + 'Can\'t find field "message_text"'),
        ([{**ok, "input_message_content": "text"}], {},
         PARSE + 'Field "input_message_content" must be of type Object'),
        ([_article("1", "")], {}, PARSE + "Input message content is not specified"),
        ([_article("1", "<div>x</div>")], {},
         PARSE + 'Can\'t parse entities: Unsupported start tag "div" at byte offset 0'),
        ([_article("1", "Tom & Jerry")], {}, PARSE + "Can't parse entities: Character \"&\" at byte "
         'offset 4 is not a part of an HTML entity; replace it with "&amp;"'),
        ([{**ok, "input_message_content": {"message_text": "x", "parse_mode": "bbcode"}}], {},
         PARSE + "Unsupported parse_mode"),
        ([{**ok, "type": "photo"}], {}, PARSE + 'type "photo" is not emulated by tests/tgserver.py '
         '(only "article" is)'),
        ([{**ok, "type": "hologram"}], {}, PARSE + 'type "hologram" is unsupported for the inline '
         "query result"),
        ([{**ok, "reply_markup": {"inline_keyboard": [[{"text": "t"}]]}}], {},
         PARSE + "Can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"),
        ([{**ok, "reply_markup": {"inline_keyboard": [[{"text": "t", "callback_data": "d" * 65}]]}}],
         {}, BAD + "BUTTON_DATA_INVALID"),
        ([{**ok, "reply_markup": {"keyboard": [[{"text": "t"}]]}}], {}, BAD + "inline keyboard expected"),
        ([_article("1", "<b> </b>")], {}, BAD + "text must be non-empty"),
        ([ok], {"button": {"text": "go"}},
         BAD + "can't parse inline query results button: InlineQueryResultsButton must have exactly "
         "one optional field"),
        ([ok], {"button": {"start_parameter": "x"}},
         BAD + 'can\'t parse inline query results button: Can\'t find field "text"'),
        ([ok], {"button": {"text": "go", "start_parameter": ""}}, BAD + "can't use empty start_parameter"),
        ([ok], {"button": {"text": "go", "start_parameter": "a b"}},
         BAD + "unallowed characters in start_parameter are used"),
        ([ok], {"button": {"text": "go", "start_parameter": "s" * 65}},
         BAD + "too long start_parameter specified"),
        ([ok], {"button": {"text": "go", "web_app": {"url": "http://example.org"}}},
         BAD + "inline query button Web App URL must use HTTPS"),
        ([ok], {"inline_query_id": "12345"}, BAD + QUERY_ID_INVALID),
        ([ok], {"button": {"text": " ", "start_parameter": "x"}}, BAD + "SWITCH_PM_TEXT_EMPTY"),
        ([ok, _article("ok", "again")], {}, BAD + "RESULT_ID_DUPLICATE"),
        ([_article("", "x")], {}, BAD + "RESULT_ID_EMPTY"),
        ([_article("é" * 33, "x")], {}, BAD + "RESULT_ID_INVALID"),  # 66 bytes
        ([{**ok, "title": "  "}], {}, BAD + "ARTICLE_TITLE_EMPTY"),
        ([_article("1", "<b>" + "x" * 4097 + "</b>")], {}, BAD + "MESSAGE_TOO_LONG"),
        ([{**ok, "thumbnail_url": "ftp://x/t.jpg"}], {}, BAD + "WEBDOCUMENT_URL_INVALID"),
        ([ok], {"next_offset": "o" * 65}, BAD + "NEXT_OFFSET_INVALID"),
    ]
    query = await api.send_inline_query("q")
    for results, extra, description in cases:
        status, body = await _answer_raw(api, query["id"], results, **extra)
        assert (status, body) == (400, {"ok": False, "error_code": 400,
                                        "description": description}), (results, extra)
    assert api.inline_answers() == []  # a refused answer leaves the query open

    # the limits themselves are fine: 50 results, 64-byte ids, 4096 visible UTF-16 units
    limits = [_article(str(n), "x") for n in range(48)]
    limits += [_article("é" * 32, "<b>" + "😀" * 2048 + "</b>"),
               {"type": "ARTICLE", "id": 77, "title": "legacy", "message_text": "top-level text"}]
    status, body = await _answer_raw(api, query["id"], limits, cache_time=10**6,
                                     next_offset="o" * 64, switch_pm_text="Help",
                                     switch_pm_parameter="start")
    assert (status, body) == (200, {"ok": True, "result": True})
    [answer] = api.inline_answers(query["id"])
    assert len(answer["results"]) == 50 and answer["cache_time"] == 86400
    assert answer["button"] == {"text": "Help", "start_parameter": "start"}
    assert answer["is_personal"] is False and answer["next_offset"] == "o" * 64
    posted = await api.choose_inline_result(query, "77", deliver=False)  # a Number id is text
    assert posted["text"] == "top-level text"

    # Telegram's defaults, and an empty answer; an unanswered query can't be chosen from
    async with build_app(api.root) as app:
        second = await api.send_inline_query("again", chat_type=None)
        assert "chat_type" not in second
        with pytest.raises(ValueError, match="has not answered"):
            await api.choose_inline_result(second, "1")
        assert await app.bot.answer_inline_query(second["id"], [], cache_time=-5)
        with pytest.raises(BadRequest, match="Query is too old"):
            await app.bot.answer_inline_query(second["id"], [])
        third = await api.send_inline_query("defaults")
        assert await app.bot.answer_inline_query(third["id"], [])
    assert [(a["cache_time"], a["results"], a["button"]) for a in api.inline_answers()[1:]] == [
        (0, [], None), (300, [], None)]


@pytest.mark.asyncio
async def test_inline_mode_switch_answer_timeout_and_query_length():
    async with FakeBotAPI(inline_mode=False) as off:
        assert off.bot_user["supports_inline_queries"] is False
        with pytest.raises(ValueError, match="inline mode is off"):
            await off.send_inline_query("x")
    async with FakeBotAPI(inline_answer_timeout=0.2) as api:
        with pytest.raises(ValueError, match="at most 256"):
            await api.send_inline_query("x" * 257)
        with pytest.raises(ValueError, match="chat_type"):
            await api.send_inline_query("x", chat_type="secret")
        quick, slow = await api.send_inline_query("x" * 256), await api.send_inline_query("y")
        assert (await _answer_raw(api, quick["id"], []))[0] == 200
        await asyncio.sleep(0.3)
        status, body = await _answer_raw(api, slow["id"], [])
        assert (status, body["description"]) == (400, BAD + QUERY_ID_INVALID)
    with FakeBotAPIThread() as server:  # the thread variant has the injectors and readers
        query = server.send_inline_query("thread")
        assert server.pending_updates()[0]["inline_query"] == query
        assert server.inline_answers() == [] and server.chat_messages(USER) == []
        chosen = server.send_chosen_inline_result("r", query)
        assert chosen["query"] == "thread" and "inline_message_id" not in chosen


@pytest.mark.asyncio
async def test_my_commands_per_language(api):
    async with build_app(api.root) as app:
        bot = app.bot
        await bot.set_my_commands([("start", "Start")])
        await bot.set_my_commands([("start", "开始")], language_code="zh")
        assert [c.description for c in await bot.get_my_commands(language_code="zh")] == ["开始"]
        assert [c.description for c in await bot.get_my_commands()] == ["Start"]
        with pytest.raises(BadRequest, match="Invalid language code specified"):
            await bot.set_my_commands([("start", "x")], language_code="zh-hans")
    calls = api.calls("setMyCommands")
    assert [c["params"].get("language_code") for c in calls] == [None, "zh", "zh-hans"]
    assert api.my_commands("zh") == [{"command": "start", "description": "开始"}]
    assert api.my_commands() == [{"command": "start", "description": "Start"}]
