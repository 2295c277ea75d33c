"""Performance and scale benchmark: throughput, latency, memory, quality against a LangChain peer.

    python benchmarks/run.py [--sizes 1000,10000,100000] [--json] [--quick] [--real-rebuild]
    python benchmarks/run.py --only stores --sizes 10000,100000 --stores folder,milvus-lite,milvus-server [--json] [--out FILE]

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

Store comparison (``--stores``; ``--only stores`` runs it alone), for each size and store
(``folder``; ``milvus-lite``: an embedded ``.db``; ``milvus-server``: a ``milvus-lite server``
started here on a free port with its own data folder, one per size):

* ``index_s`` as above; ``write_s`` = the store's writer alone (folder: writing the folder;
  Milvus: ``milvus.write``, with ``write_calls_s`` the time in each client method), and
  ``build_phases_s`` the rest (reading, chunking and tokenising without the stand-in).
* ``ask_p50_ms``/``ask_p95_ms``: ``Retriever.ask(q, k=5)`` on the latency questions, one at a
  time; ``store_ms_per_question``: time inside the store's methods (lexical and its scores,
  dense_search, vectors, sentences).
* ``rss_mb``: peak RSS of a fresh process that opens the store and answers (Milvus Lite's engine
  runs inside it for ``milvus-lite``); ``server_hwm_mb``: peak RSS of the server, restarted on
  its data folder after the build (``server_after_build`` is the building server's).
* ``answers_per_s``: ``--askers`` threads (8) calling ``ask`` on one retriever for
  ``--ask-seconds`` (20), questions round-robin.
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
from contextlib import contextmanager
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


def setup_encoder(corpus, n_enc: int):
    """The real encoder, its throughput on ``n_enc`` chunks, and the stand-in encoder for the
    big indexes (with the real vectors of the real chunks): (encoder, chunks_per_s, stand, info)."""
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
    info = {"name": encoder.name, "chunks_per_s": round(chunks_per_s, 1), "chunks": n_enc, "seconds": round(enc_s, 2),
            "threads": getattr(getattr(encoder, "_model", None), "threads", None) or min(4, os.cpu_count() or 1),
            "chunks_per_s_1_thread": round(n_real / one_s, 1), "chunks_1_thread": n_real,
            "mean_chars": round(float(np.mean([len(s) for s in sample[:n_enc]])), 1),
            "loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    log(f"encoder: {info}")
    n_real = len(corpus.real_texts)
    assert sample[:n_real] == corpus.real_texts
    stand = CachedEncoder(corpus.real_texts, vecs[:n_real], corpus.sentence_home)
    return encoder, chunks_per_s, stand, info


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


# -- stores: the folder beside Milvus (--stores, --only stores) -------------------------------

STORES = ("folder", "milvus-lite", "milvus-server")
COLLECTION = "bench"
SERVER_START_S = 120.0
STORE_CALLS = ("lexical", "lexical.scores", "dense_search", "vectors", "sentences", "sample")


def proc_mem(pid: int | str = "self") -> dict:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1), "hwm_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1)}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MilvusServer:
    """``milvus-lite server`` on a free port with its own data folder, once it answers."""

    def __init__(self, data_dir: Path):
        from newsbot.embeddings.milvus_conn import connect

        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.uri = f"http://127.0.0.1:{port}"
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self._log = open(self.log_path, "ab")
        t = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(port)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                c = connect(self.uri, timeout=1)
                c.list_collections(timeout=2)
                c.close()
                break
            except Exception:
                if time.perf_counter() - t > SERVER_START_S:
                    self.stop()
                    raise RuntimeError(f"milvus-lite server did not answer on {self.uri} within {SERVER_START_S} s: {self.log_tail()}")
                time.sleep(0.2)
        self.start_s = round(time.perf_counter() - t, 2)

    def mem(self) -> dict:
        return proc_mem(self.proc.pid)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-600:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self._log.close()


class TimedClient:
    """A MilvusClient whose calls add their time to ``acc[method name]``."""

    def __init__(self, client, acc: dict):
        self._client, self._acc = client, acc

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*a, **kw):
            t = time.perf_counter()
            try:
                return attr(*a, **kw)
            finally:
                self._acc[name] = self._acc.get(name, 0.0) + time.perf_counter() - t

        return call


@contextmanager
def build_phases(out: dict):
    """Time the phases of ``build_index`` (folder or Milvus) into ``out``: ``read_s`` (reading and
    parsing the files), ``prepare_s`` (chunking, tokenising and the encoder), ``previous_s``
    (what an incremental build may reuse), ``write_s`` (the store's writer), and for Milvus
    ``write_calls_s``: the time in each client method during the write."""
    import newsbot.embeddings.index as ix

    patched = []

    def wrap(module, name, key, client_calls=False):
        orig = getattr(module, name)

        def timed_fn(*a, **kw):
            t = time.perf_counter()
            if client_calls:
                calls = out.setdefault("write_calls_s", {})
                kw["client"] = TimedClient(kw.get("client") or module.connect(a[1]), calls)
            try:
                return orig(*a, **kw)
            finally:
                out[key] = out.get(key, 0.0) + time.perf_counter() - t

        setattr(module, name, timed_fn)
        patched.append((module, name, orig))

    wrap(ix, "read_corpus", "read_s")
    wrap(ix, "prepare", "prepare_s")
    wrap(ix, "_load_previous", "previous_s")
    wrap(ix, "_write_folder", "write_s")
    try:
        import newsbot.embeddings.milvus as mv
    except ImportError:
        mv = None
    if mv is not None:
        wrap(mv, "previous", "previous_s")
        wrap(mv, "write", "write_s", client_calls=True)
    try:
        yield out
    finally:
        for module, name, orig in reversed(patched):
            setattr(module, name, orig)


class StoreTimer:
    """Wraps a loaded store's methods (as instance attributes) to add up the time spent in them."""

    def __init__(self, store):
        self.store = store
        self.t: dict[str, float] = {}
        for name in ("lexical", "dense_search", "vectors", "sentences", "sample"):
            setattr(store, name, self._wrap(name, getattr(store, name)))

    def _add(self, name: str, t0: float) -> None:
        self.t[name] = self.t.get(name, 0.0) + time.perf_counter() - t0

    def _wrap(self, name, fn):
        def call(*a, **kw):
            t0 = time.perf_counter()
            try:
                out = fn(*a, **kw)
            finally:
                self._add(name, t0)
            if name == "lexical":
                scores = out.scores

                def timed_scores(ids):
                    t1 = time.perf_counter()
                    try:
                        return scores(ids)
                    finally:
                        self._add("lexical.scores", t1)

                out = out._replace(scores=timed_scores)
            return out

        return call

    def take(self) -> dict:
        out, self.t = self.t, {}
        return out

    def remove(self) -> None:
        for name in ("lexical", "dense_search", "vectors", "sentences", "sample"):
            self.store.__dict__.pop(name, None)


def top_answer(ans) -> tuple:
    """What a reader sees first: refused, or the first hit's article and paragraphs."""
    if not ans.answered or not ans.hits:
        return (False,)
    h = ans.hits[0]
    return (True, h.article, tuple(h.paragraphs))


def concurrent_asks(r, queries: list[str], threads: int, seconds: float) -> dict:
    """``threads`` threads calling ``r.ask(q, k=5)`` on one retriever for ``seconds``, questions
    round-robin: answers per second (finished answers / wall time until the last one ends)."""
    import threading

    lock = threading.Lock()
    state = {"next": 0}
    lat: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    def worker():
        while time.perf_counter() < stop_at:
            with lock:
                i = state["next"]
                state["next"] += 1
            q = queries[i % len(queries)]
            t = time.perf_counter()
            try:
                r.ask(q, k=5)
            except Exception as e:  # reported, and the others go on
                errors.append(f"{type(e).__name__}: {e}"[:300])
                continue
            ms = (time.perf_counter() - t) * 1000
            with lock:
                lat.append(ms)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    p50, p95 = pct(lat) if lat else (float("nan"), float("nan"))
    return {"threads": threads, "seconds": round(wall, 2), "answers": len(lat), "answers_per_s": round(len(lat) / wall, 1),
            "ask_p50_ms": p50, "ask_p95_ms": p95, "errors": len(errors), "first_error": errors[0] if errors else None}


def store_probe(uri: str, collection: str, queries_file: str) -> None:
    """The RSS probe for a Milvus store (runs in a fresh process): open, warm up, answer."""
    from newsbot.embeddings.index import open_store
    from newsbot.embeddings.store import Target

    t0 = time.perf_counter()
    r = Retriever(open_store(Target(milvus=uri, collection=collection)))
    r.warm_up()
    load_s = time.perf_counter() - t0
    for q in Path(queries_file).read_text(encoding="utf-8").splitlines():
        r.ask(q, k=5)
    m = proc_mem()
    print(json.dumps({"rss_mb": m["hwm_mb"], "rss_end_mb": m["rss_mb"], "load_s": round(load_s, 2)}))


def measure_store_rss(target, queries_file: Path) -> dict:
    if not target.is_milvus:
        return measure_rss(target.folder, queries_file)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--store-probe", target.milvus, target.collection, str(queries_file)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode == 0:
        return json.loads(out.stdout.strip().splitlines()[-1])
    raise RuntimeError(f"store probe failed ({out.returncode}): {out.stderr[-800:]}")


def release_lite(path: str) -> None:
    """Stop the Milvus Lite engine this process runs for the ``.db`` ``path`` (one process at a
    time may use a .db: the RSS probe opens it next)."""
    try:
        from milvus_lite.server_manager import server_manager_instance
    except ImportError:
        return
    server_manager_instance.release_server(path)


def store_run(n: int, kind: str, corpus, stand, encoder, chunks_per_s: float, work: Path, queries: list[str], queries_file: Path,
              askers: int, seconds: float, reference: dict | None) -> dict:
    """Build, search and measure one store of ``n`` chunks (see ``stores_run``)."""
    from newsbot.embeddings.index import open_store
    from newsbot.embeddings.store import Target

    files, _ = corpus.prefix(n)
    row: dict = {"size": n, "store": kind, "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    server = None
    where = None
    store = r = None
    try:
        if kind == "folder":
            where = work / f"store_folder_{n}"
            target = Target(folder=where)
        elif kind == "milvus-lite":
            where = work / f"store_lite_{n}.db"
            target = Target(milvus=str(where), collection=COLLECTION)
        elif kind == "milvus-server":
            where = work / f"store_server_{n}"
            server = MilvusServer(where)
            row["server_start_s"] = server.start_s
            target = Target(milvus=server.uri, collection=COLLECTION)
        else:
            raise ValueError(f"unknown store {kind!r}: choose from {', '.join(STORES)}")
        log(f"store {kind} {n}: building {len(files)} files into {target}…")
        phases: dict = {}
        with build_phases(phases):
            b = build_timed(files, target, stand, chunks_per_s)
        write_s = phases.get("write_s", 0.0)
        row.update({
            "chunks": b["chunks"],
            "index_s": b["index_s"],
            "index_vs_encoder": round(b["chunks"] / b["index_s"] / chunks_per_s, 3),
            "overhead_s": b["overhead_s"],
            "write_s": round(write_s, 2),
            "overhead_without_write_s": round(b["overhead_s"] - write_s, 2),
            "real_encode_s": b["real_encode_s"],
            "build_wall_s": b["build_wall_s"],
            "stand_in_s": b["stand_in_s"],
            "build_phases_s": {k: round(v - (b["stand_in_s"] if k == "prepare_s" else 0.0), 2) for k, v in phases.items() if k.endswith("_s") and k != "write_calls_s"},
            "write_calls_s": {k: round(v, 2) for k, v in sorted(phases.get("write_calls_s", {}).items(), key=lambda kv: -kv[1]) if v >= 0.005},
        })
        log(f"store {kind} {n}: {b['chunks']} chunks, overhead {b['overhead_s']} s of which write {row['write_s']} s; "
            f"phases {row['build_phases_s']}; write calls {row['write_calls_s']}; index_s {b['index_s']}")
        if server is not None:
            row["server_after_build"] = server.mem()  # hwm_mb: the server's peak while building
            # Serve the index as a deployment would: a fresh server process on the data folder.
            server.stop()
            server = MilvusServer(where)
            target = target._replace(milvus=server.uri)
            row["server_restart_s"] = server.start_s
        if kind == "milvus-lite":
            release_lite(str(where))  # the build's engine; opening below starts a fresh one, as a new process would
        t = time.perf_counter()
        store = open_store(target)
        r = Retriever(store, encoder)
        r.warm_up()
        row["open_s"] = round(time.perf_counter() - t, 2)
        for q in queries[:5]:
            r.ask(q, k=5)
        timer = StoreTimer(store)
        lat, in_store, tops = [], [], []
        per_call: dict[str, float] = {}
        for q in queries:
            timer.take()
            t = time.perf_counter()
            ans = r.ask(q, k=5)
            lat.append((time.perf_counter() - t) * 1000)
            calls = timer.take()
            in_store.append(sum(calls.values()) * 1000)
            for k_, v in calls.items():
                per_call[k_] = per_call.get(k_, 0.0) + v
            tops.append(top_answer(ans))
        timer.remove()
        p50, p95 = pct(lat)
        s50, s95 = pct(in_store)
        row.update({
            "queries": len(queries),
            "ask_p50_ms": p50, "ask_p95_ms": p95, "ask_mean_ms": round(statistics.fmean(lat), 2),
            "answers_per_s_1_asker": round(len(lat) / (sum(lat) / 1000), 1),
            "store_p50_ms": s50, "store_p95_ms": s95,
            "store_share_of_ask": round(sum(in_store) / sum(lat), 3),
            "store_ms_per_question": {k_: round(per_call.get(k_, 0.0) * 1000 / len(queries), 2) for k_ in STORE_CALLS if k_ in per_call},
            "answered": sum(1 for x in tops if x[0]),
        })
        if reference is not None and kind != "folder" and len(reference) == len(tops):
            row["same_first_answer_as_folder"] = round(sum(a == b for a, b in zip(tops, reference)) / len(tops), 3)
        if kind == "folder":
            row["_tops"] = tops
        log(f"store {kind} {n}: ask p50/p95 {p50}/{p95} ms, in store calls p50/p95 {s50}/{s95} ms "
            f"({row['store_ms_per_question']}), answered {row['answered']}/{len(queries)}"
            + (f", same first answer as folder {row['same_first_answer_as_folder']}" if "same_first_answer_as_folder" in row else ""))
        row["concurrent"] = concurrent_asks(r, queries, askers, seconds)
        row["answers_per_s"] = row["concurrent"]["answers_per_s"]
        log(f"store {kind} {n}: {askers} askers: {row['concurrent']}")
        if server is not None:
            row["server_after_asks"] = server.mem()
        if kind == "milvus-lite":
            close = getattr(store, "close", None)
            del r, store
            r = store = None
            if close:
                close()
            release_lite(str(where))
        rss = measure_store_rss(target, queries_file)
        row.update({"rss_mb": rss["rss_mb"], "rss_end_mb": rss["rss_end_mb"], "probe_load_s": rss["load_s"]})
        if server is not None:
            m = server.mem()
            row["server_rss_mb"], row["server_hwm_mb"] = m["rss_mb"], m["hwm_mb"]
        log(f"store {kind} {n}: client rss {rss}" + (f", server {server.mem()}" if server is not None else ""))
    except Exception as e:
        import traceback

        row["error"] = f"{type(e).__name__}: {e}"[:1000]
        row["traceback"] = traceback.format_exc()[-3000:]
        log(f"store {kind} {n}: FAILED: {row['error']}")
        if server is not None:
            row["server_log_tail"] = server.log_tail()
    finally:
        if store is not None and hasattr(store, "close"):
            try:
                store.close()
            except Exception:
                pass
        del r, store
        if server is not None:
            server.stop()
        if kind == "milvus-lite" and where is not None:
            release_lite(str(where))
        if where is not None and Path(where).exists():
            row["store_bytes"] = dir_bytes(where) if Path(where).is_dir() else Path(where).stat().st_size
            shutil.rmtree(where, ignore_errors=True)
        row["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return row


def stores_run(sizes, kinds, corpus, stand, encoder, chunks_per_s, work: Path, queries, queries_file, askers: int, seconds: float,
               save=lambda rows: None) -> list[dict]:
    """Each store of each size: build time (overhead with the write apart + real encode time),
    ``ask`` latency and time in store calls, peak RSS of a fresh asking process (and of the
    server), answers per second with ``askers`` threads. A store that fails is reported with its
    error and the others go on; ``save(rows)`` is called after each."""
    rows: list[dict] = []
    for n in sizes:
        reference = None
        for kind in kinds:
            row = store_run(n, kind, corpus, stand, encoder, chunks_per_s, work, queries, queries_file, askers, seconds, reference)
            if kind == "folder":
                reference = row.pop("_tops", None)
            rows.append(row)
            save(rows)
    return rows


def stores_table(rows: list[dict]) -> str:
    L = ["Stores: build s (write s), ask p50/p95 ms (in store calls p50), RSS MB client / server, answers/s with N askers (1 asker)"]
    L.append(f"{'chunks':>8} {'store':<14}{'index s':>9}{'write s':>9}{'ask p50/p95':>14}{'store p50':>10}{'RSS cl':>8}{'RSS srv':>9}{'ans/s N':>9}{'ans/s 1':>9}{'same':>7}")
    for r in rows:
        if "error" in r:
            L.append(f"{r['size']:>8} {r['store']:<14}FAILED: {r['error'][:120]}")
            continue
        srv = r.get("server_hwm_mb", "-")
        L.append(f"{r['chunks']:>8} {r['store']:<14}{r['index_s']:>9}{r['write_s']:>9}{str(r['ask_p50_ms']) + '/' + str(r['ask_p95_ms']):>14}"
                 f"{r['store_p50_ms']:>10}{r['rss_mb']:>8}{srv:>9}{r['answers_per_s']:>9}{r['answers_per_s_1_asker']:>9}"
                 f"{r.get('same_first_answer_as_folder', '-'):>7}")
    return "\n".join(L)


def stores_markdown(res: dict) -> str:
    rows = res["stores"]
    c = res.get("stores_settings", {})
    L = [f"**Stores** (ask: {c.get('queries', '?')} CMRC questions, k=5; answers/s: {c.get('askers', '?')} threads asking one retriever for "
         f"{c.get('seconds', '?')} s; RSS: peak of a fresh process that opens the store and answers; server: the `milvus-lite server` "
         "process serving the index after a restart, peak)\n"]
    L.append("| chunks | store | index s | of which write s | ask p50 / p95 ms | in store calls p50 ms | RSS MB client | RSS MB server | answers/s (8 askers) | answers/s (1 asker) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            L.append(f"| {r['size']:,} | {r['store']} | failed: {r['error'][:100]} |||||||| ")
            continue
        srv = f"{r['server_hwm_mb']:.0f}" if "server_hwm_mb" in r else "–"
        L.append(f"| {r['chunks']:,} | {r['store']} | {r['index_s']} | {r['write_s']} | {r['ask_p50_ms']} / {r['ask_p95_ms']} | {r['store_p50_ms']} | "
                 f"{r['rss_mb']:.0f} | {srv} | {r['answers_per_s']} | {r['answers_per_s_1_asker']} |")
    return "\n".join(L)


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


def stores_main(args, kinds: list[str]) -> None:
    """``--only stores``: the corpus, the encoder's rate, then ``stores_run`` alone."""
    t_start = time.perf_counter()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    n_q = args.queries or (30 if args.quick else 200)
    n_enc = args.encoder_chunks or (200 if args.quick else 2000)
    seconds = args.ask_seconds or (5.0 if args.quick else 20.0)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="newsbot-bench-stores-"))
    work.mkdir(parents=True, exist_ok=True)
    res: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
                 "quick": args.quick}
    versions = {}
    for mod in ("pymilvus", "milvus_lite"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception as e:  # reported; the folder store runs without them
            versions[mod] = f"unavailable ({type(e).__name__})"
    res["machine"]["versions"] = versions

    def save(rows=None):
        if rows is not None:
            res["stores"] = rows
        if args.out:
            Path(args.out).write_text(json.dumps(res, ensure_ascii=False) + "\n", encoding="utf-8")

    try:
        log(f"corpus: up to {max(sizes)} chunks in {work / 'corpus'}…")
        corpus = build_corpus(work / "corpus", max(sizes) + 100)
        res["corpus"] = {"real_files": corpus.real_files, "real_chunks": len(corpus.real_texts), "files": len(corpus.files),
                         "chunks": corpus.total_chunks, "seconds": round(corpus.seconds, 1)}
        log(f"corpus: {res['corpus']}")
        encoder, chunks_per_s, stand, res["encoder"] = setup_encoder(corpus, n_enc)
        if args.chunks_per_s:
            chunks_per_s = res["encoder"]["chunks_per_s_used"] = args.chunks_per_s
        cmrc_all = [q.q for q in load_questions(CMRC_QUESTIONS) if q.q.strip()]
        step = max(1, len(cmrc_all) // n_q)
        queries = cmrc_all[::step][:n_q]
        qfile = work / "queries.txt"
        qfile.write_text("\n".join(queries), encoding="utf-8")
        res["stores_settings"] = {"sizes": sizes, "stores": kinds, "queries": len(queries), "askers": args.askers, "seconds": seconds}
        save([])
        stores_run(sizes, kinds, corpus, stand, encoder, chunks_per_s, work, queries, qfile, args.askers, seconds, save=save)
        res["total_s"] = round(time.perf_counter() - t_start, 1)
        res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        res["notes"] = (
            "index_s = time outside the stand-in encoder (reading, chunking, tokenising, the store's write) + chunks / encoder.chunks_per_s; "
            "write_s = the store's writer alone (folder: _write_folder; Milvus: milvus.write, with write_calls_s the time in each "
            "client method). ask latency single-threaded in this process; store_ms_per_question = time inside the store's methods. "
            "rss_mb = peak RSS (VmHWM) of a fresh process that opens the store, warms up and answers the questions "
            "(milvus-lite: the engine runs inside it). milvus-server: a fresh `milvus-lite server` per size; server_after_build.hwm_mb "
            "is its peak while building; it is then restarted on the same data folder and server_hwm_mb is the restarted "
            "server's peak after the single-threaded asks, the concurrent asks and the probe."
        )
        save()
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    text = stores_table(res.get("stores", []))
    if args.json:
        print(text, file=sys.stderr)
        print(json.dumps(res, ensure_ascii=False))
    else:
        print(text)
    log(f"done in {res.get('total_s')} s")


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
    ap.add_argument("--stores", default="folder",
                    help=f"stores to compare, of {','.join(STORES)} (default folder: no store comparison; with a Milvus store, "
                         "the comparison runs after the rest, or alone with --only stores)")
    ap.add_argument("--only", choices=["stores"], help="run only the store comparison (--stores at --sizes), nothing else")
    ap.add_argument("--askers", type=int, default=8, help="concurrent askers (threads on one retriever) for answers/s (default 8)")
    ap.add_argument("--ask-seconds", type=float, default=None, help="seconds of concurrent asking per store and size (default 20, quick 5)")
    ap.add_argument("--chunks-per-s", type=float, default=None,
                    help="encoder rate for index_s instead of the one measured here (e.g. a quiet machine's; both are reported)")
    ap.add_argument("--out", metavar="FILE", help="also write the JSON result to FILE (rewritten after each store in the store comparison)")
    ap.add_argument("--rss-probe", nargs=2, metavar=("INDEX_DIR", "QUESTIONS"), help=argparse.SUPPRESS)
    ap.add_argument("--store-probe", nargs=3, metavar=("URI", "COLLECTION", "QUESTIONS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_probe:
        rss_probe(*args.rss_probe)
        return
    if args.store_probe:
        store_probe(*args.store_probe)
        return
    if args.markdown:
        got = json.loads(Path(args.markdown).read_text(encoding="utf-8").strip().splitlines()[-1])
        if "sizes" in got:
            print(markdown(got))
        if got.get("stores"):
            print(stores_markdown(got))
        return
    kinds = [k.strip() for k in args.stores.split(",") if k.strip()]
    bad = [k for k in kinds if k not in STORES]
    if bad:
        ap.error(f"--stores: unknown {', '.join(bad)} (choose from {', '.join(STORES)})")
    if args.only == "stores":
        stores_main(args, kinds)
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

        encoder, chunks_per_s, stand, res["encoder"] = setup_encoder(corpus, n_enc)
        if args.chunks_per_s:
            chunks_per_s = res["encoder"]["chunks_per_s_used"] = args.chunks_per_s

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
        if kinds != ["folder"]:
            seconds = args.ask_seconds or (5.0 if args.quick else 20.0)
            res["stores_settings"] = {"sizes": sizes, "stores": kinds, "queries": len(queries), "askers": args.askers, "seconds": seconds}
            res["stores"] = stores_run(sizes, kinds, corpus, stand, encoder, chunks_per_s, work, queries, qfile, args.askers, seconds)
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
    text = tables(res) + ("\n\n" + stores_table(res["stores"]) if res.get("stores") else "")
    if args.out:
        Path(args.out).write_text(json.dumps(res, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.json:
        print(text, file=sys.stderr)
        print(json.dumps(res, ensure_ascii=False))
    else:
        print(text)
    log(f"done in {res['total_s']} s")


if __name__ == "__main__":
    main()
