"""The ports of services/ports.py fit what implements them: persistence's unit of work and
repositories, and the adapters in api/adapters. Checked twice: by mypy (`_fits`, typed;
`make typecheck` includes this file) and at run time, member by member, with the parameter
names, kinds, defaults and annotations of the concrete classes."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from api.adapters.graphql_client import HttpGraphQLClient
from api.adapters.http_webhooks import HttpWebhookSender, HttpWebhookSenders, SystemResolver
from persistence import unit_of_work as concrete
from persistence.db import Database
from persistence.job_leases import JobLeases
from services import ports
from tests.fakes import FakeResolver

ROOT = Path(__file__).resolve().parents[2]


class _ProtocolFactory(Protocol):
    """What `ports.UnitOfWorkFactory` becomes once services annotate with the Protocol."""

    def __call__(self, *, write: bool = False) -> ports.UnitOfWork: ...


def _fits(
    uow: concrete.UnitOfWork,
    uows: concrete.UnitOfWorkFactory,
    sender: HttpWebhookSender,
    senders: HttpWebhookSenders,
) -> tuple[
    ports.UnitOfWork,
    ports.UnitOfWorkFactory,
    _ProtocolFactory,
    ports.WebhookSender,
    ports.WebhookSenders,
    ports.GraphQLConnect,
]:
    return uow, uows, uows, sender, senders, HttpGraphQLClient


def _fits_leases(leases: JobLeases) -> ports.JobLeases:
    return leases


def _fits_resolver(resolver: SystemResolver, fake: FakeResolver) -> tuple[ports.Resolver, ...]:
    return resolver, fake


def _members(protocol: type) -> Iterator[tuple[str, Any]]:
    for name, value in vars(protocol).items():
        if not name.startswith("_") or name in ("__aenter__", "__aexit__"):
            yield name, value
    for name in vars(protocol).get("__annotations__", {}):
        yield name, None  # a plain attribute


def _shape(function: Any) -> list[tuple[str, Any, bool, str]]:
    """(name, kind, required?, annotation) of each parameter, and the return annotation."""
    signature = inspect.signature(function)
    shape = [(p.name, p.kind, p.default is p.empty, str(p.annotation))
             for p in signature.parameters.values()]  # fmt: skip
    return [*shape, ("return", None, True, str(signature.return_annotation))]


def _same(declared: tuple[str, Any, bool, str], actual: tuple[str, Any, bool, str]) -> bool:
    # `Condition` (a persistence condition, opaque to services) and `Self` stand for the
    # concrete types
    loose = "Condition" in declared[3] or declared[3] == "Self"
    return declared[:3] == actual[:3] and (loose or declared[3] == actual[3])


def _is_async(function: Any) -> bool:
    return inspect.iscoroutinefunction(function)


def _mismatches(protocol: type, implementation: object) -> list[str]:
    found = []
    for name, declared in _members(protocol):
        if not hasattr(implementation, name):
            found.append(f"{protocol.__name__}.{name} is missing")
            continue
        if not inspect.isfunction(declared):
            continue  # a property or attribute: being there is enough here (mypy checks types)
        actual = getattr(type(implementation), name)
        want, have = _shape(declared), _shape(actual)
        same = len(want) == len(have) and all(map(_same, want, have))
        if not same or inspect.iscoroutinefunction(declared) != _is_async(actual):
            found.append(f"{protocol.__name__}.{name}{inspect.signature(declared)} differs "
                         f"from {type(implementation).__name__}.{name}{inspect.signature(actual)}")  # fmt: skip
    return found


@pytest.fixture
async def uow(tmp_path: Path) -> AsyncIterator[concrete.UnitOfWork]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'ports.db'}")
    try:
        async with concrete.UnitOfWorkFactory(db)() as entered:
            yield entered
    finally:
        await db.dispose()


async def test_the_unit_of_work_and_its_repositories_have_every_member_of_their_ports(
    uow: concrete.UnitOfWork,
) -> None:
    problems = _mismatches(ports.UnitOfWork, uow)
    for name, declared in _members(ports.UnitOfWork):
        if isinstance(declared, property) and name in _REPOSITORIES:
            problems += _mismatches(_REPOSITORIES[name], getattr(uow, name))
    assert problems == []


async def test_the_job_leases_have_every_member_of_their_port(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'leases.db'}")
    try:
        assert _mismatches(ports.JobLeases, JobLeases(db)) == []
    finally:
        await db.dispose()


def test_every_repository_member_services_use_is_in_its_port() -> None:
    used = set()
    for path in (ROOT / "services").glob("*.py"):
        used |= set(re.findall(r"\buow\.([a-z_]+)\.([a-z_]+)", path.read_text()))
    missing = [
        f"uow.{repo}.{member}"
        for repo, member in sorted(used)
        if repo in _REPOSITORIES and not hasattr(_REPOSITORIES[repo], member)
    ]
    assert missing == [], "declare these in services/repository_ports.py"
    assert {repo for repo, _ in used} - set(_REPOSITORIES) <= {"changes"}  # not a repository


def test_every_repository_of_the_unit_of_work_has_a_port(uow: concrete.UnitOfWork) -> None:
    made_on_use = [
        n for n, v in vars(type(uow)).items() if isinstance(v, functools.cached_property)
    ]
    repositories = {name for name in made_on_use if hasattr(getattr(uow, name), "conn")}
    assert repositories == set(_REPOSITORIES)


def repository_ports() -> dict[str, type]:
    """Attribute -> repository Protocol, from the UnitOfWork Protocol's properties."""
    found = {}
    for name, value in vars(ports.UnitOfWork).items():
        if isinstance(value, property) and value.fget is not None:
            kind = inspect.get_annotations(value.fget, eval_str=True)["return"]
            if isinstance(kind, type) and kind.__module__ == "services.repository_ports":
                found[name] = kind
    return found


_REPOSITORIES = repository_ports()


def test_the_resolvers_have_every_member_of_their_port() -> None:
    assert _mismatches(ports.Resolver, SystemResolver()) == []
    assert _mismatches(ports.Resolver, FakeResolver()) == []
