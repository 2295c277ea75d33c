"""Shared fixtures: config points at tmp folders; indexes are built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from helpers import SAMPLE_DIR


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    """Never touch the user's cache or config: the default index lives under tmp_path."""
    monkeypatch.setenv("NEWSBOT_INDEX_DIR", str(tmp_path / "default-index"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def encoder():
    """The default encoder (multilingual USE), loaded once."""
    from newsbot.embeddings.encoders import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, encoder) -> Path:
    """An index of the shipped sample page, built once; tests must not modify it."""
    from newsbot.embeddings.index import build_index

    path = tmp_path_factory.mktemp("sample") / "index"
    build_index([SAMPLE_DIR], path, encoder=encoder)
    return path


@pytest.fixture
def own_retriever(sample_index, encoder, tmp_path):
    """A retriever over a private copy of the sample index: for tests that rebuild it (/reindex)."""
    import shutil

    from newsbot.embeddings.index import Index
    from newsbot.embeddings.search import Retriever

    copy = tmp_path / "index"
    shutil.copytree(sample_index, copy)
    return Retriever(Index.load(copy), encoder=encoder)


@pytest.fixture(scope="session")
def sample_retriever(sample_index, encoder):
    from newsbot.embeddings.index import Index
    from newsbot.embeddings.search import Retriever

    return Retriever(Index.load(sample_index), encoder=encoder)


@pytest_asyncio.fixture
async def api():
    """A fake Telegram Bot API server (tests/tgserver.py) on a free localhost port."""
    from tgserver import FakeBotAPI

    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()
