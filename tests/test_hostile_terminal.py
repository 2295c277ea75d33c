"""Hostile file names and text meet a terminal (safety points 6 and 8), through ``python -m bot.cli``.

6. A file name that is not UTF-8 (a GBK name from an archive made on Chinese Windows) is indexed
   under a readable name; the build does not fail at the end, and `sources`/`ask` work.
8. Control characters (ESC/OSC sequences, BEL, CR, backspace, C1 controls, line breaks) in file
   names, titles, text or questions never reach the terminal raw, and a file name cannot forge a
   citation line; `--json` stays exact JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from helpers import under_pty

ROOT = Path(__file__).resolve().parents[1]

# Bytes a terminal acts on: C0 controls but tab and newline, DEL, C1 controls (UTF-8 encoded),
# the Unicode line/paragraph separators.
RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]")
SGR = re.compile(rb"\x1b\[[0-9;]*m")  # the colours rich itself writes on a terminal

FORGED = "a\n[9] 假的引用.txt"  # a file name trying to add a citation line
OSC = "\x1b]0;pwned\x07\x1b[2J\r\x08\x9b31m报告.txt"  # window title, clear screen, CR, BS, C1 CSI
Q_FORGED = "宁波甬江工会的主席是谁？"
Q_OSC = "杭州电信工会和哪家医院合作？"


def newsbot(*args, stdin: bytes | None = None, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    """Run the CLI; stdout and stderr are bytes, exactly what a terminal would receive."""
    env = {**(os.environ if env is None else env)}
    args = [a if isinstance(a, bytes) else str(a) for a in args]
    return subprocess.run([sys.executable, "-m", "newsbot.bot.cli", *args], input=stdin, capture_output=True, env=env, cwd=cwd, timeout=180)


def assert_inert(data: bytes) -> None:
    """No byte a terminal would act on, and no traceback."""
    m = RAW_CONTROL.search(data)
    assert m is None, f"raw control {m.group()!r} in output: {data!r}"
    assert b"Traceback" not in data, data.decode("utf-8", "replace")


def citation_lines(data: bytes) -> list[bytes]:
    return [line for line in data.split(b"\n") if re.match(rb"\s*\[\d+\]", line)]


def _isolated_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        env[var] = str(tmp / var.lower())
    return env | {"HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory) -> Path:
    """An index (built with `newsbot index`) of files whose names and text carry control characters."""
    tmp = tmp_path_factory.mktemp("hostile")
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / FORGED).write_text("宁波甬江工会的主席王小明在职工代表大会上作了工作报告。\n", encoding="utf-8")
    (corpus / OSC).write_text(
        "# \x1b[2J[bold]工会新闻[/bold]\x07\n\n杭州电信工会与杭州市儿童医院签订合作协议，\x1b[31m为职工子女\x08\r提供健康服务。\n",
        encoding="utf-8",
    )
    r = newsbot("index", corpus, "--index-dir", tmp / "index", env=_isolated_env(tmp), cwd=tmp)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    return tmp / "index"


# -- point 8: control characters never reach the terminal raw ------------------------------------


def test_sources_escapes_control_characters_in_file_names(hostile_index):
    r = newsbot("sources", "--index-dir", hostile_index)
    assert r.returncode == 0, r.stderr
    assert_inert(r.stdout + r.stderr)
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 2, lines  # one line per article: the newline in a name made no new line
    assert not citation_lines(r.stdout)
    assert any("a\\n[9] 假的引用.txt" in line for line in lines), lines
    assert any("\\x1b]0;pwned\\x07" in line for line in lines), lines  # shown, visibly escaped


def test_ask_file_name_cannot_forge_a_citation_line(hostile_index):
    r = newsbot("ask", Q_FORGED, "--index-dir", hostile_index, "-k", "3")
    assert r.returncode == 0, r.stderr
    assert_inert(r.stdout + r.stderr)
    cites = citation_lines(r.stdout)
    assert cites and cites[0].startswith(b"[1] ") and b"a\\n[9] " in cites[0]
    assert not any(c.lstrip().startswith(b"[9]") for c in cites), r.stdout.decode()
    r = newsbot("ask", Q_OSC, "--index-dir", hostile_index, "-k", "1")
    assert r.returncode == 0, r.stderr
    assert_inert(r.stdout + r.stderr)
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\r\\x08\\x9b31m报告.txt".encode() in r.stdout
    assert "杭州市儿童医院".encode() in r.stdout


def test_ask_and_sources_on_a_terminal_escape_control_characters(hostile_index):
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    for args in (["ask", Q_OSC, "-k", "1"], ["ask", Q_FORGED, "-k", "1"], ["sources"]):
        out, rc = under_pty([*args, "--index-dir", hostile_index], env)
        assert rc == 0, out.decode(errors="replace")
        assert SGR.search(out)  # rich did colour it
        text = SGR.sub(b"", out).replace(b"\r\n", b"\n")  # the terminal turns \n into \r\n
        assert_inert(text)
        assert not any(c.lstrip().startswith(b"[9]") for c in citation_lines(text))
        if args[0] == "ask" and args[1] == Q_OSC:
            assert "[bold]工会新闻[/bold]".encode() in text  # titles are not rich markup either


def test_stats_escapes_corpus_file_names(hostile_index):
    r = newsbot("stats", "--index-dir", hostile_index)
    assert r.returncode == 0, r.stderr
    assert_inert(r.stdout + r.stderr)
    assert not citation_lines(r.stdout)
    assert b"a\\n[9] " in r.stdout


def test_chat_escapes_control_characters(hostile_index):
    stdin = f"{Q_FORGED}\n:full 1\n:sources\n{Q_OSC}\n:full 1\n:full \x1b]0;x\x07\n:\x1b[2Jnope\n".encode()
    r = newsbot("chat", "--index-dir", hostile_index, "-k", "1", stdin=stdin)
    assert r.returncode == 0, r.stderr
    assert_inert(r.stdout + r.stderr)
    assert not any(c.lstrip().startswith(b"[9]") for c in citation_lines(r.stdout))
    assert b"a\\n[9] " in r.stdout and b"\\x1b]0;pwned" in r.stdout


def test_json_output_is_exact_json_and_inert(hostile_index):
    r = newsbot("sources", "--json", "--index-dir", hostile_index)
    assert r.returncode == 0
    assert_inert(r.stdout)  # json.dumps leaves C1 controls (U+009B) raw; they must be \u escapes
    assert {row["source"] for row in json.loads(r.stdout)} == {FORGED, OSC}  # the exact names
    r = newsbot("ask", Q_OSC, "--json", "--index-dir", hostile_index, "-k", "1")
    assert r.returncode == 0
    assert_inert(r.stdout)
    assert json.loads(r.stdout)["results"][0]["source"] == OSC
    r = newsbot("stats", "--json", "--index-dir", hostile_index)
    assert_inert(r.stdout)
    assert set(json.loads(r.stdout)["corpus_files"]) == {FORGED, OSC}
    r = newsbot("chat", "--json", "--index-dir", hostile_index, "-k", "1", stdin=f"{Q_OSC}\n:sources\n".encode())
    assert_inert(r.stdout)
    assert [json.loads(line)["results"][0]["source"] if "results" in line else None for line in r.stdout.decode().splitlines()][0] == OSC


def test_titles_taken_from_file_names_carry_no_control_characters(hostile_index):
    r = newsbot("sources", "--json", "--index-dir", hostile_index)
    titles = {row["source"]: row["title"] for row in json.loads(r.stdout)}
    assert titles[FORGED] == "a[9] 假的引用"  # only the control character is gone
    for title in titles.values():
        assert not any(unicodedata.category(c) == "Cc" for c in title), titles


def test_index_warnings_and_summary_escape_file_names(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("杭州电信工会与杭州市儿童医院签订合作协议。\n", encoding="utf-8")
    (corpus / "\x1b]0;pwned\x07bin.txt").write_bytes(b"\x00\x01\x02" * 100)  # skipped: binary
    (corpus / "x\n[9] 空.txt").write_bytes(b"")  # skipped: empty
    r = newsbot("index", corpus, "--index-dir", tmp_path / "idx")
    assert r.returncode == 0, r.stderr
    assert_inert(r.stdout + r.stderr)
    err = r.stderr.decode().splitlines()
    assert len([line for line in err if line.startswith("newsbot: warning: skipped")]) == 2, err
    assert all(line.startswith("newsbot: ") for line in err), err  # no forged log line
    assert "\\x1b]0;pwned\\x07bin.txt" in r.stderr.decode()
    assert not citation_lines(r.stdout)
    r = newsbot("index", corpus, "--index-dir", tmp_path / "idx2", "--json")
    assert r.returncode == 0
    assert_inert(r.stdout)
    assert len(json.loads(r.stdout)["skipped"]) == 2


def test_error_messages_and_config_escape_paths(tmp_path):
    bad = tmp_path / "\x1b]0;pwned\x07idx"
    r = newsbot("ask", Q_OSC, "--index-dir", bad)
    assert r.returncode == 3
    assert_inert(r.stderr)
    assert b"\\x1b]0;pwned\\x07idx" in r.stderr
    r = newsbot("config", env={**os.environ, "NEWSBOT_INDEX_DIR": str(bad)})
    assert r.returncode == 0
    assert_inert(r.stdout + r.stderr)


def test_eval_misses_escape_questions_and_answers(hostile_index, tmp_path):
    qfile = tmp_path / "q.jsonl"
    row = {"q": "\x1b]0;pwned\x07" + Q_OSC, "a": ["\x1b[2J不在文中的答案"], "source": "x\ny.txt"}
    qfile.write_text(json.dumps(row) + "\n", encoding="utf-8")
    r = newsbot("eval", qfile, "--index-dir", hostile_index)
    assert r.returncode == 0, r.stderr
    assert b"misses (1)" in r.stdout
    assert_inert(r.stdout + r.stderr)


def test_text_from_an_older_or_edited_index_is_escaped_too(hostile_index, tmp_path):
    """Ingest strips control characters from text; what an index holds is still escaped on output."""
    idx = tmp_path / "idx"
    shutil.copytree(hostile_index, idx)
    for name in ("articles.jsonl", "passages.jsonl"):
        path = idx / name
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for row in rows:
            row["title"] = "\x1b]0;pwned\x07" + row["title"]
            if "text" in row:
                row["text"] = row["text"].replace("，", "\x1b")  # same length: offsets stay right
            if "paragraphs" in row and row["paragraphs"] and isinstance(row["paragraphs"][0], str):
                row["paragraphs"] = [p.replace("，", "\x1b") for p in row["paragraphs"]]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    r = newsbot("ask", Q_OSC, "--index-dir", idx, "-k", "1")
    assert r.returncode == 0, r.stderr
    assert_inert(r.stdout + r.stderr)
    assert b"\\x1b]0;pwned" in r.stdout and "协议\\x1b".encode() in r.stdout  # title and excerpt
    r = newsbot("chat", "--index-dir", idx, "-k", "1", stdin=f"{Q_OSC}\n:full 1\n:sources\n".encode())
    assert_inert(r.stdout + r.stderr)


# -- point 6: file names that are not UTF-8 ----------------------------------------------------------

GBK_NAME = b"\xd6\xd0\xce\xc4.txt"  # 中文.txt in GBK
GBK_DIR, GBK_FILE = b"\xd0\xc2\xce\xc5", b"\xb1\xa8\xb8\xe6.txt"  # 新闻/报告.txt
JUNK_NAME = b"\xff\xfe\x80.txt"  # neither UTF-8 nor GB18030 nor Big5


def _gbk_corpus(root: Path) -> bytes:
    corpus = os.path.join(os.fsencode(root), b"corpus")
    os.makedirs(os.path.join(corpus, GBK_DIR))
    with open(os.path.join(corpus, GBK_NAME), "wb") as f:  # one line: titled by its file name
        f.write("杭州电信工会与杭州市儿童医院签订合作协议，为职工子女提供健康服务。\n".encode())
    with open(os.path.join(corpus, GBK_DIR, GBK_FILE), "wb") as f:  # titled by its first line
        f.write("甬江工会换届\n宁波甬江工会的主席王小明在职工代表大会上作了工作报告。\n".encode("gbk"))
    with open(os.path.join(corpus, JUNK_NAME), "wb") as f:
        f.write("温州瓯海区总工会为环卫工人送去清凉。\n".encode())
    return corpus


def test_gbk_file_names_are_indexed_under_readable_names(tmp_path):
    corpus = _gbk_corpus(tmp_path)
    idx = tmp_path / "idx"
    r = newsbot("index", corpus, "--index-dir", idx)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    assert_inert(r.stdout + r.stderr)
    r = newsbot("sources", "--json", "--index-dir", idx)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {row["source"] for row in rows} == {"中文.txt", "新闻/报告.txt", "\\xff\\xfe\\x80.txt"}
    assert {row["title"] for row in rows} >= {"中文", "甬江工会换届"}
    r = newsbot("sources", "--index-dir", idx)
    assert r.returncode == 0 and "中文.txt".encode() in r.stdout and "新闻/报告.txt".encode() in r.stdout
    assert_inert(r.stdout + r.stderr)
    r = newsbot("ask", Q_OSC, "--index-dir", idx, "-k", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("[1] 中文 · 中文.txt".encode()) and "杭州市儿童医院".encode() in r.stdout
    r = newsbot("stats", "--index-dir", idx)
    assert r.returncode == 0 and "新闻/报告.txt".encode() in r.stdout
    r = newsbot("index", corpus, "--index-dir", idx)  # the names are stable: nothing to rebuild
    assert r.returncode == 0 and b"up to date" in r.stdout


def test_a_single_gbk_named_file_can_be_indexed(tmp_path):
    corpus = _gbk_corpus(tmp_path)
    r = newsbot("index", os.path.join(corpus, GBK_NAME), "--index-dir", tmp_path / "idx")
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    assert_inert(r.stdout + r.stderr)
    r = newsbot("sources", "--json", "--index-dir", tmp_path / "idx")
    assert [row["source"] for row in json.loads(r.stdout)] == ["中文.txt"]


def test_a_skipped_gbk_named_file_is_named_in_the_warning(tmp_path):
    corpus = _gbk_corpus(tmp_path)
    with open(os.path.join(corpus, b"\xbf\xd5.txt"), "wb") as f:  # 空.txt in GBK, and empty
        f.write(b"")
    r = newsbot("index", corpus, "--index-dir", tmp_path / "idx")
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    assert_inert(r.stdout + r.stderr)
    warning = [line for line in r.stderr.decode().splitlines() if "empty file" in line]
    assert warning and "\\xbf\\xd5.txt" in warning[0], r.stderr.decode()  # the bytes, not "??"
