"""Talking to Milvus for :mod:`.milvus`: connecting with short timeouts, the errors newsbot
reports instead of pymilvus's and gRPC's, and reading what a build stored (layout:
:mod:`.milvus_schema`). pymilvus is imported on first use only (:func:`pymilvus_module`)."""

from __future__ import annotations

import json
import logging
import re
from contextlib import contextmanager

import numpy as np

from . import milvus_schema as ms
from .errors import IndexCorrupt, IndexError_, IndexNotFound, NewsbotError, StoreUnavailable, UsageError

CONNECT_TIMEOUT = 5.0  # seconds to reach the server
CALL_TIMEOUT = 15.0  # seconds for a search or a query, retries included
WRITE_TIMEOUT = 600.0  # seconds for one insert, flush, index build or load
META_BATCH = 16  # meta rows (<= 60 kB each) per insert or query
ID_BATCH = 1_000  # ids per query for vectors, or per filtered BM25 search
MAX_REASON_CHARS = 200
SERVER_HINT = "start one with `milvus-lite server --data-dir DIR --port 19530`, or check --milvus / NEWSBOT_MILVUS_URI"


class MilvusUnavailable(StoreUnavailable):
    """Milvus cannot be reached, or failed while answering (exit code 3)."""


class MilvusNotInstalled(IndexError_):
    def __init__(self):
        super().__init__('A Milvus store needs pymilvus and Milvus Lite: `pip install "newsbot-cite[milvus]"`.')


class MilvusIndexNotFound(IndexNotFound):
    """No index (alias) of that name in that Milvus."""

    def __init__(self, uri: str, collection: str):
        IndexError_.__init__(
            self,
            f"No index {collection!r} in Milvus at {uri}: build it with `newsbot index PATH... --milvus {uri} --collection {collection}`.",
        )
        self.path = f"collection {collection!r} at {uri}"


class IndexReplaced(StoreUnavailable):
    """The collection being searched was dropped: a rebuild replaced it (call ``refresh()``)."""


def rebuild_hint(uri: str, collection: str) -> str:
    return f"Rebuild it: `newsbot index PATH... --milvus {uri} --collection {collection}`."


# -- connection and errors -------------------------------------------------------------------


def pymilvus_module():
    try:
        import pymilvus
    except ImportError:
        raise MilvusNotInstalled() from None
    # pymilvus logs each failed call with its traceback; we report errors ourselves.
    for name in ("pymilvus", "pymilvus.milvus_client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return pymilvus


def is_milvus_error(e: BaseException) -> bool:
    from pymilvus.exceptions import MilvusException

    try:
        import grpc
    except ImportError:  # pragma: no cover - pymilvus depends on grpcio
        return isinstance(e, MilvusException)
    return isinstance(e, (MilvusException, grpc.RpcError))


def not_found(e: BaseException) -> bool:
    """A collection or alias that does not exist (codes and wording differ between Milvus and Milvus Lite)."""
    code = getattr(e, "code", None)
    text = str(getattr(e, "message", "") or e)
    return code == 100 or bool(re.search(r"not exist|not found|can't find|cannot find", text, re.I))


LOAD_TIMEOUT = 120.0  # seconds to load a collection into memory (a large one takes a while)


def _reason(e: BaseException) -> str:
    text = str(getattr(e, "message", "") or getattr(e, "details", lambda: "")() or e or type(e).__name__)
    return " ".join(text.split())[:MAX_REASON_CHARS] or type(e).__name__


def _unavailable(uri: str, e: BaseException) -> MilvusUnavailable:
    return MilvusUnavailable(f"Milvus at {uri} did not answer ({_reason(e)}): is the Milvus server running? {SERVER_HINT[0].upper()}{SERVER_HINT[1:]}.")


@contextmanager
def translated(uri: str, gone: NewsbotError | None = None):
    """pymilvus and gRPC errors as :class:`MilvusUnavailable` (or ``gone`` for a collection that
    does not exist); ours and programming errors pass through."""
    try:
        yield
    except NewsbotError:
        raise
    except Exception as e:
        if not is_milvus_error(e):
            raise
        if gone is not None and not_found(e):
            raise gone from None
        raise _unavailable(uri, e) from None


def check_target(uri: str, collection: str) -> None:
    if not isinstance(uri, str) or not (uri.endswith(".db") or re.match(r"(https?|tcp)://|unix:", uri)):
        raise UsageError(f"--milvus {uri!r} is not a Milvus address: give http://HOST:PORT (a server) or a path ending in .db (Milvus Lite).")
    if not ms.valid_name(collection):
        raise UsageError(f"--collection {collection!r} is not a Milvus name: use letters, digits and _ (not starting with a digit), at most 200.")


def connect(uri: str, timeout: float = CONNECT_TIMEOUT):
    """A MilvusClient for ``uri``, or :class:`MilvusUnavailable` within about ``timeout`` seconds."""
    pm = pymilvus_module()
    if not uri.endswith(".db"):
        with translated(uri):
            return pm.MilvusClient(uri=uri, timeout=timeout)
    # Milvus Lite serves the file from this process: quiet its server's logs (it logs each call
    # pymilvus probes and it lacks, and a traceback when the file is locked): we report errors.
    for name in ("grpc._server", "milvus_lite"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return pm.MilvusClient(uri=uri, timeout=timeout)
    except Exception as e:
        if not is_milvus_error(e):
            raise
        raise MilvusUnavailable(
            f"Cannot open the Milvus Lite file {uri} ({_reason(e)}). One process at a time can use a .db file: is another newsbot using it? "
            f"To share an index between processes or machines, serve it with `milvus-lite server --data-dir {uri} --port 19530` "
            "and give --milvus http://HOST:19530."
        ) from None


def ensure_loaded(client, *names: str) -> None:
    """Load collections that are not in memory: a Milvus (Lite) server restarted, or a ``.db``
    file opened by a new process, holds them released, and a released collection cannot be searched."""
    for name in names:
        state = client.get_load_state(name, timeout=CALL_TIMEOUT)
        if "Loaded" not in str(state.get("state") if isinstance(state, dict) else state) or "NotLoad" in str(state):
            client.load_collection(name, timeout=LOAD_TIMEOUT)


def released(e: BaseException) -> bool:
    """The error of a search in a collection that is not loaded."""
    text = str(e).lower()
    return "released" in text or "not loaded" in text or "load()" in text


def resolve(client, collection: str) -> str | None:
    """The physical chunks collection the alias ``collection`` points at, or None."""
    try:
        return client.describe_alias(collection, timeout=CALL_TIMEOUT)["collection_name"]
    except Exception as e:
        if is_milvus_error(e) and not_found(e):
            return None
        raise


def count_rows(client, name: str) -> int:
    rows = client.query(name, filter="", output_fields=["count(*)"], timeout=CALL_TIMEOUT)
    return int(rows[0]["count(*)"]) if rows else 0


# -- reading ---------------------------------------------------------------------------------


def read_meta(client, meta: str, kinds=ms.KINDS) -> dict:
    """The metadata of one build; IndexCorrupt when it is missing or incomplete, or a Milvus
    error (for the caller to translate) when a call fails."""
    try:
        rows = client.query(meta, ids=[ms.CONTENTS], output_fields=["data"], timeout=CALL_TIMEOUT)
    except Exception as e:
        if is_milvus_error(e) and not_found(e):
            raise IndexCorrupt(f"its metadata collection {meta} is missing") from None
        raise
    if not rows:
        raise IndexCorrupt(f"its metadata collection {meta} is incomplete")
    try:
        contents = json.loads(rows[0]["data"])
        out = {}
        for kind in kinds:
            got = []
            keys = [ms.part_key(kind, i) for i in range(contents["parts"][kind])]
            for a in range(0, len(keys), META_BATCH):
                got += client.query(meta, ids=keys[a : a + META_BATCH], output_fields=["part", "data"], timeout=CALL_TIMEOUT)
            out[kind] = ms.join_parts(kind, got, contents)
        return out
    except (ValueError, KeyError, TypeError) as e:
        raise IndexCorrupt(f"its metadata is damaged ({e})") from None


def fetch_vectors(client, name: str, ids: np.ndarray, dim: int) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64).ravel()
    out = np.zeros((len(ids), dim), dtype=np.float32)
    found = {}
    uniq = np.unique(ids)
    for s in range(0, len(uniq), ID_BATCH):
        batch = [int(i) for i in uniq[s : s + ID_BATCH]]
        for row in client.query(name, ids=batch, output_fields=["vector"], timeout=CALL_TIMEOUT):
            found[int(row["id"])] = row["vector"]
    missing = [int(i) for i in uniq if int(i) not in found]
    if missing:
        raise IndexCorrupt(f"passages {missing[:5]} have no vector in {name}")
    for j, i in enumerate(ids):
        out[j] = found[int(i)]
    return out
