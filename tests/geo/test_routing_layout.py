"""The routing's layout, read from the source: the rules in geo.routing, the queries in geo.routing_sql,
what differs between PostGIS and SpatiaLite in geo.spatial_sql only."""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend_independent

GEO = Path(__file__).resolve().parents[2] / "geo"
# Spellings that belong to one backend: PostGIS functions and operators, SpatiaLite's index and functions.
BACKEND_SPECIFIC = (
    "ST_", "&&", "SpatialIndex", "BuildMbr", "Covers(", "Intersects(", "Distance(", "postgresql", "sqlite"
)


def tree(module: str) -> ast.Module:
    return ast.parse((GEO / f"{module}.py").read_text())


def code_strings(module: ast.Module) -> list[str]:
    """The string literals of the module but its docstrings (which may name the backends' functions)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(module)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node) is not None
    }
    return [
        node.value
        for node in ast.walk(module)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_only_spatial_sql_writes_what_differs_between_the_backends():
    for module in ("routing", "routing_sql"):
        for text in code_strings(tree(module)):
            assert not any(word in text for word in BACKEND_SPECIFIC), (module, text)
    spatial = "".join(code_strings(tree("spatial_sql")))
    assert all(word in spatial for word in ("ST_Covers", "SpatialIndex", "postgresql", "sqlite"))


def test_route_fits_on_one_screen_and_writes_no_sql():
    routing = tree("routing")
    route = next(node for node in routing.body if isinstance(node, ast.FunctionDef) and node.name == "route")
    assert route.end_lineno - route.lineno < 30
    imported = {alias.name for node in ast.walk(routing) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert not imported & {"connection", "connections", "RawSQL"}
