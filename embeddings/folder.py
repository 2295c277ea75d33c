"""The index folder on disk: which folders newsbot may replace, the build lock, the swap, file I/O."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .errors import IndexLocked, UsageError

MANIFEST = "manifest.json"
MARKER = ".newsbot-index"  # in every folder newsbot builds: only such folders are ever deleted
_MARKER_TEXT = "This folder was built by `newsbot index`; newsbot may replace or delete it.\n"


def _lock_path(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.newsbot-lock"


def backups(index_dir: Path) -> list[Path]:
    """Previous indexes left by a swap that was killed (only folders carrying the marker)."""
    return sorted(p for p in index_dir.parent.glob(f".{index_dir.name}.newsbot-old-*") if has_marker(p))


def _temp_glob(index_dir: Path) -> str:
    return f".{index_dir.name}.newsbot-tmp-*"


@contextlib.contextmanager
def locked(index_dir: Path):
    """Hold a lock file beside the index folder; a second writer fails clearly."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(index_dir), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLocked(
                f"Another `newsbot index` is writing {index_dir} right now: wait for it to finish, then run again."
            ) from None
        yield
    finally:
        os.close(fd)


def read_manifest(path: Path) -> dict | None:
    """The folder's manifest if it is a newsbot manifest (a JSON object with our keys), else None."""
    try:
        m = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and "format_version" in m and "model" in m else None


def has_marker(path: Path) -> bool:
    return not path.is_symlink() and path.is_dir() and (path / MARKER).is_file() and not (path / MARKER).is_symlink()


def _ours(path: Path) -> bool:
    """A folder newsbot may replace or delete: one it built (marker or manifest), or an empty one."""
    if path.is_symlink() or not path.is_dir():
        return False
    return has_marker(path) or read_manifest(path) is not None or not any(path.iterdir())


def check_index_dir(index_dir: Path, corpus: Sequence[str | os.PathLike] = ()) -> None:
    """Refuse (exit 2) an index folder that newsbot would have to overwrite without owning it,
    or that overlaps a folder being indexed."""
    where = Path(index_dir)
    if where.exists() or where.is_symlink():
        if not where.is_dir():
            raise UsageError(f"--index-dir {where} is a file, not a folder: choose an empty or new folder.")
        if not _ours(where):
            raise UsageError(
                f"--index-dir {where} holds files that are not a newsbot index, and newsbot replaces its index "
                "folder on every build: nothing was changed. Choose an empty or new folder for --index-dir."
            )
    real = where.resolve()
    for p in corpus:
        if isinstance(p, str) and p.lower().startswith(("http://", "https://")):
            continue  # a web page: fetched, never written
        source = Path(p).expanduser().resolve()
        if real == source or source in real.parents or real in source.parents:
            relation = "is" if real == source else ("is inside" if source in real.parents else "contains")
            raise UsageError(
                f"--index-dir {where} {relation} the folder being indexed ({p}): the index would overwrite or index "
                "itself. Choose an index folder outside the papers, e.g. --index-dir ~/newsbot-index."
            )


def recover(index_dir: Path) -> None:
    """Finish or undo a swap that a killed build left half done (caller holds the lock).
    Only folders carrying newsbot's marker are touched."""
    for old in backups(index_dir):
        if read_manifest(index_dir) is not None:
            shutil.rmtree(old, ignore_errors=True)
        elif not index_dir.exists():
            os.rename(old, index_dir)
        elif _ours(index_dir):
            shutil.rmtree(index_dir, ignore_errors=True)
            os.rename(old, index_dir)
    for tmp in index_dir.parent.glob(_temp_glob(index_dir)):
        if has_marker(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def swap(tmp: Path, index_dir: Path) -> None:
    if not index_dir.exists():
        os.rename(tmp, index_dir)
        return
    if not has_marker(index_dir):  # an empty folder, or an index built before the marker
        (index_dir / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    old = index_dir.parent / f".{index_dir.name}.newsbot-old-{os.getpid()}"
    os.mkdir(old)  # fails if the name is taken: then nothing has moved yet
    os.rename(index_dir, old)  # replaces the empty folder just made
    os.rename(tmp, index_dir)
    shutil.rmtree(old, ignore_errors=True)


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False))
            f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def temp_dir(index_dir: Path) -> Path:
    """The sibling folder this process builds in before the swap."""
    return index_dir.parent / _temp_glob(index_dir).replace("*", str(os.getpid()))


def start_temp(tmp: Path) -> None:
    """Make ``tmp`` afresh, carrying the marker (a leftover of a killed build is replaced)."""
    if has_marker(tmp):
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    (tmp / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")


def discard(tmp: Path) -> None:
    """Delete a temporary build folder, if it is one (it carries the marker)."""
    if has_marker(tmp):
        shutil.rmtree(tmp, ignore_errors=True)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Lines:
    """The lines of a file, memory-mapped: read one at a time, kept out of the heap."""

    def __init__(self, path: Path):
        import mmap

        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        starts = [0]
        pos = self._map.find(b"\n") if size else -1
        while pos != -1:
            starts.append(pos + 1)
            pos = self._map.find(b"\n", pos + 1)
        if starts[-1] == size:
            starts.pop()
        self._starts = np.asarray(starts + [size], dtype=np.int64)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i: int) -> str:
        a, b = int(self._starts[i]), int(self._starts[i + 1])
        return self._map[a:b].decode("utf-8").rstrip("\n")
