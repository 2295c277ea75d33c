"""The CLI for people, through its real entry point (``python -m bot.cli``) in subprocesses."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SAMPLE_DIR, under_pty

QUESTION = "杭州电信工会和哪家医院合作？"
NONSENSE = "量子色动力学的渐近自由是什么"
BROAD = "工会如何迎接亚运会？"  # several articles answer it: enough for :more
ANSI = re.compile(rb"\x1b\[[0-9;]*m")


def newsbot(*args, stdin: str | None = None, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``env``, when given, is the whole environment (start from ``os.environ``, which conftest isolates)."""
    env = {**(os.environ if env is None else env)}
    return subprocess.run(
        [sys.executable, "-m", "newsbot.bot.cli", *map(str, args)], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


# -- exit codes -------------------------------------------------------------------------------


def test_ask_answers_with_exit_0_and_plain_format_when_piped(sample_index):
    r = newsbot("ask", QUESTION, "--index-dir", sample_index, "-k", "2")
    assert r.returncode == 0, r.stderr
    assert "\x1b[" not in r.stdout
    assert re.match(r"\[1\] 想职工所想 · sample_page\.txt ¶\d+(-\d+)?\n    ", r.stdout)
    assert "**" in r.stdout and "杭州市儿童医院" in r.stdout


def test_nothing_found_exits_1_with_a_hint(sample_index):
    r = newsbot("ask", NONSENSE, "--index-dir", sample_index, "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout) == {"query": NONSENSE, "answered": False, "results": []}
    r = newsbot("ask", NONSENSE, "--index-dir", sample_index)
    assert r.returncode == 1 and "Nothing relevant found" in r.stdout and "newsbot sources" in r.stdout


def test_usage_and_index_errors(tmp_path, sample_index):
    r = newsbot("ask", QUESTION, "-k", "0", "--index-dir", sample_index)
    assert r.returncode == 2 and "-k must be at least 1" in r.stderr
    r = newsbot("chat", "--bogus")
    assert r.returncode == 2 and "--help" in r.stderr
    r = newsbot()
    assert r.returncode == 2
    r = newsbot("ask", QUESTION, "--index-dir", tmp_path / "nowhere")
    assert r.returncode == 3 and "newsbot index" in r.stderr  # says what to do next
    r = newsbot("chat", "--index-dir", tmp_path / "nowhere", stdin=QUESTION + "\n")
    assert r.returncode == 3 and "newsbot index" in r.stderr


@pytest.mark.parametrize("command", ["ask", "chat", "config", "index", "sources", "stats", "eval"])
def test_every_help_has_an_example(command, capsys):
    from newsbot.bot.cli import main

    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert "example:" in capsys.readouterr().out


# -- chat -------------------------------------------------------------------------------------


def test_chat_json_lines_from_piped_stdin(sample_index):
    stdin = f"{QUESTION}\n\n{NONSENSE}\n:more\n:full 1\n:sources\n:nope\n:quit\n{QUESTION}\n"
    r = newsbot("chat", "--index-dir", sample_index, "--json", "-k", "1", stdin=stdin)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    first, nothing, more, full, sources, unknown = lines  # nothing after :quit
    assert first["query"] == QUESTION and first["answered"] and len(first["results"]) == 1
    assert "杭州市儿童医院" in first["results"][0]["excerpt"]
    assert nothing == {"query": NONSENSE, "answered": False, "results": []}
    assert "error" in more  # :more after an unanswered question says why
    assert "error" in full
    assert len(sources["sources"]) == 8 and {"title", "source", "paragraphs", "chunks"} <= set(sources["sources"][0])
    assert ":help" in unknown["error"]


def test_chat_plain_more_full_sources_quit(sample_index):
    stdin = f"{BROAD}\n:more\n:full 1\n:full 9\n:sources\n:help\n:quit\n{NONSENSE}\n"
    r = newsbot("chat", "--index-dir", sample_index, "-k", "1", stdin=stdin)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "\x1b[" not in out
    blocks = out.split("\n\n")
    first = blocks[0]
    assert first.startswith("[1] ") and "**" in first and "[2] " not in first
    assert blocks[1].startswith("[2] ")  # :more shows only the new result, numbered on
    assert "[1] " not in blocks[1]
    full = blocks[2]
    head = first.splitlines()[0]
    assert full.startswith(head + "\n") and "**" not in full  # citation 1's whole passage
    assert len(full) > len(first) - 4
    assert "there is no citation [9]" in r.stderr
    assert "  1. " in out and "  8. " in out  # :sources
    assert ":full N" in out  # :help
    assert "Nothing relevant" not in out  # :quit stopped reading


def test_chat_history_file_in_user_data_folder(sample_index, tmp_path):
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.execvpe(sys.executable, [sys.executable, "-m", "newsbot.bot.cli", "chat", "--index-dir", str(sample_index), "-k", "1"], env)
        finally:
            os._exit(127)
    out = b""
    sent = False
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
        if not sent and b"newsbot> " in out:
            os.write(fd, ":sources\n:quit\n".encode())
            sent = True
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
    assert ANSI.search(out)
    history = Path(os.environ["XDG_DATA_HOME"]) / "newsbot" / "history"
    assert ":sources" in history.read_text()


# -- rendering on a terminal --------------------------------------------------------------------


def test_terminal_rendering_colour_and_no_color(sample_index):
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    args = ["ask", QUESTION, "--index-dir", str(sample_index), "-k", "1"]
    out, rc = under_pty(args, env)
    assert rc == 0, out.decode(errors="replace")
    assert ANSI.search(out)
    assert b"\x1b[1;33m" in out or b"\x1b[33;1m" in out  # the answering sentence
    assert b"**" not in out
    out, rc = under_pty(args, {**env, "NO_COLOR": "1"})
    assert rc == 0
    assert not ANSI.search(out)
    assert b"**" in out and "想职工所想".encode() in out


def test_rich_markup_in_corpus_text_is_not_interpreted():
    import io

    from newsbot.bot.render import print_hits
    from newsbot.embeddings.types import Hit

    hit = Hit(1, 1.0, "[bold red]标题[/]", "a[link]b.txt", (1,), "前文[red]答案[/red]后文", (2, 14), "全文")
    buf = io.StringIO()
    print_hits([hit], buf, color=True)
    text = ANSI.sub(b"", buf.getvalue().encode()).decode()
    assert "[bold red]标题[/]" in text and "[red]答案[/red]" in text and "a[link]b.txt" in text


# -- index ------------------------------------------------------------------------------------


def test_index_summary_lists_skipped_files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "page.txt").write_text((SAMPLE_DIR / "sample_page.txt").read_text(encoding="utf-8")[:1500], encoding="utf-8")
    (corpus / "empty.txt").write_text("   \n", encoding="utf-8")
    r = newsbot("index", corpus, "--index-dir", tmp_path / "idx")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "files read      1" in out and "skipped         1" in out
    assert "empty.txt" in out  # and why
    for label in ("articles", "chunks", "re-used", "time"):
        assert label in out
    r = newsbot("stats", "--index-dir", tmp_path / "idx", "--json")
    stats = json.loads(r.stdout)
    assert stats["corpus_files"] == ["page.txt"] and stats["bytes"] > 0 and stats["model"] and stats["chunker"]
    assert stats["build_seconds"] is not None


# -- configuration ----------------------------------------------------------------------------


def config(*args, env=None, cwd=None) -> dict:
    r = newsbot("config", "--json", *args, env=env, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["settings"]


def test_config_precedence_flag_env_file_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_INDEX_DIR"}
    env.pop("NEWSBOT_RESULTS", None)
    s = config(env=env, cwd=tmp_path)
    assert s["results"] == {"value": 3, "source": "default", "env": "NEWSBOT_RESULTS"}
    assert s["index_dir"]["source"] == "default"

    (tmp_path / "newsbot.toml").write_text('results = 4\nindex_dir = "from-file"\nallowed_users = [1, 2]\n', encoding="utf-8")
    s = config(env=env, cwd=tmp_path)
    assert s["results"]["value"] == 4 and s["results"]["source"] == str(tmp_path / "newsbot.toml")
    assert s["index_dir"]["value"] == "from-file" and s["allowed_users"]["value"] == [1, 2]

    env["NEWSBOT_RESULTS"] = "5"
    s = config(env=env, cwd=tmp_path)
    assert s["results"] == {"value": 5, "source": "env", "env": "NEWSBOT_RESULTS"}

    s = config("-k", "6", "--index-dir", "from-flag", env=env, cwd=tmp_path)
    assert s["results"]["value"] == 6 and s["results"]["source"] == "flag"
    assert s["index_dir"] == {"value": "from-flag", "source": "flag", "env": "NEWSBOT_INDEX_DIR"}


def test_user_config_folder_and_index_dir_from_file(tmp_path, sample_index):
    env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_INDEX_DIR"}
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "newsbot"
    user.mkdir(parents=True)
    (user / "newsbot.toml").write_text(f'index_dir = "{sample_index}"\nresults = 1\n', encoding="utf-8")
    work = tmp_path / "elsewhere"
    work.mkdir()
    s = config(env=env, cwd=work)
    assert s["index_dir"]["source"] == str(user / "newsbot.toml")
    r = newsbot("ask", BROAD, "--json", env=env, cwd=work)  # the index from the file, k from the file
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["results"]) == 1
    r = newsbot("ask", BROAD, "--json", "-k", "2", env=env, cwd=work)  # the flag wins
    assert len(json.loads(r.stdout)["results"]) == 2


def test_token_is_masked(tmp_path):
    s = config(env={**os.environ, "TELEGRAM_BOT_TOKEN": "123456:SECRET-token"}, cwd=tmp_path)
    assert s["telegram_bot_token"] == {"value": "1234…", "source": "env", "env": "TELEGRAM_BOT_TOKEN"}
    r = newsbot("config", env={**os.environ, "TELEGRAM_BOT_TOKEN": "123456:SECRET-token"}, cwd=tmp_path)
    assert "SECRET" not in r.stdout and "1234…" in r.stdout


def test_every_setting_is_shown_with_its_source_and_secrets_masked(tmp_path):
    from newsbot.bot.config import FIELDS

    env = {**os.environ, "NEWSBOT_WEBHOOK_SECRET": "hush-hush-webhook", "NEWSBOT_TELEGRAM_TIMEOUT": "7.5",
           "NEWSBOT_CORPUS": os.pathsep.join(["/a", "/b"])}
    s = config(env=env, cwd=tmp_path)
    assert list(s) == [f.key for f in FIELDS]
    assert s["webhook_secret"] == {"value": "hush…", "source": "env", "env": "NEWSBOT_WEBHOOK_SECRET"}
    assert s["telegram_timeout"]["value"] == 7.5 and s["corpus"]["value"] == ["/a", "/b"]
    assert s["max_file_chars"] == {"value": 2_000_000, "source": "default", "env": "NEWSBOT_MAX_FILE_CHARS"}
    r = newsbot("config", env=env, cwd=tmp_path)
    assert "hush-hush" not in r.stdout and all(f.key in r.stdout for f in FIELDS)
    help_ = newsbot("config", "--help").stdout
    assert all(f.env in help_ for f in FIELDS)
    # the webhook, like the token, is never taken from the current folder
    (tmp_path / "newsbot.toml").write_text('webhook_secret = "theirs"\nwebhook_url = "https://evil.example/hook"\n'
                                          "max_file_chars = 3000\n", encoding="utf-8")
    r = newsbot("config", "--json", cwd=tmp_path)
    s = json.loads(r.stdout)["settings"]
    assert s["webhook_secret"]["source"] == "default" and s["webhook_url"]["value"] is None
    assert "webhook_secret" in r.stderr and "ignored" in r.stderr
    assert s["max_file_chars"]["value"] == 3000


def test_max_file_chars_reaches_the_index_build(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text((SAMPLE_DIR / "sample_page.txt").read_text(encoding="utf-8") * 5, encoding="utf-8")
    env = {**os.environ, "NEWSBOT_MAX_FILE_CHARS": "3000"}
    r = newsbot("index", big, "--index-dir", tmp_path / "idx", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "3,000 characters" in r.stderr
    r = newsbot("index", big, "--index-dir", tmp_path / "idx", env={**env, "NEWSBOT_MAX_FILE_CHARS": "lots"}, cwd=tmp_path)
    assert r.returncode == 2 and "NEWSBOT_MAX_FILE_CHARS" in r.stderr


def test_malformed_toml_exits_2_naming_the_file(tmp_path):
    bad = tmp_path / "newsbot.toml"
    bad.write_text("results = = 3\n", encoding="utf-8")
    r = newsbot("config", cwd=tmp_path)
    assert r.returncode == 2
    assert str(bad) in r.stderr and "Fix" in r.stderr
    bad.write_text('results = "many"\n', encoding="utf-8")
    r = newsbot("ask", QUESTION, cwd=tmp_path)
    assert r.returncode == 2 and "results" in r.stderr and str(bad) in r.stderr


def test_strictness_raises_the_bar_a_chinese_answer_must_clear(sample_index, tmp_path):
    """``strictness`` (NEWSBOT_STRICTNESS, newsbot.toml) is added to what the refusal weights must
    clear: high enough, a question answered at the default is refused (exit 1, ``answered`` false);
    a value that is not a number, or out of range, is a usage error naming the setting."""
    env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_STRICTNESS"}
    r = newsbot("ask", QUESTION, "--index-dir", sample_index, "--json", env=env, cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["answered"] is True, r.stderr
    r = newsbot("ask", QUESTION, "--index-dir", sample_index, "--json", env={**env, "NEWSBOT_STRICTNESS": "20"}, cwd=tmp_path)
    assert r.returncode == 1 and json.loads(r.stdout)["answered"] is False, r.stderr
    (tmp_path / "newsbot.toml").write_text("strictness = 20\n", encoding="utf-8")
    r = newsbot("ask", QUESTION, "--index-dir", sample_index, "--json", env=env, cwd=tmp_path)
    assert r.returncode == 1 and json.loads(r.stdout)["answered"] is False, r.stderr
    assert config(env=env, cwd=tmp_path)["strictness"]["value"] == 20.0
    for bad, says in (("lots", "must be a number"), ("21", "must be at most 20"), ("-1", "must be at least 0")):
        r = newsbot("ask", QUESTION, "--index-dir", sample_index, env={**env, "NEWSBOT_STRICTNESS": bad}, cwd=tmp_path)
        assert r.returncode == 2 and "NEWSBOT_STRICTNESS" in r.stderr and says in r.stderr and "Traceback" not in r.stderr
