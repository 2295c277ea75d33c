"""How an index is laid out in Milvus: collection names, schemas, and the metadata as JSON rows.

An index named ``C`` (``--collection C``) is two physical collections per build, and an alias:

    C                       alias -> the current build's chunks collection
    C__<generation>         chunks: id (= passage id) | vector | text -> BM25 sparse | article
    C__<generation>__meta   metadata: manifest, articles, passages, hashes, df, sentences,
                            as JSON split into VARCHAR rows keyed (kind, part)

``<generation>`` is a UTC timestamp and a random suffix (``20250101T120000_3fa2c1``), so names
sort by build time. A build writes new collections and then moves the alias, so readers see
the old index until the new one is whole (see :func:`.milvus.write`).

Pure functions and constants only: pymilvus is passed in (``pm``), never imported here.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import unicodedata

from .bm25 import B, K1
from .dense import ANN_THRESHOLD, faiss_params
from .tokenize import STOPWORDS

META_FORMAT = 1  # of the meta collection's rows (the index's own format is the manifest's)
META_SUFFIX = "__meta"
PART_BYTES = 60_000  # of JSON in one meta row (Milvus caps a VARCHAR at 65,535 bytes)
TEXT_BYTES = 60_000  # of a chunk's text kept for BM25 (a chunk is a few hundred characters)
KINDS = ("manifest", "articles", "passages", "hashes", "df", "sentences")
CONTENTS = "contents"  # the row written last: what parts each kind has, and their checksums
DUMMY_DIM = 2  # Milvus needs a vector field in every collection, the meta one included

# Milvus's own BM25 over the chunk text, analysed with its jieba tokenizer (search mode, as our
# tokenize.py). Our question words and punctuation are stop words, so that a question's "什么"
# or "？" does not match passages (tokenize.py drops them from questions, and punctuation from
# everything). "lowercase" and "removepunct" are Milvus filters; Milvus Lite lower-cases itself
# and ignores filters other than "stop", hence the punctuation in the stop list too. Measured on
# CMRC 2018 trial (1,002 questions) against the folder store (hybrid hit@1 0.943): jieba alone
# gave 0.942, BM25 top-1 the same as the folder store's for 94.5% of questions, 19 ms a search;
# with these stop words 0.943, 97.7%, 2 ms.
PUNCTUATION = ("……", "——", "...", "--") + tuple("，。！？；：、“”‘’「」『』（）《》〈〉【】〔〕…—～·．,.!?;:'\"()[]{}<>-/\\|@#$%^&*+=~`")  # not "_": tokenize.py keeps it (\w)
ANALYZER = {
    "tokenizer": "jieba",
    "filter": ["lowercase", "removepunct", {"type": "stop", "stop_words": sorted(STOPWORDS | set(PUNCTUATION))}],
}
BM25_PARAMS = {"bm25_k1": K1, "bm25_b": B}  # the local store's (bm25.py), so scores compare
# Milvus scores a term idf * tf * (k1 + 1) / (tf + k1 * (...)); bm25s's Lucene variant (the local
# store) leaves out the (k1 + 1): dividing by it puts both stores' scores on one scale.
BM25_SCALE = 1.0 / (K1 + 1.0)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")
CHUNK_FIELDS = frozenset({"id", "vector", "text", "sparse", "article"})
META_FIELDS = frozenset({"key", "kind", "part", "data", "dummy"})


def valid_name(collection: str) -> bool:
    """Milvus collection and alias names: a letter or ``_``, then letters, digits and ``_``."""
    return bool(_NAME.fullmatch(collection or ""))


def new_generation() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "_" + secrets.token_hex(3)


def chunks_name(collection: str, generation: str) -> str:
    return f"{collection}__{generation}"


def meta_name(chunks: str) -> str:
    return chunks + META_SUFFIX


def ours(collection: str, name: str) -> tuple[str, bool] | None:
    """``(generation, is_meta)`` when ``name`` is one of our physical collections for the alias
    ``collection``, else None (a name we did not make is never dropped)."""
    m = re.fullmatch(re.escape(collection) + r"__(\d{8}T\d{6}_[0-9a-f]{6})(__meta)?", name)
    return (m.group(1), bool(m.group(2))) if m else None


def bm25_text(text: str) -> str:
    """What Milvus's analyser gets, of a chunk or a question: NFKC like tokenize.py (full-width
    digits and letters become ASCII), cut to what a VARCHAR holds."""
    return utf8_prefix(unicodedata.normalize("NFKC", text), TEXT_BYTES)


def utf8_prefix(text: str, limit: int) -> str:
    b = text.encode("utf-8")
    if len(b) <= limit:
        return text
    return b[:limit].decode("utf-8", errors="ignore")


def split_utf8(text: str, limit: int | None = None) -> list[str]:
    """``text`` in pieces of at most ``limit`` (PART_BYTES) UTF-8 bytes, cut between characters."""
    limit = limit or PART_BYTES
    b = text.encode("utf-8")
    parts, i = [], 0
    while i < len(b):
        j = min(i + limit, len(b))
        while j < len(b) and (b[j] & 0xC0) == 0x80:  # a continuation byte: step back to a character's start
            j -= 1
        parts.append(b[i:j].decode("utf-8"))
        i = j
    return parts or [""]


def dense_index(n: int) -> tuple[dict, dict]:
    """(index params, search params) of the vector field for ``n`` chunks: exact (FLAT) up to
    the local store's ANN threshold, IVF_FLAT above with its nlist and nprobe (dense.py)."""
    if n <= ANN_THRESHOLD:
        return {"index_type": "FLAT", "metric_type": "IP", "params": {}}, {"metric_type": "IP", "params": {}}
    p = faiss_params(n)
    return (
        {"index_type": "IVF_FLAT", "metric_type": "IP", "params": {"nlist": p["nlist"]}},
        {"metric_type": "IP", "params": {"nprobe": p["nprobe"]}},
    )


def chunk_schema(pm, client, dim: int, n: int):
    """(schema, index params) of a chunks collection of ``n`` vectors of ``dim``."""
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", pm.DataType.INT64, is_primary=True)
    schema.add_field("vector", pm.DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("text", pm.DataType.VARCHAR, max_length=65_535, enable_analyzer=True, analyzer_params=ANALYZER)
    schema.add_field("sparse", pm.DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("article", pm.DataType.INT64)
    schema.add_function(pm.Function(name="bm25", function_type=pm.FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    dense, _ = dense_index(n)
    index.add_index("vector", **dense)
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=dict(BM25_PARAMS))
    return schema, index


def meta_schema(pm, client):
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", pm.DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("kind", pm.DataType.VARCHAR, max_length=32)
    schema.add_field("part", pm.DataType.INT64)
    schema.add_field("data", pm.DataType.VARCHAR, max_length=65_535)
    schema.add_field("dummy", pm.DataType.FLOAT_VECTOR, dim=DUMMY_DIM)
    index = client.prepare_index_params()
    index.add_index("dummy", index_type="FLAT", metric_type="L2")
    return schema, index


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def part_key(kind: str, part: int) -> str:
    """The primary key of a meta row: rows are read by key."""
    return f"{kind}/{part}"


def meta_rows(blobs: dict, extra: dict) -> list[dict]:
    """The meta collection's rows: each kind's JSON in parts, then the contents row (written last:
    a reader that finds it knows every part was written before it)."""
    rows, contents = [], {"meta_format": META_FORMAT, "parts": {}, "sha1": {}, **extra}
    zero = [0.0] * DUMMY_DIM
    for kind in KINDS:
        text = _dumps(blobs[kind])
        parts = split_utf8(text)
        contents["parts"][kind] = len(parts)
        contents["sha1"][kind] = hashlib.sha1(text.encode("utf-8")).hexdigest()
        rows += [{"key": part_key(kind, i), "kind": kind, "part": i, "data": p, "dummy": zero} for i, p in enumerate(parts)]
    rows.append({"key": CONTENTS, "kind": CONTENTS, "part": 0, "data": _dumps(contents), "dummy": zero})
    return rows


def join_parts(kind: str, rows: list[dict], contents: dict):
    """A kind's object back from its rows; ValueError when parts are missing or altered."""
    n = contents["parts"][kind]
    by_part = {int(r["part"]): r["data"] for r in rows}
    if sorted(by_part) != list(range(n)):
        raise ValueError(f"{kind}: {len(by_part)} of {n} parts")
    text = "".join(by_part[i] for i in range(n))
    if hashlib.sha1(text.encode("utf-8")).hexdigest() != contents["sha1"][kind]:
        raise ValueError(f"{kind}: checksum mismatch")
    return json.loads(text)
