"""Admins add documents and links to the index the bot serves, over the real PTB stack.

The bot runs against the fake Bot API server (tests/tgserver.py): documents are sent as
Telegram sends them (a message with a file id; the bot calls getFile and downloads the bytes
over HTTP), links are fetched from a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from botharness import ADMIN, failed_calls, running
from tgserver import ask, reply

ARTICLE = (
    "# 宁海县总工会开展“送清凉”活动\n\n"
    "本报讯 7月15日，宁海县总工会向一线环卫工人送去绿豆汤和防暑药品共计3200份。"
    "县总工会副主席王丽华说，今年的“送清凉”活动将持续到8月底，覆盖全县26家企业。\n\n"
    "活动中，工会干部还走进工地，为建筑工人测量血压，发放清凉包。\n"
).encode("utf-8")
QUESTION = "宁海县总工会送出了多少份防暑物品？"
FIXTURES = Path(__file__).resolve().parent / "data" / "formats"


def _uploads(app) -> Path:
    index = Path(app.bot_data.retriever.index.path)
    return index.parent / f"{index.name}-uploads"


async def _send_and_wait(api, data: bytes, name: str, *, replies: int = 2, **kw) -> list[dict]:
    msg = await api.send_document(data, name, user_id=kw.pop("user_id", ADMIN), **kw)
    return await reply(api, msg, replies, timeout=60)


@pytest.mark.asyncio
async def test_admin_adds_a_document_and_it_is_answered_at_once(api, own_retriever):
    async with running(api, own_retriever) as app:
        before = await ask(api, QUESTION)
        assert "3200" not in before["text"]
        started, done = await _send_and_wait(api, ARTICLE, "送清凉.md", mime_type="text/markdown")
        assert "Adding 送清凉.md" in started["text"]
        assert "Added 送清凉.md: 1 article(s)" in done["text"] and "宁海县总工会开展“送清凉”活动" in done["text"]
        assert (_uploads(app) / "送清凉.md").read_bytes() == ARTICLE
        answer = await ask(api, QUESTION, user_id=72)
        assert "3200份" in answer["text"] and "送清凉.md" in answer["text"]
        assert app.bot_data.retriever is not own_retriever
        # the sample page is still there
        assert "杭州市儿童医院" in (await ask(api, "杭州电信工会和哪家医院合作？", user_id=73))["text"]

        # The same bytes again, under another name: recognised, not added twice.
        [again] = await _send_and_wait(api, ARTICLE, "copy.md", replies=1)
        assert "already indexed, as 送清凉.md" in again["text"]
        assert not (_uploads(app) / "copy.md").exists()
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_refusals_happen_before_any_download(api, own_retriever):
    async with running(api, own_retriever) as app:
        [no] = await _send_and_wait(api, ARTICLE, "a.md", replies=1, user_id=71)
        assert "Only admins can add articles" in no["text"]
        [big] = await _send_and_wait(api, b"x" * 100, "huge.pdf", replies=1, file_size=30 * 2**20)
        assert "huge.pdf is 30.0 MB; the limit is 20 MB" in big["text"]
        [exe] = await _send_and_wait(api, b"MZ\x90\x00", "setup.exe", replies=1)
        assert "I can't read setup.exe" in exe["text"]
        # a non-admin's document in a group: no reply at all (members share files there)
        group = await api.send_document(ARTICLE, "b.md", user_id=71, chat_type="group")
        await ask(api, "/help", user_id=71)  # a later update handled: the document was too
        assert [m for m in api.sent(group["chat"]["id"])] == []
        assert api.downloads == [] and not _uploads(app).exists()
        assert app.bot_data.retriever is own_retriever


@pytest.mark.asyncio
async def test_a_bad_file_is_reported_and_removed_and_the_index_kept(api, own_retriever):
    async with running(api, own_retriever) as app:
        before = own_retriever.index.manifest["files"]
        _, failed = await _send_and_wait(api, b"%PDF-1.7\n1 0 obj\n<<", "broken.pdf")
        assert failed["text"].startswith("broken.pdf was not added: ")
        assert not (_uploads(app) / "broken.pdf").exists()
        assert app.bot_data.retriever is own_retriever
        from newsbot.embeddings.index import Index

        assert Index.load(own_retriever.index.path).manifest["files"] == before
    assert failed_calls(api) == []


@pytest.mark.asyncio
async def test_questions_are_answered_while_a_document_is_indexed(api, own_retriever, monkeypatch):
    import newsbot.embeddings.index as index_module

    gate, entered = threading.Event(), threading.Event()
    real = index_module.build_index

    def slow_build(*args, **kw):
        entered.set()
        assert gate.wait(30)
        return real(*args, **kw)

    monkeypatch.setattr(index_module, "build_index", slow_build)
    async with running(api, own_retriever):
        msg = await api.send_document(ARTICLE, "slow.md", user_id=ADMIN)
        await reply(api, msg, 1)
        await api.wait_for(entered.is_set, 10)
        during = await ask(api, "杭州电信工会和哪家医院合作？", user_id=74)
        assert "杭州市儿童医院" in during["text"]
        busy = await ask(api, "/reindex", user_id=ADMIN)
        assert "already running" in busy["text"]
        gate.set()
        _, done = await reply(api, msg, 2, timeout=60)
        assert "Added slow.md" in done["text"]


class _Page(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.mark.asyncio
async def test_admin_adds_a_link_and_its_citation_links_to_it(api, own_retriever):
    page = (
        "<html><head><meta charset='utf-8'><title>宁海县总工会开展“送清凉”活动 - 工人日报</title></head><body>"
        "<nav><a href='/'>首页</a> <a href='/news'>新闻</a></nav><article><h1>宁海县总工会开展“送清凉”活动</h1>"
        "<p>本报讯 7月15日，宁海县总工会向一线环卫工人送去绿豆汤和防暑药品共计3200份。县总工会副主席王丽华说，"
        "今年的“送清凉”活动将持续到8月底，覆盖全县26家企业。</p><p>活动中，工会干部还走进工地，为建筑工人测量血压，发放清凉包。</p>"
        "</article><footer>版权所有 ©2022</footer></body></html>"
    ).encode("utf-8")
    handler = type("Handler", (_Page,), {"body": page})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/2022/07/15/songqingliang.html"
    try:
        async with running(api, own_retriever):
            [no] = await ask_all(api, url, user_id=71)
            assert "Only admins" in no["text"]
            msg = await api.send_user_message(url, user_id=ADMIN)
            _, done = await reply(api, msg, 2, timeout=60)
            assert "Added" in done["text"], done["text"]
            answer = await ask(api, QUESTION, user_id=75)
            assert "3200份" in answer["text"]
            links = [e["url"] for e in answer.get("entities", []) if e["type"] == "text_link"]
            assert url in links
    finally:
        server.shutdown()


async def ask_all(api, text: str, **sender) -> list[dict]:
    msg = await api.send_user_message(text, **sender)
    return await reply(api, msg, 1)


def test_kept_file_names_stay_inside_the_uploads_folder():
    from newsbot.bot.telegram.upload import safe_name

    assert safe_name("../../etc/cron.d/x.md") == "x.md"
    assert safe_name("..\\..\\boot.ini.PDF") == "boot.ini.pdf"
    assert safe_name("a\x00b\nc:d?.html") == "a_b_c_d_.html"
    assert safe_name("...") == "document"
    assert len(safe_name("长" * 500 + ".docx")) == 120 + 5
