"""The locks match their inputs: fails when a dependency was edited without `make lock`.

requirements.lock (from pyproject.toml) and requirements-bootstrap.txt (from
requirements-bootstrap.in) are what `make run`, `make test` and CI install, with
--require-hashes. A lock older than its inputs would install something else than pyproject.toml
says, or miss a new dependency altogether (the install runs with --no-deps).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
RELOCK = "pyproject.toml or requirements-bootstrap.in changed without re-locking: run `make lock`"


def _lock_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("segmento_lock", ROOT / "scripts" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock = _lock_module()
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _entries(path: Path) -> dict[str, tuple[Version, list[str]]]:
    """name -> (pinned version, the entry's hashes), from a pip-compile output."""
    entries: dict[str, tuple[Version, list[str]]] = {}
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        found = _PIN.match(line)
        if found:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
            entries[canonicalize_name(found[1])] = (Version(found[2]), hashes)
        else:
            stripped = line.split("#", 1)[0].strip()
            assert not stripped, f"{path.name}: a line that is not an exact pin: {line!r}"
    return entries


def _declared() -> list[Requirement]:
    inputs = lock.pyproject_inputs()
    requirements = list(inputs["dependencies"])
    for extra in inputs["optional-dependencies"].values():
        requirements += extra
    return [Requirement(text) for text in requirements]


def test_each_lock_header_carries_the_digest_of_its_inputs() -> None:
    """What `make lock` stamps; `python3 scripts/lock.py check` (run by the Makefile) agrees."""
    for lock_file, expected in lock.pairs():
        assert lock.stamped(lock_file) == expected, f"{lock_file.name} is stale: {RELOCK}"


def test_every_declared_requirement_is_pinned_within_its_range() -> None:
    pinned = _entries(lock.LOCK)
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pinned, (
            f"{requirement.name} is declared but not in requirements.lock: {RELOCK}"
        )
        version = pinned[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, outside {requirement}: {RELOCK}"
        )


def test_every_declared_requirement_has_an_upper_bound() -> None:
    """`<NEXT_MAJOR` (for 0.x: `<1`); a bound may sit in an entry of its own."""
    bounded = {
        canonicalize_name(r.name)
        for r in _declared()
        if any(spec.operator in {"<", "<=", "==", "~="} for spec in r.specifier)
    }
    unbounded = sorted({canonicalize_name(r.name) for r in _declared()} - bounded)
    assert not unbounded, f"no upper bound in pyproject.toml: {unbounded}"


def test_pip_and_setuptools_are_pinned_and_setuptools_can_build_the_project() -> None:
    pinned = _entries(lock.BOOTSTRAP_LOCK)
    assert {"pip", "setuptools"} <= pinned.keys()
    for text in lock.pyproject_inputs()["build-system"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"build requirement {name} is not in requirements-bootstrap.txt"
        assert requirement.specifier.contains(pinned[name][0]), f"{name}: {RELOCK}"


@pytest.mark.parametrize("lock_file", [lock.LOCK, lock.BOOTSTRAP_LOCK], ids=lambda p: p.name)
def test_every_entry_is_an_exact_pin_with_hashes(lock_file: Path) -> None:
    entries = _entries(lock_file)
    assert entries
    unhashed = sorted(name for name, (_, hashes) in entries.items() if not hashes)
    assert not unhashed, f"{lock_file.name}: entries without --hash: {unhashed}"


def test_every_third_party_package_the_code_imports_is_declared() -> None:
    """Declared directly, not only reached through another package's dependencies."""
    imports = {
        # import name -> distribution
        "strawberry": "strawberry-graphql",
        "graphql": "graphql-core",
        "starlette": "starlette",
        "uvicorn": "uvicorn",
        "sqlmodel": "sqlmodel",
        "sqlalchemy": "sqlalchemy",
        "alembic": "alembic",
        "asyncpg": "asyncpg",
        "broadcaster": "broadcaster",
        "redis": "redis",
        "orjson": "orjson",
        "prometheus_client": "prometheus-client",
        "httpx": "httpx",
        "httpcore": "httpcore",
        "cross_web": "cross-web",
        "pytest": "pytest",
        "hypothesis": "hypothesis",
        "hypothesis_graphql": "hypothesis-graphql",
        "playwright": "playwright",
        "websockets": "websockets",
        "packaging": "packaging",
    }
    found: set[str] = set()
    for folder in ("api", "domain", "services", "persistence", "tests"):
        for source in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    first_party = {"api", "domain", "services", "persistence", "tests", "_typeshed"}
    unknown = sorted(found - set(sys.stdlib_module_names) - first_party - imports.keys())
    assert not unknown, f"new third-party imports {unknown}: declare them and list them here"
    declared = {canonicalize_name(r.name) for r in _declared()}
    missing = sorted(
        imports[name] for name in found & imports.keys() if imports[name] not in declared
    )
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
