"""The demo sample on a real SQLite database: sizes, real geography, tags, re-runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.bootstrap import unit_of_work_factory
from domain.contacts import Contact
from domain.pagination import Direction, PageRequest
from persistence.db import Database, migrate
from persistence.unit_of_work import UnitOfWorkFactory
from services.contacts import list_contacts
from services.demo import load_demo
from services.demo_data import CITIES_BY_REGION
from services.tags import list_tags, tags_of_contacts

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _migrated(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    migrate(url)
    return url


@pytest.fixture
def demo_url(tmp_path: Path) -> str:
    return _migrated(tmp_path / "demo.db")


@pytest.fixture
async def uows(demo_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    db = Database(demo_url)
    try:
        yield unit_of_work_factory(db)
    finally:
        await db.dispose()


async def _all_contacts(uows: UnitOfWorkFactory) -> list[Contact]:
    page = await list_contacts(uows, None, "EMAIL", Direction.ASC, PageRequest(500), NOW)
    assert not page.has_next
    return page.items


async def _counts(uows: UnitOfWorkFactory) -> tuple[int, int, int, int]:
    """(contacts, companies, tags, tag points over all contacts)."""
    async with uows() as uow:
        contacts = await uow.contacts.count(None, NOW)
        companies = await uow.companies.count(None)
    ids = [contact.id for contact in await _all_contacts(uows)]
    points = sum(t.points for tags in (await tags_of_contacts(uows, ids)).values() for t in tags)
    return contacts, companies, len(await list_tags(uows)), points


async def test_demo_loads_contacts_spread_over_real_italian_regions(
    uows: UnitOfWorkFactory,
) -> None:
    summary = await load_demo(uows, NOW, contacts=300, companies=30)

    contacts, companies, tags, _points = await _counts(uows)
    assert (contacts, companies) == (300, 30)
    assert summary.startswith("demo: 300 contacts, 30 companies")
    everyone = await _all_contacts(uows)
    assert len({contact.region for contact in everyone}) >= 10
    for contact in everyone:
        assert contact.region in CITIES_BY_REGION, contact
        assert contact.city in CITIES_BY_REGION[contact.region], contact
    assert tags >= 10


async def test_demo_gives_some_tags_more_than_once(uows: UnitOfWorkFactory) -> None:
    await load_demo(uows, NOW, contacts=300, companies=30)

    everyone = await _all_contacts(uows)
    tags = await tags_of_contacts(uows, [contact.id for contact in everyone])
    points = [t.points for contact_tags in tags.values() for t in contact_tags]
    assert len(points) >= 30
    assert max(points) > 1


async def test_running_the_demo_twice_changes_nothing(uows: UnitOfWorkFactory) -> None:
    await load_demo(uows, NOW, contacts=300, companies=30)
    before = await _counts(uows)

    summary = await load_demo(uows, NOW, contacts=300, companies=30)

    assert await _counts(uows) == before
    assert "already there" in summary


async def test_the_same_seed_gives_the_same_sample(tmp_path: Path) -> None:
    samples = []
    for name in ("a.db", "b.db"):
        db = Database(await asyncio.to_thread(_migrated, tmp_path / name))
        try:
            await load_demo(unit_of_work_factory(db), NOW, contacts=60, companies=8, seed=7)
            everyone = await _all_contacts(unit_of_work_factory(db))
        finally:
            await db.dispose()
        samples.append([(c.email, c.phone, c.job_title, c.city) for c in everyone])
    assert samples[0] == samples[1]
