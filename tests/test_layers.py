"""The import graph: no circle, and no arrow from a lower floor to a higher one (README, Layout).

Every ``hybrid`` import counts, the ones inside functions too (a lazy import is still an arrow).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hybrid"
# Lowest first; a floor may import only floors before it (and itself).
FLOORS = [
    {"schema", "precision", "embedded", "errors", "config"},
    {"models"},
    {"knowledge"},
    {"monitor"},
    {"runtime"},
    {"datasets"},
    {"answer"},
    {"behaviour"},
    {"evals", "integrations"},
    {"serve"},
    {"cli"},
]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    modules = {_module(p) for p in PACKAGE.rglob("*.py")}
    for path in PACKAGE.rglob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hybrid"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("hybrid")}
        graph[_module(path)] = found - {_module(path)}
    return graph


def _floor(module: str) -> int:
    top = module.split(".")[1] if "." in module else module
    return next(i for i, floor in enumerate(FLOORS) if top in floor)


def test_every_module_sits_on_a_floor():
    for module in _imports():
        if module != "hybrid":
            _floor(module)  # StopIteration names a module no floor lists


def test_no_arrow_runs_up():
    upward = [
        f"{a} -> {b}"
        for a, targets in _imports().items()
        if a != "hybrid"
        for b in targets
        if b != "hybrid" and _floor(b) > _floor(a)
    ]
    assert upward == []


def test_no_circle():
    graph = _imports()
    seen: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join([*path, module])
        if module in seen:
            return
        for target in graph.get(module, ()):
            visit(target, (*path, module))
        seen.add(module)

    for module in graph:
        visit(module, ())
