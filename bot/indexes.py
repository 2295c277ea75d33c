"""Which index to serve and how to load it: the configured folder, or the per-user default built from the sample page.

Both the CLI and the Telegram bot load their index through here (the bot imports nothing of the CLI).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .common import err
from .config import Config
from ..embeddings.errors import IndexCorrupt, IndexMismatch, IndexNotFound, UsageError
from ..embeddings.store import Target
from ..embeddings.printable import printable


def default_index_dir() -> Path:
    """``index`` in the per-user cache folder: the index used when none is configured."""
    from platformdirs import user_cache_dir  # imported here: only the entry points need it

    return Path(user_cache_dir("newsbot")) / "index"


def sample_corpus() -> Path:
    """The folder of the sample newspaper page shipped inside the package."""
    from .. import embeddings

    return Path(embeddings.__file__).parent / "data"


def named_model(cfg: Config) -> str | None:
    """The model given with ``--model`` on this command line: the only way to have an index's
    hub model loaded (an index folder or a config file cannot ask for one by itself)."""
    return cfg["model"] if cfg.sources.get("model") == "flag" else None


@dataclass(frozen=True)
class IndexSpec:
    """An index to load: a folder, or a Milvus collection (``milvus`` URI and ``collection``);
    ``default``: the per-user default folder, built from the sample page when missing or
    unusable. ``model``: the encoder named on the command line, if any."""

    path: Path | None
    default: bool = False
    model: str | None = None
    max_file_chars: int | None = None  # for building the default index
    milvus: str | None = None
    collection: str = "newsbot"
    strictness: float = 0.0  # the ``strictness`` setting, for the retriever's SearchSettings

    @property
    def target(self) -> Target:
        return Target(self.path, self.milvus, self.collection)

    def load(self, warn: Callable[[str], None] = err):
        return load_retriever(self, warn)


def resolve_index_dir(arg: Path | None, cfg: Config) -> tuple[Path, bool]:
    """The index folder to use, and whether it is the default (which may be built on demand)."""
    if arg is not None:
        return Path(arg).expanduser(), False
    if cfg.configured("index_dir"):  # flag, $NEWSBOT_INDEX_DIR or newsbot.toml
        return Path(cfg["index_dir"]).expanduser(), False
    return default_index_dir(), True


def resolve_target(arg: Path | None, cfg: Config) -> tuple[Target, bool]:
    """Where the index is: a Milvus collection when ``--milvus`` (or the configuration) names
    one, else the folder of :func:`resolve_index_dir`; and whether it is the default folder."""
    if cfg.get("milvus_uri"):
        if arg is not None:
            raise UsageError("Give either --index-dir (a local index folder) or --milvus (a Milvus collection), not both.")
        return Target(milvus=cfg["milvus_uri"], collection=cfg["collection"]), False
    path, default = resolve_index_dir(arg, cfg)
    return Target(folder=path), default


def index_spec(arg: Path | None, cfg: Config) -> IndexSpec:
    """What ``--index-dir`` or ``--milvus`` (or the configuration) asks for."""
    target, default = resolve_target(arg, cfg)
    return IndexSpec(target.folder, default, named_model(cfg), cfg.get("max_file_chars"), target.milvus, target.collection, cfg["strictness"])


def build_default_index(path: Path, quiet: bool = False, warn: Callable[[str], None] = err, max_file_chars: int | None = None):
    """Index the sample page shipped in the package into ``path``."""
    from ..embeddings.index import build_index

    if not quiet:
        print(f"newsbot: first run: indexing the sample newspaper page into {printable(path)} (once; later runs reuse it)…", file=sys.stderr)
    return build_index([sample_corpus()], path, warn=warn, force=True, max_file_chars=max_file_chars)


def load_retriever(spec: IndexSpec, warn: Callable[[str], None] = err):
    """Load the retriever; the default index is built from the sample corpus when missing or stale."""
    from ..embeddings.search import Retriever

    try:
        return tuned(Retriever.load(spec.target, model=spec.model), spec)
    except (IndexNotFound, IndexMismatch, IndexCorrupt) as e:
        # The default index is rebuilt from the sample page, with the default model: that cannot
        # help when another model was named (--model), which would not match it either.
        if not spec.default or (spec.model and isinstance(e, IndexMismatch)):
            raise
        if not isinstance(e, IndexNotFound):
            warn(f"{e}\nRebuilding the default index.")
        build_default_index(spec.path, warn=warn, max_file_chars=spec.max_file_chars)
        return tuned(Retriever.load(spec.path, model=spec.model), spec)


def tuned(retriever, spec: IndexSpec):
    """``retriever`` with what the configuration changes in its search (``strictness``)."""
    if spec.strictness:
        retriever.settings = replace(retriever.settings, strictness=spec.strictness)
    return retriever


@dataclass(frozen=True)
class NamedIndex:
    """An index a chat can be bound to (``[indexes]`` in newsbot.toml; ``default`` is the one
    ``index_dir``/``milvus_uri`` names). ``corpus``: what /reindex rebuilds it from (empty: for
    the default index the ``corpus`` setting, for a named one nothing: /reindex says so)."""

    name: str
    spec: IndexSpec
    corpus: tuple[str, ...] = ()


def named_indexes(cfg: Config, default: IndexSpec) -> dict[str, NamedIndex]:
    """``default`` (the index the command line and settings name) and every index of ``[indexes]``."""
    from .config import DEFAULT_INDEX

    out = {DEFAULT_INDEX: NamedIndex(DEFAULT_INDEX, default, tuple(cfg["corpus"]))}
    for name, entry in cfg["indexes"].items():
        folder = Path(entry["folder"]) if entry["folder"] else None
        spec = IndexSpec(folder, False, default.model, default.max_file_chars, entry["milvus"], entry["collection"], default.strictness)
        out[name] = NamedIndex(name, spec, tuple(entry["corpus"]))
    return out
