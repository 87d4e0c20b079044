"""Fit points (services.fit.refresh_fit) on the fake unit of work: one FIT entry per rule a
contact's or its company's attributes satisfy, kept exact as attributes and rules change."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from domain.changes import Changes
from domain.fit import FitOperator
from domain.scoring import LedgerReason
from services.fit import refresh_fit
from tests.fakes import T0, FakeUnitOfWork, FakeUnitOfWorkFactory, company, contact, fit_rule

LATER = T0 + timedelta(days=1)


@pytest.fixture
def uows() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory().seed(
        company(7, size=250, sector="Retail"),
        contact(1, job_title="Chief Technology Officer", region="Lazio", company_id=7),
        contact(2, job_title="Intern", region="Veneto"),
        fit_rule(1, "job_title", FitOperator.CONTAINS, "chief", 20),
        fit_rule(2, "region", FitOperator.IN, "Lazio, Lombardia", 5),
        fit_rule(3, "company_size", FitOperator.AT_LEAST, "200", 10),
        fit_rule(4, "company_sector", FitOperator.EQUALS, "retail", 3),
        fit_rule(5, "job_title", FitOperator.EQUALS, "intern", -4),
    )


async def refresh(uows: FakeUnitOfWorkFactory, *ids: int, now=T0) -> Changes:
    async with uows(write=True) as uow:
        await refresh_fit(uow, ids, now)
        await uow.commit()
    return uow.changes


def fit_entries(uows: FakeUnitOfWorkFactory) -> list[tuple[int, int | None, int]]:
    return [(e.contact_id, e.fit_rule_id, e.points) for e in uows.store.ledger
            if e.reason is LedgerReason.FIT]  # fmt: skip


async def test_each_fit_rule_the_contact_or_its_company_satisfies_writes_an_entry(uows):
    changes = await refresh(uows, 1, 2)

    assert sorted(fit_entries(uows)) == [(1, 1, 20), (1, 2, 5), (1, 3, 10), (1, 4, 3), (2, 5, -4)]
    assert [uows.store.contacts[c].score for c in (1, 2)] == [38, -4]
    assert changes.scores == {1: 38, 2: -4}
    labels = {e.label for e in uows.store.ledger}
    assert "job_title contains chief" in labels


async def test_refreshing_again_writes_nothing(uows):
    await refresh(uows, 1, 2)

    changes = await refresh(uows, 1, 2, now=LATER)

    assert len(fit_entries(uows)) == 5
    assert changes.scores == {} and not changes


async def test_an_attribute_change_adds_the_difference(uows):
    await refresh(uows, 1)
    async with uows(write=True) as uow:
        await uow.contacts.update(1, {"region": "Sicilia", "job_title": "Intern"}, LATER)
        assert uow.changes.attributes == {1}
        await refresh_fit(uow, uow.changes.attributes, LATER)
        await uow.commit()

    assert sorted(fit_entries(uows)[4:]) == [(1, 1, -20), (1, 2, -5), (1, 5, -4)]
    assert uows.store.contacts[1].score == 38 - 29


async def test_a_company_change_reaches_its_contacts(uows):
    await refresh(uows, 1)
    uows.seed(company(7, size=50, sector="Retail"))

    await refresh(uows, 1, now=LATER)

    assert fit_entries(uows)[4:] == [(1, 3, -10)]


async def test_the_points_of_a_removed_or_inactive_rule_are_taken_back(uows):
    await refresh(uows, 1)
    del uows.store.fit_rules[3]
    uows.seed(replace(uows.store.fit_rules[2], active=False))

    await refresh(uows, 1, now=LATER)

    taken = uows.store.ledger[4:]
    assert sorted((e.fit_rule_id, e.points, e.label) for e in taken) == [
        (2, -5, "fit rule removed"), (3, -10, "fit rule removed")
    ]  # fmt: skip
    assert uows.store.contacts[1].score == 23


async def test_a_contact_update_settles_its_fit_points_at_commit():
    """The settle hook: what the unit recorded as changed attributes is refreshed at commit."""

    async def settle_fit(uow: FakeUnitOfWork) -> None:
        changes = uow.changes.take()
        if changes.attributes:
            await refresh_fit(uow, sorted(changes.attributes), changes.now or uow.clock())

    uows = FakeUnitOfWorkFactory(settle=settle_fit).seed(
        contact(1), fit_rule(1, "sector", FitOperator.EQUALS, "retail", 8)
    )
    async with uows(write=True) as uow:
        await uow.contacts.update(1, {"sector": "Retail"}, LATER)
        await uow.commit()

    assert fit_entries(uows) == [(1, 1, 8)]
    assert uows.store.contacts[1].score == 8
