"""Render docs/telegram-answer.png: the bot's real answer, drawn as a Telegram chat bubble.

    python docs/render_telegram_example.py   # needs chromium and fonts-noto-cjk

The bubble holds exactly the HTML and buttons the bot sends (``render_answer_page`` and
``answer_keyboard``) for the sample index; only the chat chrome around it is a mock.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from newsbot.bot.indexes import sample_corpus
from newsbot.bot.telegram.callbackdata import answer_keyboard, index_generation
from newsbot.bot.telegram.render import esc, render_answer_page
from newsbot.bot.telegram.state import BotSettings
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.search import Retriever

QUESTION = "杭州电信工会和哪家医院合作？"
OUT = Path(__file__).resolve().parent / "telegram-answer.png"
CSS = """
body{margin:0;background:#b3cf9b;font:15px/1.45 "Noto Sans CJK SC",sans-serif}
.chat{width:640px;margin:0 auto;padding:14px 0}.row{display:flex;margin:6px 0}.me{justify-content:flex-end}
.b{max-width:560px;padding:7px 11px 6px;border-radius:14px;background:#fff;box-shadow:0 1px 1px #0002;white-space:pre-wrap}
.me .b{background:#effdde;border-bottom-right-radius:4px}.bot .b{border-bottom-left-radius:4px}
.name{color:#3390ec;font-weight:600;font-size:14px}.t{float:right;color:#8a9aa9;font-size:12px;margin:6px 0 0 10px}
.reply{border-left:3px solid #3390ec;background:#e8f2fd;border-radius:4px;padding:2px 7px;margin:2px 0 4px;font-size:14px}
blockquote{margin:3px 0;padding:2px 8px;border-left:3px solid #3390ec;background:#eef5fd;border-radius:4px}
.kb{width:560px;display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}.kb span{flex:1;text-align:center;padding:7px;
border-radius:8px;background:#0000003a;color:#fff;font-size:14px;font-weight:600}.full{flex-basis:100%}
"""


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        build_index([sample_corpus()], Path(tmp) / "index")
        retriever = Retriever(Index.load(Path(tmp) / "index"))
        settings = BotSettings()
        answer = retriever.ask(QUESTION, settings.results * 4)
        text, end = render_answer_page(QUESTION, answer, 0, settings.results, lang="zh")
        keyboard = answer_keyboard(index_generation(retriever.index), 0, end, len(answer.hits), lang="zh")
        body = re.sub(r"\n?(</?blockquote>)\n?", r"\1", text)  # blocks make their own line breaks
        rows = ""
        for r in keyboard.inline_keyboard:
            cls = ' class="full"' if len(r) == 1 else ""
            rows += '<div class="kb">' + "".join(f"<span{cls}>{esc(b.text)}</span>" for b in r) + "</div>"
        page = (f"<!doctype html><meta charset=utf-8><style>{CSS}</style><div class=chat>"
                f'<div class="row me"><div class=b>{esc(QUESTION)}<span class=t>10:24 ✓✓</span></div></div>'
                f'<div class="row bot"><div><div class=b><div class=name>NewsBot</div><div class=reply><b>Alice</b><br>'
                f"{esc(QUESTION)}</div>{body}<span class=t>10:24</span></div>{rows}</div></div></div>")
        html_file = Path(tmp) / "chat.html"
        html_file.write_text(page, encoding="utf-8")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                        f"--screenshot={OUT}", "--window-size=700,1005", html_file.as_uri()], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
