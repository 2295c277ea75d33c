"""`newsbot telegram --check`, run as a deploy script would: the real CLI in a subprocess,
talking to the fake Bot API (tests/tgserver.py). Exit 0 ok, 2 settings or token, 3 index,
1 Bot API unreachable; one line a step, never a traceback, never the token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tgserver import BOT_USERNAME, FakeBotAPIThread

WRONG = "987654:WRONG-secret-token-value"


@pytest.fixture(scope="module")
def server():
    with FakeBotAPIThread() as s:
        yield s


@pytest.fixture(scope="module")
def articles(sample_index) -> int:
    from newsbot.embeddings.index import Index

    return len(Index.load(sample_index).articles)


def check(tmp_path: Path, *args, token: str | None = None, api: str | None = None, **env) -> subprocess.CompletedProcess:
    """``newsbot telegram --check ARGS`` with only the settings given here (no NEWSBOT_* or
    token from the caller's environment; config and cache folders under tmp_path)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    base.update(XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_CONFIG_HOME=str(tmp_path / "config"),
                XDG_DATA_HOME=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    if token is not None:
        base["TELEGRAM_BOT_TOKEN"] = token
    if api is not None:
        base["NEWSBOT_TELEGRAM_API_URL"] = api
    base.update(env)
    cmd = [sys.executable, "-m", "newsbot.bot.cli", "telegram", "--check", *map(str, args)]
    r = subprocess.run(cmd, check=False, env=base, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    both = r.stdout + r.stderr
    assert "Traceback" not in both, both
    for secret in (token, token and token.partition(":")[2]):
        if secret:
            assert secret not in both and secret.lower() not in both.lower(), both
    return r


def test_good_token_and_index_exit_0_and_say_what_would_be_served(tmp_path, server, sample_index, articles):
    before = len(server.calls())
    r = check(tmp_path, "--index-dir", sample_index, token=server.token, api=server.root,
              NEWSBOT_INDEXES=f"union={sample_index}", NEWSBOT_CHATS="-100123=union", NEWSBOT_ADMINS="42")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert f"@{BOT_USERNAME}" in out
    assert f"{articles} articles" in out
    assert f"✓ index default: {sample_index}: {articles} articles" in out
    assert f"✓ index union: {sample_index}: {articles} articles" in out
    assert "chat -100123 -> index union" in out and "✓ mode: long polling" in out and "admins 1 (42)" in out
    assert "✗" not in out and out.rstrip().splitlines()[-1].startswith(f"ok: would serve {articles} articles")
    # Serves nothing: getMe only, no polling, no webhook change, no command menu.
    assert {c["method"] for c in server.calls()[before:]} == {"getMe"}
    assert not (tmp_path / "cache").exists()


def test_token_rejected_or_missing_exit_2(tmp_path, server, sample_index):
    r = check(tmp_path, "--index-dir", sample_index, token=WRONG, api=server.root)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "✗ token: Telegram rejected the bot token" in r.stdout
    assert "9876…" in r.stdout  # at most the masked start of the token
    assert "✓ index default" in r.stdout  # the other steps are still checked
    r = check(tmp_path, "--index-dir", sample_index, api=server.root)
    assert r.returncode == 2 and "✗ token: no Telegram bot token" in r.stdout, r.stdout
    token_file = tmp_path / "token"
    token_file.write_text(server.token)
    token_file.chmod(0o644)
    r = check(tmp_path, "--index-dir", sample_index, "--token-file", token_file, api=server.root)
    assert r.returncode == 2 and "can be read by other users" in r.stdout, r.stdout
    assert server.token not in r.stdout + r.stderr


def test_missing_index_folder_or_named_index_exit_3(tmp_path, server, sample_index, articles):
    missing = tmp_path / "nowhere"
    r = check(tmp_path, "--index-dir", missing, token=server.token, api=server.root)
    assert r.returncode == 3, r.stdout + r.stderr
    assert f"✗ index default: {missing}: No index at {missing}" in r.stdout
    assert f"@{BOT_USERNAME}" in r.stdout  # the token was checked all the same
    assert not missing.exists()  # --check builds nothing
    r = check(tmp_path, "--index-dir", sample_index, token=server.token, api=server.root,
              NEWSBOT_INDEXES="union=/nonexistent", NEWSBOT_CHATS="-100123=union")
    assert r.returncode == 3, r.stdout + r.stderr
    assert f"✓ index default: {sample_index}: {articles} articles" in r.stdout
    assert "✗ index union: /nonexistent: No index at /nonexistent" in r.stdout
    assert "chat -100123 -> index union (which fails" in r.stdout
    assert "check failed (exit 3)" in r.stdout


def test_token_problem_wins_over_index_problem(tmp_path, server):
    r = check(tmp_path, "--index-dir", tmp_path / "nowhere", token=WRONG, api=server.root)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "✗ token" in r.stdout and "✗ index default" in r.stdout


def test_unknown_index_in_chats_or_http_webhook_exit_2(tmp_path, server, sample_index):
    r = check(tmp_path, "--index-dir", sample_index, token=server.token, api=server.root,
              NEWSBOT_INDEXES=f"union={sample_index}", NEWSBOT_CHATS="-100123=nosuch")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "'nosuch'" in r.stderr and "known: default, union" in r.stderr
    r = check(tmp_path, "--index-dir", sample_index, "--webhook-url", "http://bot.example.org/hook",
              token=server.token, api=server.root)
    assert r.returncode == 2 and "✗ mode: --webhook-url must be an https:// URL" in r.stdout, r.stdout
    r = check(tmp_path, "--index-dir", sample_index, "--webhook-url", "https://bot.example.org/hook", "--port", "8444",
              token=server.token, api=server.root)
    assert r.returncode == 0 and "✓ mode: webhook at https://bot.example.org/hook (listening on 127.0.0.1:8444" in r.stdout, r.stdout


def test_unreachable_api_exit_1(tmp_path, sample_index):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens there
    token = "123456:UNREACHABLE-secret-value"
    r = check(tmp_path, "--index-dir", sample_index, token=token, api=closed, NEWSBOT_TELEGRAM_TIMEOUT="5")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"✗ token: cannot talk to the Telegram Bot API at {closed}" in r.stdout


def test_default_index_missing_is_fine_and_not_built(tmp_path, server):
    r = check(tmp_path, token=server.token, api=server.root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the bot builds it from the sample page on first start" in r.stdout
    assert "ok: would serve the sample page" in r.stdout
    assert not (tmp_path / "cache" / "newsbot" / "index").exists()


def test_help_documents_check():
    r = subprocess.run([sys.executable, "-m", "newsbot.bot.cli", "telegram", "--help"], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert "--check" in r.stdout and "3 index" in r.stdout and "newsbot telegram --check" in r.stdout
