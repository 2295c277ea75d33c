"""Every user-visible string of the Telegram bot, in the reader's language.

A :class:`Text` holds one message in Chinese and in English; calling it with a language ("zh"
or "en", from :func:`reader_language`) picks one and fills it in::

    texts.TOO_LONG(lang, n=612, limit=500)

A chat shows the bot's words in one language, that of the user who sent the update or pressed
the button; what comes from the corpus (quotes, titles, sources) is never translated.  Start-up
errors, printed on the terminal of whoever runs ``newsbot telegram``, are plain English strings.
"""

from __future__ import annotations

from typing import NamedTuple


class Text(NamedTuple):
    """One message of the bot, in Chinese and in English."""

    zh: str
    en: str

    def __call__(self, lang: str, **kw) -> str:
        """The message in ``lang`` ("zh…": Chinese, anything else English), ``.format(**kw)``-ed
        when values are given."""
        text = self.zh if (lang or "").lower().startswith("zh") else self.en
        return text.format(**kw) if kw else text


def reader_language(user) -> str:
    """The language to answer ``user`` (a Telegram User, or None) in: "zh" when the language
    of their Telegram app (``language_code``) is Chinese, else "en"."""
    code = getattr(user, "language_code", None) or ""
    return "zh" if code.lower().startswith("zh") else "en"


# -- replies -----------------------------------------------------------------------------------

NOT_FOUND = Text("没有找到相关内容。", "No relevant passage found.")
REFUSED = Text("抱歉，你没有使用这个机器人的权限。", "Sorry, you are not allowed to use this bot.")
ADMINS_ONLY = Text("抱歉，这个命令仅限管理员使用。", "Sorry, this command is for admins only.")
APOLOGY = Text("抱歉，出了点问题，请稍后再试。", "Sorry, something went wrong; please try again.")
NOT_TEXT = Text("请用文字提问。（/help）", "Please send your question as text. (/help)")
EMPTY_QUESTION = Text("请在命令后写上问题，例如：\n/ask 杭州电信工会和哪家医院合作？",
                      "Write your question after the command, e.g.:\n/ask 杭州电信工会和哪家医院合作？")
UNAVAILABLE = Text("索引服务暂时不可用，请稍后再试。", "The index is temporarily unavailable; please try again in a minute.")
NOT_READY = Text("索引还在加载，请稍候。", "The index is still loading; please try again in a moment.")
TOO_LONG = Text("问题太长（{n} 字），请控制在 {limit} 字以内。",
                "Your question is {n} characters long; please keep it under {limit}.")
TOO_MANY = Text("提问太频繁了，请 {s} 秒后再试。", "Too many questions: please try again in {s} s.")
CANNOT_ANSWER = Text("无法回答这个问题，请换一种说法再问。", "I can't answer that: {error}")
UNKNOWN_COMMAND = Text("未知命令 {name}。发送 /help 查看用法。", "Unknown command {name}: send /help to see what I can do.")

# -- rendered messages (HTML; the values are escaped by the caller) -----------------------------

# The second line is read back by handlers._recover_shown (which hits a "More" page shows).
ANSWER_HEADER = Text("🔎 <i>{question}</i>\n结果 {first}–{last}，共 {total} 条",
                     "🔎 <i>{question}</i>\nResults {first}–{last} of {total}")
SOURCES_HEADER = Text("📚 <b>已收录 {articles} 篇文章，来自 {files} 个文件</b>\n第 {page}/{pages} 页",
                      "📚 <b>{articles} article{a} from {files} source file{s}</b>\nPage {page} of {pages}")
HELP = Text(
    "<b>📰 新闻问答</b>\n"
    "我读过 <b>{articles}</b> 篇报纸文章（来自 {files} 个文件），回答时会引用原文并注明出处。\n\n"
    "<b>怎么问</b>\n"
    "• 私聊：直接发送问题。\n"
    "• 群组：<code>/ask 问题</code>、提到 {bot}，或回复我的消息。\n"
    "• 追问：直接回复我的某条回答，例如“他是哪里人？”，我会先在那篇文章里找。\n"
    "• 任何聊天中输入 <code>{bot} 问题</code>，可以把引文直接发到当前聊天。\n"
    "例如：<code>/ask 杭州电信工会和哪家医院合作？</code>\n\n"
    "<b>命令</b>\n"
    "/ask — 提问\n"
    "/sources — 已收录的文章\n"
    "/help — 帮助",
    "<b>📰 News Q&amp;A</b>\n"
    "I have read <b>{articles}</b> newspaper article{a} from {files} source file{s}; "
    "I answer with quoted excerpts and say where they come from.\n\n"
    "<b>How to ask</b>\n"
    "• Private chat: just send your question.\n"
    "• Groups: <code>/ask QUESTION</code>, mention {bot}, or reply to one of my messages.\n"
    "• Follow-ups: reply to one of my answers (\"And how many?\"); I look in the article it cited first.\n"
    "• In any chat, type <code>{bot} QUESTION</code> to post a cited excerpt there.\n"
    "For example: <code>/ask 杭州电信工会和哪家医院合作？</code>\n\n"
    "<b>Commands</b>\n"
    "/ask — ask a question\n"
    "/sources — the indexed articles\n"
    "/help — this help",
)
HELP_ADMIN = Text("\n/stats — 运行统计\n/reindex — 重建索引\n/use — 本聊天使用哪个索引",
                  "\n/stats — usage and index statistics\n/reindex — rebuild the index\n/use — which index this chat uses")
STATS_HEAD = Text("<b>📊 统计</b>", "<b>📊 Stats</b>")
STATS_QUESTIONS = Text("已回答问题：{questions}（找到内容 {answered}）", "Questions served: {questions} (answered {answered})")
STATS_SEARCH = Text("检索延迟：p50 {p50:.0f} ms · p95 {p95:.0f} ms", "Search latency: p50 {p50:.0f} ms · p95 {p95:.0f} ms")
STATS_REPLY = Text("回复延迟：p50 {p50:.0f} ms · p95 {p95:.0f} ms", "Reply latency: p50 {p50:.0f} ms · p95 {p95:.0f} ms")
STATS_INDEX = Text("索引：{articles} 篇文章 · {chunks} 段 · {files} 个文件 · {mb:.1f} MB",
                   "Index: {articles} articles · {chunks} chunks · {files} files · {mb:.1f} MB")
STATS_MODEL = Text("模型：<code>{model}</code> · 版本 <code>{generation}</code> · 建于 {built}",
                   "Model: <code>{model}</code> · generation <code>{generation}</code> · built {built}")
STATS_TAIL = Text("重建次数：{rebuilds} · 已运行 {hours} 小时 {minutes:02d} 分",
                  "Rebuilds: {rebuilds} · uptime {hours}h{minutes:02d}m")

# -- buttons -----------------------------------------------------------------------------------

BUTTON_FORGED = Text("无法识别这个按钮。", "Unknown button.")
BUTTON_STALE = Text("索引已更新，这个按钮已过期，请重新提问。", "The index was rebuilt; this button has expired, please ask again.")
BUTTON_EXPIRED = Text("这条回答已过期，请重新提问。", "This answer has expired; please ask again.")
BUTTON_TOO_FAST = Text("操作太频繁了，请 {s} 秒后再按。", "Too many requests: please wait {s} s, then press again.")
FULL_PASSAGE_BUTTON = Text("📄 全文 {n}", "📄 Passage {n}")
MORE_BUTTON = Text("更多 ▸", "More ▸")
PREV_BUTTON = Text("◀ 上一页", "◀ Prev")
NEXT_BUTTON = Text("下一页 ▶", "Next ▶")
FULL_PASSAGE_SENT = Text("全文 {n}", "Full passage {n}")
MORE_SENT = Text("更多结果", "More results")

# -- admin -------------------------------------------------------------------------------------

REINDEX_STARTED = Text("正在后台重建索引，期间照常回答问题。",
                       "Rebuilding the index in the background; questions are still answered meanwhile.")
REINDEX_RUNNING = Text("索引正在重建中。", "A rebuild is already running.")
REINDEX_FAILED = Text("重建失败：{error}", "Rebuild failed: {error}")
REINDEX_CRASHED = Text("重建失败（{kind}）。原因写在机器人的日志里（用 systemd 运行时：journalctl -u newsbot）。",
                       "Rebuild failed ({kind}); the reason is in the bot's log (under systemd: journalctl -u newsbot).")
REINDEX_DONE = Text("✅ 索引已更新：{articles} 篇文章，{passages} 段（沿用 {reused} 个已有向量），"
                    "用时 {seconds:.1f} 秒 · 版本 {generation}。",
                    "✅ Index rebuilt: {articles} articles, {passages} chunks "
                    "({reused} embeddings re-used) in {seconds:.1f} s · generation {generation}.")
# Reaches the admin who sent /reindex (inside REINDEX_FAILED): a setting to fix.
NOT_FROM_SAMPLE = Text(
    "{path} 的索引不是用示例页面建的：请把 NEWSBOT_CORPUS（或 newsbot.toml 里的 corpus）设为建索引时用的文件夹"
    "（用 {sep} 分隔），/reindex 才能重建它。",
    "The index at {path} was not built from the sample page: set NEWSBOT_CORPUS (or `corpus` in newsbot.toml) "
    "to the folders it was built from ({sep}-separated) so that /reindex can rebuild it.",
)

# -- adding documents and links (admins) ---------------------------------------------------------

ADD_ADMINS_ONLY = Text("只有管理员可以添加文章。", "Only admins can add articles to the index.")
UNSUPPORTED_FILE = Text("读不了这种文件（{name}）。支持 .txt .md .html .pdf .docx 以及扫描的 .png/.jpg。",
                        "I can't read {name}: send .txt, .md, .html, .pdf, .docx, or a scanned .png/.jpg.")
FILE_TOO_BIG = Text("文件太大（{name}，{mb:.1f} MB），上限 {limit} MB。", "{name} is {mb:.1f} MB; the limit is {limit} MB.")
DOWNLOAD_FAILED = Text("无法从 Telegram 下载 {name}，请重新发送。", "Could not download {name} from Telegram; please send it again.")
ADDING = Text("正在加入 {name}，期间照常回答问题。", "Adding {name}; questions are still answered meanwhile.")
ADDED = Text("✅ 已加入 {name}：{articles} 篇文章，{paragraphs} 段 · 版本 {generation}\n{titles}",
             "✅ Added {name}: {articles} article(s), {paragraphs} paragraphs · generation {generation}\n{titles}")
ADDED_MORE = Text("… 另有 {n} 篇", "… and {n} more")
ALREADY_INDEXED = Text("这个文件已经收录过了（{source}）。", "This file is already indexed, as {source}.")
NO_ARTICLES = Text("里面没有找到文字", "no text found in it")
NOT_A_PAGE = Text("不是网页或文档（{content_type}）", "not a page or document ({content_type})")
NOT_ADDED = Text("未能加入 {name}：{why}", "{name} was not added: {why}")
LINK_FAILED = Text("无法读取这个链接 {url}：{why}", "Could not fetch {url}: {why}")
ADD_FAILED = Text("加入失败：{error}", "Adding failed: {error}")

# -- inline mode (the button above the results: short) ----------------------------------------

INLINE_HINT = Text("输入问题，我会引用报纸原文回答", "Type a question: I answer with quotes from the papers")
INLINE_TOO_LONG = Text("问题太长，请控制在 {limit} 字以内", "Too long: keep it under {limit} characters")
INLINE_TOO_MANY = Text("查询太频繁了，请 {s} 秒后再试", "Too many queries: try again in {s} s")
INLINE_NOT_READY = Text("索引还在加载，请稍候", "The index is still loading")
INLINE_NOTHING = Text("没有找到相关内容", "No relevant passage found")
INLINE_UNAVAILABLE = Text("索引服务暂时不可用", "The index is temporarily unavailable")

# -- command menu (descriptions shown by Telegram) ---------------------------------------------

PUBLIC_COMMANDS = [
    ("ask", Text("提问", "ask a question")),
    ("sources", Text("已收录的文章", "indexed articles")),
    ("help", Text("帮助", "help")),
    ("start", Text("开始", "start")),
]
ADMIN_COMMANDS = [("stats", Text("运行统计", "statistics")), ("reindex", Text("重建索引", "rebuild the index")),
                  ("use", Text("本聊天使用的索引", "the index this chat uses"))]

# -- one index per chat (/use, [chats]) -----------------------------------------------------------

CHAT_INDEX_UNAVAILABLE = Text(
    "这个聊天使用的索引“{name}”现在打不开：{why}\n请管理员检查设置，或用 /use 换一个索引。",
    "This chat uses the index \"{name}\", which cannot be opened now: {why}\nAn admin can fix the settings, or pick another index with /use.",
)
USE_LIST = Text("这个聊天现在使用索引“{current}”。可用的索引：{names}。\n用 /use 名称 切换。",
                "This chat uses the index \"{current}\". Indexes: {names}.\nSwitch with /use NAME.")
USE_UNKNOWN = Text("没有名为“{name}”的索引。可用的索引：{names}。",
                   "There is no index named \"{name}\". Indexes: {names}.")
USE_CANNOT_OPEN = Text("索引“{name}”打不开，没有切换：{why}", "The index \"{name}\" cannot be opened, so nothing changed: {why}")
USE_NOT_SAVED = Text("没能保存这个设置（{why}），没有切换。请检查 chat_bindings_file 所在的文件夹。",
                     "Could not save the choice ({why}), so nothing changed: check the folder of chat_bindings_file.")
USE_DONE = Text("✅ 这个聊天现在使用索引“{name}”（{articles} 篇文章）。", "✅ This chat now uses the index \"{name}\" ({articles} articles).")
NO_CORPUS = Text(
    "索引“{name}”没有设置来源文件，无法重建或加入文章：请在 newsbot.toml 的 [indexes] 中为它写上 corpus = [\"文件夹\"]。",
    "The index \"{name}\" has no corpus in the settings, so it cannot be rebuilt or added to: give it corpus = [\"FOLDER\"] under [indexes] in newsbot.toml.",
)

# -- start-up errors (the terminal of whoever runs `newsbot telegram`) --------------------------

WEBHOOK_NOT_HTTPS = "--webhook-url must be an https:// URL (Telegram only delivers to HTTPS), not {url!r}."
TOKEN_REJECTED = ("Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN or --token-file "
                  "(@BotFather shows the token, or issues a new one).")
API_UNREACHABLE = "cannot talk to the Telegram Bot API at {root}: {error}. Check the network (and NEWSBOT_TELEGRAM_API_URL)."
TELEGRAM_ERROR = "Telegram error: {error}. Run `newsbot telegram --check` to test the token, the indexes and the settings."
NO_TOKEN = ("no Telegram bot token: set TELEGRAM_BOT_TOKEN or pass --token-file FILE "
            "(create a bot and get its token from @BotFather in Telegram).")
