"""Hostile input to the bot and the CLI: odd encodings, button floods, long commands, races,
loose token files and a stranger's newsbot.toml.

The Telegram tests drive the real python-telegram-bot stack against the fake Bot API server
(tests/tgserver.py), like tests/test_telegram.py; the CLI tests run ``python -m bot.cli``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from newsbot.bot.telegram.redact import read_token
from newsbot.bot.telegram.render import MAX_MESSAGE
from newsbot.bot.telegram.state import BotSettings
from botharness import ADMIN, button, failed_calls, running  # noqa: E402
from tgserver import DEFAULT_USER_ID, FakeBotAPIThread, ask, replies, reply  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
USER = DEFAULT_USER_ID
Q = "杭州电信工会和哪家医院合作？"
EXPECTED = "杭州市儿童医院"


def newsbot(*args, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m bot.cli ARGS`` in ``cwd``; ``env`` is the whole environment (default: os.environ)."""
    env = {**(os.environ if env is None else env)}
    return subprocess.run([sys.executable, "-m", "newsbot.bot.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


# --------------------------------------------------------------------------- 7. files that are not UTF-8


def test_gbk_config_file_exits_2_naming_the_file(tmp_path):
    toml = tmp_path / "newsbot.toml"
    toml.write_bytes('# 报纸问答的设置\nresults = 4\nmodel = "中文模型"\n'.encode("gbk"))
    r = newsbot("config", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert str(toml) in r.stderr and "UTF-8" in r.stderr


def test_gbk_question_file_exits_2_naming_the_file(tmp_path):
    questions = tmp_path / "questions.jsonl"
    questions.write_bytes(('{"q": "%s", "a": ["%s"]}\n' % (Q, EXPECTED)).encode("gbk"))
    r = newsbot("eval", questions, "--index-dir", tmp_path / "no-index", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert str(questions) in r.stderr and "UTF-8" in r.stderr


# --------------------------------------------------------------------------- 9. buttons count against the rate limit


def _is_wait_alert(a: dict) -> bool:
    return bool(a.get("show_alert")) and "please wait" in a.get("text", "")


@pytest.mark.asyncio
async def test_buttons_are_rate_limited_per_user(api, sample_retriever):
    async with running(api, sample_retriever, BotSettings(rate_limit=2)) as app:
        question = await api.send_user_message(Q)  # 1 of 2
        [answer] = await reply(api, question)
        passage = button(answer, "📄 Passage 1")
        for _ in range(12):  # one more passage allowed, then a short alert each
            await api.press_button(answer, passage)
        await api.wait_for(lambda: len(api.callback_answers()) == 12)
        await api.press_button(answer, button(answer, "More"))  # over the limit: no "More" page
        await api.wait_for(lambda: len(api.callback_answers()) == 13)
        rt = app.bot_data
        more_sent = rt.shown[(USER, answer["message_id"])].more_sent
    answers = api.callback_answers()
    assert len(replies(api, answer)) == 1  # one full passage, not twelve
    assert sum(map(_is_wait_alert, answers)) == 12
    assert all(len(a["text"]) <= 200 for a in answers)  # Telegram's limit for callback answers
    assert len(replies(api, question)) == 1 and not more_sent  # no second page; More can be pressed later
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_re_search_after_restart_is_rate_limited(api, sample_retriever):
    async with running(api, sample_retriever):
        old = await ask(api, Q)
    # A restarted bot has no memory of ``old``: pressing its button would search again.
    async with running(api, sample_retriever, BotSettings(rate_limit=1)) as app:
        await ask(api, "杭州市儿童医院和谁合作？")  # the user's one action this minute
        await api.press_button(old, button(old, "📄 Passage 1"))
        await api.wait_for(lambda: len(api.callback_answers()) == 1)
        searches = len(app.bot_data.search_ms)
    assert _is_wait_alert(api.callback_answers()[0])
    assert searches == 1  # only the question was searched
    assert replies(api, old) == []
    assert failed_calls(api) == []


# --------------------------------------------------------------------------- 10. unknown commands


@pytest.mark.asyncio
async def test_unknown_command_echoes_only_a_short_clean_prefix(api, sample_retriever):
    # "&" ends the command entity as a Telegram client sees it; the rest is one "word".
    hostile = "/frob" + "&\x07\u202e\x1b[31m" * 1500 + " and more"
    async with running(api, sample_retriever):
        hint = await ask(api, hostile)
        plain = await ask(api, "/zap\x00\x08<b>", user_id=61)
    for msg in (hint, plain):
        text = msg["text"]
        assert "Unknown command" in text and "/help" in text
        assert not [c for c in text if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"]
    assert "/frob&[31m&[31m" in hint["text"] and len(hint["text"]) < 300
    echoed = hint["text"].split("Unknown command ", 1)[1].split(":", 1)[0]
    assert len(echoed) <= 32
    assert "/zap<b>" in plain["text"]  # escaped: shown as text, not parsed as HTML
    assert len(hint["text"]) <= MAX_MESSAGE
    assert failed_calls(api) == []


# --------------------------------------------------------------------------- 11. /reindex twice


@pytest.mark.asyncio
async def test_reindex_twice_starts_one_rebuild(api, own_retriever):
    retriever = own_retriever
    async with running(api, retriever) as app:
        api.delay_next("sendMessage", 0.3)  # the first reply is slow: the second command arrives meanwhile
        first = await api.send_user_message("/reindex", user_id=ADMIN)
        second = await api.send_user_message("/reindex", user_id=ADMIN)
        await api.wait_for(lambda: replies(api, first) and replies(api, second))
        await api.wait_for(lambda: [m for m in api.sent(ADMIN) if "Index rebuilt" in m["text"] or "failed" in m["text"]],
                           timeout=60)
        rt = app.bot_data
        await rt.reindex_task
        texts = [m["text"] for m in api.sent(ADMIN)]
        assert sum("background" in t for t in texts) == 1, texts
        assert sum("already running" in t for t in texts) == 1, texts
        third = await api.send_user_message("/reindex", user_id=ADMIN)  # done: a new rebuild may start
        [started] = await reply(api, third)
        assert "background" in started["text"]
        await api.wait_for(lambda: sum("Index rebuilt" in m["text"] for m in api.sent(ADMIN)) == 2, timeout=60)
    texts = [m["text"] for m in api.sent(ADMIN)]
    assert rt.reindexes == 2 and not [t for t in texts if "failed" in t], texts
    assert failed_calls(api) == []


# --------------------------------------------------------------------------- 12. token file permissions


def test_token_file_readable_by_others_is_refused(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("123456:ABCdef-ghi_jkl\n")
    token_file.chmod(0o644)
    env = {**os.environ, "NEWSBOT_TELEGRAM_API_URL": "http://127.0.0.1:9"}  # nothing listens there
    r = newsbot("telegram", "--token-file", token_file, cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert f"chmod 600 {token_file}" in r.stderr
    assert "ABCdef" not in r.stderr

    token_file.chmod(0o640)  # group-readable: refused too
    token, problem = read_token(token_file)
    assert token is None and f"chmod 600 {token_file}" in problem
    token_file.chmod(0o600)
    assert read_token(token_file) == ("123456:ABCdef-ghi_jkl", None)


# --------------------------------------------------------------------------- 13. a stranger's newsbot.toml


def test_token_and_api_url_never_come_from_the_current_folder(tmp_path):
    stranger = tmp_path / "their-folder"
    stranger.mkdir()
    with FakeBotAPIThread() as server:  # "their" server, and a token it would accept
        (stranger / "newsbot.toml").write_text(
            f'telegram_bot_token = "{server.token}"\ntelegram_api_url = "{server.root}"\nresults = 4\n', encoding="utf-8")
        r = newsbot("config", "--json", cwd=stranger)
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)["settings"]
        assert s["telegram_bot_token"] == {"value": None, "source": "default", "env": "TELEGRAM_BOT_TOKEN"}
        assert s["telegram_api_url"]["value"] is None and s["telegram_api_url"]["source"] == "default"
        assert s["results"]["value"] == 4  # other keys still apply
        user_file = Path(os.environ["XDG_CONFIG_HOME"]) / "newsbot" / "newsbot.toml"
        for key in ("telegram_bot_token", "telegram_api_url"):
            assert key in r.stderr
        assert str(user_file) in r.stderr and "ignored" in r.stderr

        r = newsbot("config", cwd=stranger)
        assert r.returncode == 0, r.stderr
        table, _, note = r.stdout.partition("\n\n")  # a note under the table says why
        assert "telegram_bot_token" in note and "current folder" in note and str(user_file) in note
        help_ = newsbot("config", "--help", cwd=stranger).stdout
        assert "telegram_bot_token" in help_ and "current folder" in help_

        proc = subprocess.Popen([sys.executable, "-m", "newsbot.bot.cli", "telegram", "--index-dir", tmp_path / "idx"],
                                cwd=stranger, env={**os.environ},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # it is serving: with their token, on their server
            proc.send_signal(signal.SIGINT)
            _out, err = proc.communicate(timeout=30)
        assert server.api.calls() == []  # the token never reached their server
        assert proc.returncode == 2 and "no Telegram bot token" in err and "Traceback" not in err

    # The user's own config folder may hold them.
    user_file.parent.mkdir(parents=True, exist_ok=True)
    user_file.write_text('telegram_bot_token = "123:abc"\ntelegram_api_url = "http://127.0.0.1:9"\n', encoding="utf-8")
    r = newsbot("config", "--json", cwd=stranger)
    s = json.loads(r.stdout)["settings"]
    assert s["telegram_bot_token"]["source"] == str(user_file) and s["telegram_api_url"]["value"] == "http://127.0.0.1:9"
