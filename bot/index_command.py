"""`newsbot index`: build or update an index folder from files and folders, and report what was done."""

from __future__ import annotations

import sys

from .common import EXIT_OK, EXIT_USAGE, err
from .config import Config
from .indexes import resolve_target
from .progress import IndexProgress
from .render import json_dumps, printable
from ..embeddings.errors import IndexError_


def cmd_index(args, cfg: Config) -> int:
    from ..embeddings.chunking import ChunkSettings
    from ..embeddings.index import build_index

    target, _ = resolve_target(args.index_dir, cfg)
    path = target if target.is_milvus else target.folder
    defaults = ChunkSettings()
    try:
        settings = ChunkSettings(
            args.chunk_target or defaults.target, args.chunk_max or max(defaults.maximum, args.chunk_target or 0), defaults.overlap if args.chunk_overlap is None else args.chunk_overlap
        )
    except ValueError as e:
        err(f"bad chunk settings: {e}. Leave the --chunk-* flags out to use the defaults (--chunk-target 160 --chunk-max 250 --chunk-overlap 40).")
        return EXIT_USAGE
    model = args.model or cfg.get("model")
    progress = IndexProgress(sys.stderr.isatty() and not args.json)
    try:
        try:
            report = build_index(
                args.paths, path, model=model, settings=settings, warn=lambda m: err(f"warning: {printable(m)}"), progress=progress,
                force=args.force, max_file_chars=cfg["max_file_chars"],
            )
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
        if target.is_milvus:
            hint = f" --milvus {target.milvus}" + (f" --collection {target.collection}" if target.collection != "newsbot" else "")
        else:
            hint = "" if args.index_dir is None and not cfg.configured("index_dir") else f" --index-dir {path}"
        print(f'Next: newsbot ask "你的问题"{hint}   (or: newsbot chat{hint})')
    return EXIT_OK
