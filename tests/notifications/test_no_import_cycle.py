"""The modules of notifications/ import each other in one direction only (read from the source, not run).

Every import counts, also one inside a function: moving an import into a function hides a cycle from
Python's import system, not from the reader. The one allowed place for imports in a function is
``AppConfig.ready``, where Django wants signal receivers connected.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend_independent  # reads source files only

PACKAGE = "notifications"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {
        module_name(path): ast.parse(path.read_text(), filename=str(path))
        for path in sorted(ROOT.rglob("*.py"))
        if "migrations" not in path.parts
    }


def imported(tree: ast.Module, known: set[str]) -> set[str]:
    """The notifications modules a module imports: ``from a.b import c`` names a.b.c if that is a module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(
                f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                for alias in node.names
            )
    return {name for name in names if name in known}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path (first module repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        for target in sorted(graph[node]):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_modules_of_notifications_form_no_import_cycle():
    trees = modules()
    known = set(trees)
    graph = {name: imported(tree, known) - {name} for name, tree in trees.items()}

    cycle = find_cycle(graph)

    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_the_cycle_finder_sees_a_cycle_through_several_modules():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_notifications_imports_only_at_module_level_except_in_app_ready():
    hidden = []
    for name, tree in modules().items():
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if name == f"{PACKAGE}.apps" and function.name == "ready":
                continue
            hidden += [
                f"{name}.{function.name}:{node.lineno}"
                for node in ast.walk(function)
                if isinstance(node, (ast.Import, ast.ImportFrom))
            ]

    assert hidden == []


def test_reports_never_imports_notifications():
    reports = ROOT.parent / "reports"
    offenders = []
    for path in sorted(reports.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            offenders += [f"{path.relative_to(ROOT.parent)}: {n}" for n in names if n.split(".")[0] == PACKAGE]

    assert offenders == []
