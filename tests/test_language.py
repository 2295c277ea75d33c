"""The bot speaks the reader's language: Chinese to users whose Telegram is in Chinese, English
to everyone else, never both at once; quotes, titles and sources stay as the corpus has them.

Driven over the real python-telegram-bot stack against the fake Bot API (tests/tgserver.py),
whose users send ``language_code`` "en" unless ``api.set_language`` says otherwise.
"""

from __future__ import annotations

import re

import pytest
from botharness import ADMIN, button, buttons, failed_calls, running
from helpers import SAMPLE_DIR
from newsbot.bot.telegram import texts
from newsbot.bot.telegram.render import read_answer_header, render_answer_page
from newsbot.bot.telegram.state import BotSettings
from newsbot.bot.telegram.upload import NotAdded
from newsbot.embeddings.types import Answer, Hit
from telegram import BotCommandScopeChat
from tgserver import DEFAULT_GROUP_ID, ask, reply

Q = "杭州电信工会和哪家医院合作？"
EXPECTED = "杭州市儿童医院"
OFF_TOPIC = "量子计算机的发展前景如何？"
ZH, EN, NONE = 201, 202, 203  # users whose Telegram is in Chinese, in English, and one that says nothing

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def english_words(text: str) -> list[str]:
    """Latin-script words in a Chinese message, leaving out what is not wording: HTML tags,
    placeholders, /commands, @names, file extensions, and names that stay as they are."""
    keep = {"Telegram", "MB", "ms", "p50", "p95", "NEWSBOT_CORPUS", "newsbot", "toml", "corpus", "indexes", "chat_bindings_file", "systemd", "journalctl", "u"}
    text = re.sub(r"<[^>]*>|\{[^}]*\}|/\w+|@\w+|\.\w+", " ", text)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text) if w not in keep]


def chinese_in(text: str) -> list[str]:
    """Chinese characters in an English message, leaving out the example question (a question
    to a Chinese corpus, in <code> or after /ask)."""
    text = re.sub(r"<code>.*?</code>|/ask \S+", " ", text)
    return CJK.findall(text)


def header(msg: dict) -> str:
    """The bot's own words on an answer: its header, without the echoed question."""
    return msg["text"].split("\n\n", 1)[0].split("\n", 1)[1]


def citations(msg: dict) -> str:
    """The quotes, titles and sources of an answer: everything after the header."""
    return msg["text"].split("\n\n", 1)[1]


def formatting(msg: dict) -> list[tuple[str, str]]:
    """``(type, text covered)`` of each entity (bold, quotes, italics, links) of a message."""
    raw = msg["text"].encode("utf-16-le")
    return [(e["type"], raw[2 * e["offset"]: 2 * (e["offset"] + e["length"])].decode("utf-16-le")) for e in msg.get("entities", [])]


def more_button(msg: dict) -> str:
    return next(data for text, data in buttons(msg) if text.endswith("▸"))


def _set_languages(api) -> None:
    api.set_language(ZH, "zh-hans")
    api.set_language(EN, "en")
    api.set_language(NONE, None)


# --------------------------------------------------------------------------- the strings themselves


def test_every_text_is_one_language():
    found = {name: value for name, value in vars(texts).items() if isinstance(value, texts.Text)}
    found.update({f"command {name}": value for name, value in texts.PUBLIC_COMMANDS + texts.ADMIN_COMMANDS})
    assert len(found) > 50
    for name, text in found.items():
        assert not english_words(text.zh), (name, english_words(text.zh))
        assert not chinese_in(text.en), (name, chinese_in(text.en))
        assert " / " not in text.zh + text.en, name  # no "中文 / English" pairs left
        assert text("zh") == text.zh and text("zh-hant") == text.zh and text("en") == text.en and text("") == text.en
    assert texts.TOO_LONG("zh", n=612, limit=500) == "问题太长（612 字），请控制在 500 字以内。"
    assert texts.TOO_LONG("en", n=612, limit=500) == "Your question is 612 characters long; please keep it under 500."


def test_reader_language():
    class User:
        def __init__(self, code):
            self.language_code = code

    for code, lang in [("zh", "zh"), ("zh-hans", "zh"), ("zh-TW", "zh"), ("ZH-HK", "zh"), ("en", "en"),
                       ("en-US", "en"), ("ru", "en"), ("", "en"), (None, "en")]:
        assert texts.reader_language(User(code)) == lang, code
    assert texts.reader_language(None) == "en"


def _hits(n: int) -> tuple[Hit, ...]:
    return tuple(Hit(i, 1.0, f"标题{i}", "page.txt", (i,), "前文。答案在这里。后文。", (3, 9), "前文。答案在这里。后文。")
                 for i in range(1, n + 1))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_answer_header_is_read_back_in_either_language(lang):
    answer = Answer("q", True, _hits(12))
    text, end = render_answer_page("问题", answer, 3, 3, lang=lang)
    assert end == 6
    plain = re.sub(r"<[^>]+>", "", text)  # what Telegram gives the bot back: text without tags
    assert read_answer_header(plain) == (3, 6, lang)
    # A question that looks like a header is not read as one: only the line below it counts.
    tricky = re.sub(r"<[^>]+>", "", render_answer_page("Results 7–9 of 12 结果 7–9，共 12 条", answer, 0, 3, lang=lang)[0])
    assert read_answer_header(tricky) == (0, 3, lang)


def test_answer_header_of_old_bilingual_messages_and_garbage():
    old = "🔎 问题\n结果 4–6 / 共 12 条 · results 4–6 of 12\n\n4. 标题"
    assert read_answer_header(old) == (3, 6, "en")
    for junk in ("", "no header", "🔎 q\n\n1. x", "🔎 q\nResults 0–3 of 5\n\nx", "🔎 q\nResults 5–3 of 5\n\nx"):
        assert read_answer_header(junk) is None, junk


def test_not_added_is_told_in_the_admins_language():
    e = NotAdded(texts.NOT_ADDED, name="a.pdf", why=texts.NO_ARTICLES)
    assert e.say("zh") == "未能加入 a.pdf：里面没有找到文字" and e.say("en") == str(e) == "a.pdf was not added: no text found in it"
    e = NotAdded(texts.LINK_FAILED, url="http://x.org/a.gif", why=texts.NOT_A_PAGE, content_type="image/gif")
    assert e.say("zh") == "无法读取这个链接 http://x.org/a.gif：不是网页或文档（image/gif）"
    assert e.say("en") == "Could not fetch http://x.org/a.gif: not a page or document (image/gif)"


# --------------------------------------------------------------------------- over the real stack


@pytest.mark.asyncio
async def test_each_reader_gets_help_refusals_and_answers_in_their_language(api, sample_retriever):
    _set_languages(api)
    got: dict[int, dict] = {}
    async with running(api, sample_retriever):
        for user in (ZH, EN, NONE):
            got[user] = {
                "help": await ask(api, "/help", user_id=user),
                "answer": await ask(api, Q, user_id=user),
                "not_found": await ask(api, OFF_TOPIC, user_id=user),
                "sticker": (await reply(api, await api.send_sticker(user_id=user)))[0],
                "empty": await ask(api, "/ask", user_id=user),
                "unknown": await ask(api, "/frobnicate", user_id=user),
                "sources": await ask(api, "/sources", user_id=user),
            }
    zh, en, none = got[ZH], got[EN], got[NONE]

    assert "怎么问" in zh["help"]["text"] and "How to ask" in en["help"]["text"]
    assert "我读过 8 篇报纸文章（来自 1 个文件）" in zh["help"]["text"]
    assert "I have read 8 newspaper articles from 1 source file;" in en["help"]["text"]
    assert zh["not_found"]["text"] == "没有找到相关内容。" and en["not_found"]["text"] == "No relevant passage found."
    assert zh["sticker"]["text"] == "请用文字提问。（/help）" and en["sticker"]["text"] == texts.NOT_TEXT("en")
    assert zh["unknown"]["text"] == "未知命令 /frobnicate。发送 /help 查看用法。"
    assert header(zh["answer"]).startswith("结果 1–3，共 ") and header(en["answer"]).startswith("Results 1–3 of ")
    assert zh["sources"]["text"].startswith("📚 已收录 8 篇文章，来自 1 个文件\n第 1/2 页")
    assert en["sources"]["text"].startswith("📚 8 articles from 1 source file\nPage 1 of 2")
    assert [t for t, _ in buttons(zh["answer"])] == ["📄 全文 1", "📄 全文 2", "📄 全文 3", "更多 ▸"]
    assert [t for t, _ in buttons(en["answer"])] == ["📄 Passage 1", "📄 Passage 2", "📄 Passage 3", "More ▸"]
    assert [t for t, _ in buttons(zh["sources"])] == ["下一页 ▶"] and [t for t, _ in buttons(en["sources"])] == ["Next ▶"]

    for kind in zh:  # one language per message: no English in Chinese, no Chinese in English
        zh_words = header(zh[kind]) if kind == "answer" else zh[kind]["text"]
        en_words = header(en[kind]) if kind == "answer" else en[kind]["text"]
        if kind == "sources":  # the titles listed are the corpus's
            zh_words, en_words = zh_words.split("\n\n")[0], en_words.split("\n\n")[0]
        assert not english_words(zh_words) and CJK.search(zh_words), (kind, zh_words)
        assert not chinese_in(en_words), (kind, en_words)
        # no language_code at all: English
        assert none[kind]["text"] == en[kind]["text"] and buttons(none[kind]) == buttons(en[kind]), kind

    # The quotes, titles and sources are the corpus's own, whoever asked, formatted alike.
    assert EXPECTED in citations(zh["answer"]) and "sample_page.txt" in citations(zh["answer"])
    assert citations(zh["answer"]) == citations(en["answer"]) == citations(none["answer"])
    assert formatting(zh["answer"]) == formatting(en["answer"])
    assert any(kind == "blockquote" and EXPECTED in covered for kind, covered in formatting(zh["answer"]))
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_buttons_answer_in_the_pressers_language(api, sample_retriever):
    _set_languages(api)
    group = {"chat_type": "group"}
    async with running(api, sample_retriever):
        question = await api.send_user_message(f"/ask {Q}", user_id=ZH, **group)
        [answer] = await reply(api, question)
        await api.press_button(answer, button(answer, "📄 全文 1"), user_id=ZH)
        [passage] = await reply(api, answer)
        await api.press_button(answer, button(answer, "更多"), user_id=EN)  # an English reader pages on
        [_, more] = await reply(api, question, 2)  # the next page answers the question too
        await api.wait_for(lambda: len(api.callback_answers()) == 2)
        # the Chinese answer keeps its Chinese passage buttons; "More" is gone
        await api.wait_for(lambda: len(buttons(api.get_message(DEFAULT_GROUP_ID, answer["message_id"]))) == 3)
        edited = api.get_message(DEFAULT_GROUP_ID, answer["message_id"])

        sources = await ask(api, "/sources", user_id=EN, **group)
        await api.press_button(sources, button(sources, "Next"), user_id=ZH)  # edited in the presser's language
        page2 = await api.wait_for(lambda: (m := api.get_message(DEFAULT_GROUP_ID, sources["message_id"]))
                                   and "第 2/2 页" in m["text"] and m)
    assert [a.get("text") for a in api.callback_answers()[:2]] == ["全文 1", "More results"]
    assert passage["text"].startswith("1. ") and EXPECTED in passage["text"]
    assert header(more).startswith("Results 4–6 of ")
    assert [t for t, _ in buttons(more)][:3] == ["📄 Passage 4", "📄 Passage 5", "📄 Passage 6"]
    assert [t for t, _ in buttons(edited)] == ["📄 全文 1", "📄 全文 2", "📄 全文 3"]
    assert [t for t, _ in buttons(page2)] == ["◀ 上一页"]
    assert failed_calls(api) == []


@pytest.mark.asyncio
@pytest.mark.parametrize(("user", "first", "third"), [(ZH, "结果 4–6，共 12 条", "结果 7–9，共 12 条"),
                                                      (EN, "Results 4–6 of 12", "Results 7–9 of 12")])
async def test_more_after_a_restart_reads_the_page_from_either_header(api, sample_retriever, user, first, third):
    _set_languages(api)
    async with running(api, sample_retriever):
        question = await api.send_user_message(Q, user_id=user)
        [answer] = await reply(api, question)
        await api.press_button(answer, more_button(answer))
        [_, page2] = await reply(api, question, 2)
    assert header(page2) == first
    # A restarted bot remembers nothing: "More" on page 2 must find that page 2 shows hits 4–6.
    async with running(api, sample_retriever):
        await api.press_button(page2, more_button(page2))
        [_, _, page3] = await reply(api, question, 3)
        await api.wait_for(lambda: len(api.callback_answers()) == 2)
    assert header(page3) == third and page3["text"].split("\n\n")[1].startswith("7. ")
    assert api.callback_answers()[1]["text"] == texts.MORE_SENT("zh" if user == ZH else "en")
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_limits_refusals_and_apologies_in_chinese(api, sample_retriever):
    _set_languages(api)
    settings = BotSettings(allowed_users=frozenset({ZH, EN}), admins=frozenset({ADMIN}), rate_limit=2, max_question=50)
    stranger = 204
    api.set_language(stranger, "zh-hant")
    async with running(api, sample_retriever, settings):
        too_long = await ask(api, "长" * 60, user_id=ZH)
        refused = await ask(api, Q, user_id=stranger)
        for _ in range(2):
            await ask(api, Q, user_id=EN)
        limited_en = await ask(api, Q, user_id=EN)
        answer = await ask(api, Q, user_id=ZH)
        await ask(api, Q, user_id=ZH)
        await api.press_button(answer, button(answer, "📄 全文 1"), user_id=ZH)  # over the limit: an alert
        await api.wait_for(lambda: len(api.callback_answers()) == 1)
        await api.press_button(answer, button(answer, "📄 全文 2"), user_id=stranger)
        await api.wait_for(lambda: len(api.callback_answers()) == 2)
        api.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities")
        apology = await ask(api, "/help", user_id=ZH)
    assert too_long["text"] == "问题太长（60 字），请控制在 50 字以内。"
    assert refused["text"] == "抱歉，你没有使用这个机器人的权限。"
    assert re.fullmatch(r"Too many questions: please try again in \d+ s\.", limited_en["text"])
    wait, denied = api.callback_answers()
    assert re.fullmatch(r"操作太频繁了，请 \d+ 秒后再按。", wait["text"]) and wait["show_alert"]
    assert denied["text"] == "抱歉，你没有使用这个机器人的权限。" and denied["show_alert"]
    assert apology["text"] == "抱歉，出了点问题，请稍后再试。"


@pytest.mark.asyncio
async def test_admin_and_upload_replies_in_the_admins_language(api, own_retriever):
    api.set_language(ADMIN, "zh-hans")
    api.set_language(71, "zh")
    sample = (SAMPLE_DIR / "sample_page.txt").read_bytes()
    async with running(api, own_retriever):
        stats = await ask(api, "/stats", user_id=ADMIN)
        not_admin = await ask(api, "/stats", user_id=71)
        not_admin_reindex = await ask(api, "/reindex", user_id=71)
        doc = await api.send_document(b"x", "a.md", user_id=71)
        refused_doc = (await reply(api, doc))[0]
        exe = (await reply(api, await api.send_document(b"MZ", "setup.exe", user_id=ADMIN)))[0]
        big = (await reply(api, await api.send_document(b"x", "huge.pdf", user_id=ADMIN, file_size=30 * 2**20)))[0]
        known = (await reply(api, await api.send_document(sample, "copy.txt", user_id=ADMIN)))[0]
        command = await api.send_user_message("/reindex", user_id=ADMIN)
        [started, done] = await reply(api, command, 2, timeout=60)
        api.set_language(ADMIN, "en")
        stats_en = await ask(api, "/stats", user_id=ADMIN)
    assert stats["text"].startswith("📊 统计\n已回答问题：0（找到内容 0）\n检索延迟：")
    assert "索引：8 篇文章" in stats["text"] and not english_words(re.sub(r"模型：.*", "", stats["text"]))
    assert stats_en["text"].startswith("📊 Stats\nQuestions served: 0 (answered 0)") and not chinese_in(stats_en["text"])
    assert not_admin["text"] == not_admin_reindex["text"] == "抱歉，这个命令仅限管理员使用。"
    assert refused_doc["text"] == "只有管理员可以添加文章。"
    assert exe["text"].startswith("读不了这种文件（setup.exe）")
    assert big["text"] == "文件太大（huge.pdf，30.0 MB），上限 20 MB。"
    assert known["text"] == "这个文件已经收录过了（sample_page.txt）。"
    assert started["text"] == "正在后台重建索引，期间照常回答问题。"
    assert done["text"].startswith("✅ 索引已更新：8 篇文章，") and "Index" not in done["text"]
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_command_menu_in_english_and_in_chinese(api, sample_retriever):
    async with running(api, sample_retriever) as app:
        default = await app.bot.get_my_commands()
        chinese = await app.bot.get_my_commands(language_code="zh")
        admin_en = await app.bot.get_my_commands(scope=BotCommandScopeChat(ADMIN))
        admin_zh = await app.bot.get_my_commands(scope=BotCommandScopeChat(ADMIN), language_code="zh")
    assert [c.command for c in default] == [c.command for c in chinese] == ["ask", "sources", "help", "start"]
    assert [c.command for c in admin_en] == [c.command for c in admin_zh] == ["ask", "sources", "help", "start", "stats", "reindex", "use"]
    assert [c.description for c in default] == ["ask a question", "indexed articles", "help", "start"]
    assert [c.description for c in admin_zh] == ["提问", "已收录的文章", "帮助", "开始", "运行统计", "重建索引", "本聊天使用的索引"]
    for cmd in default + admin_en:
        assert not CJK.search(cmd.description), cmd
    for cmd in chinese + admin_zh:
        assert not english_words(cmd.description) and CJK.search(cmd.description), cmd
    codes = sorted(str(c["params"].get("language_code")) for c in api.calls("setMyCommands") if c["ok"])
    assert codes == ["None", "None", "zh", "zh"]  # public and admin menus, each in both languages
