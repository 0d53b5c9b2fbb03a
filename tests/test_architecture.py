"""The layout of ARCHITECTURE.md's "Rooms inside the apps", read from the source with ``ast``.

The front ends (public pages, staff web app, citizen API, staff API, Open311) depend on the reports
domain and never on each other; the domain depends on no front end and never on notifications or
mobile_api. Every import counts, also one inside a function: a late import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend_independent  # reads source files only

ROOT = Path(__file__).resolve().parent.parent

FRONT_ENDS = ("reports.site", "reports.staff", "mobile_api.v1", "mobile_api.staff", "mobile_api.open311")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The modules ``path`` imports (``from a import b`` counts as a and a.b: b may be a module)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    return found


def _is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _python_files(package: str) -> list[Path]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def _domain_files() -> list[Path]:
    return [p for p in _python_files("reports")
            if not any(_is_within(_module_name(p), front_end) for front_end in FRONT_ENDS)]


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_each_front_end_is_a_package_of_its_own(front_end):
    assert ROOT.joinpath(*front_end.split("."), "__init__.py").is_file(), front_end


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_a_front_end_never_imports_another_front_end(front_end):
    others = [other for other in FRONT_ENDS if other != front_end]
    wrong = sorted(
        f"{_module_name(path)} imports {name}"
        for path in _python_files(front_end)
        for name in _imports(path)
        if any(_is_within(name, other) for other in others)
    )
    assert wrong == []


def test_the_reports_domain_imports_no_front_end_nor_notifications_nor_mobile_api():
    forbidden = (*FRONT_ENDS, "notifications", "mobile_api")
    wrong = sorted(
        f"{_module_name(path)} imports {name}"
        for path in _domain_files()
        for name in _imports(path)
        if any(_is_within(name, package) for package in forbidden)
    )
    assert wrong == []


def test_the_reports_domain_mounts_no_urls():
    """URLs belong to a front end: a module of the domain with ``urlpatterns`` is a front end in the wrong room."""
    wrong = sorted(
        _module_name(path)
        for path in _domain_files()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name) and target.id == "urlpatterns"
    )
    assert wrong == []


def test_html_views_do_not_handle_drf_errors():
    """The public pages and the staff web app hear of bad input through domain exceptions, not the APIs' errors."""
    wrong = sorted(
        f"{_module_name(path)} imports {name}"
        for front_end in ("reports.site", "reports.staff")
        for path in _python_files(front_end)
        for name in _imports(path)
        if _is_within(name, "rest_framework")
    )
    assert wrong == []


def test_there_is_one_role_enum():
    """geo.StaffRole is stored on memberships; the workflow and the permission module use it, not a copy."""
    roles = sorted(
        f"{_module_name(path)}.{node.name}"
        for package in ("geo", "reports", "mobile_api", "notifications", "backend")
        for path in _python_files(package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Role")
    )
    assert roles == ["geo.models.StaffRole"]
