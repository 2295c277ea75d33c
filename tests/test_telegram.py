"""The Telegram bot, driven over real HTTP: python-telegram-bot <-> tests/tgserver.py.

No handler is mocked: each test builds the real Application with ``build_application``, runs
its real updater (long polling) against the fake Bot API server, injects user updates and
reads what the bot sent.  The retriever is the session's sample index, injected preloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from newsbot.bot.cli import main
from newsbot.bot.config import load_config
from newsbot.bot.telegram.callbackdata import decode_callback, encode_callback
from newsbot.bot.telegram.redact import read_token
from newsbot.bot.telegram.render import MAX_MESSAGE, render_answer_page, render_passage, render_sources, window
from newsbot.bot.telegram.state import BotSettings, RateLimiter
from newsbot.bot.telegram.texts import BUTTON_FORGED, BUTTON_STALE, NOT_FOUND, NOT_TEXT, REFUSED
from newsbot.embeddings.util import percentile
from newsbot.embeddings.errors import UsageError
from newsbot.embeddings.types import Answer, Hit
from botharness import ADMIN, button, buttons, failed_calls, running  # noqa: E402
from tgserver import (BOT_USERNAME, DEFAULT_CHANNEL_ID, DEFAULT_GROUP_ID,  # noqa: E402
                      DEFAULT_SUPERGROUP_ID, DEFAULT_TOKEN, DEFAULT_USER_ID,
                      FakeBotAPIThread, ask, parse_html, replies, reply, utf16_len)

USER = DEFAULT_USER_ID
Q = "杭州电信工会和哪家医院合作？"
EXPECTED = "杭州市儿童医院"
OFF_TOPIC = "量子计算机的发展前景如何？"
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- harness


def entity_texts(msg: dict, kind: str) -> list[str]:
    """The text each ``kind`` entity covers (offsets are UTF-16 code units)."""
    raw = msg["text"].encode("utf-16-le")
    return [raw[2 * e["offset"]: 2 * (e["offset"] + e["length"])].decode("utf-16-le")
            for e in msg.get("entities", []) if e["type"] == kind]


def hit(rank=1, title="标题", source="page.txt", excerpt="前文。答案在这里。后文。", highlight=(3, 9), text=None, paragraphs=(1,)):
    return Hit(rank, 1.0, title, source, paragraphs, excerpt, highlight, text or excerpt)


# --------------------------------------------------------------------------- answers and buttons
@pytest.mark.asyncio
async def test_question_answered_with_quote_more_and_full_passage(api, sample_retriever):
    async with running(api, sample_retriever) as app:
        question = await api.send_user_message(Q)
        [answer] = await reply(api, question)
        assert EXPECTED in answer["text"]
        assert len(answer["text"]) <= MAX_MESSAGE
        bold, quotes, italics = (entity_texts(answer, k) for k in ("bold", "blockquote", "italic"))
        assert bold[0].startswith("1. ") and "想职工所想" in bold[0]  # the title, in bold
        assert any(EXPECTED in b for b in bold)  # the answering sentence, highlighted
        assert EXPECTED in quotes[0]  # the excerpt, as a quote
        # The first citation in full; the others folded (expandable quotes) to keep the reply short.
        cited = answer["text"].count("📰")
        assert len(quotes) == 1 and len(entity_texts(answer, "expandable_blockquote")) == cited - 1 >= 1
        assert "sample_page.txt ¶1-2" in italics  # source file and paragraph numbers
        assert api.chat_actions(USER)[0]["action"] == "typing"
        sent = api.calls("sendMessage")[-1]["params"]
        assert sent["parse_mode"] == "HTML"
        labels = [t for t, _ in buttons(answer)]
        assert labels == ["📄 Passage 1", "📄 Passage 2", "📄 Passage 3", "More ▸"]

        await api.press_button(answer, button(answer, "More"))
        [_, more] = await reply(api, question, 2)
        assert "Results 4–6 of" in more["text"] and "4. " in more["text"]
        await api.wait_for(lambda: len(buttons(api.get_message(USER, answer["message_id"]))) == 3)  # More removed
        assert [t for t, _ in buttons(more)][:3] == ["📄 Passage 4", "📄 Passage 5", "📄 Passage 6"]

        await api.press_button(answer, button(answer, "📄 Passage 1"))
        [passage] = await reply(api, answer)
        full = sample_retriever.ask(Q, k=12).hits[0].text
        assert full.splitlines()[-1] in passage["text"] and EXPECTED in passage["text"]
        assert any(EXPECTED in b for b in entity_texts(passage, "bold"))
        await api.wait_for(lambda: len(api.callback_answers()) == 2)
        assert [c.get("text", "") for c in api.callback_answers()][1].startswith("Full passage 1")

        off = await ask(api, OFF_TOPIC)
        assert off["text"] == NOT_FOUND("en") and "reply_markup" not in off
        assert [c["command"] for c in await app.bot.get_my_commands()] == ["ask", "sources", "help", "start"]
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_stale_forged_and_recovered_buttons(api, sample_retriever, caplog):
    async with running(api, sample_retriever) as app:
        question = await api.send_user_message(Q)
        [answer] = await reply(api, question)
        generation = decode_callback(button(answer, "📄 Passage 1"))[0]
        forged = ["garbage", "n2|%s|p|0" % generation, encode_callback("deadbeef", "p", 0),
                  encode_callback(generation, "p", 99), encode_callback(generation, "m", 1), "n1|" + "x" * 60]
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(str(i), callback_data=d)] for i, d in enumerate(forged)])
        # The bot's own answer gets the forged keyboard, so the presses reach a known answer.
        forged_answer = await app.bot.edit_message_reply_markup(USER, answer["message_id"], reply_markup=keyboard)
        for data in forged:
            await api.press_button(forged_answer.to_dict(), data)
        await api.wait_for(lambda: len(api.callback_answers()) == len(forged))
        texts = [a.get("text") for a in api.callback_answers()]
        forged_, stale = BUTTON_FORGED("en"), BUTTON_STALE("en")
        assert texts == [forged_, forged_, stale, forged_, forged_, forged_]
        second = await ask(api, Q, user_id=77)  # still serving

    # A restarted bot has no memory of the answer: the button finds the question it replied to.
    async with running(api, sample_retriever):
        await api.press_button(second, button(second, "📄 Passage 2"))
        [passage] = await reply(api, second)
        assert passage["text"].startswith("2. ")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failed_calls(api) == []


# --------------------------------------------------------------------------- who gets answered
@pytest.mark.asyncio
async def test_groups_answer_only_when_addressed(api, sample_retriever):
    group = {"chat_type": "group"}
    async with running(api, sample_retriever):
        silent = [await api.send_user_message(Q, **group),
                  await api.send_user_message(f"/ask@other_bot {Q}", **group),
                  await api.send_user_message(f"@someone_else {Q}", **group),
                  await api.send_user_message("/frobnicate", **group)]
        asked = await ask(api, f"/ask {Q}", **group)
        addressed = await ask(api, f"/ask@{BOT_USERNAME} {Q}", **group)
        mentioned = await ask(api, f"@{BOT_USERNAME} {Q}", chat_type="supergroup")
        replied = await ask(api, Q, reply_to_message_id=asked["message_id"], user_id=5, **group)
        other = await api.send_user_message("nice", **group)
        silent.append(await api.send_user_message(Q, reply_to_message_id=other["message_id"], **group))
        hint = await ask(api, f"/frobnicate@{BOT_USERNAME}", **group)
        empty = await ask(api, "/ask", **group)
    for answer in (asked, addressed, mentioned, replied):
        assert EXPECTED in answer["text"], answer["text"]
    assert mentioned["chat"]["id"] == DEFAULT_SUPERGROUP_ID
    assert "/help" in hint["text"] and "/frobnicate" in hint["text"]
    assert "/ask" in empty["text"]
    assert all(replies(api, m) == [] for m in silent)
    assert len(api.sent(DEFAULT_GROUP_ID)) == 5


@pytest.mark.asyncio
async def test_allowlists_refuse_in_private_and_stay_silent_in_groups(api, sample_retriever):
    settings = BotSettings(allowed_users=frozenset({USER}), allowed_chats=frozenset({DEFAULT_SUPERGROUP_ID}))
    async with running(api, sample_retriever, settings):
        refused = await ask(api, Q, user_id=2002)
        group_stranger = await api.send_user_message(f"/ask {Q}", user_id=2002, chat_type="group")
        allowed_in_group = await ask(api, f"/ask {Q}", chat_type="group")
        allowed_chat = await ask(api, f"/ask {Q}", user_id=2002, chat_type="supergroup")
        await api.press_button(allowed_in_group, button(allowed_in_group, "📄 Passage 1"), user_id=2002)
        await api.wait_for(lambda: api.callback_answers())
    assert refused["text"] == REFUSED("en")
    assert replies(api, group_stranger) == []
    assert EXPECTED in allowed_in_group["text"] and EXPECTED in allowed_chat["text"]
    assert api.callback_answers()[0]["text"] == REFUSED("en") and api.callback_answers()[0]["show_alert"]


@pytest.mark.asyncio
async def test_rate_limit_length_limits_and_hostile_html(api, sample_retriever):
    async with running(api, sample_retriever, BotSettings(rate_limit=2, max_question=5000)):
        for _ in range(2):
            assert EXPECTED in (await ask(api, Q))["text"]
        limited = await ask(api, Q)
        assert re.fullmatch(r"Too many questions: please try again in \d+ s\.", limited["text"]), limited["text"]
        assert EXPECTED in (await ask(api, Q, user_id=31))["text"]  # per user

        too_long = await ask(api, "长" * 10_000, user_id=32)
        assert "10000" in too_long["text"] and "5000" in too_long["text"]
        over_core = await ask(api, "问" * 3000, user_id=33)  # under our limit, over the retriever's
        assert "at most 2000" in over_core["text"]

        nasty = '<b>杭州电信</b> & <script>alert("x")</script> 工会和哪家医院合作？ &amp; </i>'
        answer = await ask(api, nasty, user_id=34)
        assert '<script>alert("x")</script>' in answer["text"] and EXPECTED in answer["text"]
        bare = await ask(api, "<script>alert(1)</script>", user_id=35)
        assert bare["text"] == NOT_FOUND("en") or "<script>" in bare["text"]
    assert failed_calls(api) == []
    async with running(api, sample_retriever):  # the default limit: 500 characters
        msg = await ask(api, "长" * 10_000, user_id=36)
        assert "500" in msg["text"]


@pytest.mark.asyncio
async def test_twenty_users_at_once(api, sample_retriever):
    users = range(3000, 3020)
    async with running(api, sample_retriever):
        sent = await asyncio.gather(*(api.send_user_message(Q, user_id=u) for u in users))
        answers = [(await reply(api, m, timeout=20))[0] for m in sent]
    assert all(EXPECTED in a["text"] for a in answers)
    assert sorted(a["chat"]["id"] for a in answers) == list(users)
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_odd_updates_never_crash(api, sample_retriever, caplog):
    async with running(api, sample_retriever):
        original = await api.send_user_message("hello")
        await reply(api, original)
        await api.send_edited_message(original, Q)
        await api.send_channel_post(Q)
        await api.send_channel_post(f"/ask {Q}")
        sticker = await api.send_sticker(user_id=51)
        photo = await api.send_photo(caption=Q, user_id=52)
        empty = await api.send_user_message("", user_id=53)
        blank = await api.send_user_message("   \n ", user_id=54)
        await api.send_sticker(chat_type="group", user_id=55)
        unknown = await ask(api, "/frobnicate", user_id=56)
        for msg in (sticker, photo, empty):
            assert (await reply(api, msg))[0]["text"] == NOT_TEXT("en")
        assert "/ask" in (await reply(api, blank))[0]["text"]
        assert "/help" in unknown["text"]
        assert EXPECTED in (await ask(api, Q, user_id=57))["text"]  # still alive
    assert api.sent(DEFAULT_CHANNEL_ID) == [] and api.sent(DEFAULT_GROUP_ID) == []
    assert len(replies(api, original)) == 1  # the edit was not answered again
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# --------------------------------------------------------------------------- commands
@pytest.mark.asyncio
async def test_start_help_and_sources_pagination(api, sample_retriever):
    async with running(api, sample_retriever):
        start = await ask(api, "/start")
        help_ = await ask(api, "/help", user_id=61)
        assert "8 newspaper articles from 1 source file;" in start["text"] and "/ask" in start["text"]
        assert "newspaper articles" in help_["text"] and "/reindex" not in help_["text"]
        admin_help = await ask(api, "/help", user_id=ADMIN)
        assert "/reindex" in admin_help["text"] and "/stats" in admin_help["text"]

        sources = await ask(api, "/sources")
        assert "Page 1 of 2" in sources["text"] and "1. " in sources["text"] and "6. " not in sources["text"]
        assert [t for t, _ in buttons(sources)] == ["Next ▶"]
        await api.press_button(sources, button(sources, "Next"))
        page2 = await api.wait_for(lambda: (m := api.get_message(USER, sources["message_id"]))
                                   and "Page 2 of 2" in m["text"] and m)
        assert "6. " in page2["text"] and "8. " in page2["text"] and "5. " not in page2["text"]
        assert [t for t, _ in buttons(page2)] == ["◀ Prev"]
        await api.press_button(page2, button(page2, "◀"))
        await api.wait_for(lambda: "Page 1 of 2" in api.get_message(USER, sources["message_id"])["text"])
        await api.wait_for(lambda: len(api.callback_answers()) == 2)
    titles = [a.title for a in sample_retriever.index.articles]
    assert titles[0] in sources["text"] and titles[-1] in page2["text"]
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_admin_stats_and_reindex_with_stale_buttons(api, own_retriever):
    retriever = own_retriever
    async with running(api, retriever) as app:
        answer = await ask(api, Q)
        assert "admins only" in (await ask(api, "/stats", user_id=71))["text"]
        assert "admins only" in (await ask(api, "/reindex", user_id=71))["text"]
        stats = await ask(api, "/stats", user_id=ADMIN)
        assert "Questions served: 1" in stats["text"] and "p50" in stats["text"] and "p95" in stats["text"]
        assert "8 articles" in stats["text"]

        command = await api.send_user_message("/reindex", user_id=ADMIN)
        [started] = await reply(api, command)
        assert "background" in started["text"]
        during = await ask(api, Q, user_id=72)  # answered while the rebuild runs
        assert EXPECTED in during["text"]
        [_, done] = await reply(api, command, 2, timeout=40)
        assert "Index rebuilt: 8 articles" in done["text"]
        assert app.bot_data.retriever is not retriever

        await api.press_button(answer, button(answer, "📄 Passage 1"))
        await api.wait_for(lambda: api.callback_answers())
        assert api.callback_answers()[0]["text"] == BUTTON_STALE("en")
        fresh = await ask(api, Q, user_id=73)
        assert EXPECTED in fresh["text"]
        assert decode_callback(button(fresh, "📄"))[0] != decode_callback(button(answer, "📄"))[0]
        stats = await ask(api, "/stats", user_id=ADMIN)
        assert "Rebuilds: 1" in stats["text"]
    assert failed_calls(api) == []


# --------------------------------------------------------------------------- resilience and secrets
@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside PTB's RetryAfter
async def test_flood_control_and_server_errors_are_retried(api, sample_retriever):
    async with running(api, sample_retriever):
        api.fail_next("sendMessage", status=429, retry_after=1)
        started = time.monotonic()
        answer = await ask(api, Q)
        assert EXPECTED in answer["text"] and time.monotonic() - started >= 1
        api.fail_next("sendMessage", status=502, times=2)
        answer = await ask(api, Q, user_id=81)
        assert EXPECTED in answer["text"]
        # More flood errors than the rate limiter retries: the reply helper retries on top.
        api.fail_next("sendMessage", status=429, retry_after=1, times=2)
        answer = await ask(api, Q, user_id=82)
        assert EXPECTED in answer["text"]
    codes = [c.get("error_code") for c in api.calls("sendMessage")]
    assert codes == [429, None, 502, 502, None, 429, 429, None]


@pytest.mark.asyncio
async def test_typing_is_renewed_during_a_slow_search_and_never_arrives_after_the_answer(api, sample_retriever,
                                                                                         monkeypatch):
    from newsbot.bot.telegram import handlers, send

    monkeypatch.setattr(send, "TYPING_RENEWAL", 0.1)
    search = handlers.search

    async def slow_search(*args, **kw):
        await asyncio.sleep(0.5)
        return await search(*args, **kw)

    monkeypatch.setattr(handlers, "search", slow_search)
    api.delay_next("sendChatAction", 0.0)
    api.delay_next("sendChatAction", 3.0, times=2)  # the first renewal is still in flight when the search ends
    async with running(api, sample_retriever):
        assert EXPECTED in (await ask(api, Q))["text"]
    log = [c["method"] for c in api.calls() if c["method"] in ("sendChatAction", "sendMessage")]
    assert log.count("sendChatAction") >= 2 and log[-1] == "sendMessage", log
    assert failed_calls(api) == [] and not [c for c in api.calls("sendChatAction") if not c["ok"]]


@pytest.mark.asyncio
async def test_token_never_reaches_the_logs(api, sample_retriever, caplog):
    caplog.set_level(logging.DEBUG)
    token = api.token
    async with running(api, sample_retriever):
        logging.getLogger("telegram.ext").warning("the token is %s", token)
        api.fail_next("getUpdates", status=500)
        api.fail_next("sendMessage", status=400, description=f"Bad Request: chat of bot{token} not found")
        question = await api.send_user_message(Q)
        await api.wait_for(lambda: any("error while handling" in r.getMessage() for r in caplog.records))
        [apology] = await reply(api, question)  # the error handler apologised; the process lives
        assert "Sorry" in apology["text"]
        assert EXPECTED in (await ask(api, Q, user_id=91))["text"]
    text = (caplog.text + "".join(r.getMessage() for r in caplog.records)).lower()
    assert "[redacted]" in text and "error while handling" in text
    assert token.split(":")[1].lower() not in text  # PTB capitalizes errors: compare lower case


def test_run_reports_token_and_index_problems_without_leaking(monkeypatch, capsys, caplog, tmp_path, sample_index):
    caplog.set_level(logging.DEBUG)
    args = ["telegram"]
    assert main(args) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
    assert main([*args, "--token-file", str(tmp_path / "missing")]) == 2
    assert "cannot read the token file" in capsys.readouterr().err
    (tmp_path / "bad").write_text("not a token")
    assert main([*args, "--token-file", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "does not hold a bot token" in err and "not a token" not in err
    monkeypatch.setenv("NEWSBOT_RATE_LIMIT", "lots")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", DEFAULT_TOKEN)
    assert main(args) == 2 and "NEWSBOT_RATE_LIMIT" in capsys.readouterr().err
    monkeypatch.delenv("NEWSBOT_RATE_LIMIT")

    wrong = "987654:WRONG-secret-token-value"
    broken = tmp_path / "broken-index"
    broken.mkdir()
    (broken / "junk.txt").write_text("x")
    with FakeBotAPIThread() as server:
        monkeypatch.setenv("NEWSBOT_TELEGRAM_API_URL", server.root)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", wrong)
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "rejected the bot token" in err
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", server.token)
        assert main([*args, "--index-dir", str(broken)]) == 3
        err = capsys.readouterr().err
        assert "not a newsbot index" in err
    assert wrong.split(":")[1].lower() not in (err + caplog.text).lower()


# --------------------------------------------------------------------------- the real entry point
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


def test_unreachable_api_or_rejected_token_at_start_up_is_one_line(tmp_path, sample_index):
    """python-telegram-bot logs a traceback when getMe fails at start-up; a user sees one line."""
    cmd = [sys.executable, "-m", "newsbot.bot.cli", "telegram", "--index-dir", str(sample_index)]
    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    env = {**os.environ, "NEWSBOT_TELEGRAM_API_URL": closed, "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN}
    r = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "Network Retry Loop" not in r.stderr, r.stderr
    assert f"cannot talk to the Telegram Bot API at {closed}" in r.stderr
    with FakeBotAPIThread() as server:  # a server that refuses the token
        wrong = "987654:WRONG-secret-token-value"
        r = subprocess.run(cmd, env={**env, "NEWSBOT_TELEGRAM_API_URL": server.root, "TELEGRAM_BOT_TOKEN": wrong},
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "rejected the bot token" in r.stderr, r.stderr
    assert "WRONG-secret" not in r.stderr


def test_cli_long_polling_and_webhook_end_to_end(tmp_path, sample_index):
    token_file = tmp_path / "token"
    with FakeBotAPIThread() as server:
        token_file.write_text(server.token + "\n")
        token_file.chmod(0o600)  # newsbot refuses a token file others can read
        env = {**os.environ, "NEWSBOT_TELEGRAM_API_URL": server.root, "NEWSBOT_ADMINS": str(ADMIN)}
        cmd = [sys.executable, "-m", "newsbot.bot.cli", "telegram", "--index-dir", str(sample_index), "--token-file", str(token_file)]
        polling = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            msg = server.send_user_message(Q)
            answer = server.wait_for(lambda: [m for m in server.sent(USER) if m.get("reply_to_message")], timeout=30)
        finally:
            out = _stop(polling)
        assert EXPECTED in answer[0]["text"], out
        assert polling.returncode == 0, out
        assert server.api.calls("setMyCommands")

        port = _free_port()
        secret = "s3cret-webhook_token"
        hook = subprocess.Popen(cmd + ["--webhook-url", "https://bot.example.org/newsbot/hook", "--port", str(port)],
                                env={**env, "NEWSBOT_WEBHOOK_SECRET": secret}, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            server.wait_for(lambda: server.api.calls("setWebhook"), timeout=30)
            msg = server.send_user_message(Q, user_id=555)
            update = server.pending_updates()[-1]
            assert update["message"]["message_id"] == msg["message_id"]
            import httpx

            url = f"http://127.0.0.1:{port}/newsbot/hook"
            for _ in range(50):  # the webhook server starts right after setWebhook
                with contextlib.suppress(httpx.TransportError):
                    denied = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
                    break
                time.sleep(0.1)
            assert denied.status_code == 403
            ok = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
            assert ok.status_code == 200
            answer = server.wait_for_messages(555, 1, timeout=15)
        finally:
            out = _stop(hook)
        assert EXPECTED in answer[0]["text"], out
        assert server.api.calls("setWebhook")[0]["params"]["url"] == "https://bot.example.org/newsbot/hook"
        assert server.api.calls("setWebhook")[0]["params"]["secret_token"] == secret
    assert server.token not in out and secret not in out


# --------------------------------------------------------------------------- pure helpers
def test_pages_stay_under_the_limit_and_are_valid_html():
    nasty = "&<b>" * 80 + "答案" + "</i>&amp;" * 20
    hits = tuple(hit(i, title="<script>" * 60, source="a&b.txt", excerpt=nasty[:300], highlight=(10, 250),
                     text=nasty * 40, paragraphs=(1, 2, 3)) for i in range(1, 13))
    answer = Answer("q", True, hits)
    start, seen = 0, []
    while start < len(hits):
        text, end = render_answer_page("<q>&" * 100, answer, start, 10, lang="zh" if start else "en")
        assert end > start and utf16_len(text) <= MAX_MESSAGE
        plain, entities = parse_html(text)  # Telegram's parser accepts it
        assert "<script>" in plain and any(e["type"] == "blockquote" for e in entities)
        seen.extend(range(start, end))
        start = end
    assert seen == list(range(12))
    for h in hits[:2]:
        passage = render_passage(h, 1)
        assert utf16_len(passage) <= MAX_MESSAGE
        parse_html(passage)
    emoji = hit(text="😀" * 5000 + "答案在这里。" + "😀" * 5000, excerpt="答案在这里。", highlight=(0, 6))
    passage = render_passage(emoji, 1)
    plain, entities = parse_html(passage)
    assert utf16_len(passage) <= MAX_MESSAGE
    assert "答案在这里。" in entity_texts({"text": plain, "entities": entities}, "bold")


def test_window_keeps_the_highlight():
    text = "x" * 100 + "ANSWER" + "y" * 100
    shown, a, b = window(text, 100, 106, 20)
    assert len(shown) <= 20 and shown[a:b] == "ANSWER" and shown.startswith("…") and shown.endswith("…")
    assert window("short", 0, 2, 20) == ("short", 0, 2)
    shown, a, b = window(text, 200, 206, 20)
    assert len(shown) == 20 and shown.startswith("…") and shown[a:b] == "yyyyyy"
    for n in range(3, 60):
        for a in range(0, 206, 7):
            shown, sa, sb = window(text, a, a + 5, n)
            assert len(shown) <= n and shown[sa:sb] in text[a:a + 5]
    shown, a, b = window(text, 0, 0, 10)
    assert shown.endswith("…") and len(shown) == 10 and a == b == 0


def test_sources_pages():
    from newsbot.embeddings.types import Article

    arts = [Article(i, f"T{i}<&>", f"s{i % 2}.txt", ("p",)) for i in range(12)]
    text, page, pages = render_sources(arts, 99, lang="zh")
    assert (page, pages) == (2, 3) and "11. " in text and "T11&lt;&amp;&gt;" in text
    assert "来自 2 个文件" in text and "第 3/3 页" in text
    text, page, pages = render_sources(arts[:1], 0, lang="en")
    assert "1 article from 1 source file</b>" in text and "Page 1 of 1" in text


def test_callback_data_format():
    data = encode_callback("0123abcd", "m", 3)
    assert len(data.encode()) <= 64 and decode_callback(data) == ("0123abcd", "m", 3)
    for bad in (None, "", "n1|0123abcd|x|1", "n1|0123ABCD|m|1", "n1|0123abcd|m|-1", "n1|0123abcd|m|123456",
                "n0|0123abcd|m|1", data + " "):
        assert decode_callback(bad) is None


def test_settings_from_env_and_allowlists(monkeypatch):
    s = BotSettings.from_config(load_config(environ={"NEWSBOT_ALLOWED_USERS": "1, 2", "NEWSBOT_ALLOWED_CHATS": "-100", "NEWSBOT_ADMINS": "9",
                              "NEWSBOT_RATE_LIMIT": "0", "NEWSBOT_MAX_QUESTION": "80", "NEWSBOT_RESULTS": "5",
                              "NEWSBOT_CORPUS": os.pathsep.join(["/a", "/b"])}))
    assert s == BotSettings(frozenset({1, 2}), frozenset({-100}), frozenset({9}), 0, 80, 5, ("/a", "/b"))
    assert s.allows(1, 1) and s.allows(3, -100) and s.allows(9, 9) and not s.allows(3, 3)
    assert BotSettings.from_config(load_config(environ={})) == BotSettings() and BotSettings().allows(123, 123)
    for env in ({"NEWSBOT_ADMINS": "@alice"}, {"NEWSBOT_RESULTS": "0"}, {"NEWSBOT_MAX_QUESTION": "many"}):
        with pytest.raises(UsageError, match=next(iter(env))):
            BotSettings.from_config(load_config(environ=env))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", " 1:abc \n")
    assert read_token(None, load_config()["telegram_bot_token"]) == ("1:abc", None)


def test_rate_limiter_and_percentiles():
    limiter = RateLimiter(2)
    assert limiter.hit(1, 0.0) == 0 and limiter.hit(1, 1.0) == 0
    assert limiter.hit(1, 2.0) == pytest.approx(58.0) and limiter.hit(2, 2.0) == 0
    assert limiter.hit(1, 60.5) == 0
    assert RateLimiter(0).hit(1) == 0
    assert percentile([], 50) == 0 and percentile(range(1, 101), 50) == 50 and percentile(range(1, 101), 95) == 95
