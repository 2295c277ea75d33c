"""The Milvus store (embeddings/milvus.py): round trip, searches against numpy, rebuilds that move
the alias, incremental reuse, and errors (unreachable server, server killed mid-use, missing or
damaged index). Store tests run twice: on an embedded Milvus Lite ``.db`` file and on a
``milvus-lite server`` subprocess."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason='pymilvus is not installed (pip install "newsbot-cite[milvus]")')
pytest.importorskip("milvus_lite", reason='Milvus Lite is not installed (pip install "newsbot-cite[milvus]")')

from newsbot.embeddings import milvus as M  # noqa: E402
from newsbot.embeddings import milvus_conn as conn  # noqa: E402
from newsbot.embeddings import milvus_schema as ms  # noqa: E402
from newsbot.embeddings.build import TOKEN_SEP, Corpus, prepare  # noqa: E402
from newsbot.embeddings.chunking import ChunkSettings, Unit  # noqa: E402
from newsbot.embeddings.errors import IndexCorrupt, IndexMismatch, IndexNotFound, UsageError  # noqa: E402
from newsbot.embeddings.tokenize import query_terms  # noqa: E402
from newsbot.embeddings.types import Article  # noqa: E402

MODEL = "test-hash-encoder"
RARE = "鸭嘴兽"  # in one passage only
SERVER_START_SECONDS = 60


class HashEncoder:
    """A stand-in encoder: a fixed random unit vector per text."""

    name = MODEL
    dim = 32

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            v = np.random.default_rng(int(hashlib.sha1(t.encode()).hexdigest()[:12], 16)).normal(size=self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


ARTICLES = [
    ("市总工会举办职工运动会", ["本报讯 近日，市总工会在奥体中心举办第五届职工运动会，来自全市的两千名职工参加了拔河、跳绳和接力跑等项目。", "比赛结束后，工会为获奖队伍颁发了奖杯。"]),
    ("城市地铁五号线开通", ["地铁五号线今天正式开通运营，全长三十公里，设二十个车站。", "市民可以使用交通卡乘车，早晚高峰每三分钟一班。"]),
    ("动物园迎来新成员", ["市动物园昨天从澳大利亚引进了两只" + RARE + "，这是本市首次展出这种动物。", "饲养员介绍，它们需要安静的环境。"]),
    ("图书馆延长开放时间", ["市图书馆宣布从下月起延长开放时间至晚上十点。", "馆长表示，这是为了方便上班族读书。" + "".join(f"第{k}项措施是增加{k * 10}个座位。" for k in range(1, 12))]),
]


def make_built(articles=ARTICLES, settings=ChunkSettings(target=60, maximum=90, overlap=20)):
    """A Built from the real build pipeline (chunking, jieba tokens, sentence rows)."""
    arts = [Article(i, title, f"page{i % 2}.txt", tuple(paras)) for i, (title, paras) in enumerate(articles)]
    built, _ = prepare(Corpus(arts, {"page0.txt": "0" * 64, "page1.txt": "1" * 64}, []), MODEL, settings, None, encoder=HashEncoder())
    return built


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir) -> tuple[subprocess.Popen, str]:
    """``milvus-lite server`` on a free port, once it answers (or a failure after a bounded wait)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        if proc.poll() is not None:
            pytest.fail(f"milvus-lite server exited with {proc.returncode}")
        try:
            M.connect(uri, timeout=1).list_collections(timeout=2)
            return proc, uri
        except Exception:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"milvus-lite server did not answer on {uri} within {SERVER_START_SECONDS} s")
            time.sleep(0.2)


def stop_server(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The server `.ci/run` started ($NEWSBOT_TEST_MILVUS_URI), else one of the module's own."""
    given = os.environ.get("NEWSBOT_TEST_MILVUS_URI")
    if given:
        yield given
        return
    proc, uri = start_server(tmp_path_factory.mktemp("milvus-server"))
    yield uri
    stop_server(proc)


@pytest.fixture(params=["embedded", "server"])
def uri(request, tmp_path):
    """A Milvus URI: an embedded Milvus Lite file, or the shared server (collections named per test)."""
    if request.param == "embedded":
        return str(tmp_path / "milvus.db")
    return request.getfixturevalue("server")


@pytest.fixture
def name(request) -> str:
    """A collection name of this test's own (the server is shared by the module)."""
    return "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:10]


@pytest.fixture(scope="module")
def built():
    return make_built()


def test_round_trip(uri, name, built):
    M.write(built, uri, name)
    idx = M.MilvusIndex.open(uri, name)
    assert idx.manifest == built.manifest
    assert idx.articles == built.articles
    assert idx.passages == built.passages
    assert (idx.model, idx.dim, idx.size) == (MODEL, HashEncoder.dim, len(built.passages))
    assert idx.location == f"collection {name!r} at {uri}"
    assert idx.n_docs == len(built.tokens)
    assert idx.df[RARE] == 1 and idx.df["市民"] == sum("市民" in t for t in built.tokens)
    assert idx.generation().startswith(name + "__") and ms.ours(name, idx.generation())
    for a, row in enumerate(built.sentence_rows):
        units, tokens = idx.sentences(a)
        paragraphs = built.articles[a].paragraphs
        assert units == [Unit(p, paragraphs[p - 1][s:e]) for p, s, e in row["u"]]
        assert tokens == [t.split(TOKEN_SEP) for t in row["t"]]
        assert "".join(u.text for u in units if u.paragraph == 1) == paragraphs[0]


def test_dense_search_is_exact(uri, name, built):
    M.write(built, uri, name)
    idx = M.MilvusIndex.open(uri, name)
    rng = np.random.default_rng(7)
    queries = [built.vectors[2]] + [v / np.linalg.norm(v) for v in rng.normal(size=(3, HashEncoder.dim)).astype(np.float32)]
    for q in queries:
        ids, scores = idx.dense_search(q, 5)
        cos = built.vectors @ q
        assert ids.tolist() == np.argsort(-cos)[:5].tolist()
        np.testing.assert_allclose(scores, cos[ids], atol=1e-5)
        assert ids.dtype == np.int64 and scores.dtype == np.float32
    ids, _ = idx.dense_search(built.vectors[0], 1000)  # more than there are
    assert sorted(ids.tolist()) == list(range(len(built.passages)))


def test_vectors_and_sample(uri, name, built):
    M.write(built, uri, name)
    idx = M.MilvusIndex.open(uri, name)
    ids = np.array([3, 0, 3, len(built.passages) - 1])
    got = idx.vectors(ids)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, built.vectors[ids], atol=1e-6)
    sample = idx.sample(3)
    even = np.unique(np.linspace(0, len(built.passages) - 1, 3).astype(np.int64))
    np.testing.assert_allclose(sample, built.vectors[even], atol=1e-6)
    assert idx.sample(3) is sample  # cached


def test_lexical(uri, name, built):
    M.write(built, uri, name)
    idx = M.MilvusIndex.open(uri, name)
    question = f"哪个动物园展出了{RARE}？"
    terms = query_terms(question)
    rare = next(p.id for p, toks in zip(built.passages, built.tokens) if RARE in toks)
    without = next(p.id for p, toks in zip(built.passages, built.tokens) if not set(terms) & set(toks))
    lx = idx.lexical(terms, question, 5)
    assert lx.top[0] == rare
    scores = lx.scores(np.array([rare, without]))
    assert scores.dtype == np.float32 and scores[0] > 0 and scores[1] == 0
    everything = lx.scores(np.arange(len(built.passages)))
    assert (everything >= 0).all() and everything.argmax() == rare
    # mean and spread over the whole collection: exact here (every passage with a score was returned)
    assert lx.mean == pytest.approx(everything.mean(), rel=1e-5) and lx.std == pytest.approx(everything.std(), rel=1e-4)
    # With statistics from the best hit only, scores of the others come from a filtered search: the same values.
    idx.stats_k = 1
    one = idx.lexical(terms, question, 1)
    assert one.top.tolist() == [rare]
    np.testing.assert_allclose(one.scores(np.arange(len(built.passages))), everything, rtol=1e-5)
    assert idx.lexical(["的"], "的？", 5).top.size == 0  # stop words and punctuation match nothing


def test_spread_of_bm25_scores_from_top_hits():
    full = np.array([3.0, 1.0, 0.0, 0.0])
    assert M.spread(np.array([3.0, 1.0]), 4) == pytest.approx((full.mean(), full.std()))  # exact: all hits returned
    assert M.spread(np.zeros(0), 0) == (0.0, 0.0)
    # 300 of 1,000 passages match; Milvus returned the best 50: the other 250 are estimated
    scores = np.concatenate([np.linspace(12.0, 0.1, 300), np.zeros(700)])
    mean, std = M.spread(scores[:50], 1000, tail=250)
    assert mean == pytest.approx(scores.mean(), rel=0.05) and std == pytest.approx(scores.std(), rel=0.05)
    zero_tail = M.spread(scores[:50], 1000)
    assert abs(zero_tail[0] - scores.mean()) > 0.3 * scores.mean()  # what ignoring the tail would give
    # the tail's size from document frequencies: 1 - (1 - .1)(1 - .2) of 100 passages hold a term
    assert M.unreturned(["a", "b", "a"], {"a": 10, "b": 20}, 100, 5) == pytest.approx(28 - 5)
    assert M.unreturned(["zzz"], {}, 100, 0) == 0


def test_meta_rows_split_between_characters(monkeypatch):
    text = "中文 mixed 😀 text " * 50
    parts = ms.split_utf8(text, 100)
    assert "".join(parts) == text and all(len(p.encode()) <= 100 for p in parts) and len(parts) > 10


def test_many_meta_parts_and_insert_batches(uri, name, monkeypatch):
    """Metadata over several rows (each <= PART_BYTES) and chunks over several insert batches."""
    monkeypatch.setattr(ms, "PART_BYTES", 500)
    monkeypatch.setattr(M, "INSERT_BATCH", 7)
    monkeypatch.setattr(conn, "META_BATCH", 3)
    monkeypatch.setattr(conn, "ID_BATCH", 5)
    articles = [(f"第{i}篇报道", [f"这是第{i}篇文章的第一段，讲述了城市建设的新进展。", f"第二段提到了{i}号项目的投资情况。"]) for i in range(12)]
    built = make_built(articles)
    M.write(built, uri, name)
    client = M.connect(uri)
    meta = ms.meta_name(client.describe_alias(name)["collection_name"])
    rows = client.query(meta, filter='kind == "articles"', output_fields=["part", "data"], limit=100)
    assert len(rows) > 3 and all(len(r["data"].encode()) <= 500 for r in rows)
    idx = M.MilvusIndex.open(uri, name)
    assert idx.articles == built.articles and idx.passages == built.passages and idx.size == len(built.passages) > 7
    np.testing.assert_allclose(idx.vectors(np.arange(idx.size)), built.vectors, atol=1e-6)


def test_previous_for_incremental_builds(uri, name, built):
    assert M.previous(uri, name, MODEL) is None  # nothing built yet
    M.write(built, uri, name)
    prev = M.previous(uri, name, MODEL)
    assert prev.manifest == built.manifest
    assert set(prev.vectors) == set(built.hashes)
    for h, v in zip(built.hashes, built.vectors):
        np.testing.assert_allclose(prev.vectors[h], v, atol=1e-6)
    assert prev.tokens == {row["h"]: row["t"] for row in built.sentence_rows}
    assert prev.articles == tuple(built.articles)
    other = M.previous(uri, name, "another-model")
    assert other.vectors == {} and other.tokens == prev.tokens  # tokens do not depend on the model
    # What prepare() makes of it: nothing to embed again.
    arts = built.articles
    again, embedded = prepare(Corpus(arts, built.manifest["files"], []), MODEL, ChunkSettings(**built.manifest["chunker"]), prev)
    assert embedded == 0 and again.hashes == built.hashes


def test_rebuild_moves_alias_and_drops_old_builds(uri, name, built):
    client = M.connect(uri)
    # Not ours: another alias's build, names that only look like ours, a foreign collection.
    foreign = [f"{name}__backup", f"{name}x__20000101T000000_abcdef", f"{name}__20000101T000000_abcdef"]
    for n in foreign:
        client.create_collection(n, dimension=4)
    M.write(built, uri, name)
    first = M.MilvusIndex.open(uri, name)
    # A build that crashed before the switch (ours by name and shape, older than the next build).
    schema, index = ms.chunk_schema(M.pymilvus_module(), client, HashEncoder.dim, 1)
    crashed = ms.chunks_name(name, "20000101T000000_0a0b0c")
    client.create_collection(crashed, schema=schema, index_params=index)
    schema, index = ms.meta_schema(M.pymilvus_module(), client)
    client.create_collection(ms.meta_name(crashed), schema=schema, index_params=index)

    changed = make_built(ARTICLES + [("新闻发布会召开", ["市政府今天召开新闻发布会，介绍了今年的重点工作。"])])
    M.write(changed, uri, name)
    target = client.describe_alias(name)["collection_name"]
    assert target != first.generation()
    names = set(client.list_collections())
    assert {target, ms.meta_name(target)} <= names
    # The build just replaced stays until the next one: a bot still serving it keeps answering.
    assert {first.generation(), ms.meta_name(first.generation())} <= names
    assert len(first.dense_search(built.vectors[0], 3)[0]) == 3
    assert crashed not in names and ms.meta_name(crashed) not in names
    assert set(foreign) <= names  # never dropped
    assert {n for n in names if ms.ours(name, n)} - set(foreign) == {target, ms.meta_name(target), first.generation(), ms.meta_name(first.generation())}

    fresh = first.refresh()
    assert fresh is not None and fresh.generation() == target and fresh.passages == changed.passages
    assert fresh.refresh() is None

    M.write(built, uri, name)  # the next build drops the one before the last
    third = client.describe_alias(name)["collection_name"]
    names = set(client.list_collections())
    assert {n for n in names if ms.ours(name, n)} - set(foreign) == {third, ms.meta_name(third), target, ms.meta_name(target)}
    with pytest.raises(M.IndexReplaced, match="rebuilt"):
        first.dense_search(built.vectors[0], 3)


def test_failed_write_leaves_the_index(uri, name, built, monkeypatch):
    M.write(built, uri, name)
    before = M.connect(uri).describe_alias(name)["collection_name"]

    class Failing:
        """A client whose second chunk insert fails (the server went away mid-build)."""

        def __init__(self, client):
            self._client, self.inserts = client, 0

        def __getattr__(self, attr):
            return getattr(self._client, attr)

        def insert(self, *args, **kwargs):
            self.inserts += 1
            if self.inserts == 2:
                raise ConnectionError("simulated failure")
            return self._client.insert(*args, **kwargs)

    monkey = Failing(M.connect(uri))
    bigger = make_built(ARTICLES * 3)
    monkeypatch.setattr(M, "INSERT_BATCH", 2)
    with pytest.raises(ConnectionError):
        M.write(bigger, uri, name, client=monkey)
    client = M.connect(uri)
    assert client.describe_alias(name)["collection_name"] == before
    assert {n for n in client.list_collections() if ms.ours(name, n)} == {before, ms.meta_name(before)}
    assert M.MilvusIndex.open(uri, name).passages == built.passages


def test_missing_collection(uri):
    with pytest.raises(IndexNotFound) as e:
        M.MilvusIndex.open(uri, "no_such_index")
    msg = str(e.value)
    assert isinstance(e.value, M.MilvusIndexNotFound) and e.value.exit_code == 3
    assert f"newsbot index PATH... --milvus {uri} --collection no_such_index" in msg and "no_such_index" in msg


def test_model_mismatch_and_damage(uri, name, built):
    M.write(built, uri, name)
    with pytest.raises(IndexMismatch, match="another-model"):
        M.MilvusIndex.open(uri, name, model="another-model")
    client = M.connect(uri)
    meta = ms.meta_name(client.describe_alias(name)["collection_name"])
    client.delete(meta, filter='kind == "passages"')
    with pytest.raises(IndexCorrupt, match=f"--milvus {uri} --collection {name}"):
        M.MilvusIndex.open(uri, name)
    assert M.previous(uri, name, MODEL) is not None  # what it needs is still there


def test_bad_arguments(tmp_path):
    with pytest.raises(UsageError, match="not a Milvus name"):
        M.MilvusIndex.open(str(tmp_path / "x.db"), "bad-name")
    with pytest.raises(UsageError, match="not a Milvus address"):
        M.MilvusIndex.open("localhost", "news")


def test_unreachable_server_fails_fast():
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    t = time.monotonic()
    with pytest.raises(M.MilvusUnavailable) as e:
        M.MilvusIndex.open(uri, "news")
    assert time.monotonic() - t < 10
    assert uri in str(e.value) and "milvus-lite server" in str(e.value) and "NEWSBOT_MILVUS_URI" in str(e.value)
    assert e.value.exit_code == 3
    with pytest.raises(M.MilvusUnavailable):
        M.write(make_built(), uri, "news")


def test_db_file_in_use_by_another_process(tmp_path, built):
    uri = str(tmp_path / "busy.db")
    M.write(built, uri, "news")  # this process now serves the file
    code = f"from newsbot.embeddings import milvus as M\ntry:\n    M.MilvusIndex.open({uri!r}, 'news')\nexcept M.MilvusUnavailable as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert f"Cannot open the Milvus Lite file {uri}" in out.stdout and f"milvus-lite server --data-dir {uri}" in out.stdout, out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_server_killed_mid_use(tmp_path, built):
    proc, uri = start_server(tmp_path / "dying-server")
    try:
        M.write(built, uri, "news")
        idx = M.MilvusIndex.open(uri, "news")
        assert idx.dense_search(built.vectors[0], 2)[0][0] == 0
    finally:
        stop_server(proc)
    for search in (lambda: idx.dense_search(built.vectors[0], 2), lambda: idx.lexical([RARE], RARE, 3), lambda: idx.vectors(np.array([1])), idx.refresh):
        t = time.monotonic()
        with pytest.raises(M.MilvusUnavailable) as e:
            search()
        assert time.monotonic() - t < M.CALL_TIMEOUT + 5
        assert uri in str(e.value)


SAMPLE_QUESTIONS = [  # from the seed dev set, about the sample page shipped in the package
    "甬江街道总工会主席是谁?",
    "甬江街道产业工人在区党代表中占比多少?",
    "2021年甬江街道发展了多少名入党积极分子?",
    "甬江街道培育出几名“浙江工匠”?",
    "“三位一体”大调解体系去年调处了多少件矛盾纠纷?",
]


def test_build_and_search_like_the_folder_store(uri, name, tmp_path):
    """The whole path: build_index into Milvus (a forced rebuild reuses every vector), and the
    Retriever over it answers as over the folder store built from the same files."""
    from helpers import SAMPLE_DIR

    from newsbot.embeddings.index import Index, build_index
    from newsbot.embeddings.search import Retriever
    from newsbot.embeddings.store import Target

    enc = HashEncoder()
    build_index([SAMPLE_DIR], tmp_path / "folder", encoder=enc)
    target = Target(milvus=uri, collection=name)
    first = build_index([SAMPLE_DIR], target, encoder=enc)
    assert first.embedded == first.passages > 0
    again = build_index([SAMPLE_DIR], target, encoder=enc, force=True)
    assert again.embedded == 0 and again.reused == first.passages and not again.up_to_date
    assert build_index([SAMPLE_DIR], target, encoder=enc).up_to_date
    local = Retriever(Index.load(tmp_path / "folder"), encoder=enc)
    remote = Retriever(M.MilvusIndex.open(uri, name), encoder=enc)
    for q in SAMPLE_QUESTIONS:
        x, y = local.ask(q), remote.ask(q)
        assert x.answered and y.answered
        assert (y.hits[0].article, y.hits[0].paragraphs, y.hits[0].excerpt) == (x.hits[0].article, x.hits[0].paragraphs, x.hits[0].excerpt)


def test_pymilvus_is_imported_lazily():
    code = "import sys, newsbot.embeddings.search, newsbot.embeddings.index; print('pymilvus' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ | {"HF_HUB_OFFLINE": "1"})
    assert out.stdout.strip() == "False", out.stderr
