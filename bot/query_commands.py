"""The commands that read an index: `newsbot ask`, `chat`, `eval`, `sources` and `stats`."""

from __future__ import annotations

from pathlib import Path

from .common import EXIT_NOTHING, EXIT_OK, EXIT_USAGE, err
from .config import Config
from .indexes import index_spec
from .render import format_paragraphs, json_dumps, print_answer, printable


def _results(args, cfg: Config, fallback: int | None = None) -> int:
    """``-k``, else the configured results; ``fallback`` replaces the built-in default of 3."""
    if getattr(args, "k", None) is not None:
        return args.k
    if fallback is not None and not cfg.configured("results"):
        return fallback
    return cfg["results"]


def _retriever(args, cfg: Config):
    """The retriever for ``--index-dir`` (or the configured or default index)."""
    return index_spec(args.index_dir, cfg).load()


def _k_ok(k: int) -> bool:
    if k < 1:
        err(f"-k must be at least 1, not {k}: e.g. -k 3. (NEWSBOT_RESULTS / `results` in newsbot.toml set the default.)")
        return False
    return True


def cmd_ask(args, cfg: Config) -> int:
    k = _results(args, cfg)
    if not _k_ok(k):
        return EXIT_USAGE
    retriever = _retriever(args, cfg)
    answer = retriever.ask(args.question, k=k)
    if args.json:
        print(json_dumps(answer.to_dict()))
    else:
        print_answer(answer)
    return EXIT_OK if answer.answered else EXIT_NOTHING


def cmd_chat(args, cfg: Config) -> int:
    from .chat import run_chat

    k = _results(args, cfg)
    if not _k_ok(k):
        return EXIT_USAGE
    retriever = _retriever(args, cfg)
    return run_chat(retriever, k, args.json)


def cmd_eval(args, cfg: Config) -> int:
    from ..embeddings.evaluate import evaluate, load_questions

    questions = load_questions(args.questions, warn=err)
    k = _results(args, cfg, fallback=10)
    if not _k_ok(k):
        return EXIT_USAGE
    retriever = _retriever(args, cfg)
    retriever.warm_up()
    # "shown" and "off_source" are read at the results a reader sees (`newsbot chat`).
    reader_k = min(k, cfg["results"])
    m = evaluate(retriever, questions, k=k, reader_k=reader_k, expect_none=args.expect_none)
    misses = m.pop("misses")
    if args.json:
        print(json_dumps(m))
        return EXIT_OK
    keys = ["questions", "hit@1", "hit@3", "hit@5", "highlight@1", "mrr@10", "doc_hit@1", "doc_hit@5", "shown", "off_source",
            "highlight_chars", "false_abstain", "must_refuse", "false_answer", "false_answer_rate", "p50_ms", "p95_ms"]
    width = max(map(len, keys))
    for key in keys:
        print(f"{key:<{width}}  {m[key]}")
    if misses:
        print(f"\nmisses ({len(misses)}):")
        for r in misses:
            top = r["top"]
            what = "answered, should abstain" if r["abstain"] else (
                "abstained" if not r["answered"] else f"hit at rank {r['hit_rank']}" if r["hit_rank"] not in (None, 1) else "answer not highlighted" if r["hit_rank"] == 1 else "no hit")
            print(f"- {printable(r['q'])}  [{what}]  expected {printable(r['a'])}{' in ' + printable(r['source']) if r['source'] else ''}")
            if top:
                print(f"    got {printable(top['source'])} {format_paragraphs(top['paragraphs'])}: {printable(top['excerpt'][:120])}")
    return EXIT_OK


def cmd_sources(args, cfg: Config) -> int:
    from .chat import source_rows
    from .render import print_sources

    retriever = _retriever(args, cfg)
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


def cmd_stats(args, cfg: Config) -> int:
    retriever = _retriever(args, cfg)
    idx = retriever.index
    m = idx.manifest
    folder = idx.target.folder
    size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) if folder else None
    out = {
        "index_dir": str(folder) if folder else None, "milvus": idx.target.milvus, "collection": idx.target.collection if idx.target.milvus else None,
        "model": m["model"], "dim": m["dim"], "index_type": m.get("index_type"),
        "chunker": m["chunker"], "articles": len(idx.articles), "chunks": len(idx.passages), "files": len(m["files"]),
        "bytes": size, "size": _size(size) if size is not None else None, "created": m.get("created"), "build_seconds": m.get("build_seconds"),
        "format_version": m["format_version"], "corpus_files": sorted(m["files"]),
    }
    if args.json:
        print(json_dumps(out))
        return EXIT_OK
    c = m["chunker"]
    rows = [
        ("index", idx.location), ("size", f"{_size(size)} ({size} bytes)" if size is not None else "kept by Milvus"), ("model", f"{m['model']} ({m['dim']} dimensions, {m.get('index_type')})"),
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
