"""Hostile input to the bot and the CLI: odd encodings, button floods, long commands, races,
loose token files and a stranger's newsbot.toml.

The Telegram tests drive the real python-telegram-bot stack against the fake Bot API server
(tests/tgserver.py), like tests/test_telegram.py; the CLI tests run ``python -m bot.cli``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from bot.telegram_bot import MAX_MESSAGE, BotSettings, read_token

sys.path.insert(0, os.path.dirname(__file__))
from botharness import ADMIN, button, failed_calls, running  # noqa: E402
from tgserver import DEFAULT_USER_ID, FakeBotAPIThread, ask, replies, reply  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
USER = DEFAULT_USER_ID
Q = "杭州电信工会和哪家医院合作？"
EXPECTED = "杭州市儿童医院"


def newsbot(*args, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m bot.cli ARGS`` in ``cwd``; ``env`` is the whole environment (default: os.environ)."""
    env = {**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *map(str, args)], capture_output=True, text=True,
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

