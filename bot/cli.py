"""The `newsbot` command: index, ask, chat, eval, sources, stats, config, telegram.

Exit codes: 0 answered, 1 nothing relevant found, 2 usage error, 3 index problem.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from .render import format_paragraphs, json_dumps, print_answer, printable
from ..embeddings.errors import IndexCorrupt, IndexError_, IndexMismatch, IndexNotFound, NewsbotError

EXIT_OK, EXIT_NOTHING, EXIT_USAGE, EXIT_INDEX = 0, 1, 2, 3

EPILOG = {
    "index": 'example:\n  newsbot index ~/papers/ --index-dir ~/newsbot-index\n  NEWSBOT_INDEX_DIR=~/newsbot-index newsbot ask "杭州电信工会和哪家医院合作？"',
    "ask": 'example:\n  newsbot ask "杭州电信工会和哪家医院合作？"\n  newsbot ask "Who chairs the Yongjiang union?" -k 3 --json',
    "eval": "example:\n  newsbot eval questions.jsonl --index-dir ./idx --json",
    "sources": "example:\n  newsbot sources --json",
    "stats": "example:\n  newsbot stats",
    "telegram": "example:\n  TELEGRAM_BOT_TOKEN=123:ABC newsbot telegram",
    "chat": (
        "example:\n  newsbot chat\n  newsbot> 杭州电信工会和哪家医院合作？\n  newsbot> :more\n  newsbot> :full 1\n"
        "  printf '问题一\\n问题二\\n' | newsbot chat --json   # JSON Lines, one answer a line\n\n"
        "commands: :more  :full N  :sources  :help  :quit (or Ctrl-D)"
    ),
    "config": (
        "example:\n  newsbot config\n  NEWSBOT_RESULTS=5 newsbot config --json\n\n"
        "precedence: command-line flags > environment (NEWSBOT_*) > ./newsbot.toml > the user's newsbot.toml > defaults.\n"
        "except telegram_bot_token and telegram_api_url, which are never read from ./newsbot.toml (the current folder\n"
        "may be someone else's, and its file could send your token to their server): set them in the environment\n"
        "(TELEGRAM_BOT_TOKEN or `newsbot telegram --token-file`, NEWSBOT_TELEGRAM_API_URL) or in the user's newsbot.toml.\n"
        "newsbot.toml keys are the variable names in lower case without NEWSBOT_, e.g.\n"
        '  index_dir = "~/newsbot-index"\n  results = 5\n  allowed_users = [123456789]'
    ),
}


def _err(msg: str) -> None:
    print(f"newsbot: {printable(msg, lines=True)}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with a hint, as argparse does
        self.print_usage(sys.stderr)
        _err(f"{message}\nRun `{self.prog} --help` for the options and an example.")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="newsbot", description="Ask questions about Chinese newspaper articles; get cited excerpts.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    def cmd(name, help_):
        return sub.add_parser(name, help=help_, description=help_, epilog=EPILOG.get(name), formatter_class=argparse.RawDescriptionHelpFormatter)

    def index_dir(sp):
        sp.add_argument("--index-dir", type=Path, help="index folder (default: $NEWSBOT_INDEX_DIR, else the per-user cache)")

    def search_model(sp):
        sp.add_argument("--model", help="the index's encoder, when it is neither the default nor a local folder (loaded only when named here)")

    sp = cmd("index", "Index .txt/.md files and folders (recursive) into an index folder.")
    sp.add_argument("paths", nargs="+", help="files or folders to index")
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
    sp.add_argument("--token-file", type=Path, help="file holding the bot token")
    sp.add_argument("--webhook-url", help="serve a webhook at this public URL instead of long polling")
    sp.add_argument("--listen", default="127.0.0.1", help="webhook listen address (default 127.0.0.1)")
    sp.add_argument("--port", type=int, default=8443, help="webhook port (default 8443)")
    return p


# -- configuration ---------------------------------------------------------------------------

_CONFIG = None


def get_config(flags: dict | None = None, reload: bool = False):
    """The effective :class:`bot.config.Config` (flags > environment > newsbot.toml > defaults)."""
    global _CONFIG
    from .config import load_config

    if _CONFIG is None or reload or flags is not None:
        _CONFIG = load_config(flags)
    return _CONFIG


def _results(args, fallback: int | None = None) -> int:
    """``-k``, else the configured results; ``fallback`` replaces the built-in default of 3."""
    if getattr(args, "k", None) is not None:
        return args.k
    cfg = get_config()
    if fallback is not None and not cfg.configured("results"):
        return fallback
    return cfg["results"]


# -- index loading ------------------------------------------------------------------------------


def resolve_index_dir(arg: Path | None) -> tuple[Path, bool]:
    """The index folder to use, and whether it is the default (which may be built on demand)."""
    from ..embeddings.search import default_index_dir

    if arg is not None:
        return Path(arg).expanduser(), False
    cfg = get_config()
    if cfg.configured("index_dir"):  # flag, $NEWSBOT_INDEX_DIR or newsbot.toml
        return Path(cfg["index_dir"]).expanduser(), False
    return default_index_dir(), "NEWSBOT_INDEX_DIR" not in os.environ


def build_default_index(path: Path, quiet: bool = False):
    """Index the sample page shipped in the package into ``path``."""
    from ..embeddings.index import build_index
    from ..embeddings.search import sample_corpus

    if not quiet:
        print(f"newsbot: first run: indexing the sample newspaper page into {printable(path)} (once; later runs reuse it)…", file=sys.stderr)
    return build_index([sample_corpus()], path, warn=lambda m: _err(m), force=True)


def _named_model() -> str | None:
    """The model given with ``--model`` on this command line: the only way to have an index's
    hub model loaded (an index folder or a config file cannot ask for one by itself)."""
    cfg = get_config()
    return cfg["model"] if cfg.sources.get("model") == "flag" else None


def load_retriever(arg: Path | None):
    """Load the retriever; the default index is built from the sample corpus when missing or stale."""
    from ..embeddings.search import Retriever

    path, is_default = resolve_index_dir(arg)
    try:
        return Retriever.load(path, model=_named_model())
    except (IndexNotFound, IndexMismatch, IndexCorrupt) as e:
        if not is_default:
            raise
        if not isinstance(e, IndexNotFound):
            _err(f"{e}\nRebuilding the default index.")
        build_default_index(path)
        return Retriever.load(path, model=_named_model())


# -- commands -----------------------------------------------------------------------------------


class _IndexProgress:
    """A rich progress bar on stderr (terminals only): chunks embedded, chunks per second, ETA."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.text import Text

            class Speed(ProgressColumn):
                def render(self, task):
                    speed = task.finished_speed or task.speed
                    return Text(f"{speed:.0f} chunks/s" if speed else "", style="progress.data.speed")

            self.bar = Progress(
                TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), Speed(), TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
                console=Console(stderr=True), transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task("embedding", total=total)
        self.bar.update(self.task, completed=done, total=total)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def cmd_index(args) -> int:
    from ..embeddings.chunking import ChunkSettings
    from ..embeddings.index import build_index

    path, _ = resolve_index_dir(args.index_dir)
    defaults = ChunkSettings()
    try:
        settings = ChunkSettings(
            args.chunk_target or defaults.target, args.chunk_max or max(defaults.maximum, args.chunk_target or 0), defaults.overlap if args.chunk_overlap is None else args.chunk_overlap
        )
    except ValueError as e:
        _err(f"bad chunk settings: {e}. See `newsbot index --help` for the defaults.")
        return EXIT_USAGE
    model = args.model or get_config().get("model")
    progress = _IndexProgress(sys.stderr.isatty() and not args.json)
    try:
        try:
            report = build_index(args.paths, path, model=model, settings=settings, warn=lambda m: _err(f"warning: {printable(m)}"), progress=progress, force=args.force)
        except OSError as e:
            raise IndexError_(
                f"Cannot write the index at {path}: {e.strerror or e}. The previous index there is unchanged; "
                "free some space (or choose another --index-dir) and run `newsbot index` again."
            ) from None
    finally:
        progress.stop()
    if args.json:
        print(json_dumps(report.to_dict()))
        return EXIT_OK
    path = printable(path)
    if report.up_to_date:
        print(f"Index at {path} is up to date: {report.files} files, {report.passages} chunks. (Use --force to rebuild.)")
    else:
        print(
            f"Indexed {report.files} files ({len(report.skipped)} skipped), {report.articles} articles, "
            f"{report.passages} chunks ({report.reused} embeddings re-used) into {path} in {report.seconds:.1f}s."
        )
    print(f"  files read      {report.files}")
    print(f"  skipped         {len(report.skipped)}")
    for why in report.skipped:
        print(f"    - {printable(why)}")
    print(f"  articles        {report.articles}")
    print(f"  chunks          {report.passages}")
    print(f"  embedded        {report.embedded}")
    print(f"  re-used         {report.reused}")
    print(f"  time            {report.seconds:.1f}s")
    if not report.up_to_date:
        hint = "" if args.index_dir is None and not get_config().configured("index_dir") else f" --index-dir {path}"
        print(f'Next: newsbot ask "你的问题"{hint}   (or: newsbot chat{hint})')
    return EXIT_OK


def _k_ok(k: int) -> bool:
    if k < 1:
        _err(f"-k must be at least 1, not {k}: e.g. -k 3. (NEWSBOT_RESULTS / `results` in newsbot.toml set the default.)")
        return False
    return True


def cmd_ask(args) -> int:
    k = _results(args)
    if not _k_ok(k):
        return EXIT_USAGE
    retriever = load_retriever(args.index_dir)
    answer = retriever.ask(args.question, k=k)
    if args.json:
        print(json_dumps(answer.to_dict()))
    else:
        print_answer(answer)
    return EXIT_OK if answer.answered else EXIT_NOTHING


def cmd_chat(args) -> int:
    from .chat import run_chat

    k = _results(args)
    if not _k_ok(k):
        return EXIT_USAGE
    retriever = load_retriever(args.index_dir)
    return run_chat(retriever, k, args.json)


def cmd_eval(args) -> int:
    from ..embeddings.evaluate import evaluate, load_questions

    questions = load_questions(args.questions)
    k = _results(args, fallback=10)
    if not _k_ok(k):
        return EXIT_USAGE
    retriever = load_retriever(args.index_dir)
    retriever.warm_up()
    m = evaluate(retriever, questions, k=k)
    misses = m.pop("misses")
    if args.json:
        print(json_dumps(m))
        return EXIT_OK
    keys = ["questions", "hit@1", "hit@3", "hit@5", "mrr@10", "doc_hit@1", "doc_hit@5", "abstain_total", "abstain_correct", "false_abstain", "p50_ms", "p95_ms"]
    width = max(map(len, keys))
    for key in keys:
        print(f"{key:<{width}}  {m[key]}")
    if misses:
        print(f"\nmisses ({len(misses)}):")
        for r in misses:
            top = r["top"]
            what = "answered, should abstain" if r["abstain"] else ("abstained" if not r["answered"] else f"hit at rank {r['hit_rank']}" if r["hit_rank"] else "no hit")
            print(f"- {printable(r['q'])}  [{what}]  expected {printable(r['a'])}{' in ' + printable(r['source']) if r['source'] else ''}")
            if top:
                print(f"    got {printable(top['source'])} {format_paragraphs(top['paragraphs'])}: {printable(top['excerpt'][:120])}")
    return EXIT_OK


def cmd_sources(args) -> int:
    from .chat import source_rows
    from .render import print_sources

    retriever = load_retriever(args.index_dir)
    rows = source_rows(retriever.index)
    if args.json:
        print(json_dumps(rows))
    else:
        print_sources(rows)
    return EXIT_OK


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def cmd_stats(args) -> int:
    retriever = load_retriever(args.index_dir)
    idx = retriever.index
    m = idx.manifest
    size = sum(f.stat().st_size for f in idx.path.rglob("*") if f.is_file())
    out = {
        "index_dir": str(idx.path), "model": m["model"], "dim": m["dim"], "index_type": m.get("index_type"),
        "chunker": m["chunker"], "articles": len(idx.articles), "chunks": len(idx.passages), "files": len(m["files"]),
        "bytes": size, "size": _size(size), "created": m.get("created"), "build_seconds": m.get("build_seconds"),
        "format_version": m["format_version"], "corpus_files": sorted(m["files"]),
    }
    if args.json:
        print(json_dumps(out))
        return EXIT_OK
    c = m["chunker"]
    rows = [
        ("index", str(idx.path)), ("size", f"{_size(size)} ({size} bytes)"), ("model", f"{m['model']} ({m['dim']} dimensions, {m.get('index_type')})"),
        ("chunks", f"target {c.get('target')}, max {c.get('maximum')}, overlap {c.get('overlap')} characters"),
        ("articles", len(idx.articles)), ("chunk count", len(idx.passages)),
        ("built", f"{m.get('created')} in {m.get('build_seconds')}s"), ("format", m["format_version"]),
        ("corpus files", len(m["files"])),
    ]
    for key, v in rows:
        print(f"{key:<13} {printable(v)}")
    for name in out["corpus_files"][:20]:
        print(f"  - {printable(name)}")
    if len(out["corpus_files"]) > 20:
        print(f"  … and {len(out['corpus_files']) - 20} more (`newsbot stats --json` lists them all)")
    return EXIT_OK


def cmd_config(args) -> int:
    cfg = get_config({"index_dir": args.index_dir, "results": args.k, "model": args.model})
    data = cfg.to_dict()
    if args.json:
        print(json_dumps({"settings": data, "files": cfg.files}))
        return EXIT_OK
    from .config import FIELDS, config_files

    width = max(len(f.key) for f in FIELDS)
    for f in FIELDS:
        d = data[f.key]
        v = d["value"]
        shown = "(not set)" if v is None or v == [] else ",".join(map(str, v)) if isinstance(v, list) else str(v)
        src = d["source"]
        src = f"${f.env}" if src == "env" else ("command line" if src == "flag" else src)
        print(f"{f.key:<{width}}  {printable(shown)}  [{src}]")
    from .config import user_only_note

    print("\nnote: " + user_only_note())
    print("config files: " + printable(", ".join(cfg.files) if cfg.files else "none (looked for " + " and ".join(map(str, config_files())) + ")"))
    return EXIT_OK


def cmd_telegram(args) -> int:
    # Imported here: python-telegram-bot is only needed by this command.
    from .config import export_to_env
    from .telegram_bot import run

    export_to_env(get_config())  # the bot reads NEWSBOT_* itself; newsbot.toml values fill the gaps
    return run(args)


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
        cfg = get_config({"model": getattr(args, "model", None)}, reload=True)
        for w in cfg.warnings:
            _err(f"warning: {w}")
        return COMMANDS[args.command](args)
    except NewsbotError as e:
        _err(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _err("interrupted.")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
