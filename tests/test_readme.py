"""The README stays true to the code: every project file it names exists, and every setting is listed."""

from __future__ import annotations

import re

from helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _named_files() -> set[str]:
    """Paths like `embeddings/index.py`, and bare module names listed after a folder in the
    module map (`folder.py`, `bm25.py` …, resolved in the folder named on the same line)."""
    named = set(re.findall(r"`((?:bot|embeddings|tests|benchmarks|docs)/[\w/.-]+\.py)`", README))
    folder = None
    for line in README.splitlines():
        m = re.match(r"\| `((?:bot|embeddings)(?:/\w+)?)/` \|", line)
        if m:
            folder = m.group(1)
        elif not line.startswith("| |"):
            folder = None if not line.startswith("|") else folder
        if folder and line.startswith("|"):
            cells = line.split("|")
            if len(cells) > 2:
                named |= {f"{folder}/{name}" for name in re.findall(r"`(\w+\.py)`", cells[2])}
    return named


def test_every_file_the_readme_names_exists():
    named = _named_files()
    assert len(named) > 30, sorted(named)  # the module map was read
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"README names files that do not exist: {missing}"


def test_every_module_is_in_the_module_map():
    named = _named_files()
    modules = {str(p.relative_to(ROOT)) for d in ("bot", "embeddings") for p in (ROOT / d).rglob("*.py") if p.name != "__init__.py"}
    assert not sorted(modules - named), "modules missing from the README's module map"


def test_every_setting_is_in_the_readme():
    from newsbot.bot.config import FIELDS

    for f in FIELDS:
        assert f"`{f.key}`" in README and f"`{f.env}`" in README, f.key
