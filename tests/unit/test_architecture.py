"""The dependency rules of docs/ARCHITECTURE.md, checked on the source itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {
    "sqlmodel",
    "sqlalchemy",
    "strawberry",
    "starlette",
    "broadcaster",
    "alembic",
    "uvicorn",
    "graphql",
    "httpx",
    "asyncpg",
    "aiosqlite",
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", sources("domain"), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library_and_itself(path):
    assert imported_roots(path) & (FRAMEWORKS | {"api", "services", "persistence"}) == set()


@pytest.mark.parametrize("path", sources("persistence"), ids=lambda p: p.name)
def test_persistence_never_imports_the_api_or_services(path):
    assert imported_roots(path) & {"api", "services", "strawberry", "starlette"} == set()


@pytest.mark.parametrize("path", sources("services"), ids=lambda p: p.name)
def test_services_never_import_the_api_layer(path):
    assert imported_roots(path) & {"api", "strawberry", "starlette"} == set()


@pytest.mark.parametrize("path", sources("services"), ids=lambda p: p.name)
def test_services_see_persistence_only_through_their_ports(path):
    """No repository class, SQL expression, driver error or raw connection in a use case:
    `services/ports.py` declares what they may use, `api/bootstrap.py` wires it."""
    assert imported_roots(path) & {"persistence", "sqlalchemy", "sqlmodel", "asyncpg"} == set()


def _names_called(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return called


@pytest.mark.parametrize(
    "path", [p for p in sources("services") if p.name != "settle.py"], ids=lambda p: p.name
)
def test_no_service_settles_by_hand(path):
    """The unit of work runs the settle step at commit; a service only writes (and, where
    nothing it writes says so, declares what changed with `touch` / `rules_changed`)."""
    assert {"settle", "take", "retier", "retier_span"} & _names_called(path) == set()
    assert "services.settle" not in {
        node.module for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
    }  # fmt: skip


@pytest.mark.parametrize("path", sources("api/resolvers"), ids=lambda p: p.name)
def test_resolvers_hold_no_sql(path):
    assert imported_roots(path) & {"sqlalchemy", "sqlmodel", "persistence"} == set()


@pytest.mark.parametrize("path", sources("api/schema"), ids=lambda p: p.name)
def test_schema_types_map_domain_objects_not_persistence_ones(path):
    assert imported_roots(path) & {"sqlalchemy", "sqlmodel", "persistence"} == set()


@pytest.mark.parametrize("path", sources("services"), ids=lambda p: p.name)
def test_services_reach_the_network_only_through_ports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}  # fmt: skip
    modules |= {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}  # fmt: skip
    network = {"httpx", "urllib.request", "http.client", "socket", "aiohttp", "requests"}
    assert modules & network == set()


def test_the_architecture_test_sees_the_domain():
    assert len(sources("domain")) >= 6


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path", [p for p in sources("api/schema") if p.name != "__init__.py"], ids=lambda p: p.name
)
def test_schema_types_never_import_resolvers(path):
    assert not {m for m in imported_modules(path) if m.startswith("api.resolvers")}


def test_a_resolver_module_imports_on_its_own():
    """No import circle: a resolver imported first (before `api.schema`) loads."""
    done = subprocess.run(
        [sys.executable, "-c", "import api.resolvers.contacts, api.resolvers.roots"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
