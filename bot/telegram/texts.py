"""Every user-visible string of the Telegram bot (Chinese first, then English)."""

from __future__ import annotations

# -- replies -----------------------------------------------------------------------------------

NOT_FOUND = "没有找到相关内容 / No relevant passage found."
REFUSED = "抱歉，你没有使用这个机器人的权限。/ Sorry, you are not allowed to use this bot."
ADMINS_ONLY = "抱歉，这个命令仅限管理员使用。/ Sorry, this command is for admins only."
APOLOGY = "抱歉，出了点问题，请稍后再试。/ Sorry, something went wrong; please try again."
NOT_TEXT = "请用文字提问。/ Please send your question as text. (/help)"
EMPTY_QUESTION = "请在命令后写上问题，例如 / Write your question after the command, e.g.:\n/ask 杭州电信工会和哪家医院合作？"
UNAVAILABLE = "索引服务暂时不可用，请稍后再试。/ The index is temporarily unavailable; please try again in a minute."
NOT_READY = "索引还在加载，请稍候。/ The index is still loading; please try again in a moment."
TOO_LONG = ("问题太长（{n} 字），请控制在 {limit} 字以内。/ "
            "Your question is {n} characters long; please keep it under {limit}.")
TOO_MANY = "提问太频繁了，请 {s} 秒后再试。/ Too many questions: please try again in {s} s."
CANNOT_ANSWER = "无法回答这个问题。/ {error}"
UNKNOWN_COMMAND = "未知命令 {name}。发送 /help 查看用法。/ Unknown command {name}: send /help to see what I can do."

# -- rendered messages (HTML; the values are escaped by the caller) -----------------------------

ANSWER_HEADER = "🔎 <i>{question}</i>\n结果 {first}–{last} / 共 {total} 条 · results {first}–{last} of {total}"
SOURCES_HEADER = ("📚 <b>已收录 {articles} 篇文章，来自 {files} 个文件</b>\n"
                  "{articles} articles from {files} source file{s} · 第 {page}/{pages} 页 · page {page} of {pages}")
HELP = (
    "<b>📰 新闻问答 · News Q&amp;A</b>\n"
    "我读过 <b>{articles}</b> 篇报纸文章（来自 {files} 个文件），回答时会引用原文并注明出处。\n"
    "I have read {articles} newspaper articles from {files} source file{s}; "
    "I answer with quoted excerpts and where they come from.\n\n"
    "<b>怎么问 · How to ask</b>\n"
    "• 私聊：直接发送问题。/ Private chat: just send your question.\n"
    "• 群组：<code>/ask 问题</code>、提到 {bot}，或回复我的消息。/ Groups: <code>/ask QUESTION</code>, "
    "mention {bot}, or reply to one of my messages.\n"
    "例如 / e.g.: <code>/ask 杭州电信工会和哪家医院合作？</code>\n\n"
    "<b>命令 · Commands</b>\n"
    "/ask — 提问 / ask a question\n"
    "/sources — 已收录的文章 / the indexed articles\n"
    "/help — 帮助 / this help"
)
HELP_ADMIN = "\n/stats — 运行统计 / usage and index statistics\n/reindex — 重建索引 / rebuild the index"
STATS_HEAD = "<b>📊 统计 · Stats</b>"
STATS_QUESTIONS = "问题 / questions served: {questions} (answered {answered})"
STATS_SEARCH = "检索延迟 / search latency: p50 {p50:.0f} ms · p95 {p95:.0f} ms"
STATS_REPLY = "回复延迟 / reply latency: p50 {p50:.0f} ms · p95 {p95:.0f} ms"
STATS_INDEX = "索引 / index: {articles} articles · {chunks} chunks · {files} files · {mb:.1f} MB"
STATS_MODEL = "模型 / model: <code>{model}</code> · generation <code>{generation}</code> · built {built}"
STATS_TAIL = "重建 / rebuilds: {rebuilds} · uptime {hours}h{minutes:02d}m"

# -- buttons -----------------------------------------------------------------------------------

BUTTON_FORGED = "无法识别这个按钮。/ Unknown button."
BUTTON_STALE = "索引已更新，这个按钮已过期，请重新提问。/ The index was rebuilt; this button has expired, please ask again."
BUTTON_EXPIRED = "这条回答已过期，请重新提问。/ This answer has expired; please ask again."
BUTTON_TOO_FAST = "操作太频繁了，请 {s} 秒后再按。/ Too many requests: please wait {s} s, then press again."
FULL_PASSAGE_BUTTON = "📄 全文 {n}"
MORE_BUTTON = "更多 / More ▸"
PREV_BUTTON = "◀ 上一页 / Prev"
NEXT_BUTTON = "下一页 / Next ▶"
FULL_PASSAGE_SENT = "全文 {n} / Full passage {n}"
MORE_SENT = "更多结果 / More results"

# -- admin -------------------------------------------------------------------------------------

REINDEX_STARTED = "正在后台重建索引，期间照常回答问题。/ Rebuilding the index in the background; questions are still answered meanwhile."
REINDEX_RUNNING = "索引正在重建中。/ A rebuild is already running."
REINDEX_FAILED = "重建失败。/ Rebuild failed: {error}"
REINDEX_CRASHED = "重建失败。/ Rebuild failed ({kind}); see the log."
REINDEX_DONE = ("✅ 索引已更新 / Index rebuilt: {articles} articles, {passages} chunks "
                "({reused} embeddings re-used) in {seconds:.1f} s · generation {generation}.")
# -- adding documents and links (admins) ---------------------------------------------------------

ADD_ADMINS_ONLY = "只有管理员可以添加文章。/ Only admins can add articles to the index."
UNSUPPORTED_FILE = ("读不了这种文件（{name}）。支持 .txt .md .html .pdf .docx 以及扫描的 .png/.jpg。/ "
                    "I can't read {name}: send .txt, .md, .html, .pdf, .docx, or a scanned .png/.jpg.")
FILE_TOO_BIG = "文件太大（{name}，{mb:.1f} MB），上限 {limit} MB。/ {name} is {mb:.1f} MB; the limit is {limit} MB."
DOWNLOAD_FAILED = "无法从 Telegram 下载 {name}，请重新发送。/ Could not download {name} from Telegram; please send it again."
ADDING = "正在加入 {name}，期间照常回答问题。/ Adding {name}; questions are still answered meanwhile."
ADDED = ("✅ 已加入 {name}：{articles} 篇文章，{paragraphs} 段。/ Added {name}: {articles} article(s), "
         "{paragraphs} paragraphs · generation {generation}\n{titles}")
ADDED_MORE = "… 另有 {n} 篇 / and {n} more"
ALREADY_INDEXED = "这个文件已经收录过了（{source}）。/ This file is already indexed, as {source}."
NO_ARTICLES = "no text found in it"
NOT_ADDED = "未能加入 {name}：{why} / Not added: {why}"
LINK_FAILED = "无法读取这个链接 {url}：{why} / Could not fetch {url}: {why}"
ADD_FAILED = "加入失败。/ Adding failed: {error}"

NOT_FROM_SAMPLE = ("The index at {path} was not built from the sample page: set NEWSBOT_CORPUS (or `corpus` in newsbot.toml) "
                   "to the folders it was built from ({sep}-separated) so that /reindex can rebuild it.")

# -- command menu (descriptions shown by Telegram) ---------------------------------------------

PUBLIC_COMMANDS = [
    ("ask", "提问 / ask a question"),
    ("sources", "已收录的文章 / indexed articles"),
    ("help", "帮助 / help"),
    ("start", "开始 / start"),
]
ADMIN_COMMANDS = [("stats", "运行统计 / statistics"), ("reindex", "重建索引 / rebuild the index")]

# -- start-up errors (the terminal of whoever runs `newsbot telegram`) --------------------------

WEBHOOK_NOT_HTTPS = "--webhook-url must be an https:// URL (Telegram only delivers to HTTPS), not {url!r}."
TOKEN_REJECTED = ("Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN or --token-file "
                  "(@BotFather shows the token, or issues a new one).")
API_UNREACHABLE = "cannot talk to the Telegram Bot API at {root}: {error}. Check the network (and NEWSBOT_TELEGRAM_API_URL)."
TELEGRAM_ERROR = "Telegram error: {error}"
NO_TOKEN = ("no Telegram bot token: set TELEGRAM_BOT_TOKEN or pass --token-file FILE "
            "(create a bot and get its token from @BotFather in Telegram).")
