"""The `newsbot` command line: the parser, `newsbot config` and `newsbot telegram`, and the dispatch to the other commands.

Exit codes: 0 answered, 1 nothing relevant found, 2 usage error, 3 index problem.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from .common import EXIT_OK, EXIT_USAGE, err
from .config import FIELDS, USER_ONLY, Config, config_files, load_config, user_only_note
from .index_command import cmd_index
from .query_commands import cmd_ask, cmd_chat, cmd_eval, cmd_sources, cmd_stats
from .render import json_dumps, printable
from ..embeddings.errors import NewsbotError

EPILOG = {
    "index": 'example:\n  newsbot index ~/papers/ --index-dir ~/newsbot-index\n  NEWSBOT_INDEX_DIR=~/newsbot-index newsbot ask "杭州电信工会和哪家医院合作？"',
    "ask": 'example:\n  newsbot ask "杭州电信工会和哪家医院合作？"\n  newsbot ask "Who chairs the Yongjiang union?" -k 3 --json',
    "eval": "example:\n  newsbot eval questions.jsonl --index-dir ./idx --json",
    "sources": "example:\n  newsbot sources --json",
    "stats": "example:\n  newsbot stats",
    "telegram": (
        "example:\n  TELEGRAM_BOT_TOKEN=123:ABC newsbot telegram\n"
        "  TELEGRAM_BOT_TOKEN=123:ABC newsbot telegram --check && systemctl restart newsbot   # in a deploy script\n\n"
        "--check asks Telegram about the token (getMe), opens the default index and every [indexes] entry,\n"
        "prints one line per step (mode, access, token, each index with its articles, bound chats) and exits:\n"
        "0 ok, 2 a settings or token problem, 3 an index problem, 1 the Bot API could not be reached.\n"
        "It serves nothing, builds nothing and never prints the token."
    ),
    "chat": (
        "example:\n  newsbot chat\n  newsbot> 杭州电信工会和哪家医院合作？\n  newsbot> :more\n  newsbot> :full 1\n"
        "  printf '问题一\\n问题二\\n' | newsbot chat --json   # JSON Lines, one answer a line\n\n"
        "commands: :more  :full N  :sources  :help  :quit (or Ctrl-D)"
    ),
    "config": (
        "example:\n  newsbot config\n  NEWSBOT_RESULTS=5 newsbot config --json\n\n"
        "precedence: command-line flags > environment (NEWSBOT_*) > ./newsbot.toml > the user's newsbot.toml > defaults.\n"
        f"except {', '.join(USER_ONLY)}, which are never read from ./newsbot.toml (the current folder\n"
        "may be someone else's, and its file could send your token to their server): set them in the environment\n"
        "(e.g. TELEGRAM_BOT_TOKEN or `newsbot telegram --token-file`, NEWSBOT_TELEGRAM_API_URL) or in the user's newsbot.toml.\n"
        "newsbot.toml keys are the variable names in lower case without NEWSBOT_, e.g.\n"
        '  index_dir = "~/newsbot-index"\n  results = 5\n  allowed_users = [123456789]\n\n'
        "settings (newsbot.toml key, environment variable):\n"
        + "\n".join(f"  {f.key:<20} ${f.env:<28} {f.help}" for f in FIELDS)
    ),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with a hint, as argparse does
        self.print_usage(sys.stderr)
        err(f"{message}\nRun `{self.prog} --help` for the options and an example.")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="newsbot", description="Ask questions about Chinese newspaper articles; get cited excerpts.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    def cmd(name, help_):
        return sub.add_parser(name, help=help_, description=help_, epilog=EPILOG.get(name), formatter_class=argparse.RawDescriptionHelpFormatter)

    def index_dir(sp):
        sp.add_argument("--index-dir", type=Path, help="index folder (default: $NEWSBOT_INDEX_DIR, else the per-user cache)")
        sp.add_argument("--milvus", metavar="URI", help="keep the index in Milvus: a Milvus Lite file (./newsbot.db) or http://host:19530 ($NEWSBOT_MILVUS_URI)")
        sp.add_argument("--collection", metavar="NAME", help="Milvus collection holding the index (default newsbot; $NEWSBOT_COLLECTION)")

    def search_model(sp):
        sp.add_argument("--model", help="the index's encoder, when it is neither the default nor a local folder (loaded only when named here)")

    sp = cmd("index", "Index newspaper files, folders (recursive) and links into an index folder or a Milvus collection.")
    sp.add_argument("paths", nargs="+", help="files, folders or https:// links (.txt .md .html .pdf .docx; scans with the ocr extra)")
    index_dir(sp)
    sp.add_argument("--model", help="encoder: the default multilingual USE, or a sentence-transformers id or folder")
    sp.add_argument("--chunk-target", type=int, default=None, help="target chunk size in characters (default 160)")
    sp.add_argument("--chunk-max", type=int, default=None, help="maximum chunk size in characters (default 250)")
    sp.add_argument("--chunk-overlap", type=int, default=None, help="overlap between chunks in characters (default 40)")
    sp.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    sp.add_argument("--json", action="store_true", help="print the build summary as JSON")

    sp = cmd("ask", "Answer one question with cited excerpts.")
    sp.add_argument("question")
    index_dir(sp)
    search_model(sp)
    sp.add_argument("-k", type=int, default=None, help="number of results (default $NEWSBOT_RESULTS, else 3)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")

    sp = cmd("chat", "Ask questions one after another; :more, :full N, :sources, :help, :quit.")
    index_dir(sp)
    search_model(sp)
    sp.add_argument("-k", type=int, default=None, help="results per answer (default $NEWSBOT_RESULTS, else 3)")
    sp.add_argument("--json", action="store_true", help="answer as JSON Lines (one object per input line)")

    sp = cmd("eval", "Measure retrieval quality on a JSON Lines question file.")
    sp.add_argument("questions", type=Path)
    index_dir(sp)
    search_model(sp)
    sp.add_argument("-k", type=int, default=None, help="results per question (default $NEWSBOT_RESULTS, else 10)")
    sp.add_argument("--expect-none", action="store_true", help="no question of the file is answerable here: count answered ones as false answers")
    sp.add_argument("--json", action="store_true", help="print one JSON object")

    sp = cmd("sources", "List the articles in the index.")
    index_dir(sp)
    sp.add_argument("--json", action="store_true")

    sp = cmd("stats", "Show index size, model and settings.")
    index_dir(sp)
    sp.add_argument("--json", action="store_true")

    sp = cmd("config", "Show the effective settings and where each comes from.")
    index_dir(sp)
    sp.add_argument("-k", "--results", dest="k", type=int, default=None, help="results per answer")
    sp.add_argument("--model", help="encoder for `newsbot index`")
    sp.add_argument("--json", action="store_true", help="print one JSON object")

    sp = cmd("telegram", "Run the Telegram bot (token from $TELEGRAM_BOT_TOKEN or --token-file).")
    index_dir(sp)
    search_model(sp)
    sp.add_argument("--token-file", type=Path, help="file holding the bot token ($NEWSBOT_TELEGRAM_TOKEN_FILE)")
    sp.add_argument("--webhook-url", help="serve a webhook at this public URL instead of long polling ($NEWSBOT_WEBHOOK_URL)")
    sp.add_argument("--listen", help="webhook listen address (default 127.0.0.1; $NEWSBOT_WEBHOOK_LISTEN)")
    sp.add_argument("--port", help="webhook port (default 8443; $NEWSBOT_WEBHOOK_PORT)")
    sp.add_argument("--check", action="store_true",
                    help="validate the token, the indexes and the settings, print what would be served, and exit "
                         "(0 ok, 2 settings or token, 3 index, 1 Bot API unreachable)")
    return p


def cmd_config(args, cfg: Config) -> int:
    data = cfg.to_dict()
    if args.json:
        print(json_dumps({"settings": data, "files": cfg.files}))
        return EXIT_OK
    width = max(len(f.key) for f in FIELDS)
    for f in FIELDS:
        d = data[f.key]
        v = d["value"]
        if v is None or v == [] or v == {}:
            shown = f"(not set: {f.shown_default})" if f.shown_default else "(not set)"
        else:
            shown = ",".join(map(str, v)) if isinstance(v, list) else _shown_table(v) if isinstance(v, dict) else str(v)
        src = d["source"]
        src = f"${f.env}" if src == "env" else ("command line" if src == "flag" else src)
        print(f"{f.key:<{width}}  {printable(shown)}  [{src}]")
    print("\nnote: " + user_only_note())
    print("config files: " + printable(", ".join(cfg.files) if cfg.files else "none (looked for " + " and ".join(map(str, config_files())) + ")"))
    return EXIT_OK


def _shown_table(table: dict) -> str:
    """``indexes`` / ``chats`` on one line, as the environment variable would give them."""
    def entry(v) -> str:
        if not isinstance(v, dict):
            return str(v)
        where = v.get("folder") or f"{v.get('milvus')} (collection {v.get('collection')})"
        return where + (f" (corpus {','.join(v['corpus'])})" if v.get("corpus") else "")

    return "; ".join(f"{k}={entry(v)}" for k, v in table.items())


def cmd_telegram(args, cfg: Config) -> int:
    """Read the token, then run the bot with the values the configuration gives (``--check``:
    validate everything, print what would be served, and exit; see :mod:`.telegram.check`)."""
    # Imported here: python-telegram-bot is only needed by this command.
    from .indexes import index_spec
    from .telegram.check import check, configured_token

    if args.check:
        return check(cfg, args.index_dir)
    from .indexes import named_indexes
    from .telegram.app import run
    from .telegram.chats import Bindings, bindings_file
    from .telegram.state import BotSettings

    token, problem = configured_token(cfg)
    if token is None:
        err(problem)
        return EXIT_USAGE
    spec = index_spec(args.index_dir, cfg)
    bindings = Bindings(cfg["chats"], bindings_file(cfg))
    return run(
        token, spec, BotSettings.from_config(cfg),
        api_root=cfg.get("telegram_api_url"), timeout=cfg["telegram_timeout"],
        webhook_url=cfg.get("webhook_url"), webhook_secret=cfg.get("webhook_secret"),
        listen=cfg["webhook_listen"], port=cfg["webhook_port"],
        indexes=named_indexes(cfg, spec), bindings=bindings,
    )


# The flags that set a configuration key, by command: (key, argparse attribute).
FLAGS = {
    "config": (("index_dir", "index_dir"), ("results", "k")),
    "telegram": (("telegram_token_file", "token_file"), ("webhook_url", "webhook_url"), ("webhook_listen", "listen"), ("webhook_port", "port")),
}


COMMANDS = {
    "index": cmd_index, "ask": cmd_ask, "chat": cmd_chat, "eval": cmd_eval, "sources": cmd_sources,
    "stats": cmd_stats, "config": cmd_config, "telegram": cmd_telegram,
}


def main(argv: list[str] | None = None) -> int:
    # Undecodable input (invalid UTF-8 on stdin, odd bytes in argv) must not end in a traceback.
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from ..embeddings import DISTRIBUTION, __version__

        print(f"newsbot {__version__} ({DISTRIBUTION})")
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        flags = {"model": getattr(args, "model", None), "milvus_uri": getattr(args, "milvus", None), "collection": getattr(args, "collection", None)}
        flags.update((key, getattr(args, attr, None)) for key, attr in FLAGS.get(args.command, ()))
        cfg = load_config(flags)
        for w in cfg.warnings:
            err(f"warning: {w}")
        return COMMANDS[args.command](args, cfg)
    except NewsbotError as e:
        err(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        err("interrupted.")
        return 130
    except BrokenPipeError:  # `newsbot config | head`: the reader left; no traceback, nothing more to write
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
