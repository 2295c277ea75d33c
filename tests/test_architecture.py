"""Architecture rules, checked on the source with ``ast`` (nothing is imported).

* No import cycle among ``newsbot.*`` modules. Only imports that run when a module is imported
  count: statements at module level, including inside module-level ``if``/``try``/``with``
  blocks and class bodies. Imports inside a function body run when it is called, after every
  module has loaded, so they cannot deadlock or see a half-initialised module: they are left
  out of the cycle check (they are how a module defers a heavy dependency such as faiss).
  ``if TYPE_CHECKING:`` blocks never run and are left out too. Relative imports are resolved
  against the importing module's package; ``from pkg import name`` counts as importing
  ``pkg.name`` when that is one of our modules, else ``pkg``.
* ``newsbot.embeddings`` (the retrieval core) never imports ``telegram``, at module level or
  lazily, nor the front ends in ``newsbot.bot``.
* Each core module says what it is for (a docstring) and stays small (about 500 lines).
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import ROOT

# The folders that install as the packages of the one import package `newsbot` (pyproject.toml).
PACKAGES = {"newsbot.embeddings": ROOT / "embeddings", "newsbot.bot": ROOT / "bot"}
MAX_CORE_LINES = 520  # "about 500"


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([package, *parts])] = path
    return out


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module, *, lazy: bool):
    """Import statements that run on import (``lazy=False``), or all of them (``lazy=True``)."""

    def walk(nodes):
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                yield node
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                if lazy:
                    yield from walk(ast.iter_child_nodes(node))
            elif isinstance(node, ast.If) and _type_checking(node):
                if lazy:
                    yield from walk(node.body)
                yield from walk(node.orelse)
            else:
                yield from walk(ast.iter_child_nodes(node))

    yield from walk(tree.body)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The absolute module names an import statement loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        up = node.level - 1
        if up >= len(package):
            raise AssertionError(f"{module} line {node.lineno}: relative import beyond the top-level package")
        base = package[: len(package) - up]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append(sub if sub in known else target)
    return out


def _graph(sources: dict[str, tuple[str, bool]], *, lazy: bool = False) -> dict[str, set[str]]:
    """Edges between our modules: ``{module: {modules it imports}}``."""
    known = set(sources)
    graph = {}
    for name, (text, is_package) in sources.items():
        tree = ast.parse(text)
        graph[name] = {
            t
            for node in _imports(tree, lazy=lazy)
            for t in _targets(node, name, is_package, known)
            if t in known and t != name
        }
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_path_within(graph, set(component)))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _path_within(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A cycle through the component's first module, for the failure message."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return sorted(component)


def _sources() -> dict[str, tuple[str, bool]]:
    return {name: (path.read_text(encoding="utf-8"), path.name == "__init__.py") for name, path in _modules().items()}


# -- the checker checks what it should ------------------------------------------------------------


def test_checker_finds_cycles_and_resolves_relative_imports():
    fake = {
        "newsbot.embeddings": ("", True),
        "newsbot.embeddings.a": ("from .b import x\n", False),
        "newsbot.embeddings.b": ("from . import c\n", False),
        "newsbot.embeddings.c": ("import newsbot.embeddings.a\n", False),
        "newsbot.embeddings.d": ("def f():\n    from .e import y\n", False),
        "newsbot.embeddings.e": ("from .d import f\nif TYPE_CHECKING:\n    from .f import z\n", False),
        "newsbot.embeddings.f": ("from ..bot.cli import main\nfrom .e import g\n", False),
        "newsbot.bot.cli": ("from ..embeddings.f import h\n", False),
    }
    graph = _graph(fake)
    assert graph["newsbot.embeddings.a"] == {"newsbot.embeddings.b"}
    assert graph["newsbot.embeddings.b"] == {"newsbot.embeddings.c"}  # `from . import c` is module c
    assert graph["newsbot.embeddings.d"] == set()  # lazy: inside a function
    assert graph["newsbot.embeddings.e"] == {"newsbot.embeddings.d"}  # TYPE_CHECKING never runs
    assert graph["newsbot.embeddings.f"] == {"newsbot.bot.cli", "newsbot.embeddings.e"}  # `..` leaves the package
    cycles = sorted(_cycles(graph))
    assert cycles == [
        ["newsbot.bot.cli", "newsbot.embeddings.f", "newsbot.bot.cli"],
        ["newsbot.embeddings.a", "newsbot.embeddings.b", "newsbot.embeddings.c", "newsbot.embeddings.a"],
    ]
    assert _graph(fake, lazy=True)["newsbot.embeddings.d"] == {"newsbot.embeddings.e"}


def test_checker_sees_the_project():
    modules = _modules()
    assert {"newsbot.embeddings", "newsbot.embeddings.search", "newsbot.embeddings.index", "newsbot.bot.cli"} <= set(modules)
    graph = _graph(_sources())
    assert "newsbot.embeddings.index" in graph["newsbot.embeddings.search"]
    assert "newsbot.embeddings.folder" in graph["newsbot.embeddings.index"]


# -- the rules ------------------------------------------------------------------------------------


def test_no_import_cycles():
    cycles = _cycles(_graph(_sources()))
    assert not cycles, "import cycles (module-level imports):\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_core_never_imports_telegram_or_the_front_ends():
    sources = _sources()
    bad = []
    for name, (text, is_package) in sources.items():
        if not (name == "newsbot.embeddings" or name.startswith("newsbot.embeddings.")):
            continue
        for node in _imports(ast.parse(text), lazy=True):
            for target in _targets(node, name, is_package, set(sources)):
                if target.split(".")[0] == "telegram" or target == "newsbot.bot" or target.startswith("newsbot.bot."):
                    bad.append(f"{name} line {node.lineno}: imports {target}")
    assert not bad, "\n".join(bad)


def test_core_modules_are_documented_and_small():
    for name, path in _modules().items():
        if not name.startswith("newsbot.embeddings"):
            continue
        text = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text))
        assert doc and doc.splitlines()[0].strip(), f"{path.name} has no docstring saying what it is for"
        lines = len(text.splitlines())
        assert lines <= MAX_CORE_LINES, f"{path.name} has {lines} lines: split it by concern"
