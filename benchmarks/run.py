"""Performance and scale benchmark: throughput, latency, memory, quality against a LangChain peer.

    python benchmarks/run.py [--sizes 1000,10000,100000] [--json] [--quick] [--real-rebuild]

One process, one run. Progress goes to stderr. Without ``--json`` the tables go to stdout; with
``--json`` they go to stderr and the last line of stdout is one JSON object. How the corpus and
the large indexes are made is in ``benchmarks/corpus.py`` and the README (Performance).

Definitions (all on this machine, wall clock):

* ``encoder.chunks_per_s``: one ``USEEncoder.encode`` call on the first N chunks of the corpus
  (their embedded text: headline + chunk), after a warm-up.
* ``index_s``: ``build_index`` run with the stand-in encoder, minus the time spent inside the
  stand-in (the *overhead*: reading, chunking, tokenising, BM25 and FAISS, writing), plus
  ``chunks / encoder.chunks_per_s`` (what the real encoder takes for that many chunks).
  ``index_vs_encoder`` = (chunks / index_s) / encoder.chunks_per_s
  = encode time / (encode time + overhead).
* query latency (per question, CMRC trial questions, after a warm-up):
  ``encode`` = USE query encoding alone;
  ``bm25`` = question tokens + bm25s scores of every chunk + top 40;
  ``dense`` = USE query encoding + FAISS search top 40;
  ``hybrid`` = ``Retriever.candidates(q, terms, 40)`` + top 10 (question tokens, BM25 top 40 and
  FAISS top 40, each rescored the other way, fused; no merging, no excerpts);
  ``ask`` = ``Retriever.ask(q, k=5)`` (the whole answer: fusion, merging, excerpts, abstention).
* ``rss_mb``: peak RSS (``VmHWM``) of a fresh process that loads the index and the encoder
  and answers the latency questions with ``ask``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent  # on sys.path as the script's folder: `corpus`, `peer`

from corpus import (  # noqa: E402
    CMRC_DIR,
    CMRC_QUESTIONS,
    SEED_DEV,
    CachedEncoder,
    build_corpus,
    file_chunks,
    write_extra_file,
)

from newsbot.embeddings.encoders import load_encoder  # noqa: E402
from newsbot.embeddings.evaluate import evaluate, load_questions  # noqa: E402
from newsbot.embeddings.fusion import top_n  # noqa: E402
from newsbot.embeddings.index import Index, build_index  # noqa: E402
from newsbot.bot.indexes import sample_corpus  # noqa: E402
from newsbot.embeddings.search import Retriever, SearchSettings  # noqa: E402
from newsbot.embeddings.util import percentile  # noqa: E402
from newsbot.embeddings.tokenize import query_terms  # noqa: E402

COLD_QUESTION = "杭州电信工会和哪家医院合作？"
TARGETS = {
    "hybrid_p95_ms_at_100k": 20.0,
    "ask_p95_ms": 30.0,
    "index_vs_encoder": 0.85,
    "cold_start_ask_s": 2.0,
    "rss_mb_at_100k": 1024.0,
    "incremental_ratio": 0.05,
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float]) -> tuple[float, float]:
    """p50 and p95 (nearest rank, as `newsbot eval` and the bot's /stats report them)."""
    return round(percentile(values, 50), 2), round(percentile(values, 95), 2)


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def timed(fn, queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


# -- the RSS probe (runs in a fresh process) ---------------------------------------------------


def rss_probe(index_dir: str, queries_file: str) -> None:
    t0 = time.perf_counter()
    index = Index.load(index_dir)
    r = Retriever(index)
    r.warm_up()
    load_s = time.perf_counter() - t0
    queries = Path(queries_file).read_text(encoding="utf-8").splitlines()
    for q in queries:
        r.ask(q, k=5)
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child of a big benchmark process
    # would report its parent's peak.
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    peak = int(status["VmHWM"].split()[0]) / 1024
    now = int(status["VmRSS"].split()[0]) / 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rss_mb": round(peak, 1), "rss_end_mb": round(now, 1), "ru_maxrss_mb": round(maxrss, 1), "load_s": round(load_s, 2)}))


def measure_rss(index_dir: Path, queries_file: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--rss-probe", str(index_dir), str(queries_file)]
    for attempt in (1, 2):
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode == 0:
            return json.loads(out.stdout.strip().splitlines()[-1])
        log(f"rss probe failed (attempt {attempt}): {out.stderr[-800:]}")
    return {"rss_mb": float("nan"), "rss_end_mb": float("nan"), "load_s": float("nan")}


# -- pieces --------------------------------------------------------------------------------------


def corpus_texts(corpus, limit: int) -> list[str]:
    """Embedded texts of the first ``limit`` chunks of the corpus, in index order."""
    texts: list[str] = []
    for f in corpus.files:
        texts.extend(file_chunks(f.read_text(encoding="utf-8-sig"), f.name))
        if len(texts) >= limit:
            break
    return texts[:limit]


def build_timed(files, index_dir: Path, stand: CachedEncoder, chunks_per_s: float, **kw) -> dict:
    stand.seconds = 0.0
    stand.synthetic = 0
    t = time.perf_counter()
    rep = build_index(files, index_dir, encoder=stand, **kw)
    wall = time.perf_counter() - t
    overhead = wall - stand.seconds
    encode = rep.passages / chunks_per_s
    return {
        "chunks": rep.passages,
        "files": rep.files,
        "build_wall_s": round(wall, 2),
        "stand_in_s": round(stand.seconds, 2),
        "stand_in_synthetic": stand.synthetic,
        "overhead_s": round(overhead, 2),
        "real_encode_s": round(encode, 2),
        "index_s": round(overhead + encode, 2),
    }


def quality(name, index_dir: Path, questions, encoder, log_prefix: str) -> dict:
    """hit@k, MRR and highlight@1 of each method on ``questions``, and false answers: the
    out_of_corpus questions (nothing here answers them) that it answers anyway. newsbot runs at
    its default settings for the encoder (what a reader sees), varying only the BM25 weight."""
    from peer import Peer
    from precision import OOC

    index = Index.load(index_dir)
    base = SearchSettings.for_model(index.model)
    ooc = load_questions(OOC)
    keys = ("hit@1", "hit@5", "mrr@10", "doc_hit@1", "highlight@1", "false_abstain", "p50_ms", "p95_ms")
    out = {"chunks": len(index.passages), "questions": len(questions), "out_of_corpus": len(ooc)}
    peer = Peer(index, encoder, k=10)
    for mode, method in (("bm25", 1.0), ("dense", 0.0), ("hybrid", base.bm25_weight), ("peer", peer)):
        if not isinstance(method, Peer):
            method = Retriever(index, encoder, replace(base, bm25_weight=method))
        m = evaluate(method, questions, k=10)
        out[mode] = {k: m[k] for k in keys}
        out[mode]["false_answer"] = evaluate(method, ooc, k=10, expect_none=True)["false_answer"]
        log(f"{log_prefix} {mode}: hit@1 {m['hit@1']} hit@5 {m['hit@5']} mrr@10 {m['mrr@10']} highlight@1 {m['highlight@1']} "
            f"false answers {out[mode]['false_answer']}/{len(ooc)}")
    return out


def ann_recall(index, encoder, queries) -> dict:
    """recall@10 of the index's FAISS search against exact inner-product search (1.0 when exact)."""
    import faiss

    qv = encoder.encode(queries)
    exact = faiss.IndexFlatIP(index.dense.d)
    exact.add(index.dense.reconstruct_n(0, index.dense.ntotal))
    _, want = exact.search(qv, 10)
    _, got = index.dense.search(qv, 10)
    del exact
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got)]))
    return {"index_type": index.manifest.get("index_type"), "recall@10": round(recall, 4)}


def size_run(n, corpus, stand, encoder, chunks_per_s, work: Path, queries, peer_queries, queries_file, with_peer=True, profile_it=False) -> tuple[dict, dict]:
    from peer import Peer

    files, _ = corpus.prefix(n)
    idx = work / f"idx_{n}"
    log(f"size {n}: indexing {len(files)} files with the stand-in encoder…")
    b = build_timed(files, idx, stand, chunks_per_s)
    log(f"size {n}: {b['chunks']} chunks, build {b['build_wall_s']} s (stand-in {b['stand_in_s']} s), overhead {b['overhead_s']} s")
    index = Index.load(idx)
    r = Retriever(index, encoder)
    hybrid_settings = r.settings
    cands = hybrid_settings.candidates

    def bm25_only(q):
        terms = query_terms(q)
        known = [t for t in terms if t in index.bm25.vocab_dict]
        s = index.bm25.get_scores(known) if known else np.zeros(len(index.passages), np.float32)
        return top_n(s, cands)

    def dense_only(q):
        v = encoder.encode([q])
        return index.dense.search(v, cands)

    for q in queries[:5]:
        r.ask(q, k=5)
        bm25_only(q)
        dense_only(q)
    lat = {}
    lat["encode"] = timed(lambda q: encoder.encode([q]), queries)
    lat["bm25"] = timed(bm25_only, queries)
    lat["dense"] = timed(dense_only, queries)
    def hybrid(q):  # the search proper: BM25 top 40 + FAISS top 40, fused
        ids, fused, *_ = r.candidates(q, query_terms(q), cands)
        return ids[top_n(fused, 10)]
    for q in queries[:3]:
        hybrid(q)
    lat["hybrid"] = timed(hybrid, queries)
    lat["ask"] = timed(lambda q: r.ask(q, k=5), queries)
    p = {m: pct(v) for m, v in lat.items()}
    profile = None
    if profile_it:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        for q in queries:
            r.ask(q, k=5)
        pr.disable()
        st = pstats.Stats(pr)
        rows = []
        for (fname, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():
            rows.append({"function": f"{Path(fname).name}:{line}:{func}", "calls_per_q": round(nc / len(queries), 1),
                         "tottime_ms_per_q": round(tt * 1000 / len(queries), 2), "cumtime_ms_per_q": round(ct * 1000 / len(queries), 2)})
        profile = {"by_cumtime": sorted(rows, key=lambda x: -x["cumtime_ms_per_q"])[:25],
                   "by_tottime": sorted(rows, key=lambda x: -x["tottime_ms_per_q"])[:15]}
        log("profile (ask, tottime ms/question): " + "; ".join(f"{x['function']} {x['tottime_ms_per_q']}" for x in profile["by_tottime"][:8]))
    log(f"size {n}: p50/p95 ms " + ", ".join(f"{m} {a}/{b_}" for m, (a, b_) in p.items()))
    ann = ann_recall(index, encoder, queries)
    log(f"size {n}: FAISS {ann}")
    rss = measure_rss(idx, queries_file)
    log(f"size {n}: rss {rss}")
    row = {
        "chunks": b["chunks"],
        "files": b["files"],
        "index_s": b["index_s"],
        "index_chunks_per_s": round(b["chunks"] / b["index_s"], 1),
        "index_vs_encoder": round(b["chunks"] / b["index_s"] / chunks_per_s, 3),
        "index_overhead_s": b["overhead_s"],
        "index_real_encode_s": b["real_encode_s"],
        "index_build_wall_s": b["build_wall_s"],
        "stand_in_encoder_s": b["stand_in_s"],
        "stand_in_synthetic_chunks": b["stand_in_synthetic"],
        "queries": len(queries),
        "query_p50_ms": {m: v[0] for m, v in p.items()},
        "query_p95_ms": {m: v[1] for m, v in p.items()},
        "ask_profile": profile,
        "rss_mb": rss["rss_mb"],
        "rss_end_mb": rss["rss_end_mb"],
        "load_s": rss["load_s"],
        "index_bytes": dir_bytes(idx),
        "index_type": index.manifest.get("index_type"),
        "recall@10_vs_exact": ann["recall@10"],
    }
    peer_row = {}
    if with_peer:
        vectors = index.dense.reconstruct_n(0, index.dense.ntotal)
        t = time.perf_counter()
        peer = Peer(index, encoder, k=10, vectors=vectors)
        peer_build = time.perf_counter() - t
        del vectors
        for q in peer_queries[:3]:
            peer.search(q)
        pl = timed(peer.search, peer_queries)
        p50, p95 = pct(pl)
        peer_row = {"chunks": b["chunks"], "queries": len(peer_queries), "query_p50_ms": p50, "query_p95_ms": p95,
                    "build_s": round(peer_build, 2)}
        log(f"size {n}: peer build {peer_build:.1f} s, p50/p95 {p50}/{p95} ms")
        del peer
    del r, index
    shutil.rmtree(idx, ignore_errors=True)
    return row, peer_row


def incremental(corpus, stand, encoder, chunks_per_s, work: Path, base_n: int, real_rebuild: bool) -> dict:
    files, _ = corpus.prefix(base_n)
    idx = work / "inc_idx"
    log(f"incremental: base index of ~{base_n} chunks…")
    base = build_index(files, idx, encoder=stand)
    extra = work / "extra" / "new_article.txt"
    added = write_extra_file(extra, corpus, 50)
    log(f"incremental: adding one file of {added} chunks (real encoder for the new chunks)…")
    t = time.perf_counter()
    rep = build_index([*files, extra], idx, encoder=encoder)
    add_s = time.perf_counter() - t
    fresh = work / "inc_fresh"
    out = {"base_chunks": base.passages, "added_chunks": rep.passages - base.passages, "embedded_on_add": rep.embedded,
           "reused_on_add": rep.reused, "add_s": round(add_s, 2)}
    if real_rebuild:
        log("incremental: full rebuild with the real encoder…")
        t = time.perf_counter()
        full = build_index([*files, extra], fresh, encoder=encoder, force=True)
        out["full_rebuild_s"] = round(time.perf_counter() - t, 2)
        out["full_rebuild_method"] = "measured: real encoder, force=True, fresh folder"
    else:
        log("incremental: full rebuild (stand-in encoder, real encode time added)…")
        b = build_timed([*files, extra], fresh, stand, chunks_per_s, force=True)
        full = None
        out["full_rebuild_s"] = b["index_s"]
        out["full_rebuild_overhead_s"] = b["overhead_s"]
        out["full_rebuild_method"] = (
            "derived: force=True into a fresh folder with the stand-in encoder; time outside the encoder "
            "plus chunks / encoder.chunks_per_s"
        )
    out["add_vs_full"] = round(out["add_s"] / out["full_rebuild_s"], 3)
    log(f"incremental: {out}")
    del full
    shutil.rmtree(idx, ignore_errors=True)
    shutil.rmtree(fresh, ignore_errors=True)
    return out


def cold_start(index_dir: Path, runs: int = 3) -> dict:
    exe = shutil.which("newsbot")
    cmd = [exe] if exe else [sys.executable, "-m", "newsbot.bot.cli"]
    env = dict(os.environ, NEWSBOT_INDEX_DIR=str(index_dir))
    subprocess.run([*cmd, "ask", COLD_QUESTION], env=env, capture_output=True)  # page cache, .pyc
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run([*cmd, "ask", COLD_QUESTION], env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if p.returncode not in (0, 1):
            raise RuntimeError(f"newsbot ask failed ({p.returncode}): {p.stderr[-500:]}")
    return {"median_s": round(statistics.median(times), 3), "runs_s": [round(x, 3) for x in times], "command": " ".join([*cmd, "ask", "…"])}


# -- tables --------------------------------------------------------------------------------------


def tables(res: dict) -> str:
    L = []
    e = res["encoder"]
    L.append(f"Encoder {e['name']}: {e['chunks_per_s']} chunks/s ({e['chunks']} chunks in {e['seconds']} s)")
    L.append("")
    L.append("Quality (hit judged on the ≤300-char excerpt; peer: chunk text cut to 300 chars)")
    L.append(f"{'set':<12}{'method':<8}{'hit@1':>8}{'hit@5':>8}{'mrr@10':>8}{'hl@1':>8}{'false ans':>11}")
    for s in ("cmrc_trial", "seed_dev"):
        for m in ("bm25", "dense", "hybrid", "peer"):
            q = res["quality"][s][m]
            fa = f"{q.get('false_answer', '-')}/{res['quality'][s].get('out_of_corpus', '-')}"
            L.append(f"{s:<12}{m:<8}{q['hit@1']:>8}{q['hit@5']:>8}{q['mrr@10']:>8}{q.get('highlight@1', '-'):>8}{fa:>11}")
    L.append("")
    L.append("Latency p50/p95 ms, memory, index size")
    L.append(f"{'chunks':>8}{'encode':>14}{'bm25':>14}{'dense':>14}{'hybrid':>14}{'ask':>14}{'peer':>16}{'rss MB':>9}{'index MB':>10}")
    peers = {p["chunks"]: p for p in res["peer"]}
    for r in res["sizes"]:
        a, b = r["query_p50_ms"], r["query_p95_ms"]
        pr = peers.get(r["chunks"])
        ps = f"{pr['query_p50_ms']}/{pr['query_p95_ms']}" if pr else "-"
        L.append(f"{r['chunks']:>8}" + "".join(f"{str(a[m]) + '/' + str(b[m]):>14}" for m in ("encode", "bm25", "dense", "hybrid", "ask"))
                 + f"{ps:>16}{r['rss_mb']:>9}{r['index_bytes'] / 1e6:>10.1f}")
    L.append("")
    L.append("Indexing (stand-in encoder time replaced by real encode time at the measured rate)")
    L.append(f"{'chunks':>8}{'overhead s':>12}{'encode s':>10}{'index s':>10}{'chunks/s':>10}{'vs encoder':>12}")
    for r in res["sizes"]:
        L.append(f"{r['chunks']:>8}{r['index_overhead_s']:>12}{r['index_real_encode_s']:>10}{r['index_s']:>10}"
                 f"{r['index_chunks_per_s']:>10}{r['index_vs_encoder']:>12}")
    i = res["incremental"]
    L.append("")
    L.append(f"Incremental: +{i['added_chunks']} chunks on {i['base_chunks']}: add {i['add_s']} s vs full rebuild "
             f"{i['full_rebuild_s']} s ({i['add_vs_full']:.1%}; {i['full_rebuild_method'].split(':')[0]})")
    c = res["cold_start"]
    L.append(f"Cold start `newsbot ask`: median {res['cold_start_ask_s']} s (runs {c['runs_s']})")
    L.append("")
    L.append("Targets")
    for k, v in res["targets"].items():
        L.append(f"  {k:<34} {str(v['measured']):>10}  target {v['target']:<8} {'MET' if v['met'] else 'NOT MET'}")
    return "\n".join(L)


def markdown(res: dict) -> str:
    """The tables of the README's Performance section, from a ``--json`` result."""
    L = []
    e = res["encoder"]
    L.append("**Quality** (hit judged on the ≤ 300-character excerpt; peer: the chunk text cut to 300 characters)\n")
    L.append("| set | method | hit@1 | hit@5 | MRR@10 | highlight@1 | false answers (out_of_corpus) |")
    L.append("|---|---|---|---|---|---|---|")
    names = {"bm25": "newsbot, BM25 alone", "dense": "newsbot, dense alone", "hybrid": "**newsbot hybrid**", "peer": "peer (LangChain ensemble)"}
    for s in ("cmrc_trial", "seed_dev"):
        for m in ("bm25", "dense", "hybrid", "peer"):
            q = res["quality"][s][m]
            hl = f"{q['highlight@1']:.3f}" if "highlight@1" in q else "–"
            fa = f"{q['false_answer']}/{res['quality'][s]['out_of_corpus']}" if "false_answer" in q else "–"
            L.append(f"| {s} ({res['quality'][s]['questions']} q) | {names[m]} | {q['hit@1']:.3f} | {q['hit@5']:.3f} | {q['mrr@10']:.3f} | {hl} | {fa} |")
    L.append("")
    L.append(f"**Query latency** (ms, p50 / p95, {res['sizes'][0]['queries']} CMRC questions per size; peer: "
             f"{res['peer'][0]['queries'] if res['peer'] else 0} questions), **memory** and **index size**\n")
    L.append("| chunks | encode | bm25 | dense | hybrid | ask | peer | RSS MB (peak) | index MB |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    peers = {p["chunks"]: p for p in res["peer"]}
    for r in res["sizes"]:
        a, b = r["query_p50_ms"], r["query_p95_ms"]
        pr = peers.get(r["chunks"])
        ps = f"{pr['query_p50_ms']} / {pr['query_p95_ms']}" if pr else "–"
        L.append(f"| {r['chunks']:,} | " + " | ".join(f"{a.get(m, '–')} / {b.get(m, '–')}" for m in ("encode", "bm25", "dense", "hybrid", "ask"))
                 + f" | {ps} | {r['rss_mb']:.0f} | {r['index_bytes'] / 1e6:.1f} |")
    L.append("")
    L.append(f"**Indexing** (raw encoder: {e['chunks_per_s']} chunks/s on {e['chunks']} chunks, {e['threads']} threads; "
             f"one thread: {e['chunks_per_s_1_thread']} chunks/s on {e['chunks_1_thread']} chunks)\n")
    L.append("| chunks | build without encoder (s) | real encode at raw rate (s) | index_s | chunks/s | index / encoder |")
    L.append("|---|---|---|---|---|---|")
    for r in res["sizes"]:
        L.append(f"| {r['chunks']:,} | {r['index_overhead_s']} | {r['index_real_encode_s']} | {r['index_s']} | {r['index_chunks_per_s']} | {r['index_vs_encoder']} |")
    i = res["incremental"]
    L.append("")
    L.append(f"**Incremental**: one new file of {i['added_chunks']} chunks added to a {i['base_chunks']:,}-chunk index: "
             f"{i['add_s']} s ({i['embedded_on_add']} chunks embedded, {i['reused_on_add']:,} reused) vs a full rebuild "
             f"{i['full_rebuild_s']} s ({i['full_rebuild_method']}): **{i['add_vs_full']:.1%}**.\n")
    c = res["cold_start"]
    L.append(f"**Cold start**: a whole `newsbot ask` process on the sample-page index: median **{res['cold_start_ask_s']} s** (runs {c['runs_s']}).\n")
    L.append("| target (issue) | measured | met? |")
    L.append("|---|---|---|")
    for k, v in res["targets"].items():
        L.append(f"| {k} {v['target']} | {v['measured']} | {'yes' if v['met'] else '**no**'} |")
    m = res["machine"]
    L.append("")
    L.append(f"Run: {m['cpus']} CPUs, Python {m['python']}, load average {m.get('loadavg_start')} at start, "
             f"{m.get('loadavg_end')} at the end; total {res.get('total_s')} s.")
    return "\n".join(L)


def targets(res: dict) -> dict:
    out = {}
    big = max(res["sizes"], key=lambda r: r["chunks"])
    out[f"hybrid_p95_ms@{big['chunks']}"] = {"measured": big["query_p95_ms"]["hybrid"], "target": "≤ 20", "met": big["query_p95_ms"]["hybrid"] <= 20}
    worst_ask = max(r["query_p95_ms"]["ask"] for r in res["sizes"])
    out["ask_p95_ms (worst size)"] = {"measured": worst_ask, "target": "≤ 30", "met": worst_ask <= 30}
    worst_ix = min(r["index_vs_encoder"] for r in res["sizes"])
    out["index_vs_encoder (worst size)"] = {"measured": worst_ix, "target": "≥ 0.85", "met": worst_ix >= 0.85}
    out["cold_start_ask_s"] = {"measured": res["cold_start_ask_s"], "target": "≤ 2.0", "met": res["cold_start_ask_s"] <= 2.0}
    for r in res["sizes"]:
        if r.get("index_type", "").startswith("ivf"):
            out[f"ann recall@10 @{r['chunks']}"] = {"measured": r["recall@10_vs_exact"], "target": "≥ 0.98", "met": r["recall@10_vs_exact"] >= 0.98}
    out[f"rss_mb@{big['chunks']}"] = {"measured": big["rss_mb"], "target": "≤ 1024", "met": big["rss_mb"] <= 1024}
    inc = res["incremental"]["add_vs_full"]
    out["incremental add / full rebuild"] = {"measured": inc, "target": "≤ 0.05", "met": inc <= 0.05}
    for s in ("cmrc_trial", "seed_dev"):
        h, p = res["quality"][s]["hybrid"]["hit@1"], res["quality"][s]["peer"]["hit@1"]
        out[f"hybrid hit@1 ≥ peer ({s})"] = {"measured": f"{h} vs {p}", "target": "≥", "met": h >= p}
    peers = {p["chunks"]: p for p in res["peer"]}
    faster = all(r["query_p50_ms"]["hybrid"] < peers[r["chunks"]]["query_p50_ms"] and r["query_p95_ms"]["hybrid"] < peers[r["chunks"]]["query_p95_ms"]
                 for r in res["sizes"] if r["chunks"] in peers)
    out["hybrid faster than peer (p50 and p95, every size)"] = {"measured": faster, "target": "true", "met": faster}
    return out


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000", help="index sizes in chunks (default 1000,10000,100000)")
    ap.add_argument("--json", action="store_true", help="last line of stdout: one JSON object (tables go to stderr)")
    ap.add_argument("--quick", action="store_true", help="fewer questions, 1k-chunk incremental test: a smoke run")
    ap.add_argument("--queries", type=int, default=None, help="latency questions per size (default 200, quick 30)")
    ap.add_argument("--peer-queries", type=int, default=None, help="peer latency questions per size (default 100, quick 20)")
    ap.add_argument("--encoder-chunks", type=int, default=None, help="chunks for the raw encoder throughput (default 2000, quick 200)")
    ap.add_argument("--real-rebuild", action="store_true", help="time the incremental test's full rebuild with the real encoder")
    ap.add_argument("--no-peer", action="store_true", help="skip the LangChain peer")
    ap.add_argument("--work", default=None, help="scratch folder (default: a new temporary folder, removed at the end)")
    ap.add_argument("--markdown", metavar="RESULT_JSON", help="print the README's Performance tables from a --json result and exit")
    ap.add_argument("--rss-probe", nargs=2, metavar=("INDEX_DIR", "QUESTIONS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_probe:
        rss_probe(*args.rss_probe)
        return
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text(encoding="utf-8").strip().splitlines()[-1])))
        return

    t_start = time.perf_counter()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    n_q = args.queries or (30 if args.quick else 200)
    n_pq = args.peer_queries or (20 if args.quick else 100)
    n_enc = args.encoder_chunks or (200 if args.quick else 2000)
    inc_base = 1000 if args.quick else 10000
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="newsbot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    res: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
                 "quick": args.quick}
    try:
        log(f"corpus: up to {max(sizes + [inc_base])} chunks in {work / 'corpus'}…")
        corpus = build_corpus(work / "corpus", max(sizes + [inc_base]) + 100)
        res["corpus"] = {"real_files": corpus.real_files, "real_chunks": len(corpus.real_texts), "files": len(corpus.files),
                         "chunks": corpus.total_chunks, "seconds": round(corpus.seconds, 1),
                         "synthetic": "recombined real sentences, random.Random(0); stand-in encoder vectors beyond the real chunks"}
        log(f"corpus: {res['corpus']}")

        encoder = load_encoder()  # what `newsbot index` and `newsbot ask` use
        encoder.encode(["预热 warm up"])
        n_real = len(corpus.real_texts)
        sample = corpus_texts(corpus, max(n_enc, n_real))
        # The real chunks' vectors (the stand-in's cache and the quality indexes), encoded with a
        # one-thread USE: on a busy 2-core machine the default two threads slow down several-fold.
        from newsbot.embeddings.encoders import USEEncoder

        one = USEEncoder(threads=1)
        one.encode(["预热 warm up"])
        t = time.perf_counter()
        vecs = one.encode(corpus.real_texts)
        one_s = time.perf_counter() - t
        del one
        t = time.perf_counter()
        encoder.encode(sample[:n_enc])
        enc_s = time.perf_counter() - t
        chunks_per_s = n_enc / enc_s
        res["encoder"] = {"name": encoder.name, "chunks_per_s": round(chunks_per_s, 1), "chunks": n_enc, "seconds": round(enc_s, 2),
                          "threads": getattr(getattr(encoder, "_model", None), "threads", None) or min(4, os.cpu_count() or 1),
                          "chunks_per_s_1_thread": round(n_real / one_s, 1), "chunks_1_thread": n_real,
                          "mean_chars": round(float(np.mean([len(s) for s in sample[:n_enc]])), 1),
                          "loadavg_before": [round(x, 2) for x in os.getloadavg()]}
        log(f"encoder: {res['encoder']}")
        n_real = len(corpus.real_texts)
        assert sample[:n_real] == corpus.real_texts
        stand = CachedEncoder(corpus.real_texts, vecs[:n_real], corpus.sentence_home)

        # Quality: indexes of the real passages; every chunk is known to the stand-in, so
        # their vectors are exactly the real encoder's.
        cmrc_q = load_questions(CMRC_QUESTIONS)
        seed_q = load_questions(SEED_DEV)
        if args.quick:
            cmrc_q = cmrc_q[:50]
        res["quality"] = {}
        for name, src, qs in (("cmrc_trial", CMRC_DIR, cmrc_q), ("seed_dev", sample_corpus(), seed_q)):
            d = work / f"q_{name}"
            stand.synthetic = 0
            build_index([src], d, encoder=stand)
            assert stand.synthetic == 0, "quality index must use real vectors only"
            log(f"quality {name}: {len(qs)} questions…")
            res["quality"][name] = quality(name, d, qs, encoder, f"quality {name}")

        cold = cold_start(work / "q_seed_dev")
        res["cold_start"] = cold
        res["cold_start_ask_s"] = cold["median_s"]
        log(f"cold start: {cold}")

        cmrc_all = [q.q for q in load_questions(CMRC_QUESTIONS) if q.q.strip()]
        step = max(1, len(cmrc_all) // n_q)
        queries = cmrc_all[::step][:n_q]
        pstep = max(1, len(cmrc_all) // n_pq)
        peer_queries = cmrc_all[1::pstep][:n_pq]
        qfile = work / "queries.txt"
        qfile.write_text("\n".join(queries), encoding="utf-8")

        res["sizes"], res["peer"] = [], []
        for n in sizes:
            row, prow = size_run(n, corpus, stand, encoder, chunks_per_s, work, queries, peer_queries, qfile,
                                 with_peer=not args.no_peer, profile_it=(n == max(sizes)))
            res["sizes"].append(row)
            if prow:
                res["peer"].append(prow)

        res["incremental"] = incremental(corpus, stand, encoder, chunks_per_s, work, inc_base, args.real_rebuild)
        res["targets"] = targets(res)
        res["total_s"] = round(time.perf_counter() - t_start, 1)
        res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        res["notes"] = (
            "Indexes beyond the real passages are built with a stand-in encoder (cached real USE vectors of the real chunks; "
            "synthetic chunks get the mean of their sentences' source chunks plus noise); its time is replaced by "
            "chunks / encoder.chunks_per_s. Queries are always encoded with the real encoder."
        )
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    text = tables(res)
    if args.json:
        print(text, file=sys.stderr)
        print(json.dumps(res, ensure_ascii=False))
    else:
        print(text)
    log(f"done in {res['total_s']} s")


if __name__ == "__main__":
    main()
