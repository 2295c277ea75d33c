"""The `newsbot` command: index, ask, eval, sources, stats, telegram.

Exit codes: 0 answered, 1 nothing relevant found, 2 usage error, 3 index problem.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from embeddings.errors import IndexCorrupt, IndexMismatch, IndexNotFound, NewsbotError

EXIT_OK, EXIT_NOTHING, EXIT_USAGE, EXIT_INDEX = 0, 1, 2, 3

EPILOG = {
    "index": 'example:\n  newsbot index ~/papers/ --index-dir ~/newsbot-index\n  NEWSBOT_INDEX_DIR=~/newsbot-index newsbot ask "杭州电信工会和哪家医院合作？"',
    "ask": 'example:\n  newsbot ask "杭州电信工会和哪家医院合作？"\n  newsbot ask "Who chairs the Yongjiang union?" -k 3 --json',
    "eval": "example:\n  newsbot eval questions.jsonl --index-dir ./idx --json",
    "sources": "example:\n  newsbot sources --json",
    "stats": "example:\n  newsbot stats",
    "telegram": "example:\n  TELEGRAM_BOT_TOKEN=123:ABC newsbot telegram",
}


def _err(msg: str) -> None:
    print(f"newsbot: {msg}", file=sys.stderr)


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
    sp.add_argument("-k", type=int, default=3, help="number of results (default 3)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")

    sp = cmd("eval", "Measure retrieval quality on a JSON Lines question file.")
    sp.add_argument("questions", type=Path)
    index_dir(sp)
    sp.add_argument("-k", type=int, default=10, help="results per question (default 10)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")

    sp = cmd("sources", "List the articles in the index.")
    index_dir(sp)
    sp.add_argument("--json", action="store_true")

    sp = cmd("stats", "Show index size, model and settings.")
    index_dir(sp)
    sp.add_argument("--json", action="store_true")

    sp = cmd("telegram", "Run the Telegram bot (token from $TELEGRAM_BOT_TOKEN or --token-file).")
    index_dir(sp)
    sp.add_argument("--token-file", type=Path, help="file holding the bot token")
    sp.add_argument("--webhook-url", help="serve a webhook at this public URL instead of long polling")
    sp.add_argument("--listen", default="127.0.0.1", help="webhook listen address (default 127.0.0.1)")
    sp.add_argument("--port", type=int, default=8443, help="webhook port (default 8443)")
    return p


# -- index loading ------------------------------------------------------------------------------


def resolve_index_dir(arg: Path | None) -> tuple[Path, bool]:
    """The index folder to use, and whether it is the default (which may be built on demand)."""
    from embeddings.search import default_index_dir

    if arg is not None:
        return arg.expanduser(), False
    return default_index_dir(), "NEWSBOT_INDEX_DIR" not in os.environ


def build_default_index(path: Path, quiet: bool = False):
    """Index the sample page shipped in the package into ``path``."""
    from embeddings.index import build_index
    from embeddings.search import sample_corpus

    if not quiet:
        print(f"newsbot: first run: indexing the sample newspaper page into {path} (once; later runs reuse it)…", file=sys.stderr)
    return build_index([sample_corpus()], path, warn=lambda m: _err(m), force=True)


def load_retriever(arg: Path | None):
    """Load the retriever; the default index is built from the sample corpus when missing or stale."""
    from embeddings.search import Retriever

    path, is_default = resolve_index_dir(arg)
    try:
        return Retriever.load(path)
    except (IndexNotFound, IndexMismatch, IndexCorrupt) as e:
        if not is_default:
            raise
        if not isinstance(e, IndexNotFound):
            _err(f"{e}\nRebuilding the default index.")
        build_default_index(path)
        return Retriever.load(path)


# -- rendering ----------------------------------------------------------------------------------


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def format_paragraphs(paras) -> str:
    paras = list(paras)
    return f"¶{paras[0]}" if len(paras) == 1 else f"¶{paras[0]}-{paras[-1]}"


def render_hit(hit, color: bool) -> str:
    """``[n] title · source ¶p`` then the excerpt, the answering sentence highlighted."""
    a, b = hit.highlight
    ex = hit.excerpt
    if color:
        head = f"\x1b[1m[{hit.rank}] {hit.title}\x1b[0m \x1b[2m· {hit.source} {format_paragraphs(hit.paragraphs)}\x1b[0m"
        body = ex[:a] + "\x1b[1;33m" + ex[a:b] + "\x1b[0m" + ex[b:]
    else:
        head = f"[{hit.rank}] {hit.title} · {hit.source} {format_paragraphs(hit.paragraphs)}"
        body = ex[:a] + "**" + ex[a:b] + "**" + ex[b:]
    body = "\n".join("    " + line for line in body.splitlines())
    return f"{head}\n{body}"


def render_answer(answer, color: bool | None = None) -> str:
    color = _color() if color is None else color
    if not answer.answered:
        return "Nothing relevant found in the indexed articles. (没有找到相关内容。)"
    return "\n\n".join(render_hit(h, color) for h in answer.hits)


# -- commands -----------------------------------------------------------------------------------


def cmd_index(args) -> int:
    from embeddings.chunking import ChunkSettings
    from embeddings.index import build_index

    path, _ = resolve_index_dir(args.index_dir)
    defaults = ChunkSettings()
    try:
        settings = ChunkSettings(
            args.chunk_target or defaults.target, args.chunk_max or max(defaults.maximum, args.chunk_target or 0), defaults.overlap if args.chunk_overlap is None else args.chunk_overlap
        )
    except ValueError as e:
        _err(f"bad chunk settings: {e}.")
        return EXIT_USAGE
    tty = sys.stderr.isatty()

    def progress(done, total):
        if tty:
            print(f"\rembedding {done}/{total} chunks", end="", file=sys.stderr, flush=True)

    report = build_index(args.paths, path, model=args.model, settings=settings, warn=lambda m: _err(f"warning: {m}"), progress=progress, force=args.force)
    if tty and report.embedded:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    elif report.up_to_date:
        print(f"Index at {path} is up to date: {report.files} files, {report.passages} chunks. (Use --force to rebuild.)")
    else:
        print(
            f"Indexed {report.files} files ({len(report.skipped)} skipped), {report.articles} articles, "
            f"{report.passages} chunks ({report.reused} embeddings re-used) into {path} in {report.seconds:.1f}s."
        )
    return EXIT_OK


def cmd_ask(args) -> int:
    if args.k < 1:
        _err("-k must be at least 1.")
        return EXIT_USAGE
    retriever = load_retriever(args.index_dir)
    answer = retriever.ask(args.question, k=args.k)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print(render_answer(answer))
    return EXIT_OK if answer.answered else EXIT_NOTHING


def cmd_eval(args) -> int:
    from embeddings.evaluate import evaluate, load_questions

    questions = load_questions(args.questions)
    retriever = load_retriever(args.index_dir)
    retriever.warm_up()
    m = evaluate(retriever, questions, k=args.k)
    misses = m.pop("misses")
    if args.json:
        print(json.dumps(m, ensure_ascii=False))
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
            print(f"- {r['q']}  [{what}]  expected {r['a']}{' in ' + r['source'] if r['source'] else ''}")
            if top:
                print(f"    got {top['source']} {format_paragraphs(top['paragraphs'])}: {top['excerpt'][:120]}")
    return EXIT_OK


def cmd_sources(args) -> int:
    retriever = load_retriever(args.index_dir)
    index = retriever.index
    counts: dict[int, int] = {}
    for p in index.passages:
        counts[p.article] = counts.get(p.article, 0) + 1
    rows = [{"title": a.title, "source": a.source, "paragraphs": len(a.paragraphs), "chunks": counts.get(a.id, 0)} for a in index.articles]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for i, r in enumerate(rows, 1):
            print(f"{i:>3}. {r['title']} · {r['source']} ({r['paragraphs']} paragraphs, {r['chunks']} chunks)")
    return EXIT_OK


def cmd_stats(args) -> int:
    retriever = load_retriever(args.index_dir)
    idx = retriever.index
    m = idx.manifest
    size = sum(f.stat().st_size for f in idx.path.rglob("*") if f.is_file())
    out = {
        "index_dir": str(idx.path), "model": m["model"], "dim": m["dim"], "index_type": m.get("index_type"),
        "chunker": m["chunker"], "articles": len(idx.articles), "chunks": len(idx.passages), "files": len(m["files"]),
        "bytes": size, "created": m.get("created"), "build_seconds": m.get("build_seconds"), "format_version": m["format_version"],
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for k, v in out.items():
            print(f"{k:<15} {v}")
    return EXIT_OK


def cmd_telegram(args) -> int:
    # Imported here: python-telegram-bot is only needed by this command.
    from bot.telegram_bot import run

    return run(args)


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "eval": cmd_eval, "sources": cmd_sources, "stats": cmd_stats, "telegram": cmd_telegram}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from embeddings import __version__

        print(f"newsbot {__version__}")
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except NewsbotError as e:
        _err(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _err("interrupted.")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
