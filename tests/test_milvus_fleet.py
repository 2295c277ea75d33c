"""Many readers, one writer, one Milvus: the real `newsbot` processes against a Milvus Lite server.

Two `newsbot telegram` processes (each with its own fake Bot API server and token) serve one
collection while `newsbot index` rebuilds it with a new article; both keep answering, then
answer from the new build. When the server goes away the bots say so and keep running, and
answer again once it is back; `newsbot ask` exits 3 naming the URI.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ROOT, SAMPLE_DIR

pytest.importorskip("pymilvus", reason="the Milvus extra is not installed: pip install '.[milvus]'")
pytest.importorskip("milvus_lite", reason="Milvus Lite is not installed: pip install '.[milvus]'")

from test_telegram import _free_port, _stop  # noqa: E402
from tgserver import FakeBotAPIThread  # noqa: E402

Q = "杭州电信工会和哪家医院合作？"
EXPECTED = "杭州市儿童医院"
NEW = "# 宁海县总工会开展“送清凉”活动\n\n本报讯 7月15日，宁海县总工会向一线环卫工人送去绿豆汤和防暑药品共计3200份。\n"
NEW_Q = "宁海县总工会送出了多少份防暑物品？"


def _server(data: Path, port: int) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("milvus-lite")
    proc = subprocess.Popen([str(exe), "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            raise RuntimeError("milvus-lite server exited at start")
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("milvus-lite server did not start in 60 s")


def _kill(proc: subprocess.Popen) -> None:
    with __import__("contextlib").suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _newsbot(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsbot.bot.cli", *map(str, args)], env=env, capture_output=True, text=True, timeout=300)


def _bot(token_server: FakeBotAPIThread, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newsbot.bot.cli", "telegram"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**env, "NEWSBOT_TELEGRAM_API_URL": token_server.root, "TELEGRAM_BOT_TOKEN": token_server.token})


def _ask(api: FakeBotAPIThread, text: str, user: int, timeout: float = 60) -> str:
    msg = api.send_user_message(text, user_id=user)
    mid = msg["message_id"]
    got = api.wait_for(lambda: [m for m in api.sent(user) if m.get("reply_to_message", {}).get("message_id") == mid], timeout=timeout)
    return got[0]["text"]


def test_two_bots_and_an_indexer_share_one_milvus(tmp_path):
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    server = _server(tmp_path / "milvus", port)
    env = {**os.environ, "NEWSBOT_MILVUS_URI": uri, "NEWSBOT_COLLECTION": "fleet", "NEWSBOT_REFRESH_SECONDS": "1"}
    papers = tmp_path / "papers"
    shutil.copytree(SAMPLE_DIR, papers)
    bots = []
    try:
        r = _newsbot("index", papers, env=env)
        assert r.returncode == 0, r.stderr
        with FakeBotAPIThread("111111:AAAAfleet-one") as one, FakeBotAPIThread("222222:BBBBfleet-two") as two:
            bots = [_bot(one, env), _bot(two, env)]
            assert EXPECTED in _ask(one, Q, 11) and EXPECTED in _ask(two, Q, 12)

            (papers / "new.md").write_text(NEW, encoding="utf-8")
            indexer = subprocess.Popen([sys.executable, "-m", "newsbot.bot.cli", "index", str(papers)], env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            user = 100
            while indexer.poll() is None:  # both bots answer while the collection is rebuilt
                user += 1
                assert EXPECTED in _ask(one if user % 2 else two, Q, user)
            assert indexer.returncode == 0, indexer.stderr.read()

            for api, uid in ((one, 500), (two, 600)):  # each follows the rebuild within refresh_seconds
                deadline = time.monotonic() + 30
                while "3200" not in (text := _ask(api, NEW_Q, uid)) and time.monotonic() < deadline:
                    uid += 1
                    time.sleep(1)
                assert "3200份" in text

            _kill(server)  # Milvus goes away: a polite notice, the bots keep running
            assert "temporarily unavailable" in _ask(one, Q, 700)
            assert "temporarily unavailable" in _ask(two, Q, 701)
            r = _newsbot("ask", Q, env=env)
            assert r.returncode == 3 and uri in r.stderr and "Traceback" not in r.stderr

            server = _server(tmp_path / "milvus", port)  # back: each bot answers again, by itself
            for api, uid in ((one, 800), (two, 900)):
                deadline = time.monotonic() + 60
                while EXPECTED not in (text := _ask(api, Q, uid)) and time.monotonic() < deadline:
                    assert "temporarily unavailable" in text
                    uid += 1
                    time.sleep(1)
                assert EXPECTED in text
            outs = [_stop(b) for b in bots]
            assert all(b.returncode == 0 for b in bots), outs
            assert not any("Traceback" in o for o in outs), outs
    finally:
        for b in bots:
            if b.poll() is None:
                b.kill()
        _kill(server)


def test_every_command_works_on_an_embedded_milvus_file(tmp_path):
    import json

    env = {**os.environ}
    db = tmp_path / "news.db"
    r = _newsbot("index", SAMPLE_DIR, "--milvus", db, "--collection", "union_news", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["passages"] > 0
    again = json.loads(_newsbot("index", SAMPLE_DIR, "--milvus", db, "--collection", "union_news", "--json", env=env).stdout)
    assert again["up_to_date"]
    where = ["--milvus", db, "--collection", "union_news"]
    hit = json.loads(_newsbot("ask", Q, *where, "--json", env=env).stdout)["results"][0]
    assert EXPECTED in hit["excerpt"] and hit["source"] == "sample_page.txt"
    stats = json.loads(_newsbot("stats", *where, "--json", env=env).stdout)
    assert stats["milvus"] == str(db) and stats["collection"] == "union_news" and stats["articles"] == 8
    assert len(json.loads(_newsbot("sources", *where, "--json", env=env).stdout)) == 8
    chat = subprocess.run([sys.executable, "-m", "newsbot.bot.cli", "chat", *map(str, where), "--json"], input=Q + "\n",
                          env=env, capture_output=True, text=True, timeout=120)
    assert EXPECTED in chat.stdout, chat.stderr
    missing = _newsbot("ask", Q, "--milvus", db, "--collection", "nothing_here", env=env)
    assert missing.returncode == 3 and "newsbot index" in missing.stderr and "--milvus" in missing.stderr
    both = _newsbot("ask", Q, "--milvus", db, "--index-dir", tmp_path / "idx", env=env)
    assert both.returncode == 2 and "not both" in both.stderr
