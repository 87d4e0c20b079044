"""The fake unit of work behaves like the real one where the service tests rely on it: its
members have the signatures of the ports, commit settles then publishes, and leaving the
block without commit keeps nothing."""

from __future__ import annotations

import inspect

import pytest

from domain.events import interaction
from tests.fakes import T0, FakeUnitOfWork, FakeUnitOfWorkFactory, contact
from tests.unit.test_ports import repository_ports

PORTS = repository_ports()
_UOW = FakeUnitOfWorkFactory()()
FAKES = {name: getattr(_UOW, name) for name in PORTS if name in vars(_UOW)}


def _shape(function: object) -> list[tuple[str, object, bool, str]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    shape = [(p.name, p.kind, p.default is p.empty, str(p.annotation))
             for p in signature.parameters.values()]  # fmt: skip
    return [*shape, ("return", None, True, str(signature.return_annotation))]


def test_every_repository_the_services_under_test_use_is_faked():
    assert set(FAKES) >= {"contacts", "companies", "tags", "rules", "fit_rules", "interactions",
                          "ledger", "decay_policies", "tiers", "events", "automations"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FAKES))
def test_what_a_fake_repository_implements_has_the_signature_of_its_port(name):
    port, fake = PORTS[name], type(FAKES[name])
    faked = [m for m in vars(fake) if not m.startswith("_")]
    assert faked, name
    for member in faked:
        declared = getattr(port, member, None)
        assert declared is not None, f"{fake.__name__}.{member} is not in {port.__name__}"
        if isinstance(declared, property):
            continue
        actual = getattr(fake, member)
        assert _shape(actual) == _shape(declared), member
        assert inspect.iscoroutinefunction(actual) == inspect.iscoroutinefunction(declared)


def test_a_member_that_is_not_faked_says_so():
    uow = FakeUnitOfWorkFactory()()

    with pytest.raises(AttributeError, match=r"FakeContacts.clusters is not faked"):
        uow.contacts.clusters  # noqa: B018
    with pytest.raises(AttributeError, match=r"FakeUnitOfWork.webhooks is not faked"):
        uow.webhooks  # noqa: B018


async def test_leaving_the_block_without_commit_keeps_nothing():
    uows = FakeUnitOfWorkFactory().seed(contact(1))
    async with uows(write=True) as uow:
        await uow.contacts.update(1, {"city": "Roma"}, T0)
        uow.events.add([interaction(1, "EMAIL_OPEN", 0, T0)])

    assert uows.store.contacts[1].city is None
    assert not uow.committed and uows.published == []


async def test_an_error_in_the_block_rolls_back():
    uows = FakeUnitOfWorkFactory().seed(contact(1))
    with pytest.raises(RuntimeError):
        async with uows(write=True) as uow:
            await uow.contacts.insert({"email": "new@x.it"}, T0)
            raise RuntimeError

    assert list(uows.store.contacts) == [1]


async def test_commit_keeps_the_writes_and_publishes_the_pending_events_in_order():
    uows = FakeUnitOfWorkFactory().seed(contact(1))
    async with uows(write=True) as uow:
        await uow.contacts.update(1, {"city": "Roma"}, T0)
        uow.events.add([interaction(1, "A_TYPE", 1, T0), interaction(1, "B_TYPE", 2, T0)])
        await uow.commit()
        await uow.contacts.update(1, {"city": "Milano"}, T0)  # after commit: rolled back

    assert uows.store.contacts[1].city == "Roma"
    assert uow.committed and uow.events.pending == []
    assert [e.cursor for e in uows.published] == [1, 2] and uow.published == uows.published


async def test_commit_runs_the_settle_step_before_publishing():
    seen: list[tuple[bool, int]] = []

    async def settle(uow: FakeUnitOfWork) -> None:
        seen.append((bool(uow.changes.take()), len(uow.factory.published)))

    uows = FakeUnitOfWorkFactory(settle=settle).seed(contact(1))
    async with uows(write=True) as uow:
        await uow.contacts.update(1, {"city": "Roma"}, T0)
        await uow.commit()
    async with uows(write=True) as uow:
        await uow.commit()  # nothing recorded: nothing to settle

    assert seen == [(True, 0)]
