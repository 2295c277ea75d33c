"""The bot under load and abuse, over real HTTP against tests/tgserver.py (see test_telegram.py).

Figures printed here (run with ``-s``) are the ones quoted in the README (Reliability).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import resource
import shutil
import time
from collections import Counter

import pytest

from newsbot.bot.telegram.callbackdata import decode_callback, encode_callback
from newsbot.bot.telegram.state import BotSettings, install_retriever
from newsbot.bot.telegram.texts import ADMINS_ONLY, APOLOGY, BUTTON_FORGED, BUTTON_STALE, REFUSED
from botharness import ADMIN, buttons, failed_calls, running  # noqa: E402
from tgserver import DEFAULT_CHANNEL_ID, DEFAULT_GROUP_ID, DEFAULT_USER_ID, FakeBotAPI, ask, replies, reply  # noqa: E402

USER = DEFAULT_USER_ID
STRANGER = 2002
Q = "杭州电信工会和哪家医院合作？"
EXPECTED = "杭州市儿童医院"
QUESTIONS = [Q, "练市镇在哪个区？", "永建街道工会主席是谁？", "量子计算机的发展前景如何？", "职工子女就医绿色通道"]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pct(values, q):
    data = sorted(values)
    return data[max(0, -(-len(data) * q // 100) - 1)] if data else 0.0


# --------------------------------------------------------------------------- load
async def _burst(api: FakeBotAPI, users: range, per_user: int) -> tuple[list[float], int, int]:
    """Every user sends ``per_user`` questions at once; returns latencies (s), answered, limited."""
    injected: dict[tuple[int, int], float] = {}

    async def one(user: int, i: int) -> dict:
        msg = await api.send_user_message(QUESTIONS[(user + i) % len(QUESTIONS)], user_id=user)
        injected[(msg["chat"]["id"], msg["message_id"])] = time.time()
        return msg

    msgs = await asyncio.gather(*(one(u, i) for u in users for i in range(per_user)))
    keys = {(m["chat"]["id"], m["message_id"]) for m in msgs}
    await api.wait_for(lambda: keys <= api.replied_to(), timeout=60)  # no copies while the bot works
    first_reply: dict[tuple[int, int], float] = {}
    for call in api.calls("sendMessage"):
        if call["ok"] and (r := call["result"].get("reply_to_message")):
            key = (call["result"]["chat"]["id"], r["message_id"])
            first_reply.setdefault(key, call["time"])
    latencies = [first_reply[(m["chat"]["id"], m["message_id"])] - injected[(m["chat"]["id"], m["message_id"])] for m in msgs]
    texts = [replies(api, m)[0]["text"] for m in msgs]
    limited = sum("Too many questions" in t for t in texts)
    return latencies, len(msgs) - limited, limited


@pytest.mark.slow
@pytest.mark.asyncio
async def test_200_questions_from_50_users(api, sample_retriever, capsys):
    settings = BotSettings(rate_limit=3)  # the 4th question of each user within a minute is limited
    for q in QUESTIONS:  # a bot that has been serving: per-article caches are warm
        sample_retriever.ask(q, 12, trim=False)
    serial = []
    for q in QUESTIONS:  # what one search costs on this machine right now
        t0 = time.perf_counter()
        sample_retriever.ask(q, 12, trim=False)
        serial.append(time.perf_counter() - t0)
    search = pct(serial, 50)
    async with running(api, sample_retriever, settings):
        await ask(api, Q, user_id=1)  # warm up (encoder, caches)
        t0 = time.monotonic()
        lat1, answered1, limited1 = await _burst(api, range(1000, 1050), 4)
        wall1 = time.monotonic() - t0
        rss1 = rss_mb()
        lat2, answered2, limited2 = await _burst(api, range(2000, 2050), 4)
        rss2 = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with capsys.disabled():
        print(f"\nload: 200 questions / 50 users in {wall1:.2f} s: {answered1} answered, {limited1} rate-limited; "
              f"latency p50 {pct(lat1, 50) * 1000:.0f} ms, p95 {pct(lat1, 95) * 1000:.0f} ms, max {max(lat1) * 1000:.0f} ms; "
              f"second burst p50 {pct(lat2, 50) * 1000:.0f} ms, p95 {pct(lat2, 95) * 1000:.0f} ms; "
              f"RSS after burst 1 {rss1:.0f} MB, after burst 2 {rss2:.0f} MB, peak {peak:.0f} MB (test process: bot + fake server); "
              f"one search alone: {search * 1000:.0f} ms")
    assert (answered1, limited1) == (150, 50) and (answered2, limited2) == (150, 50)
    assert rss2 - rss1 < 30, (rss1, rss2)
    assert [(c["method"], c.get("error_code"), c.get("error")) for c in failed_calls(api)] == []


# --------------------------------------------------------------------------- fuzzed messages
POOL = (["\u200b", "\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\ufeff", "\x00", "\x07", "\x1b", "\r", "\n", "\t",
         "\ud800", "\udfff", "😀", "👩‍👩‍👧", "🇨🇳", "\u0301", "的", "了", "吗", "呢", "？", "<", ">", "&", "&amp;", "<b>",
         "</i>", "/", "/ask ", "@", "@newsbot_test_bot ", "*", "_", "`", "[", "]", "(", ")", "\\", "杭州", "医院", "工会",
         "a", "Z", "9", " ", "\u3000", "\U0001d54f", "\ufffd", "\uffff"])


def _fuzz_texts(n: int, seed: int = 1234) -> list[str]:
    rnd = random.Random(seed)
    out = ["\ud800", "/ask \udfff", "\u202e" + Q, "&<>" * 100, "😀" * 300, "的了吗呢", "？？？", "\x00", "/ask",
           "@newsbot_test_bot", "长" * 501, "/start\ud800", "<script>alert(1)</script>", Q + "\ud800"]
    while len(out) < n:
        k = rnd.choice([1, 3, 10, 40, 120])
        out.append("".join(rnd.choice(POOL) for _ in range(k)))
    return out


@pytest.mark.asyncio
async def test_fuzzed_messages_all_get_a_reply_and_no_bad_request(api, sample_retriever, caplog):
    texts = _fuzz_texts(80)
    async with running(api, sample_retriever):
        msgs = [await api.send_user_message(t, user_id=5000 + i) for i, t in enumerate(texts)]
        await api.wait_for(lambda: all(replies(api, m) for m in msgs), timeout=60)
        assert EXPECTED in (await ask(api, Q, user_id=4999))["text"]  # still serving
    for t, m in zip(texts, msgs):
        got = [r["text"] for r in replies(api, m)]
        assert got and APOLOGY("en") not in got, (t, got)
    assert failed_calls(api) == []  # no Bad Request: every reply was valid HTML within limits
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# --------------------------------------------------------------------------- abuse
@pytest.mark.asyncio
async def test_access_control_cannot_be_bypassed(api, sample_index, encoder, tmp_path, caplog):
    from newsbot.embeddings.index import Index
    from newsbot.embeddings.search import Retriever

    retriever = Retriever(Index.load(sample_index), encoder=encoder)
    settings = BotSettings(allowed_users=frozenset({USER}), admins=frozenset({ADMIN}))
    group = {"chat_type": "group"}
    async with running(api, retriever, settings) as app:
        answer = await ask(api, Q)  # the allowed user
        assert EXPECTED in answer["text"]
        # strangers: refused in private, silent in groups and channels, whatever they send
        assert (await ask(api, Q, user_id=STRANGER))["text"] == REFUSED("en")
        assert (await ask(api, "/reindex", user_id=STRANGER))["text"] == REFUSED("en")
        assert (await ask(api, "/stats", user_id=STRANGER))["text"] == REFUSED("en")
        silent = [await api.send_user_message(f"/ask {Q}", user_id=STRANGER, **group),
                  await api.send_user_message("/reindex@newsbot_test_bot", user_id=STRANGER, **group),
                  await api.send_user_message(f"@newsbot_test_bot {Q}", user_id=STRANGER, chat_type="supergroup"),
                  await api.send_user_message(Q, user_id=STRANGER, reply_to_message_id=None, **group)]
        await api.send_channel_post(f"/ask {Q}")
        await api.send_channel_post("/reindex")
        await api.send_channel_post(f"@newsbot_test_bot {Q}")
        # edited messages: neither a stranger's edit nor an allowed user's edit is answered
        own = await api.send_user_message("hello", user_id=STRANGER)
        await reply(api, own)
        await api.send_edited_message(own, "/reindex")
        mine = await api.send_user_message("hi")
        await reply(api, mine)
        await api.send_edited_message(mine, "/reindex")
        # a non-admin allowed user cannot rebuild
        assert (await ask(api, "/reindex"))["text"] == ADMINS_ONLY("en")
        # a stranger pressing the allowed user's buttons, real or forged
        real = next(d for t, d in buttons(answer) if t.startswith("📄"))
        await api.press_button(answer, real, user_id=STRANGER)
        await api.wait_for(lambda: len(api.callback_answers()) == 1)
        assert api.callback_answers()[0]["text"] == REFUSED("en")
        # forged data from the allowed user: other actions, huge numbers, other generations
        generation = decode_callback(real)[0]
        forged = ["", "x" * 64, "n1|%s|s|99999" % generation, encode_callback(generation, "p", 99999),
                  encode_callback(generation, "m", 0), encode_callback("ffffffff", "p", 0), "n1|%s|p|-1" % generation,
                  "n1|%s|r|0" % generation, "n1|%s|p|0\n" % generation]
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(str(i), callback_data=d or "-")] for i, d in enumerate(forged)])
        target = (await app.bot.edit_message_reply_markup(USER, answer["message_id"], reply_markup=keyboard)).to_dict()
        for d in forged:
            await api.press_button(target, d or "-")
        await api.wait_for(lambda: len(api.callback_answers()) == 1 + len(forged))
        got = Counter(a.get("text") for a in api.callback_answers()[1:])  # handled concurrently: any order
        # every forged button is refused; the sources page number is clamped (page 2 shown, no text)
        assert got == Counter({BUTTON_FORGED("en"): 7, BUTTON_STALE("en"): 1, None: 1}), got
        # callbacks for messages from before a rebuild: stale, never served from the new index
        fresh = await ask(api, Q, user_id=USER)
        copy = tmp_path / "rebuilt"
        shutil.copytree(sample_index, copy)
        os.utime(copy / "manifest.json", ns=(1, 1))
        install_retriever(app, Retriever(Index.load(copy), encoder=encoder))
        for _text, data in buttons(fresh):
            await api.press_button(fresh, data)
        n = 1 + len(forged) + len(buttons(fresh))
        await api.wait_for(lambda: len(api.callback_answers()) == n)
        assert {a.get("text") for a in api.callback_answers()[1 + len(forged):]} == {BUTTON_STALE("en")}
        assert EXPECTED in (await ask(api, Q, user_id=ADMIN))["text"]  # still serving, new index
    for m in silent:
        assert replies(api, m) == []
    assert api.sent(DEFAULT_CHANNEL_ID) == []
    assert [m for m in api.sent(DEFAULT_GROUP_ID)] == []
    assert len(replies(api, own)) == 1 and len(replies(api, mine)) == 1  # edits not answered
    assert app.bot_data.reindexes == 0  # nobody managed to rebuild
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_token_never_leaks_when_the_server_echoes_urls(api, sample_retriever, caplog):
    caplog.set_level(logging.DEBUG)
    secret = api.token.split(":")[1].lower()
    async with running(api, sample_retriever):
        api.fail_next("getUpdates", status=502, echo_url=True)
        api.fail_next("sendChatAction", status=400, echo_url=True)
        api.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities", echo_url=True)
        question = await api.send_user_message(Q)
        [apology] = await reply(api, question)
        assert apology["text"] == APOLOGY("en")
        api.fail_next("sendMessage", status=500, echo_url=True, times=2)  # retried, then sent
        answer = await ask(api, Q, user_id=91)
        assert EXPECTED in answer["text"]
        await api.press_button(answer, buttons(answer)[0][1])
        api.fail_next("answerCallbackQuery", status=400, echo_url=True)
        await reply(api, answer)
    assert any(api.token in (c.get("error") or "") for c in api.calls())  # the server did echo it
    everything = caplog.text + "".join(r.getMessage() for r in caplog.records)
    everything += "".join(str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    everything += "".join(m.get("text", "") for m in api.sent())
    assert secret not in everything.lower()
    assert "[redacted]" in everything.lower()


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_api_failures_are_retried_and_no_question_is_lost(api, sample_retriever):
    async with running(api, sample_retriever, timeout=1.0):
        # a Bot API call slower than the client timeout: TimedOut, retried with backoff
        api.delay_next("sendMessage", 1.6)
        t0 = time.monotonic()
        answer = await ask(api, Q, user_id=71)
        assert EXPECTED in answer["text"] and time.monotonic() - t0 >= 1.0
        # flood control with retry_after, more times than PTB's own limiter retries
        api.fail_next("sendMessage", status=429, retry_after=1, times=2)
        assert EXPECTED in (await ask(api, Q, user_id=72))["text"]
        # 5xx bursts
        api.fail_next("sendMessage", status=500)
        api.fail_next("sendMessage", status=502)
        api.fail_next("sendMessage", status=503)
        assert EXPECTED in (await ask(api, Q, user_id=73))["text"]
        # getUpdates failing: the update stays queued on the server and is answered later
        api.fail_next("getUpdates", status=502, times=2)
        assert EXPECTED in (await ask(api, Q, user_id=74))["text"]
        # a timed-out reply and an error on the same question: still answered
        api.delay_next("sendMessage", 1.6)
        api.fail_next("sendMessage", status=502)
        assert EXPECTED in (await ask(api, Q, user_id=75))["text"]
    codes = [c.get("error_code") for c in api.calls("sendMessage") if not c["ok"]]
    assert codes.count(429) == 2 and {500, 502, 503} <= set(codes)
