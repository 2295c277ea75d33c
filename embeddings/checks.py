"""Checks every store makes of what it loads (pure functions): the manifest, and passages that
point at articles, paragraphs and sentence ranges that exist."""

from __future__ import annotations

from .build import FORMAT_VERSION
from .chunking import ChunkSettings
from .encoders import canonical_name
from .errors import IndexCorrupt, IndexMismatch
from .types import Article, Passage


def check_manifest(manifest: object, model: str | None, where: str, hint: str, rebuild: str) -> None:
    """Raise IndexCorrupt or IndexMismatch when ``manifest`` cannot serve a search (with ``model``,
    when given). ``where``: "The index at PATH"; ``hint``: how to rebuild; ``rebuild``: the flags
    that name this index in a ``newsbot index`` command."""
    the = "the" + where[3:] if where.startswith("The ") else where
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"The manifest of {the} is not a JSON object. {hint}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatch(f"{where} has format version {version}; this newsbot reads version {FORMAT_VERSION}. {hint}")
    bad = manifest_problems(manifest)
    if bad:
        raise IndexCorrupt(f"The manifest of {the} is damaged: {'; '.join(bad)}. {hint}")
    if model is not None and canonical_name(model) != manifest.get("model"):
        raise IndexMismatch(
            f"{where} was built with model {manifest.get('model')!r}, not {canonical_name(model)!r}. "
            f"Search it without --model, or rebuild it with the new model: `newsbot index PATH... {rebuild} --model {model}`."
        )


def is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def manifest_problems(m: dict) -> list[str]:
    """What a loaded manifest lacks for search to run (types and ranges, not the files)."""
    out = []
    if not isinstance(m.get("model"), str) or not m.get("model"):
        out.append("no model name")
    if not is_count(m.get("dim")) or not m.get("dim"):
        out.append("no vector dimension")
    if not is_count(m.get("passages")):
        out.append("no passage count")
    if not isinstance(m.get("files"), dict):
        out.append("no file list")
    try:
        ChunkSettings(**m["chunker"])
    except Exception:
        out.append("no valid chunker settings")
    return out


def passage_problems(articles: list[Article], passages: list[Passage]) -> list[str]:
    """Ids in order, every passage pointing at an article that exists, at its paragraphs and at a
    range of its sentences (checked against sentences.jsonl when the article is read)."""
    if any(a.id != i for i, a in enumerate(articles)):
        return ["article ids are out of order"]
    if any(p.id != i for i, p in enumerate(passages)):
        return ["passage ids are out of order"]
    for p in passages:
        if not (is_count(p.article) and p.article < len(articles)):
            return [f"passage {p.id} points at article {p.article!r}, which does not exist"]
        n = len(articles[p.article].paragraphs)
        if not p.paragraphs or not all(is_count(x) and 1 <= x <= n for x in p.paragraphs):
            return [f"passage {p.id} cites paragraphs {list(p.paragraphs)} of an article with {n}"]
        if not (len(p.sentences) == 2 and all(map(is_count, p.sentences)) and p.sentences[0] < p.sentences[1]):
            return [f"passage {p.id} has no valid sentence range ({list(p.sentences)})"]
    return []
