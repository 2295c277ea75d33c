"""The two READMEs and the code name the same things.

Every command (`newsbot CMD`), flag (`--x` given to newsbot), setting (a ``newsbot.toml`` key),
environment variable (``NEWSBOT_*``, ``TELEGRAM_BOT_TOKEN``) and Telegram command (``/ask`` …)
named in README.md is named in README.zh-CN.md and the other way round; each exists in the code;
and everything the code has is in both READMEs.

What counts as "named" (see :func:`named_in`):

* commands and flags: in code (inline code spans and fenced blocks) only. A flag belongs to the
  newsbot invocation before it in the same shell command (``newsbot ask "…" -k 3 --json``: ``ask``'s
  ``--json``); a code span that starts with a flag (`--index-dir`) names a flag of some command.
  Flags of other programs (``pip install --index-url``, ``python benchmarks/run.py --quick``) are
  not newsbot's and are ignored.
* settings: the first column of a settings table (a row ``| `key` | `NEWSBOT_KEY` |``) and the
  top-level keys and ``[tables]`` of ``toml`` blocks.
* environment variables: anywhere.
* Telegram commands: ``/word`` anywhere that is not part of a path or address; @BotFather's own
  commands (`/newbot`, `/setinline` …) are Telegram's, not newsbot's.

The code: commands and flags from ``newsbot.bot.cli.build_parser()`` (walking the subparsers),
settings and variables from ``newsbot.bot.config.FIELDS``, Telegram commands from the
``CommandHandler``s of the bot's ``Application`` (built with a dummy token, nothing sent) and the
command menu in ``texts``.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field

import pytest

from helpers import ROOT

README_NAMES = ("README.md", "README.zh-CN.md")

# @BotFather's commands, which the READMEs tell people to send to @BotFather.
BOTFATHER = frozenset({
    "newbot", "mybots", "token", "revoke", "setname", "setdescription", "setabouttext", "setuserpic",
    "setcommands", "deletebot", "setinline", "setinlinefeedback", "setinlinegeo", "setprivacy", "setjoingroups",
})


# -- what a README names ------------------------------------------------------------------------


@dataclass
class Named:
    commands: set[str] = field(default_factory=set)
    flags: dict[str, set[str]] = field(default_factory=dict)  # flag -> commands it was given to ("" unknown, "-" top level)
    settings: set[str] = field(default_factory=set)
    table_envs: dict[str, str] = field(default_factory=dict)  # setting -> the variable its table row names
    env: set[str] = field(default_factory=set)
    telegram: set[str] = field(default_factory=set)

    def flag(self, name: str, command: str) -> None:
        self.flags.setdefault(name, set()).add(command)


FENCE = re.compile(r"^(```|~~~)([^\n]*)\n(.*?)^\1[ \t]*$", re.M | re.S)
SPAN = re.compile(r"(?<!`)`([^`]+)`(?!`)")
SEPARATORS = re.compile(r"&&|\|\||[|;]")
COMMENT = re.compile(r"(?:^|\s)#(?:\s|$)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
ENV = re.compile(r"\b(NEWSBOT_[A-Z0-9]+(?:_[A-Z0-9]+)*|TELEGRAM_BOT_TOKEN)\b")
TELEGRAM = re.compile(r"(?<![\w/.:~=@$-])/([a-z][a-z_]*)\b(?![/.\w-])")
TABLE_ROW = re.compile(r"^\|\s*`([a-z_]+)`\s*\|\s*`((?:NEWSBOT|TELEGRAM)_[A-Z_]+)`\s*\|", re.M)
TOML_KEY = re.compile(r"^([a-z_]+)\s*=")
TOML_TABLE = re.compile(r"^\[([a-z_]+)\]\s*(?:#.*)?$")


def code_pieces(text: str) -> tuple[list[tuple[str, str]], str]:
    """``([(info string, body) of each fenced block] + [("", span) of each inline span], the prose)``."""
    blocks = [(m.group(2).strip(), m.group(3)) for m in FENCE.finditer(text)]
    prose = FENCE.sub("", text)
    spans = [("", m.group(1)) for m in SPAN.finditer(prose)]
    return blocks + spans, prose


CRON_FIELD = re.compile(r"[\d*/,-]+")
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=(\S*)")
PREFIXES = {"$", "sudo", "env", "nohup", "time", "exec"}


def _is_newsbot(token: str) -> bool:
    return token == "newsbot" or token.endswith("/bin/newsbot")


def invocation(segment: str) -> list[str] | None:
    """The words after ``newsbot`` when ``segment`` is a shell command running newsbot (newsbot
    is its first word, after ``$``, ``sudo``, variable assignments, a cron schedule, ``runuser …
    --`` or a systemd ``ExecStart=``), else None: a message that says "newsbot loads …" is prose."""
    words = segment.split()
    if len(words) > 5 and all(CRON_FIELD.fullmatch(w) for w in words[:5]):
        words = words[5:]
        if words and words[0] == "root":
            words = words[1:]
    while words:
        w = words[0]
        if _is_newsbot(w):
            return words[1:]
        if (m := ASSIGNMENT.fullmatch(w)) and _is_newsbot(m.group(1)):
            return words[1:]  # ExecStart=/opt/newsbot/bin/newsbot telegram
        if w in PREFIXES or ASSIGNMENT.fullmatch(w):
            words = words[1:]
        elif w in ("runuser", "su") and "--" in words:
            words = words[words.index("--") + 1:]
        else:
            return None
    return None


def _shell_flags(line: str, named: Named) -> None:
    for segment in SEPARATORS.split(COMMENT.split(line, 1)[0]):
        if segment.lstrip().startswith("--"):  # a span naming flags alone: `--webhook-url URL --listen ADDR`
            for f in FLAG.findall(segment):
                named.flag(f, "")
            continue
        rest = invocation(segment)
        if not rest:
            continue  # another program (pip, python, systemctl …), or prose
        head = rest[0]
        if re.fullmatch(r"[a-z][a-z-]*", head):
            command = head
            named.commands.add(command)
        elif FLAG.fullmatch(head):
            command = "-"  # `newsbot --version`
        elif re.fullmatch(r"[A-Z][A-Z_]*", head):
            command = ""  # `newsbot COMMAND --help`
        else:
            continue
        for f in FLAG.findall(" ".join(rest)):
            named.flag(f, command)


def named_in(text: str) -> Named:
    named = Named()
    pieces, prose = code_pieces(text)
    for info, body in pieces:
        for line in body.splitlines():
            _shell_flags(line, named)
        if info == "toml":
            top = True
            for line in body.splitlines():
                line = line.strip()
                if m := TOML_TABLE.match(line):
                    named.settings.add(m.group(1))
                    top = False
                elif top and (m := TOML_KEY.match(line)):
                    named.settings.add(m.group(1))
    for m in TABLE_ROW.finditer(prose):
        named.settings.add(m.group(1))
        named.table_envs[m.group(1)] = m.group(2)
    named.env = set(ENV.findall(text))
    named.telegram = set(TELEGRAM.findall(text)) - BOTFATHER
    return named


# -- what the code has --------------------------------------------------------------------------


@dataclass
class Code:
    flags: dict[str, set[str]]  # command ("-" for the top level) -> its long flags
    settings: dict[str, str]  # newsbot.toml key -> environment variable
    telegram: set[str]

    @property
    def commands(self) -> set[str]:
        return set(self.flags) - {"-"}

    @property
    def all_flags(self) -> set[str]:
        return set().union(*self.flags.values())


def _long_flags(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings if o.startswith("--")}


def cli_flags() -> dict[str, set[str]]:
    from newsbot.bot.cli import build_parser

    parser = build_parser()
    out = {"-": _long_flags(parser)}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = _long_flags(sub)
    return out


def telegram_commands() -> set[str]:
    """The commands the bot answers: its CommandHandlers (the Application is built with a dummy
    token and never started: nothing is sent), and the command menu it registers."""
    from telegram.ext import CommandHandler

    from newsbot.bot.telegram import texts
    from newsbot.bot.telegram.app import build_application

    app = build_application("1:readme-drift-test-dummy-token")
    handled = {c for group in app.handlers.values() for h in group if isinstance(h, CommandHandler) for c in h.commands}
    menu = {name for name, _ in [*texts.PUBLIC_COMMANDS, *texts.ADMIN_COMMANDS]}
    return handled | menu


@pytest.fixture(scope="module")
def code() -> Code:
    from newsbot.bot.config import FIELDS

    return Code(cli_flags(), {f.key: f.env for f in FIELDS}, telegram_commands())


@pytest.fixture(scope="module")
def readmes() -> dict[str, Named]:
    return {name: named_in((ROOT / name).read_text(encoding="utf-8")) for name in README_NAMES}


# -- the checks ---------------------------------------------------------------------------------


def unknown(named: Named, code: Code) -> list[str]:
    """What a README names that the code does not have."""
    out = [f"command `newsbot {c}`" for c in sorted(named.commands - code.commands)]
    for flag, commands in sorted(named.flags.items()):
        if flag not in code.all_flags:
            out.append(f"flag {flag}")
            continue
        for c in sorted(commands - {""}):
            if c in code.flags and flag not in code.flags[c]:
                out.append(f"flag {flag} given to `newsbot {c}`" if c != "-" else f"flag {flag} given to `newsbot` itself")
    out += [f"setting {s}" for s in sorted(named.settings - set(code.settings))]
    out += [f"setting {s}'s variable is {code.settings[s]}, not {e}" for s, e in sorted(named.table_envs.items())
            if s in code.settings and code.settings[s] != e]
    out += [f"environment variable {e}" for e in sorted(named.env - set(code.settings.values()))]
    out += [f"Telegram command /{t}" for t in sorted(named.telegram - code.telegram)]
    return out


def missing(named: Named, code: Code) -> list[str]:
    """What the code has that a README does not name (settings: in its settings table)."""
    out = [f"command `newsbot {c}`" for c in sorted(code.commands - named.commands)]
    out += [f"flag {f}" for f in sorted(code.all_flags - set(named.flags))]
    out += [f"setting {s} (in the settings table)" for s in sorted(set(code.settings) - set(named.table_envs))]
    out += [f"environment variable {e}" for e in sorted(set(code.settings.values()) - named.env)]
    out += [f"Telegram command /{t}" for t in sorted(code.telegram - named.telegram)]
    return out


def differences(a: Named, b: Named) -> list[str]:
    """What ``a`` names and ``b`` does not."""
    out = [f"command `newsbot {c}`" for c in sorted(a.commands - b.commands)]
    out += [f"flag {f}" for f in sorted(set(a.flags) - set(b.flags))]
    out += [f"setting {s}" for s in sorted(a.settings - b.settings)]
    out += [f"environment variable {e}" for e in sorted(a.env - b.env)]
    out += [f"Telegram command /{t}" for t in sorted(a.telegram - b.telegram)]
    return out


@pytest.mark.parametrize("name", README_NAMES)
def test_everything_a_readme_names_exists(name, readmes, code):
    bad = unknown(readmes[name], code)
    assert not bad, f"{name} names what the code does not have: {bad}"


@pytest.mark.parametrize("name", README_NAMES)
def test_everything_in_the_code_is_in_the_readme(name, readmes, code):
    bad = missing(readmes[name], code)
    assert not bad, f"{name} does not name: {bad}"


@pytest.mark.parametrize("one, other", [README_NAMES, README_NAMES[::-1]])
def test_what_one_readme_names_the_other_names(one, other, readmes):
    bad = differences(readmes[one], readmes[other])
    assert not bad, f"{one} names what {other} does not: {bad}"


def test_the_readmes_link_to_each_other():
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "README.zh-CN.md" in english.split("\n# ", 1)[0], "README.md must link to README.zh-CN.md at the very top"
    assert "README.md" in chinese.split("\n# ", 1)[0], "README.zh-CN.md must link back to README.md at the top"


# -- the extraction itself: it finds what is planted and ignores what is not newsbot's -----------

PLANTED = '''
Run `newsbot ask "问题" -k 3 --json --frobnicate` or `newsbot sources --force`, then `newsbot frob`.

```sh
newsbot index ~/papers --index-dir ~/idx --chunk-target 160   # a comment --not-a-flag
# a comment line; newsbot refuses --nothing
pip install torch --index-url https://download.pytorch.org/whl/cpu
python benchmarks/run.py --quick && newsbot telegram --check
sudo useradd --system --home-dir /var/lib/newsbot --shell /usr/sbin/nologin newsbot
sudo chown newsbot /etc/newsbot/token
ExecStart=/opt/newsbot/bin/newsbot telegram --token-file /etc/newsbot/token
30 6 * * *  root  runuser -u newsbot -- /opt/newsbot/bin/newsbot eval q.jsonl --expect-none
NEWSBOT_RESULTS=5 newsbot config --results 5
```

```text
newsbot: This index was built with the model 'x', which newsbot loads only when you name it yourself: add --model x
```

| `newsbot.toml` key | environment variable | default | meaning |
|---|---|---|---|
| `results` | `NEWSBOT_RESULTS` | 3 | results |
| `colour` | `NEWSBOT_COLOUR` | no | not a setting |
| `admins` | `NEWSBOT_RESULTS` | nobody | the wrong variable |

```toml
index_dir = "~/idx"
[indexes]
union = "~/idx/union"
[chats]
```

Send `/newbot` to @BotFather, then `/ask 问题`, `/frobnicate`, or (/help) in the chat; not
/srv/papers, ~/papers/x, http://127.0.0.1:19530/x, ReadOnlyPaths=/srv or p50/p95.
Set NEWSBOT_INDEX_DIR, NEWSBOT_FROB, TELEGRAM_BOT_TOKEN, but not NEWSBOT_ or NEWSBOT_*.
'''


def test_extraction_finds_what_is_planted():
    n = named_in(PLANTED)
    assert n.commands == {"ask", "sources", "frob", "index", "telegram", "eval", "config"}  # not "loads"
    assert n.flags["--frobnicate"] == {"ask"} and n.flags["--json"] == {"ask"}
    assert n.flags["--force"] == {"sources"} and n.flags["--chunk-target"] == {"index"}
    assert n.flags["--check"] == {"telegram"} and n.flags["--token-file"] == {"telegram"}
    assert n.flags["--expect-none"] == {"eval"} and n.flags["--results"] == {"config"} and "--model" not in n.flags
    assert not {"--index-url", "--quick", "--system", "--home-dir", "--shell", "--not-a-flag"} & set(n.flags)
    assert n.settings == {"results", "colour", "admins", "index_dir", "indexes", "chats"}  # not `union`
    assert n.env == {"NEWSBOT_RESULTS", "NEWSBOT_COLOUR", "NEWSBOT_INDEX_DIR", "NEWSBOT_FROB", "TELEGRAM_BOT_TOKEN"}
    assert n.telegram == {"ask", "frobnicate", "help"}  # not /newbot (BotFather's), /srv, /x, /p95


def test_planted_unknowns_are_reported(code):
    bad = unknown(named_in(PLANTED), code)
    for expected in ("command `newsbot frob`", "flag --frobnicate", "flag --force given to `newsbot sources`",
                     "setting colour", "setting admins's variable is NEWSBOT_ADMINS, not NEWSBOT_RESULTS",
                     "environment variable NEWSBOT_COLOUR", "environment variable NEWSBOT_FROB", "Telegram command /frobnicate"):
        assert expected in bad, (expected, bad)
    assert not [b for b in bad if "--json" in b or "--chunk-target" in b or "/ask" in b or "/help" in b or "index_dir" in b]


def test_what_the_code_has_and_a_readme_lacks_is_reported(code):
    lacking = missing(named_in(PLANTED), code)
    assert "command `newsbot chat`" in lacking and "flag --chunk-max" in lacking
    assert "setting webhook_secret (in the settings table)" in lacking and "Telegram command /reindex" in lacking


def test_a_difference_between_the_readmes_is_reported():
    a = named_in("`newsbot ask --json` and `/sources`; NEWSBOT_RESULTS")
    b = named_in("`newsbot ask`")
    assert differences(a, b) == ["flag --json", "environment variable NEWSBOT_RESULTS", "Telegram command /sources"]
    assert differences(b, a) == []


def test_the_code_side_is_read(code):
    assert {"index", "ask", "chat", "eval", "sources", "stats", "config", "telegram"} <= code.commands
    assert "--version" in code.flags["-"] and "--expect-none" in code.flags["eval"] and "--token-file" in code.flags["telegram"]
    assert {"ask", "sources", "help", "start", "stats", "reindex"} <= code.telegram
    assert code.settings["telegram_bot_token"] == "TELEGRAM_BOT_TOKEN"
