"""One exception family. Every message says what to do next; the CLI and the bot print it."""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class: ``str(err)`` is a message fit for a user, with the fix in it."""

    exit_code = 1


class UsageError(NewsbotError):
    """The request itself is wrong (bad flag, bad question file)."""

    exit_code = 2


class IndexError_(NewsbotError):
    """Base for problems with the index folder."""

    exit_code = 3


class IndexNotFound(IndexError_):
    def __init__(self, path):
        super().__init__(f"No index at {path}: run `newsbot index PATH... --index-dir {path}` first.")
        self.path = path


class IndexMismatch(IndexError_):
    """The index was built with another model, format or chunker than the one asked for."""


class IndexCorrupt(IndexError_):
    """A file of the index is missing, truncated or inconsistent with the manifest."""


class StoreUnavailable(IndexError_):
    """The server holding the index (Milvus) cannot be reached now; it may come back."""


class IndexLocked(IndexError_):
    """Another `newsbot index` is writing this index folder."""


class IndexWriteFailed(IndexError_):
    """A build could not write its files (disk full, file size limit, permissions); the previous
    index is unchanged."""


class EncoderError(NewsbotError):
    """The embedding model cannot be loaded."""

    exit_code = 3


class UntrustedModel(IndexError_):
    """An index names a model that is neither the default nor a local folder, and the user did
    not name it: it is not loaded."""


class CorpusError(NewsbotError):
    """Nothing indexable was found in the given paths."""

    exit_code = 2


def rebuild_hint(path) -> str:
    return f"Rebuild it: `newsbot index PATH... --index-dir {path}` (or delete {path} to get the default sample index back)."
