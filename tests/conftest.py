"""Shared fixtures: config points at tmp folders; indexes are built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_asyncio

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SAMPLE_DIR = ROOT / "embeddings" / "data"
SEED_DEV = SHARED / "eval" / "seed_dev.jsonl"
CMRC = SHARED / "bench" / "cmrc2018-trial"


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
    from embeddings.encoders import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, encoder) -> Path:
    """An index of the shipped sample page, built once; tests must not modify it."""
    from embeddings.index import build_index

    path = tmp_path_factory.mktemp("sample") / "index"
    build_index([SAMPLE_DIR], path, encoder=encoder)
    return path


@pytest.fixture(scope="session")
def sample_retriever(sample_index, encoder):
    from embeddings.index import Index
    from embeddings.search import Retriever

    return Retriever(Index.load(sample_index), encoder=encoder)


def needs_shared(path: Path):
    return pytest.mark.skipif(not path.exists() and not os.environ.get("CI"), reason=f"{path} not present")


@pytest_asyncio.fixture
async def api():
    """A fake Telegram Bot API server (tests/tgserver.py) on a free localhost port."""
    from tgserver import FakeBotAPI

    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()
